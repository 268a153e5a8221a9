"""Blocked top-k: every user's k best-scored items, leaving out the items the user already played.

MLlib's ``recommendForAllUsers`` scores every user against every item but cannot leave out what a
user already played, so callers over-fetch and filter afterwards, and it is slow. Here queries
(user factors) and candidates (item factors) are cut into blocks by id; every pair of a query
block and a candidate block meets in one group of a cogroup, where the block's scores are one
matrix product and each query keeps its k best candidates. With more than one candidate block the
per-block winners are merged by a window partitioned by query.

The same function ranks users against users (taste twins) and artists against artists (similar
artists): anything with factors of the same rank.

Why the scores are computed in Python: Spark SQL has no matrix product, and a dot product written
with array functions (``aggregate(zip_with(...))``) or as a join over exploded dimensions
evaluates one (user, item) pair at a time, about a hundred times slower than BLAS on the same
cores. The Arrow function below receives whole blocks as Arrow tables, never single rows, and
hands them to NumPy's BLAS; it runs over Spark Connect as well, since it is a DataFrame
operation, not an RDD one.

Known shortcoming: top 50 for 100,000 users takes 2.0x implicit's ``recommend`` with
single-threaded BLAS (bench/bench_topk.py; goal 1.5x). The Arrow round trip of the factor blocks
and the cogroup's shuffle are what implicit does not pay; broadcasting the item factors once per
executor instead of shuffling candidate blocks is the first thing to try.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

logger = logging.getLogger(__name__)

# Queries scored in one matrix product inside a block: 2,048 x 32,768 float32 scores are 256 MiB,
# which bounds the Python worker's memory whatever the block sizes are.
SCORING_ROWS = 2048


def top_k(
    queries: DataFrame,
    candidates: DataFrame,
    k: int,
    excluded: DataFrame | None = None,
    query_column: str = "user_index",
    candidate_column: str = "item_index",
    query_block_size: int = 4096,
    candidate_block_size: int = 32768,
) -> DataFrame:
    """The ``k`` candidates with the largest dot product with each query, best first.

    ``queries`` and ``candidates`` are factor frames as MLlib's ALS gives them: ``id`` (int) and
    ``features`` (array of float, the same length on both sides, never null). ``excluded`` holds
    ``(query_column, candidate_column)`` pairs that are never returned (the items a user already
    played; a user and themself). Returns ``query_column``, ``candidate_column``, ``score``
    (double) and ``rank`` (int, 1 = best), at most ``k`` rows per query; fewer when fewer
    candidates remain.

    Ties in score go to the lower candidate id, so the result is the same on every run. Queries
    without factors (cold-start users) get no rows. One number is collected to the driver: the
    largest candidate id, which says how many candidate blocks there are.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    spark = queries.sparkSession
    largest = (
        candidates.agg(F.max("id").alias("candidate"))
        .crossJoin(queries.agg(F.max("id").alias("query")))
        .first()
    )
    if largest is None or largest["candidate"] is None or largest["query"] is None:
        return spark.createDataFrame(
            [], f"{query_column} int, {candidate_column} int, score double, rank int"
        )
    candidate_blocks = largest["candidate"] // candidate_block_size + 1
    query_blocks = largest["query"] // query_block_size + 1

    query_side = queries.select(
        "id", "features", F.floor(F.col("id") / query_block_size).alias("query_block")
    )
    if excluded is not None:
        excluded_lists = excluded.groupBy(query_column).agg(
            F.collect_list(candidate_column).alias("excluded")
        )
        query_side = query_side.join(
            excluded_lists.withColumnRenamed(query_column, "id"), "id", "left"
        )
    else:
        query_side = query_side.withColumn("excluded", F.lit(None).cast("array<int>"))
    # Fresh attributes (an alias is always a new column to the analyzer): when queries and
    # candidates are the same frame (users against users, artists against artists), the two sides
    # of the cogroup would otherwise carry the same columns and Spark rejects the plan as an
    # ambiguous self-join.
    candidate_side = candidates.select(
        F.col("id").alias("id"),
        F.col("features").alias("features"),
        F.floor(F.col("id") / candidate_block_size).alias("candidate_block"),
    )

    # Every query block meets every candidate block: each side is repeated once per block of the
    # other side. Blocks without ids of one side meet an empty table and yield nothing.
    keys = ["query_block", "candidate_block"]
    candidate_block_ids = spark.range(candidate_blocks).select(F.col("id").alias("candidate_block"))
    query_block_ids = spark.range(query_blocks).select(F.col("id").alias("query_block"))
    scored = (
        query_side.crossJoin(F.broadcast(candidate_block_ids))
        .groupBy(*keys)
        .cogroup(candidate_side.crossJoin(F.broadcast(query_block_ids)).groupBy(*keys))
        .applyInArrow(
            _block_scorer(k, query_column, candidate_column),
            f"{query_column} int, {candidate_column} int, score double, rank int",
        )
    )
    if candidate_blocks == 1:
        return scored

    best_first = Window.partitionBy(query_column).orderBy(F.desc("score"), candidate_column)
    return (
        scored.withColumn("rank", F.row_number().over(best_first))
        .where(F.col("rank") <= k)
        .withColumn("rank", F.col("rank").cast("int"))
    )


