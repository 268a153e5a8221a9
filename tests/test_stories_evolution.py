from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.stories.evolution import evolution, months_in
from spinback.stories.period import Period
from story_support import inputs_from_plays, play, story_of


def streams(user: str, month: int, artist: str, count: int, **details: object) -> list[dict]:
    start = datetime(2025, month, 10, 12, 0)
    return [play(user, start + timedelta(hours=h), 60_000, artist, **details) for h in range(count)]


def phase(start: str, end: str, kind: str, top: str, pivotal: list[str]) -> dict:
    return {
        "start_month": start,
        "end_month": end,
        "kind": kind,
        "top": top,
        "pivotal_artists": pivotal,
    }


def test_months_cut_into_phases_of_least_cosine_distance(
    spark: SparkSession, config: Config
) -> None:
    plays = [
        # shift: January and February are A 3 + D 1, March and April B 3 + D 1.
        *[p for m in (1, 2) for p in streams("shift", m, "A", 3) + streams("shift", m, "D", 1)],
        *[p for m in (3, 4) for p in streams("shift", m, "B", 3) + streams("shift", m, "D", 1)],
        # steady: A in January and February; one phase costs 0, two cost the 0.05 penalty.
        *streams("steady", 1, "A", 2),
        *streams("steady", 2, "A", 1),
        # genres: t1 (rock, pop) in January and February, t2 (jazz) and t3 (no genre) in March.
        *streams("genres", 1, "R", 2, track="t1"),
        *streams("genres", 2, "R", 2, track="t1"),
        *streams("genres", 3, "J", 1, track="t2"),
        *streams("genres", 3, "Z", 1, track="t3"),
        *streams("one_month", 5, "A", 4),
        play("pod", datetime(2025, 5, 1), 900_000, "Show", content_type="podcast"),
        # 23:30 UTC on 31 January is 1 February in Tokyo, still 31 January in New York.
        *[
            p
            for user in ("tokyo", "newyork")
            for p in (
                play(user, datetime(2025, 1, 15, 12, 0), 60_000, "A"),
                play(user, datetime(2025, 1, 31, 23, 30), 60_000, "B"),
            )
        ],
    ]
    zones = {
        "shift": "UTC",
        "steady": "UTC",
        "genres": "UTC",
        "one_month": "UTC",
        "pod": "UTC",
        "tokyo": "Asia/Tokyo",
        "newyork": "America/New_York",
    }
    catalog = [
        {"track_key": "key-t1", "artist_key": "key-R", "genres": ["rock", "pop"]},
        {"track_key": "key-t2", "artist_key": "key-J", "genres": ["jazz"]},
    ]
    inputs = inputs_from_plays(spark, plays, zones, config, catalog=catalog)
    stories = evolution(inputs).cache()

    # shift, one phase: s = 2 (.75 A + .25 D) + 2 (.75 B + .25 D) = (1.5, 1.5, 1), |s| = 2.345;
    # cos(January, s) = (.75 x 1.5 + .25 x 1) / (.791 x 2.345) = .742, cost 4 x .258 = 1.03.
    # Two phases at March: cost 0 + 0.05. Pivotal in phase 1: A 6 x 6 / 6 = 6, D 2 x 2 / 4 = 1.
    assert story_of(stories, "shift", "evolution") == {
        "eligible": True,
        "reason": None,
        "phases": [
            phase("2025-01", "2025-02", "artist", "A", ["A", "D"]),
            phase("2025-03", "2025-04", "artist", "B", ["B", "D"]),
        ],
    }
    assert story_of(stories, "steady", "evolution")["phases"] == [
        phase("2025-01", "2025-02", "artist", "A", ["A"])
    ]
    # genres, one phase: s = 2 (.5 rock + .5 pop) + jazz = (1, 1, 1); cos(January, s) = .816,
    # cos(March, s) = .577: cost .79 > 0.05 for two phases. Rock and pop tie: "pop" first.
    # March's pivotal artists J and Z tie (1 x 1 / 1, one stream): key-J first.
    assert story_of(stories, "genres", "evolution")["phases"] == [
        phase("2025-01", "2025-02", "genre", "pop", ["R"]),
        phase("2025-03", "2025-03", "genre", "jazz", ["J", "Z"]),
    ]
    assert story_of(stories, "one_month", "evolution") == {
        "eligible": False,
        "reason": "qualified streams in only 1 month; phases need at least 2",
        "phases": [],
    }
    podcast = story_of(stories, "pod", "evolution")
    assert (podcast["eligible"], podcast["reason"]) == (False, "no qualified stream in the period")
    # Tokyo: A in January, B in February (cost of one phase 2 x (1 - .707) = .59 > 0.05).
    assert story_of(stories, "tokyo", "evolution")["phases"] == [
        phase("2025-01", "2025-01", "artist", "A", ["A"]),
        phase("2025-02", "2025-02", "artist", "B", ["B"]),
    ]
    assert story_of(stories, "newyork", "evolution")["eligible"] is False


def test_months_in_counts_the_calendar_months_a_period_touches() -> None:
    assert months_in(Period.parse("2025")) == 12
    assert months_in(Period.parse("2025-Q2")) == 3
    assert months_in(Period.parse("2025-03-15..2025-05-02")) == 3
