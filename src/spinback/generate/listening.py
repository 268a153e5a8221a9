"""Generate a year of listening (catalog, users, plays) and land it as Parquet.

``generate_listening`` only builds DataFrames; ``write_generated`` is the one place that writes.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StructField, StructType, TimestampType

from spinback import schema
from spinback.config import ConfigError, GenerateConfig
from spinback.generate.catalog import build_episodes, build_tracks
from spinback.generate.plays import build_plays, expected_plays
from spinback.generate.users import build_users, published_users
from spinback.generate.year import GeneratedYear

logger = logging.getLogger(__name__)

# Users are split so that each partition holds about this many plays: enough work per task to be
# worth scheduling, and a per-user sort that fits comfortably in a task's memory.
PLAYS_PER_PARTITION = 1_000_000


@dataclass(frozen=True)
class GeneratedData:
    """The three landing frames, with exactly the columns of their ``schema`` definitions."""

    catalog: DataFrame
    users: DataFrame
    plays: DataFrame


def generate_listening(spark: SparkSession, config: GenerateConfig) -> GeneratedData:
    """Build a synthetic year of listening for ``config``; nothing is computed until an action.

    The same configuration, seed included, always yields the same rows, however Spark partitions
    them: every random choice is a hash of the seed and stable ids.
    """
    if config.tracks < config.artists:
        raise ConfigError(
            f"generate.tracks: {config.tracks!r} is not allowed; expected at least "
            f"generate.artists ({config.artists}), since every artist has a track"
        )
    year = GeneratedYear.of(config.year)
    plays_estimate = expected_plays(config)
    # At least as many partitions as the session's shuffles use, so that every core has work.
    minimum_partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 1)
    partitions = min(
        config.users, max(minimum_partitions, math.ceil(plays_estimate / PLAYS_PER_PARTITION))
    )
    logger.info(
        "generating %d users, %d tracks and %d shows for %d (seed %d): about %.1f million plays "
        "in %d partitions",
        config.users,
        config.tracks,
        config.shows,
        config.year,
        config.seed,
        plays_estimate / 1e6,
        partitions,
    )

    tracks = build_tracks(spark, config)
    users = build_users(spark, config, year, partitions)
    episodes = build_episodes(spark, config)
    plays = build_plays(users, tracks, episodes, config, year)
    return GeneratedData(
        catalog=conform(tracks.drop("track_index"), schema.CATALOG),
        users=conform(published_users(users), schema.GENERATED_USERS),
        plays=conform(plays, schema.GENERATED_PLAYS),
    )


def write_generated(data: GeneratedData, landing_dir: str) -> dict[str, str]:
    """Write the three frames as Parquet under ``landing_dir``, replacing what was there.

    Returns the folder of each frame by name: ``catalog``, ``users`` and ``plays``.
    """
    root = landing_dir.rstrip("/")
    frames = {"catalog": data.catalog, "users": data.users, "plays": data.plays}
    written = {}
    for name, frame in frames.items():
        path = f"{root}/{name}"
        started = time.perf_counter()
        frame.write.mode("overwrite").parquet(path)
        logger.info("wrote generated %s to %s in %.1f s", name, path, time.perf_counter() - started)
        written[name] = path
    return written


def conform(frame: DataFrame, target: StructType) -> DataFrame:
    """Select ``target``'s columns in order, with its types and its nullability.

    Spark derives nullability from expressions, while the schemas state it. A cast to the target
    type takes the nested nullability (array elements, struct fields) as declared, and a ``CASE``
    with no ``ELSE`` marks a column nullable where the schema allows nulls (the optimizer removes
    it again, so it costs nothing).

    Where the schema requires a value, Spark's types are too cautious: ``floor``, division and
    window sums may be null in general, though never on the generator's inputs. Those columns fall
    back to a value no generated row can hold (a negative length, an instant in 1970), so a mistake
    shows up as a failed range check instead of hiding behind a plausible number.
    """
    columns = []
    for field in target.fields:
        column = F.col(field.name).cast(field.dataType)
        nullable = frame.schema[field.name].nullable
        if field.nullable and not nullable:
            column = F.when(column.isNotNull(), column)
        elif nullable and not field.nullable:
            column = F.coalesce(column, _out_of_range(field))
        columns.append(column.alias(field.name))
    return frame.select(columns)


def _out_of_range(field: StructField) -> Column:
    if isinstance(field.dataType, LongType):
        return F.lit(-1).cast("long")
    if isinstance(field.dataType, TimestampType):
        return F.timestamp_millis(F.lit(0))
    raise ValueError(f"generated column {field.name} may be null, but the schema forbids it")
