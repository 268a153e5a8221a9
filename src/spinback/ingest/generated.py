"""Reader for the multi-user event log that ``spinback generate`` lands as Parquet.

It maps the landing columns onto the canonical model; the same mapping serves any multi-user log
shaped like Spotify's extended history (``ts`` = end of playback, UTC).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback import schema
from spinback.ingest.pseudonym import pseudonymous_user_id
from spinback.ingest.quality import event_id

SOURCE = "generated"


def read_landing_plays(spark: SparkSession, plays_dir: str) -> DataFrame:
    """Landing plays with their lineage: the file and the row's position inside it."""
    return (
        spark.read.schema(schema.GENERATED_PLAYS)
        .parquet(plays_dir)
        .select(
            "*",
            F.col("_metadata.file_path").alias("source_file"),
            F.col("_metadata.row_index").alias("source_position"),
        )
    )


def raw_record(columns: list[str]) -> Column:
    """The landing record as JSON text, as bronze and quarantine keep it."""
    return F.to_json(F.struct(*columns))


def candidate_plays(landing: DataFrame, key: bytes, batch_id: str) -> DataFrame:
    """Landing plays -> candidate plays (silver columns plus lineage), not yet validated."""
    landing_columns = [field.name for field in schema.GENERATED_PLAYS.fields]
    user_id = pseudonymous_user_id(key, SOURCE, F.col("user_name"))
    started_at = F.timestamp_millis(F.unix_millis("ts") - F.col("ms_played"))
    return landing.select(
        event_id(
            F.lit(SOURCE),
            F.col("user_name"),
            F.col("ts"),
            F.col("ms_played"),
            F.coalesce(F.col("track_key"), F.col("episode_key")),
        ).alias("event_id"),
        user_id.alias("user_id"),
        F.col("ts").alias("ended_at"),
        started_at.alias("started_at"),
        F.col("ms_played"),
        F.lit(False).alias("ms_played_estimated"),
        F.col("content_type"),
        *[field.name for field in schema.PLAY_DETAILS],
        F.col("incognito_mode").alias("private"),
        "platform",
        F.col("conn_country").alias("country"),
        F.lit(SOURCE).alias("source"),
        F.lit(batch_id).alias("batch_id"),
        "source_file",
        "source_position",
        raw_record(landing_columns).alias("raw_record"),
    )


def silver_users(spark: SparkSession, users_dir: str, key: bytes) -> DataFrame:
    """Landing users -> silver users: pseudonymous id, zone, country, default privacy choices."""
    landing = spark.read.schema(schema.GENERATED_USERS).parquet(users_dir)
    return landing.select(
        pseudonymous_user_id(key, SOURCE, F.col("user_name")).alias("user_id"),
        F.col("time_zone"),
        F.col("country"),
        F.lit(False).alias("opt_out_stories"),
        F.lit(False).alias("opt_out_recommendations"),
        # Taste twins show one person to another: nobody is in unless they say so.
        F.lit(False).alias("opt_in_taste_twins"),
    )


def silver_catalog(spark: SparkSession, catalog_dir: str) -> DataFrame:
    return spark.read.schema(schema.CATALOG).parquet(catalog_dir)
