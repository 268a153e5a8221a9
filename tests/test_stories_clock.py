"""The ``clock`` and ``audio_day`` stories: local weekdays and wall-clock hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.stories import clock
from spinback.stories.inputs import StoryInputs
from story_support import inputs_from_plays, play, stories_by_user

MINUTE = 60_000
# From 2024 (29 February) to the end of 2025 (Berlin's daylight-saving changes).
PERIOD = "2024-01-01..2026-01-01"
MONDAY = datetime(2025, 6, 2)

PLAYS = [
    # 23:30 UTC on Friday 10 January 2025: Saturday 08:30 in Tokyo, Friday 18:30 in New York.
    play("tokyo", datetime(2025, 1, 10, 23, 30), MINUTE, "X"),
    play("newyork", datetime(2025, 1, 10, 23, 30), MINUTE, "X"),
    # Thursday 29 February 2024 at 10:00 twice, Friday 1 March at 10:00 once.
    play("leap", datetime(2024, 2, 29, 10, 0), MINUTE, "L"),
    play("leap", datetime(2024, 2, 29, 10, 20), MINUTE, "L"),
    play("leap", datetime(2024, 3, 1, 10, 0), MINUTE, "L"),
    # Berlin, Sunday 30 March 2025: 00:30 UTC is 01:30 CET, 01:30 UTC is 03:30 CEST (no 02:00).
    # Sunday 26 October 2025: 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET (02:00 twice).
    *[
        play("berlin", datetime(2025, month, day, hour, 30), MINUTE, "Y")
        for month, day in ((3, 30), (10, 26))
        for hour in (0, 1)
    ],
    # tie: Monday 17:00 and Tuesday 09:00; a private play on Wednesday is no stream.
    play("tie", MONDAY.replace(hour=17), MINUTE, "Z"),
    play("tie", MONDAY.replace(day=3, hour=9), MINUTE, "Z"),
    play("tie", MONDAY.replace(day=4, hour=12), MINUTE, "Z", private=True),
    play("pod", MONDAY, 30 * MINUTE, "Talk", content_type="podcast"),
    # moods (no genres, so artists): mornings A 3 and B 1, evenings B 3 and A 1.
    *[play("moods", MONDAY.replace(hour=h), MINUTE, "A") for h in (6, 7, 8, 22)],
    *[play("moods", MONDAY.replace(hour=h), MINUTE, "B") for h in (9, 19, 20, 21)],
    # genre: Calm (ambient) twice at night, Loud (metal, rock) twice in the afternoon, Plain (no
    # genre) in the evening.
    *[play("genre", MONDAY.replace(hour=h), MINUTE, "Cal", track="Calm") for h in (1, 2)],
    *[play("genre", MONDAY.replace(hour=h), MINUTE, "Lou", track="Loud") for h in (13, 14)],
    play("genre", MONDAY.replace(hour=20), MINUTE, "Plain"),
]
CATALOG = [
    {"track_key": "key-Calm", "artist_key": "key-Cal", "genres": ["ambient"]},
    {"track_key": "key-Loud", "artist_key": "key-Lou", "genres": ["metal", "rock"]},
]
ZONES = {
    "tokyo": "Asia/Tokyo",
    "newyork": "America/New_York",
    "leap": "UTC",
    "berlin": "Europe/Berlin",
    "tie": "UTC",
    "pod": "UTC",
    "moods": "UTC",
    "genre": "UTC",
}


@pytest.fixture(scope="module")
def inputs(spark: SparkSession, config: Config) -> StoryInputs:
    return inputs_from_plays(spark, PLAYS, ZONES, config, period=PERIOD, catalog=CATALOG)


def heatmap(cells: dict[tuple[int, int], int]) -> list[list[int]]:
    """7 x 24 zeros with ``{(weekday 1-7, hour): streams}`` filled in."""
    grid = [[0] * 24 for _ in range(7)]
    for (weekday, hour), streams in cells.items():
        grid[weekday - 1][hour] = streams
    return grid


def test_clock_places_streams_at_the_local_weekday_and_wall_clock_hour(
    inputs: StoryInputs,
) -> None:
    stories = stories_by_user(clock.clock(inputs), "clock")
    assert set(stories) == set(ZONES)

    def story(cells: dict[tuple[int, int], int], hour: int, weekday: int) -> dict[str, Any]:
        return {
            "eligible": True,
            "reason": None,
            "heatmap": heatmap(cells),
            "peak_hour": hour,
            "peak_weekday": weekday,
        }

    assert stories["tokyo"] == story({(6, 8): 1}, 8, 6)
    assert stories["newyork"] == story({(5, 18): 1}, 18, 5)
    assert stories["leap"] == story({(4, 10): 2, (5, 10): 1}, 10, 4)
    # Sundays: 01:30 and 03:30 in March, 02:30 twice in October.
    assert stories["berlin"] == story({(7, 1): 1, (7, 2): 2, (7, 3): 1}, 2, 7)
    # One stream on Monday at 17 and one on Tuesday at 9: ties go to Monday and to 9.
    assert stories["tie"] == story({(1, 17): 1, (2, 9): 1}, 9, 1)
    assert stories["pod"] == {
        "eligible": False,
        "reason": "no qualified stream in the period",
        "heatmap": heatmap({}),
        "peak_hour": None,
        "peak_weekday": None,
    }


def test_audio_day_picks_the_most_characteristic_item_of_each_part(inputs: StoryInputs) -> None:
    stories = stories_by_user(clock.audio_day(inputs), "audio_day")

    def parts(**winners: tuple[str, str, str, float]) -> list[dict[str, Any]]:
        bounds = {"night": (0, 5), "morning": (5, 12), "afternoon": (12, 18), "evening": (18, 24)}
        rows = []
        for part, (start, end) in bounds.items():
            kind, key, name, score = winners.get(part, (None, None, None, None))
            rows.append(
                {
                    "part": part,
                    "start_hour": start,
                    "end_hour": end,
                    "kind": kind,
                    "key": key,
                    "name": name,
                    "score": score,
                }
            )
        return rows

    # A and B have 4 of the 8 streams each (share 0.5). Mornings: A 3 of 4, 0.75 * ln(0.75 / 0.5)
    # = 0.75 * 0.405465 = 0.3041 (B: 0.25 * ln(0.5) < 0). Evenings: B, the same.
    assert stories["moods"] == {
        "eligible": True,
        "reason": None,
        "parts": parts(
            morning=("artist", "key-A", "A", 0.3041), evening=("artist", "key-B", "B", 0.3041)
        ),
    }
    # Genre weights: ambient 2, metal 1, rock 1 of 4 (Plain has no genre: left out, so the
    # evening has no item). Night: ambient 1 * ln(1 / 0.5) = 0.6931. Afternoon: metal and rock
    # both 0.5 * ln(0.5 / 0.25) = 0.3466, the smaller key wins.
    assert stories["genre"] == {
        "eligible": True,
        "reason": None,
        "parts": parts(
            night=("genre", "ambient", "ambient", 0.6931),
            afternoon=("genre", "metal", "metal", 0.3466),
        ),
    }
    # One stream: one part only, where the item is the whole day (score ln(1) = 0).
    assert stories["tokyo"] == {
        "eligible": False,
        "reason": "qualified streams in fewer than 2 parts of the day (1)",
        "parts": parts(morning=("artist", "key-X", "X", 0.0)),
    }
    assert stories["pod"] == {
        "eligible": False,
        "reason": "no qualified stream in the period",
        "parts": parts(),
    }
