"""The recommender's twins and similar-artists stories on hand-made factors, cosines worked out."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from spinback.recommend.stories import (
    STORY,
    STORY_NAMES,
    artist_vectors,
    assemble_stories,
    similar_artists_story,
    taste_twins_story,
)


def no_stories(spark: SparkSession, *but: str) -> dict[str, DataFrame]:
    """An empty ``user_id, <story>`` frame for every recommender story but ``but``."""
    return {
        name: spark.createDataFrame(
            [], StructType([StructField("user_id", StringType()), StructField(name, STORY)])
        )
        for name in STORY_NAMES
        if name not in but
    }


def test_similar_artists_ranks_other_artists_by_cosine_of_their_mean_track_factors(
    spark: SparkSession,
) -> None:
    # Artist A has two tracks, [1, 0] and [3, 0]: both unit [1, 0], so A's vector is [1, 0].
    # B: [0.9, 0.1]; C: [0, 1]; D: [0.1, 0.9]. Queries and candidates are the same frame, which
    # is the case that once failed as an ambiguous self-join.
    item_factors = spark.createDataFrame(
        [(0, [1.0, 0.0]), (1, [3.0, 0.0]), (2, [0.9, 0.1]), (3, [0.0, 1.0]), (4, [0.1, 0.9])],
        "id int, features array<float>",
    )
    track_artists = spark.createDataFrame(
        [(0, "a", "A"), (1, "a", "A"), (2, "b", "B"), (3, "c", "C"), (4, "d", "D")],
        "item_index int, artist_key string, artist_name string",
    )
    top_artists = spark.createDataFrame(
        [("listener", "a", 1), ("listener", "c", 2)],
        "user_id string, artist_key string, artist_rank int",
    )

    story = similar_artists_story(
        artist_vectors(item_factors, track_artists), top_artists, similar=2, block_size=2
    ).collect()

    assert len(story) == 1
    similar = story[0]["similar_artists"]
    assert similar["eligible"] and similar["source"] == "model"
    # cos(A, B) = 0.9 / sqrt(0.82) = 0.99388; cos(A, D) = 0.1 / sqrt(0.82) = 0.11043; C is
    # orthogonal to A. For C: cos(C, D) = 0.99388, cos(C, B) = 0.11043. Ranks run on from A's
    # entries to C's; A never lists itself.
    length = math.sqrt(0.82)
    expected = [
        (1, "b", "A", 0.9 / length),
        (2, "d", "A", 0.1 / length),
        (3, "d", "C", 0.9 / length),
        (4, "b", "C", 0.1 / length),
    ]
    got = [(item["rank"], item["key"], item["artist"], item["score"]) for item in similar["items"]]
    assert [entry[:3] for entry in got] == [entry[:3] for entry in expected]
    assert [entry[3] for entry in got] == pytest.approx([entry[3] for entry in expected], rel=1e-5)


def test_taste_twins_pair_only_opted_in_users_and_every_user_gets_a_story(
    spark: SparkSession,
) -> None:
    # Users 0 and 1 point the same way ([1, 0] and [2, 0.2]); user 2 is orthogonal ([0, 1]) and
    # user 3 is close to 0 ([1, 0.1]) but did not opt in, so it is nobody's twin.
    user_factors = spark.createDataFrame(
        [(0, [1.0, 0.0]), (1, [2.0, 0.2]), (2, [0.0, 1.0]), (3, [1.0, 0.1])],
        "id int, features array<float>",
    )
    opted_in = spark.createDataFrame(
        [("ann", 0), ("bob", 1), ("cat", 2)], "user_id string, user_index int"
    )
    user_artists = spark.createDataFrame(
        [("ann", "a", "A", 5), ("ann", "b", "B", 1), ("bob", "b", "B", 2), ("bob", "a", "A", 1)],
        "user_id string, artist_key string, artist_name string, streams long",
    )
    users = spark.createDataFrame(
        [("ann", False, True), ("bob", False, True), ("cat", False, True), ("dan", False, False)],
        "user_id string, opt_out_recommendations boolean, opt_in_taste_twins boolean",
    )

    twins = taste_twins_story(
        user_factors, opted_in, user_artists, twins=1, shared_artists=2, block_size=4
    )
    reason = F.when(~F.col("opt_in_taste_twins"), "opt in first").otherwise("no twin")
    empty = no_stories(spark, "taste_twins")
    stories = {
        row["user_id"]: row["taste_twins"]
        for row in assemble_stories(
            users, "2025", {**empty, "taste_twins": twins}, {n: reason for n in STORY_NAMES}
        ).collect()
    }

    # cos(ann, bob) = 2 / sqrt(4.04) = 0.99504; cat is orthogonal to both (cos 0 and 0.0995).
    # Shared artists by both users' streams: A 5 + 1 = 6, then B 1 + 2 = 3.
    ann = stories["ann"]
    assert ann["eligible"] and ann["source"] == "model"
    assert [(i["rank"], i["key"], i["shared_artists"]) for i in ann["items"]] == [
        (1, "bob", ["A", "B"])
    ]
    assert ann["items"][0]["score"] == pytest.approx(2 / math.sqrt(4.04), rel=1e-5)
    assert [i["key"] for i in stories["bob"]["items"]] == ["ann"]
    # cat's nearest opted-in user is bob (0.2 / sqrt(4.04) = 0.0995 > 0), with nothing shared.
    assert [(i["key"], i["shared_artists"]) for i in stories["cat"]["items"]] == [("bob", [])]
    assert stories["dan"]["eligible"] is False and stories["dan"]["reason"] == "opt in first"


def test_taste_twins_with_nobody_opted_in_leave_every_story_ineligible(spark: SparkSession) -> None:
    # No opted-in user: top_k has nothing to rank, and its empty result must still fit the story
    # schema (this once failed as a cast of a nullable rank to a non-nullable one).
    user_factors = spark.createDataFrame([(0, [1.0, 0.0])], "id int, features array<float>")
    opted_in = spark.createDataFrame([], "user_id string, user_index int")
    user_artists = spark.createDataFrame(
        [], "user_id string, artist_key string, artist_name string, streams long"
    )
    users = spark.createDataFrame(
        [("ann", False, False)],
        "user_id string, opt_out_recommendations boolean, opt_in_taste_twins boolean",
    )

    twins = taste_twins_story(
        user_factors, opted_in, user_artists, twins=1, shared_artists=2, block_size=4
    )
    empty = no_stories(spark, "taste_twins")
    rows = assemble_stories(
        users, "2025", {**empty, "taste_twins": twins}, {n: F.lit("none") for n in STORY_NAMES}
    ).collect()

    assert [(row["user_id"], row["taste_twins"]["eligible"]) for row in rows] == [("ann", False)]
    assert rows[0]["taste_twins"]["reason"] == "none"
