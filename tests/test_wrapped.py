from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import jsonschema
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from spinback import schema, tables
from spinback.config import Config
from spinback.recommend.stories import STORY, STORY_NAMES
from spinback.render.documents import document_schema, story_documents
from spinback.stories.job import build_stories, run_wrapped, with_recommender_stories
from spinback.stories.period import Period
from spinback.tables import TableLocations

BERLIN = "Europe/Berlin"


def play(
    user: str,
    started: datetime,
    ms: int,
    artist: str,
    *,
    featured: tuple[str, ...] = (),
    private: bool = False,
    content_type: str = "music",
) -> dict:
    row = {field.name: None for field in schema.PLAYS.fields}
    row.update(
        event_id=f"{user}-{started.isoformat()}-{artist}",
        user_id=user,
        started_at=started,
        ended_at=started + timedelta(milliseconds=ms),
        ms_played=ms,
        ms_played_estimated=False,
        content_type=content_type,
        track_key=f"track-of-{artist}",
        artist_key=f"key-{artist}",
        artist_name=artist,
        featured_artists=[{"artist_key": f"key-{f}", "artist_name": f} for f in featured],
        private=private,
        source="test",
        batch_id="b1",
    )
    return row


def frames(
    spark: SparkSession, plays: list[dict], zones: dict[str, str]
) -> tuple[DataFrame, DataFrame]:
    users = [(user, zone, None, False, False, False) for user, zone in zones.items()]
    return (
        spark.createDataFrame(plays, schema.PLAYS),
        spark.createDataFrame(users, schema.USERS),
    )


def top_artists_of(stories: DataFrame, user: str) -> dict:
    row = stories.where(f"user_id = '{user}'").first()
    assert row is not None, f"no story row for {user}"
    return row["top_artists"].asDict(recursive=True)


DAY = datetime(2025, 5, 1, 12, 0)


def test_top_artists_rank_by_weighted_streams_with_deterministic_ties(
    spark: SparkSession, config: Config
) -> None:
    plays = [
        # B and A: 3 qualified streams of 200 s each (10 minutes); B's first play is earlier.
        *[play("u1", DAY + timedelta(hours=h), 200_000, "A") for h in (2, 3, 4)],
        *[play("u1", DAY + timedelta(hours=h), 200_000, "B") for h in (1, 5, 6)],
        # C: 2 streams of 180 s, plus half a credit on D's track -> 2.5 streams, 6 + 0.5 minutes.
        *[play("u1", DAY + timedelta(days=1, hours=h), 180_000, "C") for h in (1, 2)],
        play("u1", DAY + timedelta(days=2), 60_000, "D", featured=("C",)),
        # G: one stream of 45 s -> 1 stream, 0.75 minutes; ranks after D (1 stream, 1 minute).
        play("u1", DAY + timedelta(days=3), 45_000, "G"),
        # E is too short and F is private: neither has a qualified stream, neither ranks.
        play("u1", DAY + timedelta(days=4), 20_000, "E"),
        play("u1", DAY + timedelta(days=5), 200_000, "F", private=True),
    ]
    stories = build_stories(*frames(spark, plays, {"u1": BERLIN}), Period.parse("2025"), config)

    story = top_artists_of(stories, "u1")

    assert story["eligible"] is True
    assert story["reason"] is None
    assert story["distinct"] == 5  # A, B, C, D, G
    ranked = [(i["rank"], i["name"], i["streams"], i["minutes"]) for i in story["items"]]
    assert ranked == [
        (1, "B", 3.0, 10.0),
        (2, "A", 3.0, 10.0),
        (3, "C", 2.5, 6.5),
        (4, "D", 1.0, 1.0),
        (5, "G", 1.0, 0.75),
    ]
    # B is the #1, but one listener is far below min_population (50): no fan percentile.
    assert story["number_one_fan"] == {
        "artist_key": "key-B",
        "name": "B",
        "top_percent": None,
        "listeners": None,
    }


def test_full_tie_falls_back_to_the_artist_key(spark: SparkSession, config: Config) -> None:
    # Same streams, minutes and first play: key-a sorts before key-b.
    plays = [play("u2", DAY, 60_000, "b"), play("u2", DAY, 60_000, "a")]
    stories = build_stories(*frames(spark, plays, {"u2": BERLIN}), Period.parse("2025"), config)

    story = top_artists_of(stories, "u2")

    assert [i["name"] for i in story["items"]] == ["a", "b"]
    assert story["eligible"] is False
    assert story["reason"] == "fewer than 5 distinct artists with a qualified stream (2)"


