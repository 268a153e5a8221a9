"""Ranking metrics of recommenders on held-out plays, always beside a popularity baseline.

:class:`RankingEvaluator` is the one place the metrics are defined; training, tuning, the
benchmarks and the tests all score through it. Rankings come from the blocked top-k
(:mod:`spinback.recommend.topk`), which leaves out what a user played before the cut, so every
model and the baseline are ranked under the same rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spinback.recommend.dataset import ITEM_INDEX, USER_INDEX
from spinback.recommend.topk import top_k

logger = logging.getLogger(__name__)

METRICS = ("precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k")
POPULARITY = "popularity"


class FactorModel(Protocol):
    """Anything with ALS-shaped factors (``id``, ``features``): an ``ALSModel`` above all."""

    @property
    def userFactors(self) -> DataFrame: ...  # noqa: N802 (MLlib's name)

    @property
    def itemFactors(self) -> DataFrame: ...  # noqa: N802 (MLlib's name)


@dataclass(frozen=True)
class RankingEvaluator:
    """Scores top-k rankings against the items each user played after the cut.

    Setting: ``train`` holds the (user, item) pairs before the cut, ``held_out`` those after it.
    The relevant set ``R_u`` of user u is the items u played after the cut and never before it
    (see :func:`relevant_items`); users are evaluated when ``R_u`` is not empty and u played
    something before the cut. Each recommender ranks, for each evaluated user, the items u did not
    play before the cut, and the top ``k`` are kept. With ``hit(r) = 1`` when the item at rank r
    is in ``R_u`` (else 0):

    - precision@k(u) = sum of hit(r) over r = 1..k, divided by k. A user who gets fewer than k
      items is not excused: the missing ranks are misses.
    - recall@k(u) = sum of hit(r) over r = 1..k, divided by ``|R_u|``.
    - DCG@k(u) = sum of hit(r) / log2(r + 1) over r = 1..k; IDCG@k(u) is the DCG of a perfect
      ranking, the sum of 1 / log2(i + 1) over i = 1..min(k, |R_u|);
      NDCG@k(u) = DCG@k(u) / IDCG@k(u).
    - AP@k(u) = the sum, over the ranks r with hit(r) = 1, of precision@r(u) (hits in ranks
      1..r divided by r), divided by min(k, |R_u|); MAP@k is its mean.

    Each metric is the mean over evaluated users, a user without any recommendation counting 0.
    Catalogue coverage is the number of distinct items in all the evaluated users' top k, divided
    by the number of distinct items in ``train``: how much of what could be recommended is.

    The popularity baseline ranks items by listeners before the cut (distinct users in
    ``train``), ties to the lower item id; it is evaluated on every call, beside the models.
    """

    k: int
    user_block_size: int = 4096
    item_block_size: int = 32768

    def evaluate(
        self, models: Mapping[str, FactorModel], train: DataFrame, held_out: DataFrame
    ) -> dict[str, float]:
        """Metrics of each named model and of popularity, as ``<name>_<metric>``.

        ``train`` and ``held_out`` have ``user_index`` and ``item_index``. Also returns
        ``evaluated_users``. A model trained on other data (the current champion) is welcome:
        users and items it has no factors for are simply not ranked by it.
        """
        if POPULARITY in models:
            raise ValueError(f"{POPULARITY!r} names the baseline; give the model another name")
        seen = train.select(USER_INDEX, ITEM_INDEX).distinct()
        relevant = relevant_items(seen, held_out).cache()
        try:
            users = relevant.select(USER_INDEX).distinct()
            rankings = {
                name: self.rank(model.userFactors, model.itemFactors, users, seen)
                for name, model in models.items()
            }
            popular_users, popular_items = popularity_factors(seen)
            rankings[POPULARITY] = self.rank(popular_users, popular_items, users, seen)

            catalogue = seen.select(ITEM_INDEX).distinct().agg(F.count(F.lit(1)).alias("items"))
            metrics: dict[str, float] = {}
            for name, ranking in rankings.items():
                row = ranking_metrics(ranking, relevant, self.k).crossJoin(
                    catalogue_coverage(ranking, catalogue)
                )
                scores = row.first()
                assert scores is not None  # global aggregates have exactly one row
                metrics["evaluated_users"] = float(scores["evaluated_users"])
                for metric in (*METRICS, "coverage"):
                    metrics[f"{name}_{metric}"] = float(scores[metric] or 0.0)
        finally:
            relevant.unpersist()
        return metrics

    def rank(
        self,
        user_factors: DataFrame,
        item_factors: DataFrame,
        users: DataFrame,
        seen: DataFrame,
    ) -> DataFrame:
        """The top k of each of ``users`` (``user_index``) not in ``seen``: user, item, rank."""
        queries = user_factors.join(users.withColumnRenamed(USER_INDEX, "id"), "id", "left_semi")
        return top_k(
            queries,
            item_factors,
            self.k,
            excluded=seen.join(users, USER_INDEX, "left_semi"),
            query_block_size=self.user_block_size,
            candidate_block_size=self.item_block_size,
        ).select(USER_INDEX, ITEM_INDEX, "rank")


def relevant_items(seen: DataFrame, held_out: DataFrame) -> DataFrame:
    """The ground truth: (user, item) pairs played after the cut and never before it.

    Only users who played something before the cut are kept (no recommender knows the others),
    and items a user played before the cut are left out, since every ranking leaves them out too.
    Items that first appeared after the cut stay relevant: no ranking can find them, which is the
    truth about cold items.
    """
    pairs = seen.select(USER_INDEX, ITEM_INDEX)
    return (
        held_out.select(USER_INDEX, ITEM_INDEX)
        .distinct()
        .join(pairs.select(USER_INDEX).distinct(), USER_INDEX, "left_semi")
        .join(pairs, [USER_INDEX, ITEM_INDEX], "left_anti")
    )


def popularity_factors(seen: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Popularity as a one-factor model: every user is ``[1]``, every item ``[listeners]``.

    The dot product is then the item's listener count, so the blocked top-k ranks by popularity
    under exactly the rules of the models (unplayed items only, ties to the lower id). Counts are
    exact in float32 up to 16.7 million listeners.
    """
    users = (
        seen.select(F.col(USER_INDEX).alias("id"))
        .distinct()
        .withColumn("features", F.array(F.lit(1.0).cast("float")))
    )
    items = seen.groupBy(F.col(ITEM_INDEX).alias("id")).agg(
        F.array(F.count(F.lit(1)).cast("float")).alias("features")
    )
    return users, items