def _block_scorer(
    k: int, query_column: str, candidate_column: str
) -> Callable[[pa.Table, pa.Table], pa.Table]:
    """The cogroup function: one query block against one candidate block, as Arrow tables."""

    def score_block(queries: pa.Table, candidates: pa.Table) -> pa.Table:
        if queries.num_rows == 0 or candidates.num_rows == 0:
            return pa.table(
                {
                    query_column: pa.array([], pa.int32()),
                    candidate_column: pa.array([], pa.int32()),
                    "score": pa.array([], pa.float64()),
                    "rank": pa.array([], pa.int32()),
                }
            )
        rows = top_k_arrays(
            _ids(queries),
            _matrix(queries.column("features")),
            _ids(candidates),
            _matrix(candidates.column("features")),
            k,
            _excluded_pairs(queries.column("excluded")),
        )
        return pa.table(
            {
                query_column: pa.array(rows.query_ids, pa.int32()),
                candidate_column: pa.array(rows.candidate_ids, pa.int32()),
                "score": pa.array(rows.scores, pa.float64()),
                "rank": pa.array(rows.ranks, pa.int32()),
            }
        )

    return score_block


@dataclass(frozen=True)
class TopKRows:
    """Flat arrays of the selected (query, candidate) pairs, best first within each query."""

    query_ids: np.ndarray
    candidate_ids: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray


def top_k_arrays(
    query_ids: np.ndarray,
    query_factors: np.ndarray,
    candidate_ids: np.ndarray,
    candidate_factors: np.ndarray,
    k: int,
    excluded: tuple[np.ndarray, np.ndarray],
) -> TopKRows:
    """The k best candidates of each query row, by dot product; ``excluded`` pairs never chosen.

    ``excluded`` is ``(query rows, candidate ids)``: positions in ``query_ids`` and the candidate
    ids they must not get (ids absent from ``candidate_ids`` are ignored). Queries are scored
    ``SCORING_ROWS`` at a time; an excluded pair scores minus infinity and is dropped from the
    result, so a query that has seen nearly everything gets fewer than k rows.
    """
    order = np.argsort(candidate_ids, kind="stable")
    candidate_ids = candidate_ids[order]
    candidate_factors = candidate_factors[order]
    candidate_count = len(candidate_ids)
    chosen = min(k, candidate_count)

    excluded_rows, excluded_ids = excluded
    positions = np.searchsorted(candidate_ids, excluded_ids)
    found = positions < candidate_count
    found[found] = candidate_ids[positions[found]] == excluded_ids[found]
    excluded_rows, positions = excluded_rows[found], positions[found]

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(query_ids), SCORING_ROWS):
        stop = min(start + SCORING_ROWS, len(query_ids))
        scores = query_factors[start:stop] @ candidate_factors.T
        in_chunk = (excluded_rows >= start) & (excluded_rows < stop)
        scores[excluded_rows[in_chunk] - start, positions[in_chunk]] = -np.inf

        best = _best_positions(scores, chosen)
        best_scores = np.take_along_axis(scores, best, axis=1)
        kept = np.isfinite(best_scores)
        ranks = np.broadcast_to(np.arange(1, chosen + 1, dtype=np.int32), best.shape)
        row_ids = np.broadcast_to(query_ids[start:stop, None], best.shape)
        parts.append((row_ids[kept], candidate_ids[best[kept]], best_scores[kept], ranks[kept]))

    if not parts:
        empty = np.array([], dtype=np.int32)
        return TopKRows(empty, empty, np.array([], dtype=np.float64), empty)
    return TopKRows(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _best_positions(scores: np.ndarray, chosen: int) -> np.ndarray:
    """Per row, the column positions of the ``chosen`` largest scores, best first.

    Candidates are sorted by id, so among equal scores the lower position is the lower id. A
    partial selection picks the chosen columns; rows where the last chosen score is tied with a
    column left out are redone with a full sort, so ties always go to the lower id.
    """
    columns = scores.shape[1]
    if chosen < columns:
        selected = np.argpartition(scores, columns - chosen, axis=1)[:, columns - chosen :]
    else:
        selected = np.broadcast_to(np.arange(columns), scores.shape).copy()
    selected_scores = np.take_along_axis(scores, selected, axis=1)
    # Best first; equal scores by position (lexsort sorts by the last key first).
    ordering = np.lexsort((selected, -selected_scores), axis=1)
    best = np.take_along_axis(selected, ordering, axis=1)

    if chosen < columns:
        threshold = np.take_along_axis(scores, best[:, -1:], axis=1)
        tied_everywhere = (scores == threshold).sum(axis=1)
        tied_chosen = (np.take_along_axis(scores, best, axis=1) == threshold).sum(axis=1)
        for row in np.nonzero(tied_everywhere > tied_chosen)[0]:
            full_order = np.lexsort((np.arange(columns), -scores[row]))
            best[row] = full_order[:chosen]
    return best


def _ids(table: pa.Table) -> np.ndarray:
    return table.column("id").to_numpy().astype(np.int64)


def _matrix(features: pa.ChunkedArray) -> np.ndarray:
    """A list<float> column of equal-length rows as a float32 matrix, one row per list."""
    lists = features.combine_chunks()
    values = lists.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return values.reshape(len(lists), -1) if len(lists) else values.reshape(0, 0)


def _excluded_pairs(excluded: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A list<int> column as (row position, excluded id) arrays; null lists exclude nothing."""
    lists = excluded.combine_chunks()
    rows = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    ids = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    return rows, ids
