"""Raw records out of export files, each with the file it came from and its position there.

Every reader starts from one of these frames of ``source_file``, ``source_position`` and
``raw_record`` (the record's own text), parses ``raw_record`` with a schema of its format, and maps
the result onto :data:`NORMALIZED`. :func:`to_candidates` then turns normalized plays into the
candidate plays that the ingest job validates and writes. Keeping the raw text to the end means a
record that fails any rule reaches quarantine exactly as it was exported.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from spinback import schema
from spinback.ingest.pseudonym import pseudonymous_user_id
from spinback.ingest.quality import event_id

RECORD_COLUMNS = ("source_file", "source_position", "raw_record")

# The reason a reader gives a JSON record that does not hold an object (a bare number, a list).
NOT_AN_OBJECT = "record is not a JSON object"

# What every reader produces: the silver play columns, the account name the pseudonym is made from,
# and the lineage.
NORMALIZED = StructType(
    [
        StructField("account_name", StringType(), True),
        StructField("ended_at", TimestampType(), True),
        StructField("started_at", TimestampType(), True),
        StructField("ms_played", LongType(), True),
        StructField("ms_played_estimated", BooleanType(), True),
        StructField("content_type", StringType(), True),
        *schema.PLAY_DETAILS,
        *[
            field
            for field in schema.PLAYS.fields
            if field.name in {"private", "platform", "country"}
        ],
        # Set by a reader that already knows a record is unusable (it is not a JSON object, say).
        StructField("reject_reason", StringType(), True),
        StructField("source_file", StringType(), False),
        StructField("source_position", LongType(), False),
        StructField("raw_record", StringType(), True),
    ]
)


def json_records(spark: SparkSession, paths: list[str], array_path: str | None = None) -> DataFrame:
    """One row per JSON record in each file, whatever the layout of the file.

    A file may hold a JSON array of records (Spotify's exports), one record per line (ListenBrainz
    user exports), or an object that holds the array at ``array_path`` (a JSONPath such as
    ``$.payload.listens`` for ListenBrainz API pages). Each file is read whole: exports of one
    person are small; large logs belong in Parquet, CSV or Delta, which the generic reader splits.
    """
    text = F.trim(F.get_json_object("value", array_path)) if array_path else F.trim("value")
    if array_path:
        # A page with one item may hold it as an object rather than a one-element array.
        text = F.when(text.startswith("{"), F.concat(F.lit("["), text, F.lit("]"))).otherwise(text)
    files = spark.read.text(paths, wholetext=True).select(
        F.col("_metadata.file_path").alias("source_file"), F.col("value"), text.alias("_text")
    )
    files = with_parsed(files, "_array", F.from_json("_text", ArrayType(StringType())))
    as_lines = F.filter(F.split("value", r"\r?\n"), lambda line: F.trim(line) != "")
    # A truncated or corrupt array stays one record, the whole text, so that it reaches quarantine
    # instead of vanishing.
    is_array = F.col("_text").startswith("[")
    records = (
        F.when(is_array & F.col("_array").isNotNull(), F.col("_array"))
        .when(is_array, F.array(F.col("value")))
        .otherwise(as_lines)
    )
    return files.select(
        "source_file", F.posexplode(records).alias("source_position", "raw_record")
    ).select(
        "source_file",
        F.col("source_position").cast("long"),
        # A JSON null inside an array is still a record, and quarantine keeps its text.
        F.coalesce(F.col("raw_record"), F.lit("null")).alias("raw_record"),
    )


def text_lines(spark: SparkSession, paths: list[str]) -> DataFrame:
    """One row per non-empty line of each text file (CSV exports), numbered from 0."""
    files = spark.read.text(paths, wholetext=True).select(
        F.col("_metadata.file_path").alias("source_file"), F.col("value")
    )
    lines = F.split(F.regexp_replace("value", r"\r?\n$", ""), r"\r?\n")
    return (
        files.select("source_file", F.posexplode(lines).alias("source_position", "raw_record"))
        .where(F.trim("raw_record") != "")
        .select("source_file", F.col("source_position").cast("long"), "raw_record")
    )


def parquet_records(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Parquet rows with their file and row index; ``raw_record`` is the row as JSON text."""
    frame = spark.read.parquet(*paths)
    columns = frame.columns
    return frame.select(
        *columns,
        F.col("_metadata.file_path").alias("source_file"),
        F.col("_metadata.row_index").alias("source_position"),
        F.to_json(F.struct(*columns)).alias("raw_record"),
    )


def to_candidates(
    normalized: DataFrame, key: bytes, service: str, source: str, batch_id: str
) -> DataFrame:
    """Normalized plays -> candidate plays: pseudonymous user, deterministic event id, batch.

    ``service`` (spotify, lastfm, listenbrainz, ...) namespaces account names, so that two export
    formats of one service give one user; ``source`` names the format for lineage.
    The event id hashes the service, the account, the end of the play, the track or episode and the
    milliseconds played, so re-reading a file, or an overlapping export of the same person from the
    same service, gives the same ids and adds nothing twice. Columns beyond NORMALIZED (the
    catalog facts of an event log) pass through.
    """
    content_key = F.coalesce(F.col("track_key"), F.col("episode_key"))
    identity = event_id(
        F.lit(service), F.col("account_name"), F.col("ended_at"), content_key, F.col("ms_played")
    )
    columns = [name for name in normalized.columns if name != "account_name"]
    return normalized.select(
        identity.alias("event_id"),
        pseudonymous_user_id(key, service, F.col("account_name")).alias("user_id"),
        *[
            F.coalesce(F.col(c), F.lit(False)).alias(c) if c == "ms_played_estimated" else c
            for c in columns
            if c not in RECORD_COLUMNS
        ],
        F.lit(source).alias("source"),
        F.lit(batch_id).alias("batch_id"),
        *RECORD_COLUMNS,
    )


def with_parsed(records: DataFrame, name: str, parsed: Column) -> DataFrame:
    """``records`` with one more column, ``name``: ``parsed``, evaluated once per row.

    ``parsed`` is what a reader extracts from the raw text (``from_json``, ``from_csv``). Spark's
    optimizer copies a projected expression into every filter it pushes below the projection, so
    a parse that the quality rules read field by field would run once per rule, dozens of times
    per record. An expression inside a generator is never copied: the parse is the explosion of a
    one-element array, which keeps exactly one row per record (with a null where nothing parsed).
    """
    return records.select("*", F.explode(F.array(parsed)).alias(name))


def boolean(value: Column) -> Column:
    """Exports mix true/false, "true"/"false", 1/0 and empty: read them all, unknown as null."""
    text = F.lower(F.trim(value.cast("string")))
    return (
        F.when(text.isin("true", "1", "yes", "t"), F.lit(True))
        .when(text.isin("false", "0", "no", "f"), F.lit(False))
        .otherwise(F.lit(None).cast(BooleanType()))
    )


def name_key(kind: str, *names: Column) -> Column:
    """A readable key for sources without ids: ``kind:`` and the lower-cased, trimmed names.

    The last name is the thing itself (the track of ``artist, track``); when it is missing the key
    is null, so a play without a track name gets no track key, whatever its artist.
    """
    parts = [F.lower(F.trim(name)) for name in names]
    return F.when(
        names[-1].isNotNull() & (F.trim(names[-1]) != ""),
        F.concat(F.lit(f"{kind}:"), F.concat_ws(" | ", *parts)),
    )
