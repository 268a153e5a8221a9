"""`spinback recommend` end to end on a hand-made catalogue: recommendations, fallback, stories."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F

from spinback.config import Config
from spinback.recommend.job import run_recommend
from spinback.recommend.train import run_train
from spinback.schema import CATALOG, PLAYS, USERS
from spinback.tables import TableLocations, read_delta

# Group A listens to artists a1 (tracks t01-t03) and a2 (t04, t05), all rock; group B to a3
# (t06-t08) and a4 (t09, t10), all jazz.
ARTIST_OF = {
    **{f"t{n:02d}": "a1" for n in (1, 2, 3)},
    **{f"t{n:02d}": "a2" for n in (4, 5)},
    **{f"t{n:02d}": "a3" for n in (6, 7, 8)},
    **{f"t{n:02d}": "a4" for n in (9, 10)},
}
GENRE_OF = {"a1": "rock", "a2": "rock", "a3": "jazz", "a4": "jazz"}
GROUP_A = ["t01", "t02", "t03", "t04", "t05"]
GROUP_B = ["t06", "t07", "t08", "t09", "t10"]
LISTENING = {
    # user: (tracks, which of them were last played in March, the rest in December)
    "u1": (GROUP_A[:4], {"t01"}),
    "u2": (GROUP_A[1:], set()),
    "u3": (GROUP_A[:3], set()),
    "u4": (GROUP_B[:4], {"t06"}),
    "u5": (GROUP_B[1:], set()),
    "u6": ([*GROUP_B[::2], "t07"], set()),
    # u7 played one rock track: too little history for the model.
    "u7": (["t02"], set()),
}
OPTED_IN_TWINS = {"u1", "u2", "u4"}
OPTED_OUT = {"u3"}


def play_row(user: str, track: str, ended_at: datetime) -> tuple[Any, ...]:
    values: dict[str, Any] = {field.name: None for field in PLAYS.fields}
    values.update(
        event_id=f"{user}-{track}-{ended_at.isoformat()}",
        user_id=user,
        ended_at=ended_at,
        started_at=ended_at - timedelta(minutes=3),
        ms_played=180_000,
        ms_played_estimated=False,
        content_type="music",
        track_key=track,
        track_name=f"Track {track}",
        artist_key=ARTIST_OF[track],
        artist_name=f"Artist {ARTIST_OF[track]}",
        private=False,
        source="test",
        batch_id="test-batch",
    )
    return tuple(values[field.name] for field in PLAYS.fields)


def write_silver(spark: SparkSession, locations: TableLocations) -> None:
    plays = []
    for user, (tracks, in_march) in LISTENING.items():
        for number, track in enumerate(tracks):
            month = 3 if track in in_march else 12
            for repeat in range(2 + number % 2):
                ended_at = datetime(2025, month, 1 + number + repeat, 20, tzinfo=timezone.utc)
                plays.append(play_row(user, track, ended_at))
    spark.createDataFrame(plays, PLAYS).write.format("delta").save(locations.plays)

    catalog = [
        (
            track,
            f"Track {track}",
            artist,
            f"Artist {artist}",
            [],
            None,
            None,
            None,
            None,
            [GENRE_OF[artist]],
        )
        for track, artist in ARTIST_OF.items()
    ]
    spark.createDataFrame(catalog, CATALOG).write.format("delta").save(locations.catalog)

    users = [
        (user, "UTC", "DE", False, user in OPTED_OUT, user in OPTED_IN_TWINS) for user in LISTENING
    ]
    spark.createDataFrame(users, USERS).write.format("delta").save(locations.users)


@pytest.mark.heavy
def test_recommend_writes_recommendations_fallback_and_stories(
    spark: SparkSession, data_config: Config
) -> None:
    config = dataclasses.replace(
        data_config,
        wrapped=dataclasses.replace(data_config.wrapped, period="2025"),
        train=dataclasses.replace(
            data_config.train,
            rank=4,
            max_iter=5,
            window_days=365,
            holdout_days=1,
            checkpoint_interval=2,
            num_blocks=2,
            top_k=2,
            model_name="spinback-recommend-test",
            alias="champion",
        ),
        recommend=dataclasses.replace(
            data_config.recommend,
            top_k=3,
            min_history=3,
            story_size=3,
            per_artist=1,
            taste_twins=1,
            shared_artists=2,
            top_artists=2,
            similar_artists=1,
        ),
    )
    locations = TableLocations.from_config(config)
    write_silver(spark, locations)
    run_train(spark, config)

    result = run_recommend(spark, config)

    assert result.model_version == "1"
    recommendations = read_delta(spark, locations.recommendations)
    rows = recommendations.collect()
    by_user: dict[str, list[Row]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append(row)

    # u3 opted out; everyone else gets a list, and never a track they played.
    assert set(by_user) == {"u1", "u2", "u4", "u5", "u6", "u7"}
    for user, recommended in by_user.items():
        assert not {row["track_key"] for row in recommended} & set(LISTENING[user][0])
        assert sorted(row["rank"] for row in recommended) == list(range(1, len(recommended) + 1))
    assert {row["source"] for row in by_user["u1"]} == {"model"}
    assert len(by_user["u1"]) == 3
    # u7 is cold: the fallback ranks the rock tracks u7 did not play by listeners:
    # t03 (u1, u2, u3) 3, then t01 (u1, u3) and t04 (u1, u2) with 2 each, the lower key first.
    fallback = sorted(by_user["u7"], key=lambda row: row["rank"])
    assert {row["source"] for row in fallback} == {"genre_popularity"}
    assert [row["track_key"] for row in fallback] == ["t03", "t01", "t04"]
    assert [row["score"] for row in fallback] == [3.0, 2.0, 2.0]
    assert fallback[0]["reason"] == "popular in rock"

    stories = {
        row["user_id"]: row for row in read_delta(spark, locations.recommendation_stories).collect()
    }
    assert set(stories) == set(LISTENING)
    assert {row["period"] for row in stories.values()} == {"2025"}

    opted_out = stories["u3"]
    for story in ("discover", "rediscover", "taste_twins", "similar_artists"):
        assert not opted_out[story]["eligible"]
        assert opted_out[story]["reason"] == "opted out of recommendations"

    # Taste twins only among u1, u2 and u4; u5 did not opt in.
    twins = {user: stories[user]["taste_twins"] for user in ("u1", "u2", "u4")}
    assert all(story["eligible"] for story in twins.values())
    assert {twins["u1"]["items"][0]["name"], twins["u2"]["items"][0]["name"]} <= {"u1", "u2", "u4"}
    assert twins["u1"]["items"][0]["name"] != "u1"
    assert not stories["u5"]["taste_twins"]["eligible"]
    assert "opt in" in stories["u5"]["taste_twins"]["reason"]

    # Discover: at most one track per artist; the cold user gets the fallback.
    discover = stories["u1"]["discover"]
    assert discover["eligible"] and discover["source"] == "model"
    artists = [item["artist"] for item in discover["items"]]
    assert len(artists) == len(set(artists))
    assert stories["u7"]["discover"]["source"] == "genre_popularity"

    # Rediscover: u1 last played t01 in March, more than 60 days before the period's end.
    assert [item["key"] for item in stories["u1"]["rediscover"]["items"]] == ["t01"]
    assert not stories["u2"]["rediscover"]["eligible"]

    # Similar artists: for u1's two top artists (a1, a2), one similar artist each.
    similar = stories["u1"]["similar_artists"]
    assert [item["rank"] for item in similar["items"]] == [1, 2]
    assert {item["artist"] for item in similar["items"]} == {"Artist a1", "Artist a2"}
    assert recommendations.where(F.col("score").isNull()).isEmpty()
