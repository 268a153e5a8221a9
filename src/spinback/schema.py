"""The canonical schemas of the bronze, silver and quarantine tables.

Every reader produces exactly these columns (in this order), so stories and the recommender never
care where a play came from. The README documents the same model for people.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

CONTENT_TYPES = ("music", "podcast", "audiobook", "video")

ARTIST_CREDIT = StructType(
    [
        StructField("artist_key", StringType(), True),
        StructField("artist_name", StringType(), True),
    ]
)

# What was played and how: the same columns in every play table, from landing to silver.
PLAY_DETAILS = [
    StructField("track_key", StringType(), True),
    StructField("track_name", StringType(), True),
    StructField("artist_key", StringType(), True),
    StructField("artist_name", StringType(), True),
    StructField("featured_artists", ArrayType(ARTIST_CREDIT), True),
    StructField("album_key", StringType(), True),
    StructField("album_name", StringType(), True),
    StructField("show_key", StringType(), True),
    StructField("show_name", StringType(), True),
    StructField("episode_key", StringType(), True),
    StructField("episode_name", StringType(), True),
    StructField("reason_start", StringType(), True),
    StructField("reason_end", StringType(), True),
    StructField("shuffle", BooleanType(), True),
    StructField("skipped", BooleanType(), True),
    StructField("offline", BooleanType(), True),
]

# silver.plays: one row per playback. `event_id` is a hash of the source user and the play's own
# fields, so the same play read twice (or from overlapping exports) gets the same id.
PLAYS = StructType(
    [
        StructField("event_id", StringType(), False),
        StructField("user_id", StringType(), False),
        StructField("ended_at", TimestampType(), False),
        StructField("started_at", TimestampType(), False),
        StructField("ms_played", LongType(), False),
        # True where the source gave no duration (scrobbles): ms_played is then the estimate.
        StructField("ms_played_estimated", BooleanType(), False),
        StructField("content_type", StringType(), False),
        *PLAY_DETAILS,
        StructField("private", BooleanType(), True),
        StructField("platform", StringType(), True),
        StructField("country", StringType(), True),
        StructField("source", StringType(), False),
        StructField("batch_id", StringType(), False),
    ]
)

# silver.catalog: one row per track.
CATALOG = StructType(
    [
        StructField("track_key", StringType(), False),
        StructField("track_name", StringType(), True),
        StructField("artist_key", StringType(), True),
        StructField("artist_name", StringType(), True),
        StructField("featured_artists", ArrayType(ARTIST_CREDIT), True),
        StructField("album_key", StringType(), True),
        StructField("album_name", StringType(), True),
        StructField("duration_ms", LongType(), True),
        StructField("release_year", IntegerType(), True),
        StructField("genres", ArrayType(StringType()), True),
    ]
)

# silver.users: one row per pseudonymous user.
USERS = StructType(
    [
        StructField("user_id", StringType(), False),
        StructField("time_zone", StringType(), True),
        StructField("country", StringType(), True),
        StructField("opt_out_stories", BooleanType(), False),
        StructField("opt_out_recommendations", BooleanType(), False),
        StructField("opt_in_taste_twins", BooleanType(), False),
    ]
)

# Where a raw record came from, and its text as exported.
RECORD_LINEAGE = [
    StructField("source", StringType(), False),
    StructField("source_file", StringType(), False),
    StructField("source_position", LongType(), False),
    StructField("raw_record", StringType(), False),
]

# bronze.records: the raw record as text, with where it came from. Kept for a configured retention.
BRONZE = StructType(
    [
        *RECORD_LINEAGE,
        StructField("batch_id", StringType(), False),
        StructField("ingested_at", TimestampType(), False),
    ]
)

# bronze.quarantine: records that could not become plays, with the reason.
QUARANTINE = StructType(
    [
        *RECORD_LINEAGE,
        StructField("reason", StringType(), False),
        StructField("batch_id", StringType(), False),
        StructField("ingested_at", TimestampType(), False),
    ]
)

# landing/generated: what `spinback generate` writes, shaped like a multi-user event log export.
# `ts` is when playback ended (UTC), as in Spotify's exports; names travel with every play.
GENERATED_PLAYS = StructType(
    [
        StructField("user_name", StringType(), False),
        StructField("ts", TimestampType(), False),
        StructField("ms_played", LongType(), False),
        StructField("content_type", StringType(), False),
        *PLAY_DETAILS,
        StructField("incognito_mode", BooleanType(), True),
        StructField("platform", StringType(), True),
        StructField("conn_country", StringType(), True),
    ]
)

GENERATED_USERS = StructType(
    [
        StructField("user_name", StringType(), False),
        StructField("time_zone", StringType(), False),
        StructField("country", StringType(), False),
        StructField("joined_at", TimestampType(), False),
    ]
)
