"""How long does Spinback's ALS take to train, against the `implicit` library, at matched settings?

Draws about ``--users * --pairs-per-user`` (default about 3 million) user-item pairs
(``interactions.py``), holds out 20 % of each user's pairs, and fits on the rest:

1. MLlib ALS as Spinback runs it (``train.train_model``: one block per core, blocks and factors
   in memory with spill to disk, native BLAS, checkpoints every ``--checkpoint-interval``);
2. plain MLlib ALS with its defaults (10 blocks, checkpoint every 10 iterations), with
   ``--plain``;
3. ``implicit``'s ALS with its conjugate-gradient solver and with its exact (Cholesky) solver.

All at ``--factors`` factors (64) and ``--iterations`` iterations (10), on ``--cores`` cores.
Confidence is matched: MLlib weighs a pair with ``1 + alpha * log1p(count)``; implicit is given
that same value as the matrix entry with its own alpha at 1. Regularisation cannot be matched
exactly (MLlib multiplies lambda by each user's and item's number of pairs, implicit does not), so
implicit gets lambda times the mean number of pairs per user.

Prints each fit's seconds, the ratios to implicit's two solvers, and NDCG@10 and precision@10 of
every model (and popularity) on the held-out pairs of ``--eval-users`` users, all scored by
Spinback's RankingEvaluator. Input preparation is not timed: the Spark frame is cached and counted
and the CSR matrix built before the clocks start. The load average is printed because the machine
may be shared.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/bench_train.py
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame, SparkSession

from interactions import Pairs, argument_parser, generate_pairs, split_per_user
from spinback.config import load_config
from spinback.recommend.evaluate import RankingEvaluator
from spinback.recommend.train import train_model
from spinback.session import build_session, linear_algebra_backends

GOAL_CG_RATIO = 6.0
GOAL_NDCG_GAP = 0.05


@dataclasses.dataclass(frozen=True)
class Factors:
    """implicit's factors as Spark frames, shaped like an ALSModel's for the evaluator."""

    userFactors: DataFrame  # noqa: N815 (MLlib's name)
    itemFactors: DataFrame  # noqa: N815 (MLlib's name)


def main() -> None:
    arguments = _parse_arguments()
    logging.basicConfig(level=logging.WARNING)
    # Read by the Spark JVM started below, whose native BLAS MLlib calls from one thread per task.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    work_dir = Path(tempfile.mkdtemp(prefix="spinback-bench-train-"))

    pairs = generate_pairs(arguments.users, arguments.items, arguments.pairs_per_user, seed=3)
    train, test = split_per_user(pairs, 0.2, seed=4)
    confidence = np.log1p(train.counts)
    implicit_reg = arguments.reg * len(train) / train.user_count
    print(f"pairs           {len(pairs):,} ({len(train):,} train, {len(test):,} held out)")
    print(f"users x items   {pairs.user_count:,} x {pairs.item_count:,}")
    print(
        f"settings        {arguments.factors} factors, {arguments.iterations} iterations, "
        f"alpha {arguments.alpha:g}, MLlib lambda {arguments.reg:g}, "
        f"implicit lambda {implicit_reg:.3g}, {arguments.cores} cores"
    )

    config = load_config(
        mode="local",
        overrides=[
            f"data_dir={work_dir / 'data'}",
            f"spark.master=local[{arguments.cores}]",
            f"spark.shuffle_partitions={arguments.cores * 2}",
            "spark.driver_memory=8g",
            f"train.rank={arguments.factors}",
            f"train.max_iter={arguments.iterations}",
            f"train.reg_param={arguments.reg}",
            f"train.alpha={arguments.alpha}",
            f"train.checkpoint_interval={arguments.checkpoint_interval}",
            f"train.num_blocks={arguments.cores}",
        ],
    )
    spark = build_session(config)
    load_before = os.getloadavg()
    results: dict[str, tuple[float, object]] = {}
    try:
        print(f"MLlib BLAS      {linear_algebra_backends(spark)['blas']}")
        ratings = _frame(spark, train, confidence).cache()
        ratings.count()

        started = time.perf_counter()
        model = train_model(ratings, config.train, num_blocks=arguments.cores)
        results["spinback"] = (time.perf_counter() - started, model)

        if arguments.plain:
            plain = dataclasses.replace(config.train, checkpoint_interval=10)
            started = time.perf_counter()
            model = _plain_mllib(ratings, plain)
            results["mllib-plain"] = (time.perf_counter() - started, model)

        user_items = train.matrix(1.0 + arguments.alpha * confidence)
        for name, use_cg in (("implicit-cg", True), ("implicit-exact", False)):
            seconds, factors = _fit_implicit(user_items, arguments, implicit_reg, use_cg=use_cg)
            results[name] = (seconds, _factor_frames(spark, *factors))

        load_after = os.getloadavg()
        metrics = _evaluate(spark, results, train, test, arguments.eval_users)
    finally:
        spark.stop()
        shutil.rmtree(work_dir, ignore_errors=True)

    cg_seconds = results["implicit-cg"][0]
    exact_seconds = results["implicit-exact"][0]
    print()
    print(f"{'model':16}{'fit s':>9}{'x CG':>8}{'x exact':>9}{'NDCG@10':>10}{'P@10':>9}")
    for name, (seconds, _) in results.items():
        print(
            f"{name:16}{seconds:9.1f}{seconds / cg_seconds:8.2f}{seconds / exact_seconds:9.2f}"
            f"{metrics[f'{name}_ndcg_at_k']:10.4f}{metrics[f'{name}_precision_at_k']:9.4f}"
        )
    print(
        f"{'popularity':16}{'':9}{'':8}{'':9}"
        f"{metrics['popularity_ndcg_at_k']:10.4f}{metrics['popularity_precision_at_k']:9.4f}"
    )
    ndcg_gap = 1 - metrics["spinback_ndcg_at_k"] / metrics["implicit-cg_ndcg_at_k"]
    print()
    print(f"evaluated users {int(metrics['evaluated_users']):,}")
    print(
        f"goal            fit <= {GOAL_CG_RATIO:g}x implicit CG: "
        f"{results['spinback'][0] / cg_seconds:.2f}x; NDCG@10 within {GOAL_NDCG_GAP:.0%} "
        f"of implicit CG: {ndcg_gap:+.1%} below"
    )
    print(
        f"load average    {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"(1 minute; the machine is shared)"
    )


def _frame(spark: SparkSession, pairs: Pairs, confidence: np.ndarray) -> DataFrame:
    import pandas as pd

    return spark.createDataFrame(
        pd.DataFrame(
            {
                "user_index": pairs.users,
                "item_index": pairs.items,
                "confidence": confidence.astype(np.float64),
            }
        )
    )


def _plain_mllib(ratings: DataFrame, params: object) -> object:
    from pyspark.ml.recommendation import ALS

    assert hasattr(params, "rank")
    return ALS(
        userCol="user_index",
        itemCol="item_index",
        ratingCol="confidence",
        implicitPrefs=True,
        rank=params.rank,
        maxIter=params.max_iter,  # type: ignore[attr-defined]
        regParam=params.reg_param,  # type: ignore[attr-defined]
        alpha=params.alpha,  # type: ignore[attr-defined]
        seed=params.seed,  # type: ignore[attr-defined]
    ).fit(ratings)


def _fit_implicit(
    user_items: object, arguments: argparse.Namespace, regularization: float, use_cg: bool
) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(
        factors=arguments.factors,
        regularization=regularization,
        alpha=1.0,
        iterations=arguments.iterations,
        use_cg=use_cg,
        num_threads=arguments.cores,
        random_state=42,
    )
    # implicit parallelises over users itself and wants single-threaded BLAS; NumPy loaded
    # OpenBLAS before main() could set OPENBLAS_NUM_THREADS, so the limit is applied here.
    with threadpool_limits(1, "blas"):
        started = time.perf_counter()
        model.fit(user_items, show_progress=False)
        elapsed = time.perf_counter() - started
    return elapsed, (model.user_factors, model.item_factors)


def _factor_frames(spark: SparkSession, users: np.ndarray, items: np.ndarray) -> Factors:
    def frame(factors: np.ndarray) -> DataFrame:
        rows = [(index, row.tolist()) for index, row in enumerate(factors.astype(np.float32))]
        return spark.createDataFrame(rows, "id int, features array<float>").cache()

    return Factors(frame(users), frame(items))


def _evaluate(
    spark: SparkSession,
    results: dict[str, tuple[float, object]],
    train: Pairs,
    test: Pairs,
    eval_users: int,
) -> dict[str, float]:
    import pandas as pd

    chosen = np.random.default_rng(5).choice(train.user_count, eval_users, replace=False)
    keep = np.isin(test.users, chosen)
    held_out = spark.createDataFrame(
        pd.DataFrame({"user_index": test.users[keep], "item_index": test.items[keep]})
    )
    seen = spark.createDataFrame(
        pd.DataFrame({"user_index": train.users, "item_index": train.items})
    ).cache()
    models = {name: model for name, (_, model) in results.items()}
    return RankingEvaluator(k=10).evaluate(models, seen, held_out)  # type: ignore[arg-type]


def _parse_arguments() -> argparse.Namespace:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--reg", type=float, default=0.05)
    parser.add_argument("--checkpoint-interval", type=int, default=10)
    parser.add_argument("--eval-users", type=int, default=10_000)
    parser.add_argument("--plain", action="store_true", help="also fit MLlib with its defaults")
    return parser.parse_args()


if __name__ == "__main__":
    main()
