"""`spinback train`: fit implicit-feedback ALS on recent streams, evaluate it, record it in MLflow.

The job reads silver plays, counts qualified music streams per (user, track) in the training
window, numbers users and tracks with the persisted id maps, fits MLlib's ALS on the plays before
the cut, scores it and a popularity baseline on the plays after the cut, and logs parameters,
metrics and the model to MLflow. The model is registered under ``train.model_name`` and the alias
``train.alias`` is moved to the new version, so consumers load ``models:/<name>@<alias>``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.ml import PipelineModel
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spinback import tracking
from spinback.config import Config, TrainConfig
from spinback.recommend.dataset import (
    TRACK_INDEX,
    TRACK_KEY,
    USER_INDEX,
    USER_KEY,
    qualified_music_streams,
    split_interactions,
    update_id_map,
    with_ids,
)
from spinback.session import linear_algebra_backends, set_checkpoint_dir
from spinback.tables import TableLocations, read_delta

logger = logging.getLogger(__name__)

# Kept in memory, spilled to disk when memory runs short: ALS and the evaluation read the ratings
# several times, and recomputing them would rerun the scan of silver plays each time.
RATINGS_STORAGE_LEVEL = StorageLevel.MEMORY_AND_DISK


@dataclass(frozen=True)
class TrainResult:
    """What one training run produced and where MLflow keeps it."""

    run_id: str
    # Where the run, its metrics and the registry live (``mlflow ui --backend-store-uri`` takes it).
    tracking_uri: str
    model_name: str
    # The logged model as MLflow names it (``runs:/<run id>/model``), independent of the registry.
    model_uri: str
    # The registry version this run's model became; the alias now names it.
    version: str
    alias: str
    # ALS and popularity precision@k / NDCG@k, evaluated users and fit time; see evaluate_model.
    metrics: dict[str, float]
    blas: str
    lapack: str
    model: ALSModel = field(repr=False)

    @property
    def alias_uri(self) -> str:
        return tracking.alias_uri(self.model_name, self.alias)


def run_train(spark: SparkSession, config: Config) -> TrainResult:
    """Train, evaluate, log, register and alias one ALS model on the silver plays of ``config``."""
    locations = TableLocations.from_config(config)
    params = config.train
    tracking.check_alias(params.alias)
    set_checkpoint_dir(spark, locations.checkpoints)

    logger.info("reading silver plays from %s", locations.plays)
    streams = qualified_music_streams(
        read_delta(spark, locations.plays), min_stream_ms=config.wrapped.min_stream_ms
    )
    interactions = split_interactions(
        streams, params.window_days, params.holdout_days, params.confidence
    )

    with _persisted(interactions.train, interactions.test) as (train_counts, test_counts):
        user_ids, user_ids_version = update_id_map(
            spark,
            train_counts.select(USER_KEY).unionByName(test_counts.select(USER_KEY)),
            locations.user_ids,
            USER_KEY,
            USER_INDEX,
        )
        track_ids, track_ids_version = update_id_map(
            spark,
            train_counts.select(TRACK_KEY).unionByName(test_counts.select(TRACK_KEY)),
            locations.item_ids,
            TRACK_KEY,
            TRACK_INDEX,
        )
        ratings = with_ids(train_counts, user_ids, track_ids).select(
            USER_INDEX, TRACK_INDEX, "confidence"
        )
        held_out = with_ids(test_counts, user_ids, track_ids).select(USER_INDEX, TRACK_INDEX)
        id_versions = {"user_ids_version": user_ids_version, "track_ids_version": track_ids_version}

        with _persisted(ratings) as (ratings,):
            return _train_and_record(spark, config, ratings, held_out, id_versions)


def _train_and_record(
    spark: SparkSession,
    config: Config,
    ratings: DataFrame,
    held_out: DataFrame,
    id_versions: dict[str, int],
) -> TrainResult:
    """Fit and evaluate inside one MLflow run, then register the model and move the alias."""
    params = config.train
    backends = linear_algebra_backends(spark)
    logger.info("MLlib linear algebra: BLAS %s, LAPACK %s", backends["blas"], backends["lapack"])

    target = tracking.connect(config)
    with tracking.start_run(target, run_name="train") as run_id:
        tracking.set_tags({f"spinback.{name}": value for name, value in backends.items()})
        tracking.log_params(
            {
                **_training_params(params),
                "min_stream_ms": config.wrapped.min_stream_ms,
                **id_versions,
                **backends,
            }
        )

        started = time.perf_counter()
        model = train_model(ratings, params)
        fit_seconds = time.perf_counter() - started
        logger.info(
            "ALS fit in %.1f s (rank %d, %d iterations)", fit_seconds, params.rank, params.max_iter
        )

        metrics = evaluate_model(model, ratings, held_out, params.top_k)
        metrics["fit_seconds"] = fit_seconds
        logger.info("evaluation at k=%d: %s", params.top_k, _render(metrics))
        tracking.log_metrics(metrics)

        model_uri = tracking.log_spark_model(model)
        version = tracking.register_model_version(target, model_uri, params.model_name)
        tracking.set_model_alias(target, params.model_name, params.alias, version)

    return TrainResult(
        run_id=run_id,
        tracking_uri=target.tracking_uri,
        model_name=params.model_name,
        model_uri=model_uri,
        version=version,
        alias=params.alias,
        metrics=metrics,
        blas=backends["blas"],
        lapack=backends["lapack"],
        model=model,
    )


def train_model(ratings: DataFrame, params: TrainConfig, nonnegative: bool = False) -> ALSModel:
    """Fit MLlib ALS with implicit preferences on ``(user_index, track_index, confidence)`` rows.

    Preconditions:

    - ``user_index`` and ``track_index`` are int32 ids (see ``dataset.assign_ids``); ALS rejects
      ids outside the int range.
    - ``ratings`` is deterministic and best persisted: ALS reads it more than once, and a lost
      partition recomputed with different content would corrupt the factor blocks.
    - ``confidence`` is >= 0; ALS weighs each pair with ``1 + alpha * confidence``.
    - A checkpoint directory is set (``session.set_checkpoint_dir``); without one, ALS silently
      ignores ``checkpoint_interval`` and the lineage of the factors grows with every iteration.

    Cold start: users and tracks absent from ``ratings`` get no factors. ``transform`` drops rows
    that involve them (``coldStartStrategy="drop"``) instead of predicting NaN, and
    ``recommendForUserSubset`` returns nothing for them.
    """
    als = ALS(
        userCol=USER_INDEX,
        itemCol=TRACK_INDEX,
        ratingCol="confidence",
        implicitPrefs=True,
        rank=params.rank,
        maxIter=params.max_iter,
        regParam=params.reg_param,
        alpha=params.alpha,
        seed=params.seed,
        checkpointInterval=params.checkpoint_interval,
        nonnegative=nonnegative,
        coldStartStrategy="drop",
        intermediateStorageLevel="MEMORY_AND_DISK",
        finalStorageLevel="MEMORY_AND_DISK",
    )
    return als.fit(ratings)


def load_als_model(config: Config, alias: str | None = None) -> ALSModel:
    """The ALS model that ``alias`` (default ``train.alias``) names in the configured registry."""
    pipeline = tracking.load_spark_model(
        tracking.tracking_uri(config), config.train.model_name, alias or config.train.alias
    )
    return als_stage(pipeline)


def als_stage(model: object) -> ALSModel:
    """The ALS model inside the one-stage pipeline MLflow logs a Spark model as."""
    if isinstance(model, PipelineModel) and len(model.stages) == 1:
        model = model.stages[0]
    if not isinstance(model, ALSModel):
        raise TypeError(f"expected an ALS model, got {type(model).__name__}")
    return model


# --- evaluation --------------------------------------------------------------------------------


def evaluate_model(
    model: ALSModel, ratings: DataFrame, held_out: DataFrame, k: int
) -> dict[str, float]:
    """Precision@k and NDCG@k of ``model`` and of a popularity baseline on the held-out plays.

    Both rankings are built the same way, from the tracks each evaluated user did not stream before
    the cut (see :func:`relevant_tracks` and :func:`ranking_metrics` for the definitions). The
    popularity baseline ranks tracks by how many users streamed them before the cut.

    Each ranking over-fetches ``k`` plus the most tracks any evaluated user streamed before the
    cut, so that k candidates remain after removing what a user already knows; that maximum is one
    number collected to the driver.
    """
    # The ground truth feeds five plans below; it is small, and cheaper kept than recomputed.
    relevant = relevant_tracks(ratings, held_out).persist(RATINGS_STORAGE_LEVEL)
    try:
        users = relevant.select(USER_INDEX).distinct()
        depth = _most_tracks_streamed(ratings, users)
        if depth is None:
            logger.warning("no user streamed new tracks after the cut; the model is not evaluated")
            return {"evaluated_users": 0.0}
        depth += k

        als_ranking = top_k_unseen(als_candidates(model, users, depth), ratings, k)
        popular_ranking = top_k_unseen(popularity_candidates(ratings, users, depth), ratings, k)
        als_scores = ranking_metrics(als_ranking, relevant, k).first()
        popular_scores = ranking_metrics(popular_ranking, relevant, k).first()
    finally:
        relevant.unpersist()
    assert als_scores is not None and popular_scores is not None  # a global aggregate has one row

    return {
        "evaluated_users": float(als_scores["evaluated_users"]),
        "als_precision_at_k": als_scores["precision_at_k"],
        "als_ndcg_at_k": als_scores["ndcg_at_k"],
        "popularity_precision_at_k": popular_scores["precision_at_k"],
        "popularity_ndcg_at_k": popular_scores["ndcg_at_k"],
    }


def relevant_tracks(ratings: DataFrame, held_out: DataFrame) -> DataFrame:
    """The ground truth: (user, track) pairs streamed after the cut and never before it.

    Only users with ratings before the cut are kept (ALS knows nothing of the others), and tracks a
    user streamed before the cut are left out, since they are excluded from every ranking too.
    Tracks that first appeared after the cut stay relevant: no ranking can hit them, which is the
    truth about cold items.
    """
    seen = ratings.select(USER_INDEX, TRACK_INDEX)
    return (
        held_out.select(USER_INDEX, TRACK_INDEX)
        .distinct()
        .join(seen.select(USER_INDEX).distinct(), USER_INDEX, "left_semi")
        .join(seen, [USER_INDEX, TRACK_INDEX], "left_anti")
    )


def als_candidates(model: ALSModel, users: DataFrame, depth: int) -> DataFrame:
    """The ``depth`` best-scored tracks of each of ``users``: ``user_index, track_index, score``."""
    recommended = model.recommendForUserSubset(users, depth)
    return recommended.select(
        USER_INDEX, F.explode("recommendations").alias("recommendation")
    ).select(
        USER_INDEX,
        F.col(f"recommendation.{TRACK_INDEX}").alias(TRACK_INDEX),
        F.col("recommendation.rating").cast("double").alias("score"),
    )


def popularity_candidates(ratings: DataFrame, users: DataFrame, depth: int) -> DataFrame:
    """The ``depth`` tracks with most listeners before the cut, offered to each of ``users``."""
    most_listened = (
        ratings.groupBy(TRACK_INDEX)
        .agg(F.count(F.lit(1)).cast("double").alias("score"))
        .orderBy(F.desc("score"), TRACK_INDEX)
        .limit(depth)
    )
    return users.crossJoin(F.broadcast(most_listened))


def top_k_unseen(candidates: DataFrame, ratings: DataFrame, k: int) -> DataFrame:
    """Rank each user's candidates not streamed before the cut; keep ranks 1..k.

    Ties in ``score`` go to the lower ``track_index``, so the ranking is reproducible.
    """
    by_score = Window.partitionBy(USER_INDEX).orderBy(F.desc("score"), TRACK_INDEX)
    return (
        candidates.join(
            ratings.select(USER_INDEX, TRACK_INDEX), [USER_INDEX, TRACK_INDEX], "left_anti"
        )
        .withColumn("rank", F.row_number().over(by_score))
        .where(F.col("rank") <= k)
        .select(USER_INDEX, TRACK_INDEX, "rank")
    )


def ranking_metrics(recommended: DataFrame, relevant: DataFrame, k: int) -> DataFrame:
    """Mean precision@k and NDCG@k over the users of ``relevant``, as one row.

    ``recommended`` holds ``user_index, track_index, rank`` with ranks 1..k; ``relevant`` holds the
    ``user_index, track_index`` pairs that count as hits. For a user u with relevant set R_u and
    hits at ranks r (those of the top k that are in R_u):

    - precision@k(u) = |hits| / k (a user with fewer than k recommendations is not excused);
    - DCG@k(u) = sum over hits of 1 / log2(r + 1);
    - IDCG@k(u) = sum over i = 1..min(k, |R_u|) of 1 / log2(i + 1), the DCG of a perfect ranking;
    - NDCG@k(u) = DCG@k(u) / IDCG@k(u).

    Both are averaged over every user with a relevant pair, counting 0 for users with no
    recommendation at all. Columns: ``evaluated_users`` (long), ``precision_at_k``, ``ndcg_at_k``.
    """
    hits = (
        recommended.join(relevant, [USER_INDEX, TRACK_INDEX], "left_semi")
        .groupBy(USER_INDEX)
        .agg(
            F.count(F.lit(1)).alias("hit_count"),
            F.sum(1.0 / F.log2(F.col("rank") + 1)).alias("dcg"),
        )
    )
    ideal_hits = F.least(F.col("relevant_count"), F.lit(k)).cast("int")
    idcg = F.aggregate(
        F.sequence(F.lit(1), ideal_hits),
        F.lit(0.0),
        lambda total, position: total + 1.0 / F.log2(position + 1),
    )
    per_user = (
        relevant.groupBy(USER_INDEX)
        .agg(F.count(F.lit(1)).alias("relevant_count"))
        .join(hits, USER_INDEX, "left")
        .select(
            (F.coalesce(F.col("hit_count"), F.lit(0)) / k).alias("precision"),
            (F.coalesce(F.col("dcg"), F.lit(0.0)) / idcg).alias("ndcg"),
        )
    )
    return per_user.agg(
        F.count(F.lit(1)).alias("evaluated_users"),
        F.avg("precision").alias("precision_at_k"),
        F.avg("ndcg").alias("ndcg_at_k"),
    )


def _most_tracks_streamed(ratings: DataFrame, users: DataFrame) -> int | None:
    """The largest number of tracks one of ``users`` streamed before the cut; None without users."""
    largest = (
        ratings.join(users, USER_INDEX, "left_semi")
        .groupBy(USER_INDEX)
        .agg(F.count(F.lit(1)).alias("tracks_streamed"))
        .agg(F.max("tracks_streamed").alias("largest"))
        .first()
    )
    if largest is None or largest["largest"] is None:
        return None
    return int(largest["largest"])


@contextmanager
def _persisted(*frames: DataFrame) -> Iterator[tuple[DataFrame, ...]]:
    """Keep ``frames`` at RATINGS_STORAGE_LEVEL for the block, and release them after it."""
    kept = tuple(frame.persist(RATINGS_STORAGE_LEVEL) for frame in frames)
    try:
        yield kept
    finally:
        for frame in kept:
            frame.unpersist()


def _training_params(params: TrainConfig) -> dict[str, object]:
    return {
        "rank": params.rank,
        "max_iter": params.max_iter,
        "reg_param": params.reg_param,
        "alpha": params.alpha,
        "confidence": params.confidence,
        "window_days": params.window_days,
        "holdout_days": params.holdout_days,
        "checkpoint_interval": params.checkpoint_interval,
        "seed": params.seed,
        "top_k": params.top_k,
        "implicit_prefs": True,
        "cold_start_strategy": "drop",
    }


def _render(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4g}" for name, value in metrics.items())