def ranking_metrics(recommended: DataFrame, relevant: DataFrame, k: int) -> DataFrame:
    """Mean precision@k, recall@k, NDCG@k and MAP@k over the users of ``relevant``, as one row.

    ``recommended``: ``user_index, item_index, rank`` with ranks 1..k; ``relevant``: the
    ``user_index, item_index`` pairs that count as hits. The definitions are those of
    :class:`RankingEvaluator`. Columns: ``evaluated_users`` (long) and the four metrics.
    """
    hits = recommended.where(F.col("rank") <= k).join(
        relevant, [USER_INDEX, ITEM_INDEX], "left_semi"
    )
    # precision@r at each hit: the hits at ranks 1..r, divided by r.
    up_to_this_rank = (
        Window.partitionBy(USER_INDEX)
        .orderBy("rank")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    hits_so_far = F.count(F.lit(1)).over(up_to_this_rank)
    per_user_hits = (
        hits.withColumn("precision_at_hit", hits_so_far / F.col("rank"))
        .groupBy(USER_INDEX)
        .agg(
            F.count(F.lit(1)).alias("hit_count"),
            F.sum(1.0 / F.log2(F.col("rank") + 1)).alias("dcg"),
            F.sum("precision_at_hit").alias("precision_sum"),
        )
    )
    ideal_hits = F.least(F.col("relevant_count"), F.lit(k)).cast("int")
    idcg = F.aggregate(
        F.sequence(F.lit(1), ideal_hits),
        F.lit(0.0),
        lambda total, position: total + 1.0 / F.log2(position + 1),
    )
    hit_count = F.coalesce(F.col("hit_count"), F.lit(0))
    per_user = (
        relevant.groupBy(USER_INDEX)
        .agg(F.count(F.lit(1)).alias("relevant_count"))
        .join(per_user_hits, USER_INDEX, "left")
        .select(
            (hit_count / k).alias("precision"),
            (hit_count / F.col("relevant_count")).alias("recall"),
            (F.coalesce(F.col("dcg"), F.lit(0.0)) / idcg).alias("ndcg"),
            (F.coalesce(F.col("precision_sum"), F.lit(0.0)) / ideal_hits).alias(
                "average_precision"
            ),
        )
    )
    return per_user.agg(
        F.count(F.lit(1)).alias("evaluated_users"),
        F.avg("precision").alias("precision_at_k"),
        F.avg("recall").alias("recall_at_k"),
        F.avg("ndcg").alias("ndcg_at_k"),
        F.avg("average_precision").alias("map_at_k"),
    )


def catalogue_coverage(recommended: DataFrame, catalogue: DataFrame) -> DataFrame:
    """Distinct recommended items over ``catalogue``'s one-row ``items`` count, as ``coverage``."""
    distinct = recommended.select(ITEM_INDEX).distinct().agg(F.count(F.lit(1)).alias("covered"))
    return distinct.crossJoin(catalogue).select(
        (F.col("covered") / F.col("items")).alias("coverage")
    )
