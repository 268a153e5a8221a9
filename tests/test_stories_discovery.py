from __future__ import annotations

from datetime import date, datetime, timedelta

from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.stories.discovery import discovery
from story_support import inputs_from_plays, play, story_of

UTC = "UTC"


def test_discovery_counts_artists_first_played_in_the_period(
    spark: SparkSession, config: Config
) -> None:
    march = datetime(2025, 3, 1, 12, 0)
    plays = [
        # fan: A was streamed in 2024 and D only skipped (10 s): neither is new in 2025.
        play("fan", datetime(2024, 6, 1, 12, 0), 200_000, "A"),
        play("fan", datetime(2024, 7, 1, 12, 0), 10_000, "D"),
        *[play("fan", march + timedelta(days=5, hours=h), 60_000, "A") for h in (1, 2)],
        # B and C: two 60 s streams each, new; C's first stream is a day earlier, so C is on top.
        *[play("fan", march + timedelta(days=1, hours=h), 60_000, "B") for h in (1, 2)],
        *[play("fan", march + timedelta(hours=h), 60_000, "C") for h in (1, 2)],
        play("fan", march + timedelta(days=7), 60_000, "D"),
        # E is first heard in 2025 but never streamed (20 s): not a discovery.
        play("fan", march + timedelta(days=8), 20_000, "E"),
        # late: the history starts inside the period.
        play("late", datetime(2025, 2, 10, 12, 0), 60_000, "A"),
        # pod: music in 2024, only a podcast in 2025.
        play("pod", datetime(2024, 5, 1, 12, 0), 60_000, "A"),
        play("pod", march, 1_800_000, "Show", content_type="podcast"),
        # 23:30 UTC on New Year's Eve 2024 is 08:30 on 1 January 2025 in Tokyo (inside the period)
        # and 18:30 on 31 December 2024 in New York (before it).
        play("tokyo", datetime(2024, 12, 31, 23, 30), 60_000, "A"),
        play("tokyo", march, 60_000, "B"),
        play("newyork", datetime(2024, 12, 31, 23, 30), 60_000, "A"),
        play("newyork", march, 60_000, "B"),
    ]
    zones = {
        "fan": UTC,
        "late": UTC,
        "pod": UTC,
        "tokyo": "Asia/Tokyo",
        "newyork": "America/New_York",
    }
    stories = discovery(inputs_from_plays(spark, plays, zones, config)).cache()

    # 2025 streams: A 2 + B 2 + C 2 + D 1 = 7; new artists B and C: 4 / 7 = 0.5714.
    assert story_of(stories, "fan", "discovery") == {
        "eligible": True,
        "reason": None,
        "new_artists": 2,
        "share_of_streams": 0.5714,
        "top_discovery": {
            "artist_key": "key-C",
            "name": "C",
            "streams": 2,
            "first_played": date(2025, 3, 1),
        },
        "history_starts": date(2024, 6, 1),
        "history_complete": True,
    }
    assert story_of(stories, "late", "discovery") == {
        "eligible": False,
        "reason": "the history starts on 2025-02-10, inside the period (which starts on "
        "2025-01-01): artists first played before the history are unknown",
        "new_artists": None,
        "share_of_streams": None,
        "top_discovery": None,
        "history_starts": date(2025, 2, 10),
        "history_complete": False,
    }
    podcast = story_of(stories, "pod", "discovery")
    assert (podcast["eligible"], podcast["reason"]) == (False, "no qualified stream in the period")
    assert podcast["history_starts"] == date(2024, 5, 1)

    tokyo = story_of(stories, "tokyo", "discovery")
    assert (tokyo["eligible"], tokyo["history_starts"]) == (False, date(2025, 1, 1))
    new_york = story_of(stories, "newyork", "discovery")
    # New York heard A in 2024 (local time); its one 2025 stream is B's, new: 1 / 1.
    assert (new_york["eligible"], new_york["history_starts"]) == (True, date(2024, 12, 31))
    assert (new_york["new_artists"], new_york["share_of_streams"]) == (1, 1.0)
    assert stories.count() == len(zones)


def test_a_single_play_of_a_known_artist_discovers_nothing(
    spark: SparkSession, config: Config
) -> None:
    plays = [
        play("once", datetime(2024, 1, 5, 9, 0), 60_000, "A"),
        play("once", datetime(2025, 1, 5, 9, 0), 60_000, "A"),
    ]
    story = story_of(
        discovery(inputs_from_plays(spark, plays, {"once": UTC}, config)), "once", "discovery"
    )

    # One stream in 2025, of an artist first played in 2024: 0 new artists, share 0 / 1.
    assert (story["eligible"], story["new_artists"], story["share_of_streams"]) == (True, 0, 0.0)
    assert story["top_discovery"] is None
