"""Daily rollups per user: the compact form of silver plays that every story reads.

``silver.daily_items`` holds one row per (user, local date, content type, item), where the item is
the track, else the episode, else the show. It keeps counts (plays, qualified streams, skips, ...),
milliseconds, first and last start and the qualified streams of each local hour, so that tops,
days, clock, timeline, discovery and the rest never touch raw plays again.
``silver.daily_platforms`` keeps plays and milliseconds per (user, local date, platform) for the
behaviour story.

Local time is the user's zone (silver.users, else ``ingest.default_timezone``). Timestamps in the
rollups (``first_started_at``, ...) are the user's wall-clock time stored as a TIMESTAMP read in
UTC, the zone every Spinback session runs in.

The rollups are updated incrementally: the ingest batches not yet rolled up name the (user, local
date) pairs they touched, only those days are recomputed from silver plays, and a MERGE replaces
them. A change of the stream rule (which decides what a qualified stream is) rebuilds everything.

Known shortcoming: a full rebuild from 21.8 M plays takes 270 s on 2 cores (bench/bench_wrapped.py,
down from 860 s once only numbers were aggregated per row), 6.8x DuckDB's 40 s for all the core
aggregates. Daily rows barely compress plays (a user seldom replays a track the same day), so the
rollup is nearly a copy of silver; the 24 conditional sums behind ``hourly_streams`` are the next
suspect, and a weekly grain for the hours would shrink it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback import tables
from spinback.config import Config, WrappedConfig
from spinback.tables import TableLocations

logger = logging.getLogger(__name__)

HOURS_PER_DAY = 24
# A scrobble is qualified when played for half the track, at most this long (Last.fm's rule).
SCROBBLE_CAP_MS = 240_000
SCROBBLE_MIN_TRACK_MS = 30_000

ITEM_KEYS = ["user_id", "local_date", "content_type", "item_key"]
PLATFORM_KEYS = ["user_id", "local_date", "platform"]


@dataclass(frozen=True)
class RollupReport:
    """What one update did: rebuilt everything, or merged the days of the new batches."""

    rebuilt: bool
    batches: list[str]
    items_table: str
    platforms_table: str
    seconds: float


def qualified_stream(rule: str, min_stream_ms: int) -> Column:
    """Whether a play counts for rankings, by the spec's stream rule.

    Needs ``content_type``, ``ms_played``, ``ms_played_estimated``, ``private`` and, for the
    ``scrobble`` rule, ``duration_ms`` (null when the catalog does not know it). A scrobble
    (``ms_played_estimated``) is already a qualified stream: its client applied its own rule.
    """
    if rule == "spotify":
        long_enough = F.col("ms_played") >= min_stream_ms
    else:
        duration = F.col("duration_ms")
        long_enough = (
            F.when(duration.isNull(), F.col("ms_played") >= min_stream_ms)
            .when(duration <= SCROBBLE_MIN_TRACK_MS, F.lit(False))
            .otherwise(F.col("ms_played") >= F.least(duration / 2, F.lit(SCROBBLE_CAP_MS)))
        )
    scrobbled = F.coalesce(F.col("ms_played_estimated"), F.lit(False))
    return (
        (F.col("content_type") == "music")
        & ~F.coalesce(F.col("private"), F.lit(False))
        & (scrobbled | long_enough)
    )


def local_plays(plays: DataFrame, users: DataFrame, default_timezone: str) -> DataFrame:
    """Plays with ``time_zone``, ``local_started_at``, ``local_date`` and ``local_hour``."""
    zones = users.select("user_id", "time_zone")
    local_started_at = F.from_utc_timestamp("started_at", F.col("time_zone"))
    return (
        plays.join(zones, "user_id", "left")
        .withColumn("time_zone", F.coalesce(F.col("time_zone"), F.lit(default_timezone)))
        .withColumn("local_started_at", local_started_at)
        .withColumn("local_date", F.to_date("local_started_at"))
        .withColumn("local_hour", F.hour("local_started_at"))
    )


# What an item is called, taken per item rather than per user and day (see item_descriptions).
DESCRIPTION_COLUMNS = [
    "track_key",
    "track_name",
    "artist_key",
    "artist_name",
    "featured_artists",
    "album_key",
    "album_name",
    "show_key",
    "show_name",
    "episode_name",
]
# The columns of silver plays (after local_plays) that the rollups read: pruning the rest (the raw
# record above all) before anything is kept keeps the scope small.
ROLLUP_INPUT_COLUMNS = [
    "user_id",
    "batch_id",
    "time_zone",
    "local_started_at",
    "local_date",
    "local_hour",
    "content_type",
    "episode_key",
    *DESCRIPTION_COLUMNS,
    "platform",
    "ms_played",
    "ms_played_estimated",
    "duration_ms",
    "reason_end",
    "skipped",
    "shuffle",
    "offline",
    "private",
]


def daily_items(plays: DataFrame, settings: WrappedConfig) -> DataFrame:
    """Roll local plays (see :func:`local_plays`, with ``duration_ms``) up to day and item.

    Only numbers are aggregated per (user, day, item): Spark keeps such buffers in a hash table,
    while a string or array buffer (a name's max) forces a sort of every play. Names come from
    :func:`item_descriptions`, joined on the item afterwards.
    """
    qualified = qualified_stream(settings.stream_rule, settings.min_stream_ms)
    stream = F.when(qualified, 1).otherwise(0)

    def count_of(condition: Column) -> Column:
        return F.sum(F.when(condition, 1).otherwise(0)).cast("long")

    skipped = F.coalesce(F.col("skipped"), F.lit(False)) | F.col("reason_end").isin(
        "fwdbtn", "backbtn"
    )
    keyed = plays.withColumn("item_key", F.coalesce("track_key", "episode_key", "show_key")).where(
        F.col("item_key").isNotNull()
    )
    # time_zone is one per user (local_plays), so grouping by it splits nothing.
    measures = keyed.groupBy(*ITEM_KEYS, "time_zone").agg(
        F.count(F.lit(1)).alias("plays"),
        F.sum(stream).cast("long").alias("streams"),
        F.sum("ms_played").cast("long").alias("ms_played"),
        count_of(F.col("ms_played_estimated")).alias("estimated_plays"),
        count_of(F.coalesce(F.col("private"), F.lit(False))).alias("private_plays"),
        count_of(skipped).alias("skips"),
        count_of(F.col("reason_end") == "trackdone").alias("completions"),
        count_of(F.coalesce(F.col("shuffle"), F.lit(False))).alias("shuffle_plays"),
        count_of(F.coalesce(F.col("offline"), F.lit(False))).alias("offline_plays"),
        # How many plays recorded each behaviour at all: scrobbles know nothing of skips, and
        # a rate over plays that never said is made up.
        count_of(F.col("skipped").isNotNull() | F.col("reason_end").isNotNull()).alias(
            "outcome_known_plays"
        ),
        count_of(F.col("shuffle").isNotNull()).alias("shuffle_known_plays"),
        count_of(F.col("offline").isNotNull()).alias("offline_known_plays"),
        F.min("local_started_at").alias("first_started_at"),
        F.max("local_started_at").alias("last_started_at"),
        F.min(F.when(qualified, F.col("local_started_at"))).alias("first_stream_at"),
        F.array(
            *[
                F.sum(F.when(qualified & (F.col("local_hour") == hour), 1).otherwise(0))
                for hour in range(HOURS_PER_DAY)
            ]
        )
        .cast("array<int>")
        .alias("hourly_streams"),
    )
    return measures.join(item_descriptions(keyed), "item_key", "left").select(
        *ITEM_KEYS, "time_zone", *DESCRIPTION_COLUMNS, *measures.columns[len(ITEM_KEYS) + 1 :]
    )


def item_descriptions(keyed_plays: DataFrame) -> DataFrame:
    """One row per ``item_key``: its keys and names (``DESCRIPTION_COLUMNS``).

    A key can carry differently spelled names across sources (an export and a scrobbler): the
    greatest of each is kept, so every day of an item shows the same name. The distinct rows are
    few (one per item and spelling), so the sort that a string's max needs stays small.
    """
    return (
        keyed_plays.select("item_key", *DESCRIPTION_COLUMNS)
        .distinct()
        .groupBy("item_key")
        .agg(*[F.max(name).alias(name) for name in DESCRIPTION_COLUMNS])
    )


def daily_platforms(plays: DataFrame) -> DataFrame:
    """Plays and milliseconds per (user, local date, platform); unknown platforms as "unknown"."""
    return (
        plays.withColumn("platform", F.coalesce(F.lower("platform"), F.lit("unknown")))
        .groupBy(*PLATFORM_KEYS)
        .agg(
            F.count(F.lit(1)).alias("plays"),
            F.sum("ms_played").cast("long").alias("ms_played"),
        )
    )


def rules_fingerprint(settings: WrappedConfig) -> str:
    """The settings baked into the rollups: when they change, the rollups are rebuilt."""
    return json.dumps(
        {"stream_rule": settings.stream_rule, "min_stream_ms": settings.min_stream_ms}
    )


def update_rollups(spark: SparkSession, config: Config, rebuild: bool = False) -> RollupReport:
    """Bring the daily rollups up to date with silver plays: merge only what new batches touched.

    The batches already rolled up, and the rules they were rolled up with, are kept in
    ``silver.rollup_state``. A first run, ``rebuild``, or changed rules recompute everything.
    """
    locations = TableLocations.from_config(config)
    settings = config.wrapped
    started = time.monotonic()
    fingerprint = rules_fingerprint(settings)

    plays = tables.read_delta(spark, locations.plays)
    users = tables.read_delta(spark, locations.users)
    # Plays written by another tool than ingest have no batch records: their own batch ids stand in.
    if tables.delta_exists(spark, locations.batches):
        batches = tables.read_delta(spark, locations.batches).select("batch_id").distinct()
    else:
        batches = plays.select("batch_id").distinct()

    # Few rows: one per ingest batch. Reading them on the driver decides the plan.
    full = (
        rebuild
        or not tables.delta_exists(spark, locations.rollup_state)
        or not tables.delta_exists(spark, locations.daily_items)
    )
    if not full:
        state = tables.read_delta(spark, locations.rollup_state)
        full = state.where(F.col("rules") != fingerprint).limit(1).count() > 0
    if full:
        new_batches = sorted(row.batch_id for row in batches.collect())
    else:
        unseen = batches.join(state, "batch_id", "left_anti")
        new_batches = sorted(row.batch_id for row in unseen.collect())

    if not full and not new_batches:
        logger.info("daily rollups are up to date")
        return RollupReport(
            False, [], locations.daily_items, locations.daily_platforms, time.monotonic() - started
        )

    default_zone = config.ingest.default_timezone
    located = local_plays(_with_duration(spark, plays, locations, settings), users, default_zone)
    if full:
        scope = located
    else:
        touched = (
            located.where(F.col("batch_id").isin(new_batches))
            .select("user_id", "local_date")
            .distinct()
        )
        # Every play of a touched user-day, old and new, so the merged row is the whole day again.
        scope = located.join(F.broadcast(touched), ["user_id", "local_date"], "left_semi")
    scope = scope.select(*ROLLUP_INPUT_COLUMNS).persist(StorageLevel.MEMORY_AND_DISK)

    items = daily_items(scope, settings)
    platforms = daily_platforms(scope)
    if full:
        tables.overwrite(items, locations.daily_items)
        tables.overwrite(platforms, locations.daily_platforms)
    else:
        item_values = [c for c in items.columns if c not in ITEM_KEYS]
        tables.upsert(spark, items, locations.daily_items, ITEM_KEYS, update=item_values)
        platform_values = [c for c in platforms.columns if c not in PLATFORM_KEYS]
        tables.upsert(
            spark, platforms, locations.daily_platforms, PLATFORM_KEYS, update=platform_values
        )
    scope.unpersist()

    rolled_up = spark.createDataFrame(
        [(batch, fingerprint) for batch in new_batches], "batch_id string, rules string"
    )
    if full:
        tables.overwrite(rolled_up, locations.rollup_state)
    else:
        rolled_up.write.format("delta").mode("append").save(locations.rollup_state)
    seconds = time.monotonic() - started
    logger.info(
        "daily rollups %s for %d batch(es) in %.1f s",
        "rebuilt" if full else "merged",
        len(new_batches),
        seconds,
    )
    return RollupReport(
        full, new_batches, locations.daily_items, locations.daily_platforms, seconds
    )


def _with_duration(
    spark: SparkSession, plays: DataFrame, locations: TableLocations, settings: WrappedConfig
) -> DataFrame:
    """Plays with the catalog's ``duration_ms`` (null where unknown): the scrobble rule needs it."""
    if settings.stream_rule != "scrobble" or not tables.delta_exists(spark, locations.catalog):
        return plays.withColumn("duration_ms", F.lit(None).cast("long"))
    durations = tables.read_delta(spark, locations.catalog).select("track_key", "duration_ms")
    return plays.join(durations, "track_key", "left")
