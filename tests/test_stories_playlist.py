from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from conftest import local_test_config
from spinback.stories.playlist import place_apart, playlist
from story_support import inputs_from_plays, play, story_of

DAY = datetime(2025, 5, 1, 10, 0)


def streams(user: str, artist: str, track: str, count: int, days: int = 1, start: int = 0) -> list:
    """``count`` 60 s streams of ``track`` spread over ``days`` days, from hour ``start``."""
    return [
        play(user, DAY + timedelta(days=i % days, hours=start + i), 60_000, artist, track=track)
        for i in range(count)
    ]


def test_ranked_head_then_scored_tracks_kept_apart_by_artist(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = local_test_config(
        tmp_path, "wrapped.playlist_size=6", "wrapped.playlist_ranked_positions=2"
    )
    plays = [
        *streams("u1", "A", "a1", 5),
        *streams("u1", "A", "a2", 4),
        *streams("u1", "A", "a3", 3),
        *streams("u1", "B", "b1", 3, days=3),
        *streams("u1", "A", "a4", 2, days=2),
        *streams("u1", "C", "c1", 2),
        *streams("u1", "A", "a5", 1, start=1),
        *streams("u1", "D", "d1", 1, start=2),
        # only: every track by X, so the rule cannot hold and the best is taken.
        *streams("only", "X", "x1", 3),
        *streams("only", "X", "x2", 2),
        *streams("only", "X", "x3", 1),
        play("single", DAY, 60_000, "S", track="s1"),
        play("pod", DAY, 900_000, "Show", content_type="podcast"),
        # 14:30 and 15:30 UTC are 23:30 and 00:30 in Tokyo (two days), 10:30 and 11:30 in New
        # York (one day). q's two streams fall on two days everywhere, after p's.
        *[
            p
            for user in ("tokyo", "newyork")
            for p in (
                *streams(user, "T", "t1", 4),
                *streams(user, "T", "t2", 3),
                play(user, datetime(2025, 6, 1, 14, 30), 60_000, "P", track="p"),
                play(user, datetime(2025, 6, 1, 15, 30), 60_000, "P", track="p"),
                play(user, datetime(2025, 7, 1, 12, 0), 60_000, "Q", track="q"),
                play(user, datetime(2025, 7, 2, 12, 0), 60_000, "Q", track="q"),
            )
        ],
    ]
    zones = {
        "u1": "UTC",
        "only": "UTC",
        "single": "UTC",
        "pod": "UTC",
        "tokyo": "Asia/Tokyo",
        "newyork": "America/New_York",
    }
    stories = playlist(inputs_from_plays(spark, plays, zones, config)).cache()

    def tracks_of(user: str) -> list[tuple]:
        story = story_of(stories, user, "playlist")
        assert story["eligible"] is True
        return [(t["position"], t["name"], t["streams"], t["days"]) for t in story["tracks"]]

    # Positions 1-2 by streams: a1 (5), a2 (4). Scores (streams + 2 x days) of the rest: b1 3 + 6
    # = 9, a4 2 + 4 = 6, a3 3 + 2 = 5, c1 2 + 2 = 4, a5 and d1 1 + 2 = 3 (a5 first played).
    # After a2 (A): b1 (B); then a4 (A); then not A: c1 (C) before a3; then a3. Six in all.
    assert tracks_of("u1") == [
        (1, "a1", 5, 1),
        (2, "a2", 4, 1),
        (3, "b1", 3, 3),
        (4, "a4", 2, 2),
        (5, "c1", 2, 1),
        (6, "a3", 3, 1),
    ]
    assert [name for _, name, _, _ in tracks_of("only")] == ["x1", "x2", "x3"]
    assert tracks_of("single") == [(1, "s1", 1, 1)]
    assert story_of(stories, "pod", "playlist") == {
        "eligible": False,
        "reason": "no qualified stream in the period",
        "tracks": [],
    }
    # Tokyo: p 2 + 2 x 2 = 6 ties q 2 + 2 x 2 = 6 and was first played earlier; New York: p 4 < q 6.
    assert [name for _, name, _, _ in tracks_of("tokyo")] == ["t1", "t2", "p", "q"]
    assert [name for _, name, _, _ in tracks_of("newyork")] == ["t1", "t2", "q", "p"]


def test_placement_reaches_past_a_long_run_of_one_artist(spark: SparkSession) -> None:
    # Ten candidates by A (more than the look-ahead), then one by B; the head ended on A.
    frame = spark.createDataFrame(
        [(["A"] * 10 + ["B"], "A", 3), (["A", None], "A", 2), ([], "A", 5)],
        "artists array<string>, previous string, positions int",
    )
    placed = frame.select(
        place_apart(F.col("artists"), F.col("previous"), F.col("positions")).alias("placed")
    ).collect()
    # First: B (11) is the only other artist; then the best A (1); then only A is left (2).
    # Second: the unknown artist (2) is never the same as A, and nothing is the same as unknown.
    assert [row["placed"] for row in placed] == [[11, 1, 2], [2, 1], []]
