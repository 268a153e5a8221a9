"""The blocked top-k against a plain NumPy computation, on factors small enough to check by eye."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from spinback.recommend.topk import top_k


def factors_frame(spark: SparkSession, ids: list[int], matrix: np.ndarray) -> DataFrame:
    rows = [(int(i), [float(x) for x in row]) for i, row in zip(ids, matrix, strict=True)]
    return spark.createDataFrame(rows, "id int, features array<float>")


def pairs_frame(spark: SparkSession, pairs: list[tuple[int, int]]) -> DataFrame:
    return spark.createDataFrame(pairs, "user_index int, item_index int")


def brute_force(
    user_ids: list[int],
    users: np.ndarray,
    item_ids: list[int],
    items: np.ndarray,
    k: int,
    excluded: set[tuple[int, int]],
) -> list[tuple[int, int, int]]:
    """Every score, one user at a time, sorted by (score desc, item id asc), played ones dropped."""
    expected = []
    for user_id, user in zip(user_ids, users, strict=True):
        scored = [
            (-float(np.dot(user, item)), item_id)
            for item_id, item in zip(item_ids, items, strict=True)
            if (user_id, item_id) not in excluded
        ]
        for rank, (_, item_id) in enumerate(sorted(scored)[:k], start=1):
            expected.append((user_id, item_id, rank))
    return expected


@pytest.mark.parametrize(("user_block", "item_block"), [(4096, 32768), (3, 4)])
def test_blocked_top_k_equals_brute_force_and_skips_played_items(
    spark: SparkSession, user_block: int, item_block: int
) -> None:
    generator = np.random.default_rng(5)
    # Ids with gaps and out of order, float32 factors as ALS makes them.
    user_ids = [0, 1, 2, 3, 5, 8, 9]
    item_ids = [10, 3, 0, 1, 2, 4, 5, 6, 7, 8, 12]
    users = generator.normal(size=(len(user_ids), 3)).astype(np.float32)
    items = generator.normal(size=(len(item_ids), 3)).astype(np.float32)
    # User 9 played all items but two; user 5 played item 99, which has no factors.
    played = {(0, 10), (0, 3), (2, 0), (5, 99)} | {(9, i) for i in item_ids if i not in (4, 12)}

    result = top_k(
        factors_frame(spark, user_ids, users),
        factors_frame(spark, item_ids, items),
        k=4,
        excluded=pairs_frame(spark, sorted(played)),
        query_block_size=user_block,
        candidate_block_size=item_block,
    )

    expected = brute_force(user_ids, users, item_ids, items, 4, played)
    assertDataFrameEqual(result.select("user_index", "item_index", "rank"), expected)
    assert result.where("user_index = 9").count() == 2
    # Scores are the dot products themselves.
    scores = {(r["user_index"], r["item_index"]): r["score"] for r in result.collect()}
    position = {i: n for n, i in enumerate(item_ids)}
    assert scores[(1, expected[4][1])] == pytest.approx(
        float(np.dot(users[1], items[position[expected[4][1]]])), rel=1e-5
    )


def test_equal_scores_go_to_the_lower_item_id(spark: SparkSession) -> None:
    # One-dimensional factors: user [1], items [3], [5], [5], [5], [1] with ids 0..4.
    # Scores 3, 5, 5, 5, 1: the top 2 are two of the three 5s, and ties go to ids 1 and 2.
    users = factors_frame(spark, [0], np.array([[1.0]]))
    items = factors_frame(spark, [0, 3, 2, 1, 4], np.array([[3.0], [5.0], [5.0], [5.0], [1.0]]))

    result = top_k(users, items, k=2)

    assertDataFrameEqual(result, [(0, 1, 5.0, 1), (0, 2, 5.0, 2)])


def test_users_without_factors_get_nothing_and_k_must_be_positive(spark: SparkSession) -> None:
    users = factors_frame(spark, [0], np.array([[1.0, 0.0]]))
    items = factors_frame(spark, [0, 1], np.array([[1.0, 0.0], [0.0, 1.0]]))
    # User 7 has played items but no factors (a cold-start user).
    played = pairs_frame(spark, [(7, 0)])

    result = top_k(users, items, k=5, excluded=played)

    # k larger than the catalogue: every item, best first (scores 1 and 0).
    assertDataFrameEqual(result, [(0, 0, 1.0, 1), (0, 1, 0.0, 2)])
    with pytest.raises(ValueError, match="k must be at least 1"):
        top_k(users, items, k=0)
