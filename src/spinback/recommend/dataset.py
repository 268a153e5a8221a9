"""The recommender's dataset: who streamed which track how often, split by time, with integer ids.

Silver plays carry string keys (``user_id``, ``track_key``); MLlib's ALS needs int32 ids. The id
maps are Delta tables that only grow: a key keeps its id across runs, so factors, recommendations
and evaluations of different runs speak about the same users and tracks.

Everything here is a DataFrame -> DataFrame transform except :func:`update_id_map`, the edge that
reads and extends a persisted id map.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spinback.config import ConfidenceTransform
from spinback.tables import delta_exists, insert_new, read_delta

logger = logging.getLogger(__name__)

# A stream counts from this many milliseconds played (the same rule as the stories' rankings).
MIN_STREAM_MS = 30_000

# Keys are spread over this many buckets when new ids are numbered; each bucket is numbered by one
# task, so this is the parallelism of id assignment.
ID_BUCKETS = 64

_LARGEST_INT32 = 2**31 - 1

USER_KEY, USER_INDEX = "user_id", "user_index"
TRACK_KEY, TRACK_INDEX = "track_key", "track_index"


@dataclass(frozen=True)
class Interactions:
    """Per (user, track) stream counts before the cut (``train``) and after it (``test``).

    Both frames have ``user_id``, ``track_key``, ``play_count`` (long) and ``confidence`` (double).
    """

    train: DataFrame
    test: DataFrame


def qualified_music_streams(plays: DataFrame, min_stream_ms: int = MIN_STREAM_MS) -> DataFrame:
    """Plays of music tracks that lasted at least ``min_stream_ms`` and were not private.

    Podcasts, audiobooks and videos, short plays, private-session plays and plays without a track
    key say nothing about musical taste the recommender can use.
    """
    return plays.where(
        (F.col("content_type") == "music")
        & (F.col("ms_played") >= min_stream_ms)
        & ~F.coalesce(F.col("private"), F.lit(False))
        & F.col(TRACK_KEY).isNotNull()
    )


def split_interactions(
    streams: DataFrame,
    window_days: int,
    holdout_days: int,
    confidence: ConfidenceTransform,
) -> Interactions:
    """Count streams per (user, track) in the window ending at the newest stream, split by time.

    With ``newest`` the latest ``ended_at`` of ``streams`` and ``cut = newest - holdout_days``, the
    window is ``(newest - window_days, newest]``; train counts the streams in
    ``(newest - window_days, cut]`` and test those in ``(cut, newest]``. With ``holdout_days = 0``
    the test frame is empty. The newest play is joined in as a one-row frame, so nothing is
    collected to the driver.
    """
    newest = streams.agg(F.max("ended_at").alias("newest_ended_at"))
    window_start = F.col("newest_ended_at") - F.make_dt_interval(days=F.lit(window_days))
    cut = F.col("newest_ended_at") - F.make_dt_interval(days=F.lit(holdout_days))

    in_window = streams.crossJoin(F.broadcast(newest)).where(F.col("ended_at") > window_start)
    train = in_window.where(F.col("ended_at") <= cut)
    test = in_window.where(F.col("ended_at") > cut)
    return Interactions(
        train=count_streams(train, confidence),
        test=count_streams(test, confidence),
    )


def count_streams(streams: DataFrame, confidence: ConfidenceTransform) -> DataFrame:
    """One row per (user, track): ``play_count`` and the ``confidence`` ALS weighs it with.

    ``raw`` uses the count itself; ``log1p`` uses ``ln(1 + count)``, which keeps a track played on
    repeat from outweighing everything else a user likes.
    """
    counted = streams.groupBy(USER_KEY, TRACK_KEY).agg(F.count(F.lit(1)).alias("play_count"))
    return counted.withColumn("confidence", _confidence(F.col("play_count"), confidence))


def _confidence(play_count: Column, transform: ConfidenceTransform) -> Column:
    if transform == "raw":
        return play_count.cast("double")
    if transform == "log1p":
        return F.log1p(play_count)
    raise ValueError(f"confidence transform {transform!r} is not one of raw, log1p")


def assign_ids(
    keys: DataFrame,
    existing: DataFrame | None,
    key_column: str,
    id_column: str,
    buckets: int = ID_BUCKETS,
) -> DataFrame:
    """Number the keys of ``keys`` that ``existing`` lacks, after the largest id in ``existing``.

    Returns only the new ``(key_column, id_column)`` rows; ``existing`` (same columns, or None for
    none yet) is left as is, so old keys keep their ids. New ids are dense and start at
    ``max(existing id) + 1`` (0 for the first run).

    No window spans all keys: each key falls into bucket ``pmod(xxhash64(key), buckets)``, is
    numbered within its bucket in key order, and is shifted by the number of new keys in the
    buckets before its own (a join of the bucket sizes, at most ``buckets`` rows, with itself).
    The numbering depends only on the set of keys, so a re-run gives the same ids. Ids are int32,
    as ALS requires; the job fails rather than wrap around past 2,147,483,647 keys.
    """
    new_keys = keys.select(key_column).where(F.col(key_column).isNotNull()).distinct()
    if existing is not None:
        new_keys = new_keys.join(existing.select(key_column), key_column, "left_anti")
        next_id = existing.agg(
            (F.coalesce(F.max(id_column), F.lit(-1)).cast("long") + 1).alias("next_id")
        )
    else:
        next_id = keys.sparkSession.range(1).select(F.lit(0).cast("long").alias("next_id"))

    bucket = F.pmod(F.xxhash64(key_column), F.lit(buckets))
    numbered = new_keys.withColumn("bucket", bucket).withColumn(
        "position_in_bucket",
        F.row_number().over(Window.partitionBy("bucket").orderBy(key_column)) - 1,
    )

    sizes = numbered.groupBy("bucket").agg(F.count(F.lit(1)).alias("bucket_size"))
    earlier = sizes.select(
        F.col("bucket").alias("earlier_bucket"), F.col("bucket_size").alias("earlier_size")
    )
    offsets = (
        sizes.join(earlier, F.col("earlier_bucket") < F.col("bucket"), "left")
        .groupBy("bucket")
        .agg(F.coalesce(F.sum("earlier_size"), F.lit(0)).alias("bucket_offset"))
    )

    new_id = F.col("next_id") + F.col("bucket_offset") + F.col("position_in_bucket")
    return (
        numbered.join(F.broadcast(offsets), "bucket")
        .crossJoin(F.broadcast(next_id))
        .select(
            key_column,
            F.when(new_id > _LARGEST_INT32, F.raise_error(F.lit(f"{id_column} exceeds int32")))
            .otherwise(new_id)
            .cast("int")
            .alias(id_column),
        )
    )


def update_id_map(
    spark: SparkSession,
    keys: DataFrame,
    path: str,
    key_column: str,
    id_column: str,
    buckets: int = ID_BUCKETS,
) -> tuple[DataFrame, int]:
    """Give the new keys of ``keys`` ids in the Delta id map at ``path``; the map and its version.

    The map is created on first use. The returned frame is the whole map after the update, read at
    the returned Delta version, which a training run records so that its ids can be traced.
    """
    existing = read_delta(spark, path) if delta_exists(spark, path) else None
    new_ids = assign_ids(keys, existing, key_column, id_column, buckets)
    inserted = insert_new(spark, new_ids, path, keys=[key_column])["inserted"]

    version = _latest_version(spark, path)
    logger.info("%s: %d new ids, now at Delta version %d", path, inserted, version)
    id_map = spark.read.format("delta").option("versionAsOf", version).load(path)
    return id_map, version


def with_ids(interactions: DataFrame, user_ids: DataFrame, track_ids: DataFrame) -> DataFrame:
    """Add ``user_index`` and ``track_index`` from the id maps; rows without an id are dropped."""
    return interactions.join(user_ids, USER_KEY).join(track_ids, TRACK_KEY)


def _latest_version(spark: SparkSession, path: str) -> int:
    from delta.tables import DeltaTable

    latest = DeltaTable.forPath(spark, path).history(1).select("version").first()
    if latest is None:
        raise FileNotFoundError(f"the Delta table at {path} has no history")
    return int(latest["version"])