def test_period_is_placed_in_the_users_local_time(spark: SparkSession, config: Config) -> None:
    # 23:30 UTC on New Year's Eve is 08:30 on Jan 1 in Tokyo (next year) but 18:30 in New York.
    late = datetime(2025, 12, 31, 23, 30)
    # 20:00 UTC on Dec 31 of the year before is 05:00 on Jan 1 in Tokyo: inside 2025 there.
    early = datetime(2024, 12, 31, 20, 0)
    plays = [
        play("tokyo", late, 60_000, "Late"),
        play("tokyo", early, 60_000, "Early"),
        play("newyork", late, 60_000, "Late"),
        play("newyork", early, 60_000, "Early"),
    ]
    zones = {"tokyo": "Asia/Tokyo", "newyork": "America/New_York"}
    stories = build_stories(*frames(spark, plays, zones), Period.parse("2025"), config)

    assert [i["name"] for i in top_artists_of(stories, "tokyo")["items"]] == ["Early"]
    assert [i["name"] for i in top_artists_of(stories, "newyork")["items"]] == ["Late"]


def test_a_user_with_only_podcasts_gets_an_ineligible_story(
    spark: SparkSession, config: Config
) -> None:
    plays = [play("pod", DAY, 1_800_000, "Show", content_type="podcast")]
    stories = build_stories(*frames(spark, plays, {"pod": BERLIN}), Period.parse("2025"), config)

    story = top_artists_of(stories, "pod")

    assert story == {
        "eligible": False,
        "reason": "no music played in the period",
        "distinct": 0,
        "items": [],
        "number_one_fan": None,
    }


def test_wrapped_writes_the_period_to_delta_and_one_document_per_user(
    spark: SparkSession, data_config: Config
) -> None:
    locations = TableLocations.from_config(data_config)
    plays = [play("u1", DAY + timedelta(hours=h), 200_000, f"Artist {h}") for h in range(6)]
    plays.append(play("u2", DAY, 200_000, "Solo"))
    play_frame, user_frame = frames(spark, plays, {"u1": BERLIN, "u2": "UTC"})
    tables.overwrite(play_frame, locations.plays)
    tables.overwrite(user_frame, locations.users)

    run_wrapped(spark, data_config, "2025")
    result = run_wrapped(spark, data_config, "2025")  # a re-run replaces, never duplicates

    assert tables.read_delta(spark, result.stories_table).count() == 2
    document = json.loads((Path(result.documents_dir) / "u1" / "2025.json").read_text())
    assert document["user"] == "u1"
    assert document["period"] == {"start": "2025-01-01", "end": "2026-01-01", "label": "2025"}
    assert document["timezone"] == BERLIN
    assert document["top_artists"]["eligible"] is True
    assert document["top_artists"]["distinct"] == 6
    # Six artists with one 200 s stream each tie on streams and minutes: first play decides.
    assert [i["name"] for i in document["top_artists"]["items"]] == [
        f"Artist {h}" for h in range(5)
    ]
    assert sorted(p.name for p in Path(result.documents_dir).iterdir()) == ["u1", "u2"]
    jsonschema.validate(document, document_schema())
    # Each user's page sits beside the document and carries its own artists.
    for user, artist in [("u1", "Artist 0"), ("u2", "Solo")]:
        folder = Path(result.documents_dir) / user
        assert sorted(f.name for f in folder.iterdir()) == ["2025.html", "2025.json"]
        assert artist in (folder / "2025.html").read_text(encoding="utf-8")


def test_documents_carry_the_recommender_stories_of_the_period(spark: SparkSession) -> None:
    stories = spark.createDataFrame(
        [("fan", "2025", "UTC"), ("newcomer", "2025", "UTC")],
        "user_id string, period string, timezone string",
    ).select(
        "*",
        F.lit(date(2025, 1, 1)).alias("period_start"),
        F.lit(date(2026, 1, 1)).alias("period_end"),
    )
    song = (1, "track-1", "Song", "Band", 0.9, None)
    recommended = spark.createDataFrame(
        [("fan", "2025", *[(True, None, "model", [song])] * len(STORY_NAMES))],
        StructType(
            [StructField("user_id", StringType()), StructField("period", StringType())]
            + [StructField(name, STORY) for name in STORY_NAMES]
        ),
    )

    joined = with_recommender_stories(stories, recommended)
    rows = story_documents(joined, list(STORY_NAMES)).collect()
    documents = {row["user_id"]: json.loads(row["document"]) for row in rows}

    assert documents["fan"]["discover"]["items"][0]["name"] == "Song"
    assert documents["fan"]["similar_artists"]["source"] == "model"
    # The newcomer arrived after the recommender ran: same fields, not eligible, and why.
    assert documents["newcomer"]["taste_twins"]["eligible"] is False
    assert "no recommendations" in documents["newcomer"]["taste_twins"]["reason"]
    recommendation_story = {
        "$defs": document_schema()["$defs"],
        "$ref": "#/$defs/recommendation_story",
    }
    for document in documents.values():
        for name in STORY_NAMES:
            jsonschema.validate(document[name], recommendation_story)
