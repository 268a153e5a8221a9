"""The evaluator's metrics on rankings small enough to score by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from spinback.recommend.evaluate import (
    RankingEvaluator,
    catalogue_coverage,
    ranking_metrics,
    relevant_items,
)

LOG2_3 = math.log2(3)


def pairs(spark: SparkSession, rows: list[tuple[int, int]]) -> DataFrame:
    return spark.createDataFrame(rows, "user_index int, item_index int")


@dataclass(frozen=True)
class HandMadeFactors:
    """Stands in for an ALSModel: one-dimensional factors chosen to give known rankings."""

    userFactors: DataFrame  # noqa: N815 (MLlib's name)
    itemFactors: DataFrame  # noqa: N815 (MLlib's name)


def test_relevant_items_are_new_items_of_known_users(spark: SparkSession) -> None:
    seen = pairs(spark, [(1, 10), (2, 10)])
    held_out = pairs(spark, [(1, 10), (1, 20), (2, 30), (3, 40)])

    # (1, 10) was played before the cut; user 3 played nothing before it.
    assertDataFrameEqual(relevant_items(seen, held_out), [(1, 20), (2, 30)])


def test_four_metrics_on_a_hand_made_ranking(spark: SparkSession) -> None:
    recommended = spark.createDataFrame(
        [(1, 10, 1), (1, 30, 2), (1, 20, 3), (2, 50, 1), (2, 40, 2), (2, 60, 3), (4, 10, 1)],
        "user_index int, item_index int, rank int",
    )
    relevant = pairs(spark, [(1, 10), (1, 20), (2, 40), (3, 70)])

    metrics = ranking_metrics(recommended, relevant, k=3).first()

    # k = 3; user 4 has nothing relevant, so users 1, 2 and 3 are evaluated.
    # user 1: |R| = 2, hits at ranks 1 and 3.
    #   precision 2/3; recall 2/2 = 1;
    #   DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) = 1.63093; NDCG = 0.91972;
    #   AP = (precision@1 + precision@3) / min(3, 2) = (1 + 2/3) / 2 = 5/6.
    # user 2: |R| = 1, hit at rank 2.
    #   precision 1/3; recall 1; NDCG = 1/log2(3) = 0.63093; AP = precision@2 / 1 = 1/2.
    # user 3: no recommendations: all 0.
    # means: precision (2/3 + 1/3 + 0) / 3 = 1/3; recall (1 + 1 + 0) / 3 = 2/3;
    #        NDCG (0.91972 + 0.63093) / 3 = 0.51688; MAP (5/6 + 1/2) / 3 = 4/9.
    assert metrics is not None
    assert metrics["evaluated_users"] == 3
    assert metrics["precision_at_k"] == pytest.approx(1 / 3)
    assert metrics["recall_at_k"] == pytest.approx(2 / 3)
    assert metrics["ndcg_at_k"] == pytest.approx((1.5 / (1 + 1 / LOG2_3) + 1 / LOG2_3) / 3)
    assert metrics["ndcg_at_k"] == pytest.approx(0.51688, abs=1e-5)
    assert metrics["map_at_k"] == pytest.approx(4 / 9)


def test_coverage_is_distinct_recommended_items_over_the_catalogue(spark: SparkSession) -> None:
    recommended = spark.createDataFrame(
        [(1, 10, 1), (1, 30, 2), (2, 10, 1), (2, 40, 2)], "user_index int, item_index int, rank int"
    )
    catalogue = spark.createDataFrame([(8,)], "items long")

    # Items 10, 30 and 40 of 8: 3/8.
    assert catalogue_coverage(recommended, catalogue).first()["coverage"] == pytest.approx(3 / 8)


def test_evaluator_scores_a_model_beside_popularity(spark: SparkSession) -> None:
    # Before the cut: user 1 played items 1, 2; user 2 items 1, 3; user 3 items 1, 2, 3; user 4
    # item 4. Listeners: item 1 has 3, items 2 and 3 have 2, item 4 has 1.
    train = pairs(spark, [(1, 1), (1, 2), (2, 1), (2, 3), (3, 1), (3, 2), (3, 3), (4, 4)])
    # After the cut user 3 only replays item 1, so users 1, 2 and 4 are evaluated with
    # R_1 = {3}, R_2 = {4}, R_4 = {1, 2}.
    held_out = pairs(spark, [(1, 3), (2, 4), (3, 1), (4, 1), (4, 2)])
    # A one-factor "model": every user [1], items 4 > 3 > 2 > 1 by score 9, 5, 1, 0.
    model = HandMadeFactors(
        spark.createDataFrame([(u, [1.0]) for u in (1, 2, 3, 4)], "id int, features array<float>"),
        spark.createDataFrame(
            [(4, [9.0]), (3, [5.0]), (2, [1.0]), (1, [0.0])], "id int, features array<float>"
        ),
    )

    metrics = RankingEvaluator(k=2).evaluate({"hand": model}, train, held_out)

    # Popularity at k = 2, unplayed items only (ties to the lower id):
    #   user 1: [3, 4], hit at 1 -> precision 1/2, recall 1, NDCG 1, AP 1
    #   user 2: [2, 4], hit at 2 -> precision 1/2, recall 1, NDCG 1/log2(3), AP 1/2
    #   user 4: [1, 2], hits at 1, 2 -> precision 1, recall 1, NDCG 1, AP (1 + 1) / 2 = 1
    #   coverage: items 1, 2, 3, 4 of 4 = 1.
    assert metrics["evaluated_users"] == 3
    assert metrics["popularity_precision_at_k"] == pytest.approx(2 / 3)
    assert metrics["popularity_recall_at_k"] == pytest.approx(1.0)
    assert metrics["popularity_ndcg_at_k"] == pytest.approx((2 + 1 / LOG2_3) / 3)
    assert metrics["popularity_map_at_k"] == pytest.approx(2.5 / 3)
    assert metrics["popularity_coverage"] == pytest.approx(1.0)
    # The model, unplayed items only:
    #   user 1: [4, 3], hit at 2 -> precision 1/2, recall 1, NDCG 1/log2(3), AP 1/2
    #   user 2: [4, 2], hit at 1 -> precision 1/2, recall 1, NDCG 1, AP 1
    #   user 4: [3, 2], hit at 2 -> precision 1/2, recall 1/2,
    #           NDCG (1/log2(3)) / (1 + 1/log2(3)) = 0.38685, AP (1/2) / 2 = 1/4
    #   coverage: items 2, 3, 4 of 4 = 3/4.
    assert metrics["hand_precision_at_k"] == pytest.approx(0.5)
    assert metrics["hand_recall_at_k"] == pytest.approx(2.5 / 3)
    ndcg_user_4 = (1 / LOG2_3) / (1 + 1 / LOG2_3)
    assert metrics["hand_ndcg_at_k"] == pytest.approx((1 / LOG2_3 + 1 + ndcg_user_4) / 3)
    assert metrics["hand_map_at_k"] == pytest.approx(1.75 / 3)
    assert metrics["hand_coverage"] == pytest.approx(0.75)


def test_the_baseline_name_is_reserved(spark: SparkSession) -> None:
    train = pairs(spark, [(1, 1)])

    with pytest.raises(ValueError, match="'popularity' names the baseline"):
        RankingEvaluator(k=1).evaluate({"popularity": None}, train, train)  # type: ignore[dict-item]
