"""The recommender's dataset: who streamed which item how often, split by time, with integer ids.

Silver plays carry string keys (``user_id``, ``track_key``, ``artist_key``); MLlib's ALS needs
int32 ids. The id maps are Delta tables that only grow: a key keeps its id across runs, so factors,
recommendations and evaluations of different runs speak about the same users and items.

Everything here is a DataFrame -> DataFrame transform except :func:`update_id_map`, the edge that
reads and extends a persisted id map.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spinback.config import ConfidenceTransform, ItemKind
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
ARTIST_KEY, ARTIST_INDEX = "artist_key", "artist_index"
# What ALS, the evaluator and the top-k see, whatever the item is: a track or an artist index.
ITEM_INDEX = "item_index"

# The key and the id-map index of each kind of item.
ITEM_COLUMNS: dict[str, tuple[str, str]] = {
    "track": (TRACK_KEY, TRACK_INDEX),
    "artist": (ARTIST_KEY, ARTIST_INDEX),
}


@dataclass(frozen=True)
class Interactions:
    """Per (user, item) stream counts in consecutive periods of the window, oldest first.

    ``train`` holds the streams before the validation cut (the test cut when there is no
    validation period), ``validation`` those from there to the test cut, ``test`` those after it.
    Each frame has ``user_id``, the item key (``track_key`` or ``artist_key``) and ``play_count``
    (long); empty periods are empty frames.
    """

    train: DataFrame
    validation: DataFrame
    test: DataFrame

    def before_test(self) -> DataFrame:
        """The counts of ``train`` and ``validation`` together: everything before the test cut."""
        keys = [column for column in self.train.columns if column != "play_count"]
        return (
            self.train.unionByName(self.validation)
            .groupBy(*keys)
            .agg(F.sum("play_count").alias("play_count"))
        )


def item_columns(item: ItemKind) -> tuple[str, str]:
    """The key column and the id-map index column of ``item`` (``track`` or ``artist``)."""
    if item not in ITEM_COLUMNS:
        raise ValueError(f"item {item!r} is not one of {', '.join(ITEM_COLUMNS)}")
    return ITEM_COLUMNS[item]


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
    validation_days: int = 0,
    item_key: str = TRACK_KEY,
) -> Interactions:
    """Count streams per (user, item) in the window ending at the newest stream, split by time.

    With ``newest`` the latest ``ended_at`` of ``streams``, the test cut is
    ``newest - holdout_days`` and the validation cut ``validation_days`` before it. The window is
    ``(newest - window_days, newest]``; train counts the streams in ``(window start, validation
    cut]``, validation those in ``(validation cut, test cut]`` and test those in ``(test cut,
    newest]``. A zero-day period gives an empty frame. Streams without ``item_key`` (an artist
    model over plays without an artist) are left out. The newest play is joined in as a one-row
    frame, so nothing is collected to the driver.
    """
    newest = streams.agg(F.max("ended_at").alias("newest_ended_at"))

    def days_before_newest(days: int) -> Column:
        return F.col("newest_ended_at") - F.make_dt_interval(days=F.lit(days))

    test_cut = days_before_newest(holdout_days)
    validation_cut = days_before_newest(holdout_days + validation_days)

    in_window = (
        streams.where(F.col(item_key).isNotNull())
        .crossJoin(F.broadcast(newest))
        .where(F.col("ended_at") > days_before_newest(window_days))
    )
    return Interactions(
        train=count_streams(in_window.where(F.col("ended_at") <= validation_cut), item_key),
        validation=count_streams(
            in_window.where((F.col("ended_at") > validation_cut) & (F.col("ended_at") <= test_cut)),
            item_key,
        ),
        test=count_streams(in_window.where(F.col("ended_at") > test_cut), item_key),
    )


def streams_in_window(streams: DataFrame, window_days: int) -> DataFrame:
    """The streams of the last ``window_days`` days up to the newest stream, as they are.

    Keeps ``ended_at`` in ``(newest - window_days, newest]``; the newest play is joined in as a
    one-row frame and dropped again.
    """
    newest = streams.agg(F.max("ended_at").alias("newest_ended_at"))
    window_start = F.col("newest_ended_at") - F.make_dt_interval(days=F.lit(window_days))
    return (
        streams.crossJoin(F.broadcast(newest))
        .where(F.col("ended_at") > window_start)
        .drop("newest_ended_at")
    )


def count_streams(streams: DataFrame, item_key: str = TRACK_KEY) -> DataFrame:
    """One row per (user, item): ``play_count``, the number of streams."""
    return streams.groupBy(USER_KEY, item_key).agg(F.count(F.lit(1)).alias("play_count"))


def with_confidence(
    counts: DataFrame,
    transform: ConfidenceTransform,
    user_column: str = USER_INDEX,
    item_column: str = ITEM_INDEX,
    bm25_k1: float = 100.0,
    bm25_b: float = 0.8,
) -> DataFrame:
    """Add ``confidence``, the weight ALS gives each (user, item) ``play_count``.

    - ``raw``: the count itself.
    - ``log1p``: ``ln(1 + count)``, so that a track on repeat does not outweigh everything else.
    - ``bm25``: each item is treated as a document whose terms are its listeners. With ``n`` the
      count, ``N`` the number of distinct items, ``items(u)`` the number of items user u streamed,
      ``plays(i)`` the total count of item i and ``mean_plays`` its mean over items:
      ``idf(u) = max(0, ln N - ln(1 + items(u)))``,
      ``norm(i) = 1 - b + b * plays(i) / mean_plays`` and
      ``confidence = n * (k1 + 1) / (k1 * norm(i) + n) * idf(u)``.
      Counts saturate (k1), heavily played items weigh less per play (b), and a user who streams
      everything says less with each stream than one who is choosy (idf).

    The BM25 statistics are per-user and per-item aggregates and one global row, all joined back;
    no window spans the frame.
    """
    count = F.col("play_count")
    if transform == "raw":
        return counts.withColumn("confidence", count.cast("double"))
    if transform == "log1p":
        return counts.withColumn("confidence", F.log1p(count))
    if transform != "bm25":
        raise ValueError(f"confidence transform {transform!r} is not one of raw, log1p, bm25")

    per_user = counts.groupBy(user_column).agg(F.count(F.lit(1)).alias("user_items"))
    per_item = counts.groupBy(item_column).agg(F.sum("play_count").alias("item_plays"))
    overall = per_item.agg(
        F.count(F.lit(1)).alias("item_count"), F.avg("item_plays").alias("mean_item_plays")
    )
    idf = F.greatest(
        F.lit(0.0), F.log(F.col("item_count")) - F.log1p(F.col("user_items").cast("double"))
    )
    norm = 1.0 - bm25_b + bm25_b * F.col("item_plays") / F.col("mean_item_plays")
    weight = count * (bm25_k1 + 1.0) / (bm25_k1 * norm + count) * idf
    return (
        counts.join(per_user, user_column)
        .join(per_item, item_column)
        .crossJoin(F.broadcast(overall))
        .select(*counts.columns, weight.cast("double").alias("confidence"))
    )


def split_per_user(
    counts: DataFrame,
    holdout_share: float,
    seed: int,
    user_column: str = USER_INDEX,
    item_column: str = ITEM_INDEX,
) -> tuple[DataFrame, DataFrame]:
    """Hold out ``floor(holdout_share * n)`` of each user's ``n`` items, drawn with ``seed``.

    For data without timestamps. Each user's items are put in the order of
    ``xxhash64(seed, user, item)`` (a window partitioned by user); the first ones are held out.
    A user with too few items to hold one out keeps all of them for training. Returns
    ``(train, held_out)``, both with the columns of ``counts``.
    """
    per_user = Window.partitionBy(user_column)
    ordered = per_user.orderBy(F.xxhash64(F.lit(seed), user_column, item_column), item_column)
    placed = counts.withColumns(
        {
            "position": F.row_number().over(ordered),
            "held_out_items": F.floor(F.count(F.lit(1)).over(per_user) * holdout_share),
        }
    )
    held_out = F.col("position") <= F.col("held_out_items")
    return (
        placed.where(~held_out).drop("position", "held_out_items"),
        placed.where(held_out).drop("position", "held_out_items"),
    )


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


def with_ids(interactions: DataFrame, user_ids: DataFrame, item_ids: DataFrame) -> DataFrame:
    """Replace the user and item keys by ``user_index`` and ``item_index`` from the id maps.

    ``item_ids`` is a map of tracks or of artists (its two columns: key, index). Rows without an
    id are dropped.
    """
    item_key, item_index = item_ids.columns
    return (
        interactions.join(user_ids, USER_KEY)
        .join(item_ids, item_key)
        .withColumnRenamed(item_index, ITEM_INDEX)
        .drop(USER_KEY, item_key)
    )


def _latest_version(spark: SparkSession, path: str) -> int:
    from delta.tables import DeltaTable

    latest = DeltaTable.forPath(spark, path).history(1).select("version").first()
    if latest is None:
        raise FileNotFoundError(f"the Delta table at {path} has no history")
    return int(latest["version"])
