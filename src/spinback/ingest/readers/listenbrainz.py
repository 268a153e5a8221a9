"""ListenBrainz listens: a user's export, saved API pages, and the public Spark listen dumps.

A listen, like a Last.fm scrobble, is stamped with the moment it STARTED (``listened_at``, unix
seconds) and has no duration; :func:`scrobbles.normalized_scrobbles` gives all of them the same
treatment. The formats:

- ``listenbrainz-export``: the user export, one listen object per line (the zip holds such files
  under ``listens/``) or one JSON array of listens;
- ``listenbrainz-api``: API pages ``{"payload": {"listens": [...], "user_id": ...}}``;
- ``listenbrainz-listens``: an object holding the listens at its top, ``{"listens": [...], ...}``;
- ``listenbrainz-dump``: the Parquet files of the full and incremental Spark listen dumps, one row
  per listen of many users.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from spinback.ingest import records
from spinback.ingest.detect import FileSample, Reader
from spinback.ingest.scrobbles import (
    DEFAULT_PLAY_MS,
    NOW_PLAYING,
    normalized_scrobbles,
    unix_time,
)

SERVICE = "listenbrainz"

# Every field as text: types are converted here, so odd values reach quarantine as they were.
_LISTEN = StructType(
    [
        StructField(name, StringType(), True)
        for name in ("listened_at", "user_name", "playing_now", "track_metadata")
    ]
)
_TRACK_METADATA = StructType(
    [
        StructField(name, StringType(), True)
        for name in ("artist_name", "track_name", "release_name")
    ]
)


def normalized_listens(listens: DataFrame, page_user: Column, default_play_ms: int) -> DataFrame:
    """Listen objects (``raw_record``) -> normalized plays.

    The account is the listen's own ``user_name``, else ``page_user`` (the page's or the caller's).
    A listen that is playing now has not finished: it goes to quarantine, as on Last.fm.
    """
    listens = records.with_parsed(listens, "_listen", F.from_json("raw_record", _LISTEN))
    listen = F.col("_listen")
    listens = records.with_parsed(
        listens, "_metadata", F.from_json(listen["track_metadata"], _TRACK_METADATA)
    )
    metadata = F.col("_metadata")
    user_name = F.when(F.trim(listen["user_name"]) != "", listen["user_name"])
    scrobbles = listens.select(
        F.coalesce(user_name, page_user).alias("account_name"),
        unix_time(listen["listened_at"]).alias("started_at"),
        metadata["artist_name"].alias("artist_name"),
        metadata["track_name"].alias("track_name"),
        metadata["release_name"].alias("album_name"),
        F.when(F.json_object_keys("raw_record").isNull(), F.lit(records.NOT_AN_OBJECT))
        .when(records.boolean(listen["playing_now"]), F.lit(NOW_PLAYING))
        .alias("reject_reason"),
        *records.RECORD_COLUMNS,
    )
    return normalized_scrobbles(scrobbles, default_play_ms)


# --- user export ---------------------------------------------------------------------------------

_EXPORT_EXPECTED = (
    "ListenBrainz listens: one JSON object per line, or a JSON array of objects, "
    "each with listened_at and track_metadata"
)


@dataclass(frozen=True)
class ListenBrainzExportReader:
    """The user export: JSON lines of listens (``listens/YYYY/M.jsonl`` in the zip) or an array.

    The export's other files (``user.json``, ``feedback.jsonl``, ``pinned_recording.jsonl``) hold
    no ``listened_at`` and are left to no reader.
    """

    default_play_ms: int = DEFAULT_PLAY_MS
    name: str = field(default="listenbrainz-export", init=False)
    service: str = field(default=SERVICE, init=False)

    def claims(self, sample: FileSample) -> bool:
        return (
            sample.name.lower().endswith((".json", ".jsonl"))
            and '"listened_at"' in sample.head
            and not _is_page(sample.head)
        )

    def check(self, sample: FileSample) -> str | None:
        head = sample.head.lstrip()
        if head.startswith("[") and '"track_metadata"' in head:
            return None
        # One line that reads as a listen is enough: the others may be broken records. A head
        # without a line break is one listen longer than the head, cut short.
        lines = head.splitlines()
        if any(_is_listen_line(line) for line in lines) or (
            len(lines) == 1 and head.startswith("{") and '"track_metadata"' in head
        ):
            return None
        return _EXPORT_EXPECTED

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        listens = records.json_records(spark, paths)
        return normalized_listens(listens, F.lit(account_name).cast("string"), self.default_play_ms)


def _is_listen_line(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and {"listened_at", "track_metadata"} <= record.keys()


# --- API pages -----------------------------------------------------------------------------------

_PAYLOAD_PAGE = re.compile(r'^\{\s*"payload"\s*:')
_LISTENS_ARRAY = re.compile(r'"listens"\s*:\s*\[')


def _is_page(head: str) -> bool:
    """An object holding listens in an array, not a listen itself."""
    head = head.lstrip()
    return head.startswith("{") and (
        bool(_PAYLOAD_PAGE.match(head)) or bool(_LISTENS_ARRAY.search(head))
    )


@dataclass(frozen=True)
class ListenBrainzApiReader:
    """API pages such as ``GET /1/user/<name>/listens``: ``{"payload": {"listens": [...]}}``."""

    default_play_ms: int = DEFAULT_PLAY_MS
    name: str = field(default="listenbrainz-api", init=False)
    service: str = field(default=SERVICE, init=False)

    def claims(self, sample: FileSample) -> bool:
        return sample.name.lower().endswith(".json") and bool(
            _PAYLOAD_PAGE.match(sample.head.lstrip())
        )

    def check(self, sample: FileSample) -> str | None:
        if _LISTENS_ARRAY.search(sample.head):
            return None
        return 'a ListenBrainz API page of listens, {"payload": {"listens": [...], "user_id": ...}}'

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        listens = records.json_records(spark, paths, "$.payload.listens")
        # The page names its user once, beside the listens: one small row per page file.
        page_users = spark.read.text(paths, wholetext=True).select(
            F.col("_metadata.file_path").alias("source_file"),
            F.get_json_object("value", "$.payload.user_id").alias("page_user"),
        )
        listens = listens.join(F.broadcast(page_users), "source_file", "left")
        page_user = F.coalesce(F.col("page_user"), F.lit(account_name).cast("string"))
        return normalized_listens(listens, page_user, self.default_play_ms)


@dataclass(frozen=True)
class ListenBrainzListensReader:
    """An object with the listens at its top, ``{"listens": [...], ...}``, as in the samples."""

    default_play_ms: int = DEFAULT_PLAY_MS
    name: str = field(default="listenbrainz-listens", init=False)
    service: str = field(default=SERVICE, init=False)

    def claims(self, sample: FileSample) -> bool:
        head = sample.head.lstrip()
        return (
            sample.name.lower().endswith(".json")
            and _is_page(head)
            and not _PAYLOAD_PAGE.match(head)
        )

    def check(self, sample: FileSample) -> str | None:
        if '"listened_at"' in sample.head:
            return None
        return 'a JSON object with an array of ListenBrainz listens, {"listens": [...]}'

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        listens = records.json_records(spark, paths, "$.listens")
        return normalized_listens(listens, F.lit(account_name).cast("string"), self.default_play_ms)


# --- Spark listen dumps --------------------------------------------------------------------------

_DUMP_COLUMNS = ("listened_at", "user_id", "artist_name", "recording_name")
_DUMP_EXPECTED = "a Parquet file of ListenBrainz listens with columns " + ", ".join(_DUMP_COLUMNS)


@dataclass(frozen=True)
class ListenBrainzDumpReader:
    """Parquet files of the Spark listen dumps: one row per listen, many users, any size.

    A dump folder also holds ``COPYING``, ``START_TIMESTAMP``, ``END_TIMESTAMP`` and
    ``SCHEMA_SEQUENCE``: not Parquet, so not claimed. Files are claimed by content, not by name:
    the dumps number theirs (``0.parquet``, ...), and a file such as
    ``fresh_releases_listens.parquet`` has the very same listen columns (ListenBrainz's own tests
    load that one as the listens of an incremental dump), so it is listens and is read.

    Parquet keeps its column names at the end of the file, past the head that detection reads; the
    footer is read for local files, and elsewhere a ``.parquet`` file is claimed when its path
    mentions ListenBrainz (``--format listenbrainz-dump`` takes any other).
    """

    default_play_ms: int = DEFAULT_PLAY_MS
    name: str = field(default="listenbrainz-dump", init=False)
    service: str = field(default=SERVICE, init=False)

    def claims(self, sample: FileSample) -> bool:
        if not sample.name.lower().endswith(".parquet") or not sample.head.startswith("PAR1"):
            return False
        has_columns = _footer_has_columns(sample.path, _DUMP_COLUMNS)
        if has_columns is None:
            return "listenbrainz" in sample.path.lower()
        return has_columns

    def check(self, sample: FileSample) -> str | None:
        # A footer that cannot be read (a remote file) is given the benefit of the doubt.
        columns_found = _footer_has_columns(sample.path, _DUMP_COLUMNS)
        if sample.head.startswith("PAR1") and columns_found is not False:
            return None
        return _DUMP_EXPECTED

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        # A plain Parquet scan, split like any other: no file is read whole.
        rows = records.parquet_records(spark, paths)
        columns = set(rows.columns)
        # Each row carries its user: the name where a dump has one, else ListenBrainz's user id.
        user = F.col("user_name") if "user_name" in columns else F.col("user_id").cast("string")
        scrobbles = rows.select(
            F.coalesce(user, F.lit(account_name).cast("string")).alias("account_name"),
            F.col("listened_at").cast("timestamp").alias("started_at"),
            F.col("artist_name"),
            F.col("recording_name").alias("track_name"),
            F.col("release_name").alias("album_name")
            if "release_name" in columns
            else F.lit(None).cast("string").alias("album_name"),
            F.lit(None).cast("string").alias("reject_reason"),
            *records.RECORD_COLUMNS,
        )
        return normalized_scrobbles(scrobbles, self.default_play_ms)


def _footer_has_columns(path: str, columns: tuple[str, ...]) -> bool | None:
    """Whether a local Parquet file's footer names all ``columns``; None where it cannot be read.

    The footer ends the file: its metadata, the metadata's length (4 bytes, little-endian) and
    ``PAR1``. Column names are stored there as plain UTF-8, so finding each is enough.
    """
    if "://" in path and not path.startswith("file:"):
        return None
    local = Path(path.removeprefix("file:"))
    try:
        with local.open("rb") as handle:
            handle.seek(-8, 2)
            length_and_magic = handle.read(8)
            if length_and_magic[4:] != b"PAR1":
                return False
            (length,) = struct.unpack("<I", length_and_magic[:4])
            handle.seek(-8 - length, 2)
            footer = handle.read(length)
    except OSError:
        return None
    return all(column.encode() in footer for column in columns)


def readers(default_play_ms: int = DEFAULT_PLAY_MS) -> list[Reader]:
    """The ListenBrainz readers, with listens lasting ``default_play_ms`` (config.ingest)."""
    return [
        ListenBrainzApiReader(default_play_ms),
        ListenBrainzListensReader(default_play_ms),
        ListenBrainzExportReader(default_play_ms),
        ListenBrainzDumpReader(default_play_ms),
    ]


READERS: list[Reader] = readers()
