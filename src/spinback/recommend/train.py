"""`spinback train`: fit implicit-feedback ALS on recent streams, evaluate it, record it in MLflow.

The job reads silver plays, counts qualified music streams per (user, item) in the training
window (items are tracks, or artists for the second model: ``train.item``), numbers users and
items with the persisted id maps, fits MLlib's ALS on the plays before the cut, scores it beside
a popularity baseline on the plays after the cut, and logs parameters, metrics and the model to
MLflow. The model is registered under its item's name and the alias ``train.alias`` is moved to
the new version, so consumers load ``models:/<name>@<alias>``. ``spinback tune`` searches the
settings and decides which version becomes the champion.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.ml import PipelineModel
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession

from spinback import tracking
from spinback.config import Config, TrainConfig
from spinback.recommend.dataset import (
    ITEM_INDEX,
    USER_INDEX,
    USER_KEY,
    Interactions,
    item_columns,
    qualified_music_streams,
    split_interactions,
    update_id_map,
    with_confidence,
    with_ids,
)
from spinback.recommend.evaluate import RankingEvaluator
from spinback.session import core_count, linear_algebra_backends, set_checkpoint_dir
from spinback.tables import TableLocations, read_delta

logger = logging.getLogger(__name__)

# Kept in memory, spilled to disk when memory runs short: ALS and the evaluation read the counts
# and ratings several times, and recomputing them would rerun the scan of silver plays each time.
RATINGS_STORAGE_LEVEL = StorageLevel.MEMORY_AND_DISK

# ALS keeps its per-iteration blocks (intermediate) and the final factors at this level. In memory
# while it fits, because each iteration reads the previous one's blocks; spilling to disk rather
# than recomputing when it does not, since a recomputed block means rerunning earlier iterations.
ALS_STORAGE_LEVEL = "MEMORY_AND_DISK"


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
    # ALS and popularity metrics at k, evaluated users and fit time; see RankingEvaluator.
    metrics: dict[str, float]
    blas: str
    lapack: str
    model: ALSModel = field(repr=False)

    @property
    def alias_uri(self) -> str:
        return tracking.alias_uri(self.model_name, self.alias)


def run_train(spark: SparkSession, config: Config) -> TrainResult:
    """Train, evaluate, log, register and alias one ALS model on the silver plays of ``config``."""
    params = config.train
    tracking.check_alias(params.alias)

    with indexed_interactions(spark, config, validation_days=0) as (interactions, id_versions):
        ratings = ratings_for(interactions.train, params)
        with persisted(ratings) as (ratings,):
            return _train_and_record(spark, config, ratings, interactions, id_versions)


@contextmanager
def indexed_interactions(
    spark: SparkSession, config: Config, validation_days: int
) -> Iterator[tuple[Interactions, dict[str, int]]]:
    """The train, validation and test counts of the configured item, with integer ids, persisted.

    Reads silver plays, splits qualified streams by time (``train.window_days``,
    ``train.holdout_days`` and ``validation_days``), extends the user and item id maps with every
    key of the window and replaces the keys by ``user_index`` and ``item_index``. Also yields the
    Delta versions of the id maps, which a run records so its ids can be traced.
    """
    locations = TableLocations.from_config(config)
    params = config.train
    set_checkpoint_dir(spark, locations.checkpoints)
    item_key, item_index = item_columns(params.item)

    logger.info("reading silver plays from %s (items: %ss)", locations.plays, params.item)
    streams = qualified_music_streams(
        read_delta(spark, locations.plays), min_stream_ms=config.wrapped.min_stream_ms
    )
    keyed = split_interactions(
        streams, params.window_days, params.holdout_days, validation_days, item_key
    )
    with persisted(keyed.train, keyed.validation, keyed.test) as periods:
        user_ids, user_ids_version = update_id_map(
            spark,
            _union(frame.select(USER_KEY) for frame in periods),
            locations.user_ids,
            USER_KEY,
            USER_INDEX,
        )
        item_ids, item_ids_version = update_id_map(
            spark,
            _union(frame.select(item_key) for frame in periods),
            locations.item_ids if params.item == "track" else locations.artist_ids,
            item_key,
            item_index,
        )
        indexed = [with_ids(frame, user_ids, item_ids) for frame in periods]
        with persisted(*indexed) as (train, validation, test):
            versions = {"user_ids_version": user_ids_version, "item_ids_version": item_ids_version}
            yield Interactions(train=train, validation=validation, test=test), versions


def ratings_for(counts: DataFrame, params: TrainConfig) -> DataFrame:
    """``user_index, item_index, confidence`` rows for ALS from per-pair ``play_count``."""
    return with_confidence(
        counts, params.confidence, bm25_k1=params.bm25_k1, bm25_b=params.bm25_b
    ).select(USER_INDEX, ITEM_INDEX, "confidence")


def evaluator_for(config: Config) -> RankingEvaluator:
    """The ranking evaluator at ``train.top_k``, with the blocked top-k's configured blocks."""
    return RankingEvaluator(
        k=config.train.top_k,
        user_block_size=config.recommend.user_block_size,
        item_block_size=config.recommend.item_block_size,
    )


