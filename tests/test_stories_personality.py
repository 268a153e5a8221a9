from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from conftest import local_test_config
from spinback.config import Config
from spinback.stories.personality import personality
from story_support import inputs_from_plays, play, story_of

LAST_YEAR = datetime(2024, 5, 1, 12, 0)
DAY = datetime(2025, 5, 1, 12, 0)


def streams(user: str, artist: str, count: int) -> list[dict]:
    track = artist.lower()
    return [play(user, DAY + timedelta(hours=h), 60_000, artist, track=track) for h in range(count)]


PLAYS = [
    # Everyone but "late" has history in 2024; p2 already knew Z, p3 already knew Old.
    *[play(user, LAST_YEAR, 60_000, "Old", track="old") for user in ("p1", "p2", "p3", "p4")],
    play("p2", LAST_YEAR, 60_000, "Z", track="z"),
    *streams("p1", "X", 2),
    *streams("p1", "Y", 2),
    *streams("p2", "X", 1),
    *streams("p2", "Z", 3),
    *streams("p3", "X", 1),
    *streams("p3", "Old", 3),
    *streams("p4", "W", 1),
    *streams("late", "W", 1),
    # pod: no music at all, so no value on any axis.
    play("pod", LAST_YEAR, 900_000, "Show", content_type="podcast"),
    play("pod", DAY, 900_000, "Show", content_type="podcast"),
]
ZONES = {user: "UTC" for user in ("p1", "p2", "p3", "p4", "late", "pod")}
# W's track has no release year.
CATALOG = [
    {"track_key": "key-x", "artist_key": "key-X", "release_year": 2000},
    {"track_key": "key-y", "artist_key": "key-Y", "release_year": 2020},
    {"track_key": "key-z", "artist_key": "key-Z", "release_year": 2024},
    {"track_key": "key-old", "artist_key": "key-Old", "release_year": 1990},
]


def test_letters_split_each_axis_at_the_population_median(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = local_test_config(tmp_path, "wrapped.min_population=3")
    inputs = inputs_from_plays(spark, PLAYS, ZONES, config, catalog=CATALOG)
    stories = personality(inputs).cache()

    # new_artist_share: p1 4/4 = 1, p2 X 1/4, p3 X 1/4, p4 1 (late: unknown history).
    #   Median of [.25, .25, 1, 1] (the lower middle value) = .25: p1 E, p2 F, p3 F.
    # track_concentration: p1 .5^2 + .5^2 = .5; p2 and p3 (1/4)^2 + (3/4)^2 = .625; p4, late 1.
    #   Median of [.5, .625, .625, 1, 1] = .625: p1 V, and p2, p3 equal it: V.
    # music_age: p1 2025 - (2000 + 2020) / 2 = 15; p2 2025 - (2000 + 3 x 2024) / 4 = 7;
    #   p3 2025 - (2000 + 3 x 1990) / 4 = 32.5. Median of [7, 15, 32.5] = 15: p1 N, p2 N, p3 T.
    # mainstream_score: listeners X 3, W 2, Y, Z, Old 1 -> percent ranks X .801, W .601, else 0;
    #   p1 100 x 2 x .801 / 4 = 40.05, p2 and p3 100 x .801 / 4 = 20.025, p4 and late 60.1.
    #   Median of [20.025, 20.025, 40.05, 60.1, 60.1] = 40.05: p1 U (equal), p2 U, p3 U.
    assert story_of(stories, "p1", "personality") == {
        "eligible": True,
        "reason": None,
        "letters": "EVNU",
        "name": "The Trailblazer",
        "axes": [
            {"axis": "new_artist_share", "value": 1.0, "population_median": 0.25, "letter": "E"},
            {
                "axis": "track_concentration",
                "value": 0.5,
                "population_median": 0.625,
                "letter": "V",
            },
            {"axis": "music_age", "value": 15.0, "population_median": 15.0, "letter": "N"},
            {
                "axis": "mainstream_score",
                "value": 40.05,
                "population_median": 40.05,
                "letter": "U",
            },
        ],
    }
    p2, p3 = (story_of(stories, user, "personality") for user in ("p2", "p3"))
    assert (p2["letters"], p2["name"]) == ("FVNU", "The Quiet Curator")
    assert (p3["letters"], p3["name"]) == ("FVTU", "The Deep Cut Keeper")
    p4, late = (story_of(stories, user, "personality") for user in ("p4", "late"))
    assert (p4["eligible"], p4["reason"], p4["axes"]) == (
        False,
        "the catalog gives no release year for any track streamed",
        [],
    )
    assert late["reason"] == "the history starts inside the period, so new artists are unknown"
    assert story_of(stories, "pod", "personality")["reason"] == "no qualified stream in the period"


def test_personality_needs_min_population_listeners(spark: SparkSession, config: Config) -> None:
    inputs = inputs_from_plays(spark, PLAYS, ZONES, config, catalog=CATALOG)

    story = story_of(personality(inputs), "p1", "personality")

    assert story == {
        "eligible": False,
        "reason": "the period has 6 listeners, fewer than the 50 needed for population statistics",
        "letters": None,
        "name": None,
        "axes": [],
    }
