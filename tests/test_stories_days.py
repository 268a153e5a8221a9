"""The ``days`` and ``artist_streak`` stories: local dates, streaks across a leap day, ties."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.stories import days
from spinback.stories.inputs import StoryInputs
from story_support import inputs_from_plays, play, stories_by_user

MINUTE = 60_000


def daily(user: str, artist: str, first: date, count: int, hour: int = 10) -> list[dict[str, Any]]:
    """One 1-minute stream of ``artist`` on each of ``count`` consecutive dates (UTC)."""
    start = datetime(first.year, first.month, first.day, hour)
    return [play(user, start + timedelta(days=i), MINUTE, artist) for i in range(count)]


PLAYS = [
    # leap: A on 27, 28, 29 February and 1 March 2024 (4 days across the leap day), B on 10-13
    # March (4 days, a later run of the same length), and an hour of podcast on 5 March.
    *daily("leap", "A", date(2024, 2, 27), 4),
    *daily("leap", "B", date(2024, 3, 10), 4),
    play("leap", datetime(2024, 3, 5, 10), 60 * MINUTE, "Talk", content_type="podcast"),
    # tie: Zed alone on 1 May; Zed and Abe together on 1-3 June (2 minutes each day).
    *daily("tie", "Zed", date(2024, 5, 1), 1),
    *daily("tie", "Zed", date(2024, 6, 1), 3),
    *daily("tie", "Abe", date(2024, 6, 1), 3, hour=11),
    # 23:30 UTC on 10 May is 08:30 on 11 May in Tokyo but 19:30 on 10 May in New York (UTC-4);
    # 12:00 UTC on 11 May is 21:00 (Tokyo) and 08:00 (New York) on 11 May.
    *[
        play(user, started, MINUTE, "X")
        for user in ("tokyo", "newyork")
        for started in (datetime(2024, 5, 10, 23, 30), datetime(2024, 5, 11, 12))
    ],
    play("one", datetime(2024, 7, 7, 10), 45_000, "Solo"),
    play("pod", datetime(2024, 8, 1, 10), 30 * MINUTE, "Talk", content_type="podcast"),
]
ZONES = {
    "leap": "UTC",
    "tie": "UTC",
    "tokyo": "Asia/Tokyo",
    "newyork": "America/New_York",
    "one": "UTC",
    "pod": "UTC",
}


@pytest.fixture(scope="module")
def inputs(spark: SparkSession, config: Config) -> StoryInputs:
    return inputs_from_plays(spark, PLAYS, ZONES, config, period="2024")


def streak(start: date, end: date, length: int) -> dict[str, Any]:
    return {"start": start, "end": end, "length": length}


def test_days_find_the_biggest_day_and_the_longest_streak_by_local_date(
    inputs: StoryInputs,
) -> None:
    stories = stories_by_user(days.days(inputs), "days")
    assert set(stories) == set(ZONES)

    # The podcast hour makes 5 March the biggest day without counting as a day listened. Two runs
    # of 4 days: the earlier one, across 29 February, wins.
    assert stories["leap"] == {
        "eligible": True,
        "reason": None,
        "biggest_day": {"date": date(2024, 3, 5), "minutes": 60.0},
        "days_listened": 8,
        "longest_streak": streak(date(2024, 2, 27), date(2024, 3, 1), 4),
    }
    # 1-3 June tie on 2 minutes: the earlier date. The June run (3) beats the earlier May run (1).
    tie = stories["tie"]
    assert tie["biggest_day"] == {"date": date(2024, 6, 1), "minutes": 2.0}
    assert tie["days_listened"] == 4
    assert tie["longest_streak"] == streak(date(2024, 6, 1), date(2024, 6, 3), 3)

    # The same two plays: one Tokyo date (2 minutes), two New York dates (1 minute each).
    tokyo, newyork = stories["tokyo"], stories["newyork"]
    assert tokyo["biggest_day"] == {"date": date(2024, 5, 11), "minutes": 2.0}
    assert (tokyo["days_listened"], tokyo["longest_streak"]) == (
        1,
        streak(date(2024, 5, 11), date(2024, 5, 11), 1),
    )
    assert newyork["biggest_day"] == {"date": date(2024, 5, 10), "minutes": 1.0}
    assert (newyork["days_listened"], newyork["longest_streak"]) == (
        2,
        streak(date(2024, 5, 10), date(2024, 5, 11), 2),
    )

    assert stories["one"] == {
        "eligible": True,
        "reason": None,
        "biggest_day": {"date": date(2024, 7, 7), "minutes": 0.75},
        "days_listened": 1,
        "longest_streak": streak(date(2024, 7, 7), date(2024, 7, 7), 1),
    }
    # Podcasts only: the biggest day is true, but no day was listened to and there is no streak.
    assert stories["pod"] == {
        "eligible": False,
        "reason": "no qualified stream in the period",
        "biggest_day": {"date": date(2024, 8, 1), "minutes": 30.0},
        "days_listened": 0,
        "longest_streak": None,
    }


def test_artist_streak_is_the_longest_run_of_one_artist_with_ties_to_start_then_key(
    inputs: StoryInputs,
) -> None:
    stories = stories_by_user(days.artist_streak(inputs), "artist_streak")

    def run(artist: str, start: date, end: date, length: int) -> dict[str, Any]:
        return {
            "eligible": True,
            "reason": None,
            "artist_key": f"key-{artist}",
            "name": artist,
            "start": start,
            "end": end,
            "length": length,
        }

    # A and B both run 4 days: A started earlier.
    assert stories["leap"] == run("A", date(2024, 2, 27), date(2024, 3, 1), 4)
    # Abe and Zed both run 1-3 June: same length and start, so the smaller key (key-Abe).
    assert stories["tie"] == run("Abe", date(2024, 6, 1), date(2024, 6, 3), 3)
    assert stories["newyork"] == run("X", date(2024, 5, 10), date(2024, 5, 11), 2)
    assert stories["tokyo"] == run("X", date(2024, 5, 11), date(2024, 5, 11), 1)
    assert stories["one"] == run("Solo", date(2024, 7, 7), date(2024, 7, 7), 1)
    assert stories["pod"] == {
        "eligible": False,
        "reason": "no qualified stream in the period",
        "artist_key": None,
        "name": None,
        "start": None,
        "end": None,
        "length": None,
    }