def _train_and_record(
    spark: SparkSession,
    config: Config,
    ratings: DataFrame,
    interactions: Interactions,
    id_versions: dict[str, int],
) -> TrainResult:
    """Fit and evaluate inside one MLflow run, then register the model and move the alias."""
    params = config.train
    backends = linear_algebra_backends(spark)
    logger.info("MLlib linear algebra: BLAS %s, LAPACK %s", backends["blas"], backends["lapack"])
    num_blocks = als_blocks(spark, params)

    target = tracking.connect(config)
    with tracking.start_run(target, run_name="train") as run_id:
        tracking.set_tags({f"spinback.{name}": value for name, value in backends.items()})
        tracking.log_params(
            {
                **training_params(params),
                "num_blocks": num_blocks,
                "min_stream_ms": config.wrapped.min_stream_ms,
                **id_versions,
                **backends,
            }
        )

        started = time.perf_counter()
        model = train_model(ratings, params, num_blocks)
        fit_seconds = time.perf_counter() - started
        logger.info(
            "ALS fit in %.1f s (rank %d, %d iterations, %d blocks)",
            fit_seconds,
            params.rank,
            params.max_iter,
            num_blocks,
        )

        metrics = evaluator_for(config).evaluate(
            {"als": model}, interactions.train, interactions.test
        )
        metrics["fit_seconds"] = fit_seconds
        logger.info("evaluation at k=%d: %s", params.top_k, render_metrics(metrics))
        tracking.log_metrics(metrics)

        model_uri = tracking.log_spark_model(model)
        model_name = params.registered_model_name
        version = tracking.register_model_version(target, model_uri, model_name)
        tracking.set_model_alias(target, model_name, params.alias, version)

    return TrainResult(
        run_id=run_id,
        tracking_uri=target.tracking_uri,
        model_name=model_name,
        model_uri=model_uri,
        version=version,
        alias=params.alias,
        metrics=metrics,
        blas=backends["blas"],
        lapack=backends["lapack"],
        model=model,
    )


def als_blocks(spark: SparkSession, params: TrainConfig) -> int:
    """ALS user and item blocks: ``train.num_blocks``, else one per core of the session.

    Each block is one task per half-iteration; more blocks than cores only add shuffle files and
    scheduling, fewer leave cores idle. MLlib's default of 10 suits neither a laptop nor a cluster.
    """
    return params.num_blocks or core_count(spark)


