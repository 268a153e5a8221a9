from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from conftest import local_test_config
from spinback.stories.milestones import milestones
from story_support import inputs_from_plays, play, story_of


def item(kind: str, threshold: int, day: date, hour: int | None, artist: str | None) -> dict:
    return {
        "kind": kind,
        "threshold": threshold,
        "reached_on": day,
        "reached_hour": hour,
        "artist_key": f"key-{artist}" if artist else None,
        "name": artist,
    }


def test_running_totals_cross_thresholds_overall_and_per_top_artist(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = local_test_config(
        tmp_path, "wrapped.milestone_streams=[2, 4]", "wrapped.milestone_minutes=[3, 10]"
    )
    plays = [
        # m1: two 60 s streams of A in 2024 (2 streams crossed then, not reported).
        play("m1", datetime(2024, 12, 31, 10), 60_000, "A"),
        play("m1", datetime(2024, 12, 31, 11), 60_000, "A"),
        # 2 January 2025: A at 09 (total 3), B at 15, 16, 17 (totals 4, 5, 6).
        play("m1", datetime(2025, 1, 2, 9), 60_000, "A"),
        *[play("m1", datetime(2025, 1, 2, h), 60_000, "B") for h in (15, 16, 17)],
        # 23:30 UTC on New Year's Eve: 08:30 on 1 January in Tokyo, 18:30 on 31 December in New
        # York. 10:00 UTC on 1 January is 19:00 in Tokyo and 05:00 in New York.
        *[
            p
            for user in ("tokyo", "newyork")
            for p in (
                play(user, datetime(2024, 12, 31, 23, 30), 60_000, "A"),
                play(user, datetime(2025, 1, 1, 10), 60_000, "A"),
            )
        ],
        # pod: 4 minutes of podcast cross 3 minutes; no streams.
        play("pod", datetime(2025, 2, 1, 12), 240_000, "Show", content_type="podcast"),
        play("quiet", datetime(2025, 3, 1, 12), 60_000, "A"),
    ]
    zones = {
        "m1": "UTC",
        "tokyo": "Asia/Tokyo",
        "newyork": "America/New_York",
        "pod": "UTC",
        "quiet": "UTC",
    }
    stories = milestones(inputs_from_plays(spark, plays, zones, config)).cache()

    day = date(2025, 1, 2)
    # Overall streams 2, 3 (09h), 4 (15h): 4 crossed at 15h. B 1, 2 (16h): 2 crossed at 16h;
    # A's 2 was crossed in 2024. Minutes: overall 2 + 4 = 6, A 2 + 1 = 3, B 3: each crosses 3 on
    # the day (no hour), sorted after the day's hours, overall first, then A, then B.
    assert story_of(stories, "m1", "milestones") == {
        "eligible": True,
        "reason": None,
        "items": [
            item("streams", 4, day, 15, None),
            item("streams", 2, day, 16, "B"),
            item("minutes", 3, day, None, None),
            item("minutes", 3, day, None, "A"),
            item("minutes", 3, day, None, "B"),
        ],
    }
    new_year = date(2025, 1, 1)
    assert story_of(stories, "tokyo", "milestones")["items"] == [
        item("streams", 2, new_year, 19, None),
        item("streams", 2, new_year, 19, "A"),
    ]
    assert story_of(stories, "newyork", "milestones")["items"] == [
        item("streams", 2, new_year, 5, None),
        item("streams", 2, new_year, 5, "A"),
    ]
    assert story_of(stories, "pod", "milestones")["items"] == [
        item("minutes", 3, date(2025, 2, 1), None, None)
    ]
    assert story_of(stories, "quiet", "milestones") == {
        "eligible": False,
        "reason": "no milestone crossed in the period (lifetime totals: 1 streams, 1 minutes)",
        "items": [],
    }
