from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from conftest import local_test_config
from spinback.config import Config
from spinback.stories.mainstream import mainstream
from story_support import inputs_from_plays, play, story_of

DAY = datetime(2025, 6, 1, 9, 0)


def streams(user: str, artist: str, count: int) -> list[dict]:
    return [play(user, DAY + timedelta(hours=h), 60_000, artist) for h in range(count)]


PLAYS = [
    *streams("a", "X", 3),
    *streams("a", "Y", 1),
    *streams("a", "Z", 3),
    *streams("b", "X", 1),
    *streams("b", "Y", 1),
    *streams("c", "X", 1),
    # d's only artists, W and V, have one listener each: a tie for the rarest listen.
    *streams("d", "W", 3),
    *streams("d", "V", 3),
    play("pod", DAY, 900_000, "Show", content_type="podcast"),
]
ZONES = {user: "UTC" for user in ("a", "b", "c", "d", "pod")}


def test_scores_rank_artists_by_listeners_and_find_the_rarest_track(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = local_test_config(tmp_path, "wrapped.min_population=3")
    stories = mainstream(inputs_from_plays(spark, PLAYS, ZONES, config)).cache()

    # Listeners per artist: X 3, Y 2, Z 1, W 1, V 1 (5 artists). percent_rank_among gives the
    # share of all artists below, plus its 0.001 resolution step: Y 3/5 -> 0.601, X 4/5 -> 0.801,
    # Z, W, V 0. Scores: a (3 x 0.801 + 1 x 0.601 + 3 x 0) / 7 = 0.42914 -> 42.9;
    # b (0.801 + 0.601) / 2 -> 70.1; c 80.1; d 0.0.
    # More adventurous than (share of the 4 scores above): c 0 -> 0.0, b 1/4 -> 25.1,
    # a 2/4 -> 50.1, d 3/4 -> 75.1.
    assert story_of(stories, "a", "mainstream") == {
        "eligible": True,
        "reason": None,
        "score": 42.9,
        "more_adventurous_than_percent": 50.1,
        "rarest_listen": {
            "track_key": "key-track-of-Z",
            "name": "track-of-Z",
            "artist": "Z",
            "listeners": 1,
            "plays": 3,
        },
    }
    b, c, d = (story_of(stories, user, "mainstream") for user in ("b", "c", "d"))
    assert [(s["score"], s["more_adventurous_than_percent"]) for s in (b, c, d)] == [
        (70.1, 25.1),
        (80.1, 0.0),
        (0.0, 75.1),
    ]
    # b played no track 3 times: no rarest listen. d's W and V tie on 1 listener: key V first.
    assert b["rarest_listen"] is None
    assert d["rarest_listen"]["track_key"] == "key-track-of-V"
    podcast = story_of(stories, "pod", "mainstream")
    assert (podcast["eligible"], podcast["reason"], podcast["score"]) == (
        False,
        "no qualified stream in the period",
        None,
    )


def test_below_min_population_nothing_is_shown(spark: SparkSession, config: Config) -> None:
    stories = mainstream(inputs_from_plays(spark, PLAYS, ZONES, config))

    story = story_of(stories, "a", "mainstream")

    assert story == {
        "eligible": False,
        "reason": "the period has 5 listeners, fewer than the 50 needed for population statistics",
        "score": None,
        "more_adventurous_than_percent": None,
        "rarest_listen": None,
    }
