from __future__ import annotations

from datetime import date, datetime, timedelta

from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.stories.comparisons import loyalty_window_start, year_over_year
from spinback.stories.period import Period
from story_support import inputs_from_plays, play, story_of


def streams(user: str, day: datetime, artist: str, count: int) -> list[dict]:
    return [play(user, day + timedelta(hours=h), 60_000, artist) for h in range(count)]


def monthly(user: str, artist: str, months: range, hour: int = 12) -> list[dict]:
    return [play(user, datetime(2025, m, 15, hour), 60_000, artist) for m in months]


def test_minutes_rank_moves_comebacks_and_loyal_artists(
    spark: SparkSession, config: Config
) -> None:
    plays = [
        # y1 in 2024: A 3 (last on 10 March), B 2 (1 December), C 1 (1 May): ranks A 1, B 2, C 3.
        *streams("y1", datetime(2024, 3, 10, 9), "A", 3),
        *streams("y1", datetime(2024, 12, 1, 9), "B", 2),
        *streams("y1", datetime(2024, 5, 1, 9), "C", 1),
        # y1 in 2025: B 4, A 3 (back on 1 June), C 2 (back on 10 January), D 1 (new).
        *streams("y1", datetime(2025, 2, 1, 9), "B", 4),
        *streams("y1", datetime(2025, 6, 1, 9), "A", 3),
        *streams("y1", datetime(2025, 1, 10, 9), "C", 2),
        *streams("y1", datetime(2025, 8, 1, 9), "D", 1),
        # loyal: L in 9 months of 2025 (loyal), M in 8 (not).
        play("loyal", datetime(2024, 6, 1, 12), 60_000, "Z"),
        *monthly("loyal", "L", range(1, 10)),
        *monthly("loyal", "M", range(1, 9), hour=13),
        # L in January..August; 23:30 UTC on 31 December is 2026 in Tokyo, 2025 in New York,
        # where it is L's ninth month.
        *[
            p
            for user in ("tokyo", "newyork")
            for p in (
                play(user, datetime(2024, 6, 1, 12), 60_000, "Z"),
                *monthly(user, "L", range(1, 9)),
                play(user, datetime(2025, 12, 31, 23, 30), 60_000, "L"),
            )
        ],
        play("fresh", datetime(2025, 3, 1, 12), 60_000, "A"),
    ]
    zones = {
        "y1": "UTC",
        "loyal": "UTC",
        "fresh": "UTC",
        "tokyo": "Asia/Tokyo",
        "newyork": "America/New_York",
    }
    stories = year_over_year(inputs_from_plays(spark, plays, zones, config)).cache()

    # Minutes: 2024 3 + 2 + 1 = 6, 2025 4 + 3 + 2 + 1 = 10: +66.7 %.
    # Comebacks: A 10 March 2024 -> 1 June 2025 = 365 + 21 + 30 + 31 + 1 = 448 days; C 1 May 2024
    # -> 10 January 2025 = 245 + 9 = 254 days; B 1 December -> 1 February = 62 < 180; D is new.
    assert story_of(stories, "y1", "year_over_year") == {
        "eligible": True,
        "reason": None,
        "minutes_previous": 6.0,
        "minutes_current": 10.0,
        "minutes_change_percent": 66.7,
        "artist_moves": [
            {"artist_key": "key-B", "name": "B", "rank": 1, "previous_rank": 2, "move": "up"},
            {"artist_key": "key-A", "name": "A", "rank": 2, "previous_rank": 1, "move": "down"},
            {"artist_key": "key-C", "name": "C", "rank": 3, "previous_rank": 3, "move": "same"},
            {"artist_key": "key-D", "name": "D", "rank": 4, "previous_rank": None, "move": "new"},
        ],
        "comebacks": [
            {"artist_key": "key-A", "name": "A", "silent_days": 448},
            {"artist_key": "key-C", "name": "C", "silent_days": 254},
        ],
        "loyal_artists": [],
    }
    assert story_of(stories, "loyal", "year_over_year")["loyal_artists"] == [
        {"artist_key": "key-L", "name": "L", "months": 9}
    ]
    assert story_of(stories, "tokyo", "year_over_year")["loyal_artists"] == []
    assert story_of(stories, "newyork", "year_over_year")["loyal_artists"] == [
        {"artist_key": "key-L", "name": "L", "months": 9}
    ]
    assert story_of(stories, "fresh", "year_over_year") == {
        "eligible": False,
        "reason": "no plays in the year before the period (2024-01-01 to 2025-01-01, end "
        "exclusive)",
        "minutes_previous": 0.0,
        "minutes_current": 1.0,
        "minutes_change_percent": None,
        "artist_moves": [],
        "comebacks": [],
        "loyal_artists": [],
    }


def test_the_loyalty_window_is_the_twelve_months_ending_with_the_period() -> None:
    assert loyalty_window_start(Period.parse("2025")) == date(2025, 1, 1)
    assert loyalty_window_start(Period.parse("2025-Q2")) == date(2024, 7, 1)
    assert loyalty_window_start(Period.parse("2025-03-10..2025-03-20")) == date(2024, 4, 1)
