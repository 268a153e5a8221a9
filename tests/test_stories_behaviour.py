from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.stories.behaviour import behaviour
from story_support import inputs_from_plays, play, story_of

DAY = datetime(2025, 4, 2, 10, 0)


def test_rates_count_only_the_plays_that_recorded_them(spark: SparkSession, config: Config) -> None:
    plays = [
        play("u1", DAY, 60_000, "A", skipped=True, shuffle=True, offline=False, platform="ios"),
        play(
            "u1",
            DAY + timedelta(hours=1),
            200_000,
            "B",
            reason_end="trackdone",
            shuffle=False,
            platform="iOS",
        ),
        play("u1", DAY + timedelta(hours=2), 5_000, "C", reason_end="fwdbtn", platform="android"),
        # Recorded nothing (a scrobble): counts in no rate, and on the "unknown" platform.
        play("u1", DAY + timedelta(hours=3), 180_000, "D"),
        # A podcast finished offline: not a music completion, but shuffle and offline are known.
        play(
            "u1",
            DAY + timedelta(hours=4),
            900_000,
            "Show",
            content_type="podcast",
            reason_end="trackdone",
            shuffle=False,
            offline=True,
            platform="ios",
        ),
        play("single", DAY, 180_000, "A", platform="web"),
        play("pod", DAY, 900_000, "Show", content_type="podcast", offline=True),
    ]
    zones = {"u1": "UTC", "single": "UTC", "pod": "UTC"}
    stories = behaviour(inputs_from_plays(spark, plays, zones, config)).cache()

    # Music outcomes known for A, B, C: skips A and C -> 2 / 3; completions B -> 1 / 3.
    # Shuffle known for A, B and the podcast: 1 / 3. Offline known for A and the podcast: 1 / 2.
    # Platforms (lower-cased): ios A, B, podcast = 3 of 5; android 1, unknown 1 (tie: by name).
    assert story_of(stories, "u1", "behaviour") == {
        "eligible": True,
        "reason": None,
        "skip_rate": 0.6667,
        "completion_rate": 0.3333,
        "shuffle_share": 0.3333,
        "offline_share": 0.5,
        "platforms": [
            {"platform": "ios", "plays": 3, "share": 0.6},
            {"platform": "android", "plays": 1, "share": 0.2},
            {"platform": "unknown", "plays": 1, "share": 0.2},
        ],
    }
    single = story_of(stories, "single", "behaviour")
    assert single["eligible"] is True
    assert [single[k] for k in ("skip_rate", "completion_rate", "shuffle_share")] == [None] * 3
    assert single["platforms"] == [{"platform": "web", "plays": 1, "share": 1.0}]
    podcast = story_of(stories, "pod", "behaviour")
    # No music: no skip or completion rate; its one play was offline, shuffle never said.
    assert (podcast["skip_rate"], podcast["offline_share"], podcast["shuffle_share"]) == (
        None,
        1.0,
        None,
    )
