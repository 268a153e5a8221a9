"""Tiny hand-built histories for story tests: plays -> StoryInputs, as the engine sees them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback import schema
from spinback.config import Config
from spinback.rollups import daily_items, daily_platforms, local_plays
from spinback.stories.inputs import StoryInputs
from spinback.stories.job import rollup_facts, story_inputs
from spinback.stories.period import Period


def play(
    user: str,
    started: datetime,
    ms: int,
    artist: str,
    *,
    track: str | None = None,
    featured: tuple[str, ...] = (),
    album: str | None = None,
    private: bool = False,
    content_type: str = "music",
    show: str | None = None,
    **details: Any,
) -> dict[str, Any]:
    """One silver play starting at ``started`` (UTC). The track defaults to one per artist; a
    podcast play names its ``show`` (the episode is the show's single episode)."""
    row: dict[str, Any] = {field.name: None for field in schema.PLAYS.fields}
    track = track or f"track-of-{artist}"
    row.update(
        event_id=f"{user}-{started.isoformat()}-{artist}-{track}",
        user_id=user,
        started_at=started,
        ended_at=started + timedelta(milliseconds=ms),
        ms_played=ms,
        ms_played_estimated=False,
        content_type=content_type,
        private=private,
        source="test",
        batch_id="b1",
    )
    if content_type in ("podcast", "audiobook"):
        show = show or artist
        row.update(show_key=f"show-{show}", show_name=show, episode_key=f"episode-{show}")
    else:
        row.update(
            track_key=f"key-{track}",
            track_name=track,
            artist_key=f"key-{artist}",
            artist_name=artist,
            featured_artists=[{"artist_key": f"key-{f}", "artist_name": f} for f in featured],
            album_key=f"album-{album}" if album else None,
            album_name=album,
        )
    row.update(details)
    return row


def user_frame(
    spark: SparkSession, zones: dict[str, str], twins: set[str] = frozenset()
) -> DataFrame:
    rows = [(user, zone, None, False, False, user in twins) for user, zone in zones.items()]
    return spark.createDataFrame(rows, schema.USERS)


def catalog_frame(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    """Catalog rows: give ``track_key`` and any of the other CATALOG fields."""
    full = [{field.name: None for field in schema.CATALOG.fields} | row for row in rows]
    return spark.createDataFrame(full, schema.CATALOG)


def inputs_from_plays(
    spark: SparkSession,
    plays: list[dict[str, Any]],
    zones: dict[str, str],
    config: Config,
    period: str = "2025",
    catalog: list[dict[str, Any]] | None = None,
    twins: set[str] = frozenset(),
) -> StoryInputs:
    """What a story builder receives for these plays: rolled up in memory, cut to ``period``."""
    users = user_frame(spark, zones, twins)
    located = local_plays(
        spark.createDataFrame(plays, schema.PLAYS).withColumn(
            "duration_ms", F.lit(None).cast("long")
        ),
        users,
        config.ingest.default_timezone,
    )
    catalog_rows = catalog_frame(spark, catalog) if catalog is not None else None
    facts = rollup_facts(daily_items(located, config.wrapped), catalog_rows)
    return story_inputs(facts, daily_platforms(located), users, Period.parse(period), config)


def story_of(frame: DataFrame, user: str, story_id: str) -> dict[str, Any]:
    """One user's story as plain Python values (dates stay ``date`` objects)."""
    rows = frame.where(F.col("user_id") == user).collect()
    assert len(rows) == 1, f"expected one {story_id} row for {user}, found {len(rows)}"
    return rows[0][story_id].asDict(recursive=True)


def stories_by_user(frame: DataFrame, story_id: str) -> dict[str, dict[str, Any]]:
    """Every user's story as plain Python values, collected in one action (a builder's frame
    holds one row per user; a second row for a user fails)."""
    stories: dict[str, dict[str, Any]] = {}
    for row in frame.select("user_id", story_id).collect():
        assert row.user_id not in stories, f"two {story_id} rows for {row.user_id}"
        stories[row.user_id] = row[story_id].asDict(recursive=True)
    return stories