def train_model(ratings: DataFrame, params: TrainConfig, num_blocks: int) -> ALSModel:
    """Fit MLlib ALS with implicit preferences on ``(user_index, item_index, confidence)`` rows.

    Preconditions:

    - ``user_index`` and ``item_index`` are int32 ids (see ``dataset.assign_ids``); ALS rejects
      ids outside the int range.
    - ``ratings`` is deterministic and best persisted: ALS reads it more than once, and a lost
      partition recomputed with different content would corrupt the factor blocks.
    - ``confidence`` is >= 0; ALS weighs each pair with ``1 + alpha * confidence``.
    - A checkpoint directory is set (``session.set_checkpoint_dir``); without one, ALS silently
      ignores ``checkpoint_interval`` and the lineage of the factors grows with every iteration.

    ``num_blocks`` user blocks and as many item blocks (see :func:`als_blocks`); both the
    per-iteration blocks and the final factors are kept at ``ALS_STORAGE_LEVEL``.

    Cold start: users and items absent from ``ratings`` get no factors. ``transform`` drops rows
    that involve them (``coldStartStrategy="drop"``) instead of predicting NaN, and the blocked
    top-k returns nothing for them; ``spinback recommend`` gives such users the genre fallback.

    Known shortcoming: on 2.99 M pairs at 64 factors and 10 iterations this fit takes 9.0x
    implicit's conjugate-gradient solver (bench/bench_train.py; goal 6x) at an NDCG@10 1.2 %
    below it. MLlib solves every user exactly with a Cholesky factorisation; what would close
    the gap is a solver with fewer flops per user, which MLlib does not offer.
    """
    als = ALS(
        userCol=USER_INDEX,
        itemCol=ITEM_INDEX,
        ratingCol="confidence",
        implicitPrefs=True,
        rank=params.rank,
        maxIter=params.max_iter,
        regParam=params.reg_param,
        alpha=params.alpha,
        seed=params.seed,
        checkpointInterval=params.checkpoint_interval,
        numUserBlocks=num_blocks,
        numItemBlocks=num_blocks,
        coldStartStrategy="drop",
        intermediateStorageLevel=ALS_STORAGE_LEVEL,
        finalStorageLevel=ALS_STORAGE_LEVEL,
    )
    return als.fit(ratings)


def load_als_model(config: Config, alias: str | None = None) -> ALSModel:
    """The ALS model that ``alias`` (default ``train.alias``) names in the configured registry."""
    pipeline = tracking.load_spark_model(
        tracking.tracking_uri(config),
        config.train.registered_model_name,
        alias or config.train.alias,
    )
    return als_stage(pipeline)


def als_stage(model: object) -> ALSModel:
    """The ALS model inside the one-stage pipeline MLflow logs a Spark model as."""
    if isinstance(model, PipelineModel) and len(model.stages) == 1:
        model = model.stages[0]
    if not isinstance(model, ALSModel):
        raise TypeError(f"expected an ALS model, got {type(model).__name__}")
    return model


@contextmanager
def persisted(*frames: DataFrame) -> Iterator[tuple[DataFrame, ...]]:
    """Keep ``frames`` at RATINGS_STORAGE_LEVEL for the block, and release them after it."""
    kept = tuple(frame.persist(RATINGS_STORAGE_LEVEL) for frame in frames)
    try:
        yield kept
    finally:
        for frame in kept:
            frame.unpersist()


def training_params(params: TrainConfig) -> dict[str, object]:
    """The settings of a fit as MLflow parameters."""
    return {
        "item": params.item,
        "rank": params.rank,
        "max_iter": params.max_iter,
        "reg_param": params.reg_param,
        "alpha": params.alpha,
        "confidence": params.confidence,
        "bm25_k1": params.bm25_k1,
        "bm25_b": params.bm25_b,
        "window_days": params.window_days,
        "holdout_days": params.holdout_days,
        "checkpoint_interval": params.checkpoint_interval,
        "seed": params.seed,
        "top_k": params.top_k,
        "implicit_prefs": True,
        "cold_start_strategy": "drop",
    }


def render_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4g}" for name, value in metrics.items())


def _union(frames: Iterable[DataFrame]) -> DataFrame:
    return functools.reduce(DataFrame.unionByName, frames)
