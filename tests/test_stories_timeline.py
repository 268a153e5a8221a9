"""The ``timeline`` story: months of the period, the top artist of each, the race of the top 5."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.stories.inputs import StoryInputs
from spinback.stories.period import Period
from spinback.stories.timeline import period_months, timeline
from story_support import inputs_from_plays, play, stories_by_user

MINUTE = 60_000
# 23:30 UTC on 31 January: 1 February in Tokyo, still 31 January in New York.
LAST_OF_JANUARY = datetime(2025, 1, 31, 23, 30)

PLAYS = [
    # January: A twice, B and D once. February: half an hour of podcast, no music.
    # March: B twice, C once with A featured (A gets 0.5), D once.
    play("tl", datetime(2025, 1, 10, 10), MINUTE, "A"),
    play("tl", datetime(2025, 1, 10, 11), MINUTE, "A"),
    play("tl", datetime(2025, 1, 10, 12), MINUTE, "B"),
    play("tl", datetime(2025, 1, 11, 10), MINUTE, "D"),
    play("tl", datetime(2025, 2, 5, 10), 30 * MINUTE, "Talk", content_type="podcast"),
    play("tl", datetime(2025, 3, 3, 10), MINUTE, "B"),
    play("tl", datetime(2025, 3, 3, 11), MINUTE, "B"),
    play("tl", datetime(2025, 3, 3, 12), MINUTE, "C", featured=("A",)),
    play("tl", datetime(2025, 3, 4, 10), MINUTE, "D"),
    play("tokyo", LAST_OF_JANUARY, MINUTE, "X"),
    play("newyork", LAST_OF_JANUARY, MINUTE, "X"),
    play("pod", datetime(2025, 2, 5, 10), 20 * MINUTE, "Talk", content_type="podcast"),
]
ZONES = {"tl": "UTC", "tokyo": "Asia/Tokyo", "newyork": "America/New_York", "pod": "UTC"}


@pytest.fixture(scope="module")
def stories(spark: SparkSession, config: Config) -> dict[str, dict[str, Any]]:
    inputs: StoryInputs = inputs_from_plays(spark, PLAYS, ZONES, config, period="2025-Q1")
    by_user = stories_by_user(timeline(inputs), "timeline")
    assert set(by_user) == set(ZONES)
    return by_user


def top(artist: str, streams: float) -> dict[str, Any]:
    return {"artist_key": f"key-{artist}", "name": artist, "streams": streams}


def month(label: str, minutes: float, top_artist: dict[str, Any] | None) -> dict[str, Any]:
    return {"month": label, "minutes": minutes, "top_artist": top_artist}


def test_period_months_cover_every_month_the_period_touches() -> None:
    assert period_months(Period.parse("2025-Q1")) == ["2025-01", "2025-02", "2025-03"]
    assert period_months(Period.parse("2024-11-15..2025-01-02")) == [
        "2024-11",
        "2024-12",
        "2025-01",
    ]


def test_timeline_fills_every_month_and_races_the_top_artists(
    stories: dict[str, dict[str, Any]],
) -> None:
    story = stories["tl"]

    assert (story["eligible"], story["reason"]) == (True, None)
    # Minutes of all content: 4 in January, 30 (podcast) in February, 4 in March.
    assert story["months"] == [
        month("2025-01", 4.0, top("A", 2.0)),
        month("2025-02", 30.0, None),
        month("2025-03", 4.0, top("B", 2.0)),
    ]
    # Period streams: B 1 + 2 = 3, A 2 + 0.5 = 2.5, D 1 + 1 = 2, C 1. D ties 1 and 1: January.
    assert story["top_artist_peaks"] == [
        {"artist_key": "key-B", "name": "B", "peak_month": "2025-03"},
        {"artist_key": "key-A", "name": "A", "peak_month": "2025-01"},
        {"artist_key": "key-D", "name": "D", "peak_month": "2025-01"},
        {"artist_key": "key-C", "name": "C", "peak_month": "2025-03"},
    ]
    assert story["race"] == [
        {"artist_key": "key-B", "name": "B", "cumulative_streams": [1.0, 1.0, 3.0]},
        {"artist_key": "key-A", "name": "A", "cumulative_streams": [2.0, 2.0, 2.5]},
        {"artist_key": "key-D", "name": "D", "cumulative_streams": [1.0, 1.0, 2.0]},
        {"artist_key": "key-C", "name": "C", "cumulative_streams": [0.0, 0.0, 1.0]},
    ]


def test_timeline_months_are_the_users_local_months(stories: dict[str, dict[str, Any]]) -> None:
    tokyo, newyork = stories["tokyo"], stories["newyork"]

    assert tokyo["months"] == [
        month("2025-01", 0.0, None),
        month("2025-02", 1.0, top("X", 1.0)),
        month("2025-03", 0.0, None),
    ]
    assert tokyo["race"] == [
        {"artist_key": "key-X", "name": "X", "cumulative_streams": [0.0, 1.0, 1.0]}
    ]
    assert newyork["top_artist_peaks"] == [
        {"artist_key": "key-X", "name": "X", "peak_month": "2025-01"}
    ]
    assert newyork["race"][0]["cumulative_streams"] == [1.0, 1.0, 1.0]


def test_a_podcast_only_timeline_has_minutes_and_no_artists(
    stories: dict[str, dict[str, Any]],
) -> None:
    assert stories["pod"] == {
        "eligible": True,
        "reason": None,
        "months": [
            month("2025-01", 0.0, None),
            month("2025-02", 20.0, None),
            month("2025-03", 0.0, None),
        ],
        "top_artist_peaks": [],
        "race": [],
    }
