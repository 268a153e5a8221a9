"""Documents for the render tests: the hand-written fixtures, and a few made by the engine."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from spinback import schema
from spinback.config import Config
from spinback.render.documents import story_documents
from spinback.stories.job import build_stories
from spinback.stories.period import Period
from spinback.stories.registry import STORIES
from story_support import play, user_frame

FIXTURES = Path(__file__).parent / "fixtures" / "documents"


def fixture_documents() -> dict[str, dict[str, Any]]:
    """Every ``fixtures/documents/<name>.json`` by name: together they hold every story, eligible
    and not, with long names, unicode and HTML in names."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(FIXTURES.glob("*.json"))
    }


def engine_documents(spark: SparkSession, config: Config) -> dict[str, dict[str, Any]]:
    """The documents the engine makes for two users of 2025, by user."""
    day = datetime(2025, 5, 1, 12, 0)
    artists = [
        "Björk",
        "<script>alert(1)</script>",
        "Sigur Rós",
        "Motörhead",
        "宇多田ヒカル",
        "Air",
    ]
    plays = [
        play(
            "engine-fan",
            day + timedelta(days=index, hours=hour),
            200_000,
            artist,
            track=f"Song by {artist}",
        )
        for index, artist in enumerate(artists)
        for hour in range(index + 1)
    ]
    plays.append(play("engine-podcaster", day, 1_800_000, "A Show", content_type="podcast"))
    stories = build_stories(
        spark.createDataFrame(plays, schema.PLAYS),
        user_frame(spark, {"engine-fan": "Europe/Berlin", "engine-podcaster": "Asia/Tokyo"}),
        Period.parse("2025"),
        config,
    )
    rows = story_documents(stories, [story.id for story in STORIES]).collect()
    return {row["user_id"]: json.loads(row["document"]) for row in rows}
