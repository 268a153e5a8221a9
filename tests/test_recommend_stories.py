"""The similar-artists story on hand-made factors whose cosines are worked out in the test."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import SparkSession

from spinback.recommend.stories import artist_vectors, similar_artists_story


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
