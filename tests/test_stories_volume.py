"""The ``minutes`` story on a tiny hand-built history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import SparkSession

from conftest import local_test_config
from spinback.config import Config
from spinback.stories.volume import minutes
from story_support import inputs_from_plays, play, stories_by_user

DAY = datetime(2025, 6, 1, 12, 0)
# 23:30 UTC on New Year's Eve: 08:30 on 1 January 2026 in Tokyo, 18:30 on 31 December in New York.
NEW_YEARS_EVE = datetime(2025, 12, 31, 23, 30)
ZONES = {
    "mixed": "Europe/Berlin",
    "pod": "Europe/Berlin",
    "one": "UTC",
    "tokyo": "Asia/Tokyo",
    "newyork": "America/New_York",
}

PLAYS = [
    # mixed: music 3 min + private music 2 min + a scrobble estimated at 3 min = 8 music minutes;
    # podcast 30, audiobook 10: total 48 minutes, one estimated play.
    play("mixed", DAY, 180_000, "A"),
    play("mixed", DAY + timedelta(hours=1), 120_000, "B", private=True),
    play("mixed", DAY + timedelta(hours=2), 180_000, "C", ms_played_estimated=True),
    play("mixed", DAY + timedelta(hours=3), 1_800_000, "Talk", content_type="podcast"),
    play("mixed", DAY + timedelta(hours=4), 600_000, "Novel", content_type="audiobook"),
    # pod: podcasts only, 20 minutes.
    play("pod", DAY, 1_200_000, "Talk", content_type="podcast"),
    # one: a single 45 s play = 0.75 minutes.
    play("one", DAY, 45_000, "A"),
    # tokyo and newyork: 1 minute in June, and 61 s on New Year's Eve that only New York's 2025
    # holds: tokyo 1.0, newyork 1 + 61 / 60 = 2.01666 -> 2.017.
    play("tokyo", DAY, 60_000, "A"),
    play("tokyo", NEW_YEARS_EVE, 61_000, "A"),
    play("newyork", DAY, 60_000, "A"),
    play("newyork", NEW_YEARS_EVE, 61_000, "A"),
]


def minutes_by_user(spark: SparkSession, config: Config) -> dict[str, dict[str, Any]]:
    stories = stories_by_user(minutes(inputs_from_plays(spark, PLAYS, ZONES, config)), "minutes")
    assert set(stories) == set(ZONES)
    return stories


@pytest.fixture(scope="module")
def stories(spark: SparkSession, config: Config) -> dict[str, dict[str, Any]]:
    return minutes_by_user(spark, config)


def test_minutes_are_split_by_content_type_with_private_and_estimated_plays(
    stories: dict[str, dict[str, Any]],
) -> None:
    assert stories["mixed"] == {
        "eligible": True,
        "reason": None,
        "total": 48.0,
        "music": 8.0,
        "podcast": 30.0,
        "audiobook": 10.0,
        "video": 0.0,
        "estimated_plays": 1,
        # Five listeners, below the default min_population of 50.
        "more_than_percent": None,
    }


def test_a_podcast_only_user_and_a_one_play_user_have_their_minutes(
    stories: dict[str, dict[str, Any]],
) -> None:
    pod, one = stories["pod"], stories["one"]

    assert (pod["eligible"], pod["total"], pod["music"], pod["podcast"]) == (True, 20.0, 0.0, 20.0)
    assert (one["eligible"], one["total"], one["music"], one["estimated_plays"]) == (
        True,
        0.75,
        0.75,
        0,
    )


def test_the_period_ends_at_midnight_on_the_users_own_clock(
    stories: dict[str, dict[str, Any]],
) -> None:
    assert stories["tokyo"]["total"] == 1.0
    assert stories["newyork"]["total"] == 2.017


def test_more_than_percent_ranks_total_minutes_once_the_population_is_large_enough(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = local_test_config(tmp_path_factory.mktemp("minutes"), "wrapped.min_population=3")

    stories = minutes_by_user(spark, config)

    # Totals: one 0.75 < tokyo 1.0 < newyork 2.017 < pod 20 < mixed 48, so 0, 1, 2, 3 and 4 of
    # the five listeners have fewer minutes. percent_rank_among counts its 1 001 quantile cuts
    # (levels 0, 0.001, .., 1) below each value: the k-th smallest of 5 has the cuts of levels
    # 0 .. k / 5 below it, 1 000 * k / 5 + 1 of them (none for the smallest): 20 k + 0.1 percent.
    expected = {"one": 0.0, "tokyo": 20.1, "newyork": 40.1, "pod": 60.1, "mixed": 80.1}
    assert {user: stories[user]["more_than_percent"] for user in expected} == expected
