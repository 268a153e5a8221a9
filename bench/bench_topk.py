"""How fast is the blocked top-k for every user, against `implicit`'s batch `recommend`?

Draws the benchmark interactions (``interactions.py``: 100,000 users, 20,000 items, about 3
million pairs) and random 64-factor user and item factors (the time of a top-k does not depend on
what the factors mean), then times the top 50 of every user with the items the user played
left out:

- Spinback's ``topk.top_k`` on ``--cores`` local cores, written to Spark's ``noop`` sink so that
  every row is computed and nothing else is;
- ``implicit``'s ``recommend`` for all users at once with ``filter_already_liked_items``, on as
  many threads;
- with ``--mllib``, MLlib's ``recommendForAllUsers(50)`` on a model holding the same factors,
  which cannot leave played items out (it would have to fetch more and filter afterwards).

The factors and played items are cached in Spark and the CSR matrix built before the clocks
start. Prints seconds, users per second, the ratio to implicit and whether the results agree on a
sample of users. The load average is printed because the machine may be shared.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/bench_topk.py
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from interactions import argument_parser, generate_pairs
from spinback.config import load_config
from spinback.recommend.topk import top_k
from spinback.session import build_session

GOAL_RATIO = 1.5


def main() -> None:
    arguments = _parse_arguments()
    logging.basicConfig(level=logging.WARNING)
    work_dir = Path(tempfile.mkdtemp(prefix="spinback-bench-topk-"))

    pairs = generate_pairs(arguments.users, arguments.items, arguments.pairs_per_user, seed=3)
    generator = np.random.default_rng(8)
    user_factors = generator.normal(0, 0.3, (pairs.user_count, arguments.factors))
    item_factors = generator.normal(0, 0.3, (pairs.item_count, arguments.factors))
    user_factors = user_factors.astype(np.float32)
    item_factors = item_factors.astype(np.float32)
    print(f"users x items   {pairs.user_count:,} x {pairs.item_count:,}, {len(pairs):,} played")
    print(
        f"top             {arguments.k} per user, {arguments.factors} factors, "
        f"{arguments.cores} cores"
    )

    implicit_seconds, implicit_items = _implicit_recommend(
        pairs.matrix(), user_factors, item_factors, arguments
    )

    config = load_config(
        mode="local",
        overrides=[
            f"data_dir={work_dir / 'data'}",
            f"spark.master=local[{arguments.cores}]",
            f"spark.shuffle_partitions={arguments.cores * 4}",
            "spark.driver_memory=6g",
        ],
    )
    spark = build_session(config)
    load_before = os.getloadavg()
    try:
        users = _factor_frame(spark, user_factors)
        items = _factor_frame(spark, item_factors)
        played = spark.createDataFrame(
            pd.DataFrame({"user_index": pairs.users, "item_index": pairs.items})
        ).cache()
        played.count()

        ranked = top_k(
            users,
            items,
            arguments.k,
            excluded=played,
            query_block_size=arguments.user_block_size,
            candidate_block_size=arguments.item_block_size,
        )
        started = time.perf_counter()
        ranked.write.format("noop").mode("overwrite").save()
        spinback_seconds = time.perf_counter() - started

        sample = generator.choice(pairs.user_count, 200, replace=False).tolist()
        agreed = _agreement(ranked, implicit_items, sample)

        mllib_seconds = None
        if arguments.mllib:
            mllib_seconds = _mllib_recommend_for_all(spark, users, items, played, arguments.k)
        load_after = os.getloadavg()
    finally:
        spark.stop()
        shutil.rmtree(work_dir, ignore_errors=True)

    ratio = spinback_seconds / implicit_seconds
    print()
    print(f"{'':28}{'seconds':>9}{'users/s':>10}{'x implicit':>12}")
    rows = [("implicit recommend", implicit_seconds), ("spinback blocked top-k", spinback_seconds)]
    if mllib_seconds is not None:
        rows.append(("MLlib recommendForAllUsers", mllib_seconds))
    for name, seconds in rows:
        print(
            f"{name:28}{seconds:9.1f}{pairs.user_count / seconds:10,.0f}"
            f"{seconds / implicit_seconds:12.2f}"
        )
    print()
    print(f"same top {arguments.k} as implicit for {agreed:.1%} of 200 sampled users")
    print(
        f"goal            <= {GOAL_RATIO:g}x implicit: {ratio:.2f}x "
        f"({'met' if ratio <= GOAL_RATIO else 'not met'})"
    )
    print(
        f"load average    {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"(1 minute; the machine is shared)"
    )


def _implicit_recommend(
    user_items: object,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    arguments: argparse.Namespace,
) -> tuple[float, np.ndarray]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(
        factors=arguments.factors, num_threads=arguments.cores, random_state=1
    )
    model.user_factors = user_factors
    model.item_factors = item_factors
    user_ids = np.arange(user_factors.shape[0])
    # implicit runs its own threads and asks for single-threaded BLAS underneath them.
    with threadpool_limits(1, "blas"):
        started = time.perf_counter()
        recommended, _ = model.recommend(
            user_ids, user_items, N=arguments.k, filter_already_liked_items=True
        )
        elapsed = time.perf_counter() - started
    return elapsed, recommended


def _factor_frame(spark: SparkSession, factors: np.ndarray) -> DataFrame:
    rows = pd.DataFrame({"id": np.arange(len(factors), dtype=np.int32), "features": list(factors)})
    frame = spark.createDataFrame(rows, "id int, features array<float>").cache()
    frame.count()
    return frame


def _agreement(ranked: DataFrame, implicit_items: np.ndarray, sample: list[int]) -> float:
    """Share of sampled users whose top-k item sets are the same in both results."""
    ours = (
        ranked.where(F.col("user_index").isin(sample))
        .groupBy("user_index")
        .agg(F.collect_set("item_index").alias("items"))
        .collect()
    )
    same = sum(set(row["items"]) == set(implicit_items[row["user_index"]].tolist()) for row in ours)
    return same / len(sample)


def _mllib_recommend_for_all(
    spark: SparkSession, users: DataFrame, items: DataFrame, played: DataFrame, k: int
) -> float:
    """recommendForAllUsers on an ALSModel holding the benchmark's factors (fit, then swapped)."""
    from pyspark.ml.recommendation import ALS, ALSModel

    small = played.limit(1000).withColumn("confidence", F.lit(1.0))
    rank = len(users.first()["features"])
    fitted = ALS(
        userCol="user_index",
        itemCol="item_index",
        ratingCol="confidence",
        implicitPrefs=True,
        rank=rank,
        maxIter=1,
    ).fit(small)
    path = f"{tempfile.mkdtemp(prefix='spinback-als-')}/model"
    fitted.write().save(path)
    # Replace the fitted factors by the benchmark's, then load the model again.
    users.write.mode("overwrite").parquet(f"{path}/userFactors")
    items.write.mode("overwrite").parquet(f"{path}/itemFactors")
    model = ALSModel.load(path)

    started = time.perf_counter()
    model.recommendForAllUsers(k).write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    shutil.rmtree(Path(path).parent, ignore_errors=True)
    return seconds


def _parse_arguments() -> argparse.Namespace:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("-k", type=int, default=50)
    parser.add_argument("--user-block-size", type=int, default=4096)
    parser.add_argument("--item-block-size", type=int, default=32768)
    parser.add_argument("--mllib", action="store_true", help="also time recommendForAllUsers")
    return parser.parse_args()


if __name__ == "__main__":
    main()
