"""Event logs of any service: CSV, JSON lines, Parquet or Delta, mapped by a profile.

A profile (``conf/profiles/<name>.yaml``, or any YAML file) says which source column holds each
canonical field, how timestamps are written and what ``ms_played`` means. ``music`` maps a plain
listening log; ``retail`` reads purchases as plays (see its file for the arithmetic). The reader is
never guessed from file names: it is chosen with ``--format event-log`` and ``--profile``.

Logs can be large, so files are read with Spark's splittable sources, never whole. Each record
keeps the file it came from and its 0-based position there: Parquet's own row index, else a row
number counted per file across Spark's splits (:func:`_number_rows`). Genres, release years and
durations have no column in the plays; :meth:`EventLogReader.read_events` keeps them beside the
plays and :func:`catalog_from_events` turns them into catalog rows.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from spinback import schema
from spinback.config import ConfigError, default_conf_dir
from spinback.ingest import catalog
from spinback.ingest.detect import FileSample, Reader, WrongFileKindError
from spinback.ingest.records import (
    NORMALIZED,
    NOT_AN_OBJECT,
    boolean,
    name_key,
    parquet_records,
    with_parsed,
)

logger = logging.getLogger(__name__)

InputFormat = Literal["csv", "jsonl", "parquet", "delta"]
TimestampKind = Literal["started", "ended"]

# The fields a profile can map, with what each means in the source.
CANONICAL_COLUMNS = {
    "account": "the user the row belongs to (multi-user logs)",
    "timestamp": "when the play started or ended, see timestamp_kind",
    "ms_played": "how long it played, in milliseconds after ms_played_scale",
    "content_type": "music, podcast, audiobook or video",
    "track_key": "the source's own track id (prefixed with track_key_prefix)",
    "track_name": "the track's title",
    "artist_name": "the primary artist",
    "album_name": "the album",
    "show_name": "the podcast or audiobook show",
    "episode_name": "the episode",
    "reason_start": "why playback started",
    "reason_end": "why playback ended",
    "shuffle": "a boolean",
    "skipped": "a boolean",
    "offline": "a boolean",
    "private": "a boolean (incognito)",
    "platform": "the device or channel",
    "country": "a country code",
    "genre": "the track's genre (for the catalog only)",
    "release_year": "the track's release year (for the catalog only)",
    "duration_ms": "the track's length in milliseconds (for the catalog only)",
}
NAMED_TIMESTAMP_FORMATS = ("unix_seconds", "unix_millis", "iso")

# Timestamps Spark can hold: 0001-01-01 to 9999-12-31, in milliseconds since 1970.
_MIN_MILLIS = -62_135_596_800_000
_MAX_MILLIS = 253_402_300_799_999
_CORRUPT = "_corrupt_record"
_SERVICE_PATTERN = re.compile(r"[a-z][a-z0-9_-]*")


@dataclass(frozen=True)
class EventLogProfile:
    """How one kind of event log maps onto plays. Values are checked on construction."""

    service: str
    input_format: InputFormat
    # Canonical field name (see CANONICAL_COLUMNS) -> source column name.
    columns: Mapping[str, str]
    timestamp_kind: TimestampKind
    # unix_seconds, unix_millis, iso, or a Spark datetime pattern such as "dd/MM/yyyy HH:mm".
    # Times without an offset are read as UTC. Native Parquet/Delta timestamps need no format.
    timestamp_format: str
    # ms_played = round(source value x ms_played_scale).
    ms_played_scale: float = 1.0
    # Used, and marked estimated, where the row has no ms_played (or no ms_played column is mapped).
    ms_played_default: int | None = None
    default_content_type: str = "music"
    # Prepended to source track ids; None means "<service>:track:".
    track_key_prefix: str | None = None
    # Splits one genre cell into several genres ("rock|indie"); None keeps the cell whole.
    genre_separator: str | None = None
    csv_delimiter: str = ","

    def __post_init__(self) -> None:
        _require(
            bool(_SERVICE_PATTERN.fullmatch(self.service)),
            "service",
            "a lower-case name of letters, digits, - and _ such as events",
            self.service,
        )
        for key, kind in (("input_format", InputFormat), ("timestamp_kind", TimestampKind)):
            allowed = get_args(kind)
            value = getattr(self, key)
            _require(value in allowed, key, " or ".join(allowed), value)
        for canonical, source in self.columns.items():
            _require(
                canonical in CANONICAL_COLUMNS,
                f"columns.{canonical}",
                "a key among " + ", ".join(CANONICAL_COLUMNS),
                canonical,
            )
            _require(
                isinstance(source, str) and bool(source),
                f"columns.{canonical}",
                "a source column name",
                source,
            )
        _require("timestamp" in self.columns, "columns.timestamp", "a source column name", None)
        _require(
            any(name in self.columns for name in ("track_key", "track_name", "episode_name")),
            "columns",
            "at least one of track_key, track_name or episode_name",
            sorted(self.columns),
        )
        _require(
            self.timestamp_format in NAMED_TIMESTAMP_FORMATS
            or all(letter in self.timestamp_format for letter in "yMd"),
            "timestamp_format",
            "unix_seconds, unix_millis, iso or a Spark datetime pattern with yyyy, MM and dd",
            self.timestamp_format,
        )
        _require(self.ms_played_scale > 0, "ms_played_scale", "a number > 0", self.ms_played_scale)
        _require(
            self.ms_played_default is None or self.ms_played_default > 0,
            "ms_played_default",
            "null or an integer > 0",
            self.ms_played_default,
        )
        _require(
            "ms_played" in self.columns or self.ms_played_default is not None,
            "ms_played_default",
            "an integer > 0 when columns has no ms_played",
            self.ms_played_default,
        )
        _require(
            self.default_content_type in schema.CONTENT_TYPES,
            "default_content_type",
            " or ".join(schema.CONTENT_TYPES),
            self.default_content_type,
        )
        _require(len(self.csv_delimiter) == 1, "csv_delimiter", "one character", self.csv_delimiter)
        _require(
            self.genre_separator is None or len(self.genre_separator) >= 1,
            "genre_separator",
            "null or a non-empty string",
            self.genre_separator,
        )

    @property
    def key_prefix(self) -> str:
        """What source track ids are prefixed with to become track keys."""
        if self.track_key_prefix is None:
            return f"{self.service}:track:"
        return self.track_key_prefix


def _require(condition: bool, key: str, allowed: str, value: object) -> None:
    if not condition:
        raise ConfigError(f"{key}: {value!r} is not allowed; expected {allowed}")


# --- loading profiles ---------------------------------------------------------------------------

# What each profile key accepts in YAML, for the messages of profile_from_mapping.
_KEY_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "service": ((str,), "a string"),
    "input_format": ((str,), "a string"),
    "columns": ((dict,), "a mapping of canonical field -> source column"),
    "timestamp_kind": ((str,), "a string"),
    "timestamp_format": ((str,), "a string"),
    "ms_played_scale": ((int, float), "a number"),
    "ms_played_default": ((int, type(None)), "null or an integer"),
    "default_content_type": ((str,), "a string"),
    "track_key_prefix": ((str, type(None)), "null or a string"),
    "genre_separator": ((str, type(None)), "null or a string"),
    "csv_delimiter": ((str,), "a string"),
}


def load_profile(name_or_path: str) -> EventLogProfile:
    """The profile in a YAML file, or a bare name such as ``retail`` from ``conf/profiles``.

    The profiles folder is ``profiles/`` under the configuration folder
    (:func:`spinback.config.default_conf_dir`), so $SPINBACK_CONF_DIR moves it too.
    """
    looks_like_path = name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path
    if looks_like_path:
        source: Any = Path(name_or_path)
    else:
        profiles = default_conf_dir() / "profiles"
        source = profiles / f"{name_or_path}.yaml"
        if not source.is_file():
            entries = profiles.iterdir() if profiles.is_dir() else []
            known = sorted(
                e.name.removesuffix(".yaml") for e in entries if e.name.endswith(".yaml")
            )
            raise ConfigError(
                f"unknown profile {name_or_path!r}; expected one of {', '.join(known) or 'none'} "
                f"(in {profiles}) or the path of a YAML file"
            )
    if not source.is_file():
        raise ConfigError(f"profile file {source} does not exist")
    try:
        values = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"profile {source} is not valid YAML: {error}") from error
    return profile_from_mapping(values, str(source))


def profile_from_mapping(values: Any, where: str = "the profile") -> EventLogProfile:
    """Build a profile from parsed YAML; any unknown, missing or wrong key stops with its name."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping of keys, got {values!r}")
    fields = {spec.name: spec for spec in dataclasses.fields(EventLogProfile)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{unknown[0]}'; allowed keys: {', '.join(sorted(fields))}"
        )
    for name, spec in fields.items():
        if name not in values and spec.default is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing key '{name}'")
    for name, value in values.items():
        kinds, allowed = _KEY_TYPES[name]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ConfigError(f"{where}: {name}: {value!r} is not allowed; expected {allowed}")
    arguments = dict(values)
    arguments["columns"] = {str(k): v for k, v in values["columns"].items()}
    if "ms_played_scale" in values:
        arguments["ms_played_scale"] = float(values["ms_played_scale"])
    try:
        return EventLogProfile(**arguments)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


# --- the reader ---------------------------------------------------------------------------------


class EventLogReader:
    """Reads event logs described by an :class:`EventLogProfile` into normalized plays."""

    name = "event-log"

    def __init__(self, profile: EventLogProfile) -> None:
        self.profile = profile
        self.service = profile.service

    def claims(self, sample: FileSample) -> bool:
        # Column names of event logs are whatever their owners chose: never guess.
        return False

    def check(self, sample: FileSample) -> str | None:
        profile = self.profile
        if _is_hidden(sample.name):
            # Checksums (.crc), _SUCCESS markers and the like: Spark skips them, and so does read.
            return None
        wanted = ", ".join(sorted(set(profile.columns.values())))
        if profile.input_format == "csv":
            header = next(
                csv.reader(
                    [sample.head.split("\n", 1)[0].rstrip("\r")], delimiter=profile.csv_delimiter
                ),
                [],
            )
            missing = set(profile.columns.values()) - set(header)
            if missing:
                return f"a CSV file whose header has the columns {wanted}"
            return None
        if profile.input_format == "jsonl":
            return _check_json_lines(sample, profile.columns["timestamp"], wanted)
        if profile.input_format == "parquet":
            return None if sample.head.startswith("PAR1") else "a Parquet file"
        inside_log = "/_delta_log/" in sample.path.replace("\\", "/")
        if inside_log or sample.head.startswith("PAR1"):
            return None
        return "a Delta table (a folder with _delta_log and Parquet files)"

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        """The records of ``paths`` (files, folders of them, or Delta tables) as NORMALIZED plays.

        ``account_name`` stands in where the profile maps no account column or a row has none.
        """
        return self.read_events(spark, paths, account_name).select(
            *[F.col(field.name).cast(field.dataType) for field in NORMALIZED.fields]
        )

    def read_events(
        self, spark: SparkSession, paths: list[str], account_name: str | None = None
    ) -> DataFrame:
        """Normalized plays plus what only the catalog uses.

        The columns of ``records.NORMALIZED`` (in another order), then ``genres`` (an array),
        ``release_year`` and ``duration_ms``: the input of :func:`catalog_from_events`.
        """
        logger.info(
            "reading %s as %s event log (%s)",
            paths[0] if len(paths) == 1 else f"{len(paths)} paths",
            self.profile.service,
            self.profile.input_format,
        )
        rows, timestamp_type = self._source_rows(spark, paths)
        return rows.select(
            *self._normalized_columns(timestamp_type, account_name),
            "source_file",
            "source_position",
            "raw_record",
        )

    # Each source format -> lineage, reject_reason and a struct `fields` of canonical names.
    def _source_rows(self, spark: SparkSession, paths: list[str]) -> tuple[DataFrame, DataType]:
        if self.profile.input_format == "delta":
            return self._delta_rows(spark, paths)
        files = [path for path in paths if not _is_hidden(path.rstrip("/").rsplit("/", 1)[-1])]
        if not files:
            raise WrongFileKindError(f"no files to read among {len(paths)} hidden files")
        read = {
            "csv": self._csv_rows,
            "jsonl": self._json_line_rows,
            "parquet": self._parquet_rows,
        }[self.profile.input_format]
        return read(spark, files)

    def _csv_rows(self, spark: SparkSession, paths: list[str]) -> tuple[DataFrame, DataType]:
        # multiLine stays off so that files split: a quoted field holding a line break comes out
        # as two broken rows, which (having the wrong number of fields) are quarantined as text.
        options = {"header": "true", "sep": self.profile.csv_delimiter}
        # Reads the first line of the first file; enforceSchema=false below makes Spark compare
        # every other file's header with it and stop, naming the file, where they differ.
        header = spark.read.options(**options).csv(paths).columns
        self._require_columns(paths, header)
        frame = (
            spark.read.schema(
                StructType([StructField(name, StringType()) for name in header]).add(
                    _CORRUPT, StringType()
                )
            )
            .options(**options, enforceSchema="false", columnNameOfCorruptRecord=_CORRUPT)
            .csv(paths)
        )
        lines = frame.select(
            F.col("_metadata.file_path").alias("source_file"),
            F.col("_metadata.file_block_start").alias("_block_start"),
            F.coalesce(F.col(_CORRUPT), F.to_json(F.struct(*[_column(c) for c in header]))).alias(
                "raw_record"
            ),
            F.when(
                F.col(_CORRUPT).isNotNull(),
                F.lit(f"row does not have the {len(header)} fields of the header"),
            ).alias("reject_reason"),
            self._fields(_column),
        )
        return _number_rows(lines), StringType()

    def _json_line_rows(self, spark: SparkSession, paths: list[str]) -> tuple[DataFrame, DataType]:
        sources = sorted(set(self.profile.columns.values()))
        record_schema = StructType([StructField(name, StringType()) for name in sources]).add(
            _CORRUPT, StringType()
        )
        lines = _number_rows(
            spark.read.text(paths).select(
                F.col("_metadata.file_path").alias("source_file"),
                F.col("_metadata.file_block_start").alias("_block_start"),
                F.col("value").alias("raw_record"),
            )
        )
        # Numbered first, so that positions count blank lines too and equal line numbers - 1.
        parsed = with_parsed(
            lines.where(F.trim("raw_record") != ""),
            "_parsed",
            F.from_json("raw_record", record_schema),
        )
        return (
            parsed.select(
                "source_file",
                "source_position",
                "raw_record",
                F.when(
                    F.col("_parsed").isNull() | F.col(f"_parsed.{_CORRUPT}").isNotNull(),
                    F.lit(NOT_AN_OBJECT),
                ).alias("reject_reason"),
                self._fields(lambda source: F.col("_parsed").getField(source)),
            ),
            StringType(),
        )

    def _parquet_rows(self, spark: SparkSession, paths: list[str]) -> tuple[DataFrame, DataType]:
        records = parquet_records(spark, paths)
        self._require_columns(paths, records.columns)
        return self._typed_rows(records)

    def _delta_rows(self, spark: SparkSession, paths: list[str]) -> tuple[DataFrame, DataType]:
        # The files found under a table lead to its folder; without _delta_log files the paths
        # are taken to be table folders.
        tables = sorted({p.split("/_delta_log/")[0] for p in paths if "/_delta_log/" in p})
        frames = []
        for table in tables or sorted(paths):
            frame = spark.read.format("delta").load(table)
            self._require_columns([table], frame.columns)
            frames.append(
                frame.select(
                    *frame.columns,
                    # Metadata columns do not pass a union: take them from each table first.
                    F.col("_metadata.file_path").alias("source_file"),
                    F.col("_metadata.file_block_start").alias("_block_start"),
                    F.to_json(F.struct(*[_column(c) for c in frame.columns])).alias("raw_record"),
                )
            )
        records = frames[0]
        for other in frames[1:]:
            records = records.unionByName(other, allowMissingColumns=True)
        return self._typed_rows(_number_rows(records))

    def _typed_rows(self, records: DataFrame) -> tuple[DataFrame, DataType]:
        timestamp_type = records.schema[self.profile.columns["timestamp"]].dataType
        rows = records.select(
            "source_file",
            "source_position",
            "raw_record",
            F.lit(None).cast("string").alias("reject_reason"),
            self._fields(_column),
        )
        return rows, timestamp_type

    def _fields(self, source_column: Callable[[str], Column]) -> Column:
        return F.struct(
            *[
                source_column(source).alias(canonical)
                for canonical, source in sorted(self.profile.columns.items())
            ]
        ).alias("fields")

    def _require_columns(self, paths: list[str], available: list[str]) -> None:
        missing = sorted(set(self.profile.columns.values()) - set(available))
        if missing:
            raise WrongFileKindError(
                f"{paths[0]}{' and others' if len(paths) > 1 else ''}: not a "
                f"{self.profile.service} event log; expected the columns "
                f"{', '.join(missing)} named in its profile, found {', '.join(available)}"
            )

    # Canonical fields -> the normalized columns and the catalog extras.
    def _normalized_columns(
        self, timestamp_type: DataType, account_name: str | None
    ) -> list[Column]:
        profile = self.profile

        def text(name: str) -> Column:
            if name not in profile.columns:
                return F.lit(None).cast("string")
            return F.nullif(F.trim(F.col("fields").getField(name).cast("string")), F.lit(""))

        timestamp = _timestamp(
            F.col("fields").getField("timestamp"), timestamp_type, profile.timestamp_format
        )
        ms_played, estimated = _ms_played(text("ms_played"), profile)
        elapsed = F.coalesce(ms_played, F.lit(0))
        if profile.timestamp_kind == "ended":
            ended_at, started_at = timestamp, _shift(timestamp, -elapsed)
        else:
            # A missing ms_played leaves ended_at = started_at, so the play is quarantined for
            # its duration rather than for a timestamp it has.
            started_at, ended_at = timestamp, _shift(timestamp, elapsed)

        artist, track, album = text("artist_name"), text("track_name"), text("album_name")
        show, episode = text("show_name"), text("episode_name")
        source_track_key = F.concat(F.lit(profile.key_prefix), text("track_key"))
        name_track_key = F.when(track.isNotNull(), name_key("track", artist, track))
        account = F.coalesce(text("account"), F.lit(account_name).cast("string"))
        return [
            account.alias("account_name"),
            ended_at.alias("ended_at"),
            started_at.alias("started_at"),
            ms_played.alias("ms_played"),
            F.coalesce(F.lower(text("content_type")), F.lit(profile.default_content_type)).alias(
                "content_type"
            ),
            F.coalesce(source_track_key, name_track_key).alias("track_key"),
            track.alias("track_name"),
            name_key("artist", artist).alias("artist_key"),
            artist.alias("artist_name"),
            F.lit(None).cast(ArrayType(schema.ARTIST_CREDIT)).alias("featured_artists"),
            F.when(album.isNotNull(), name_key("album", artist, album)).alias("album_key"),
            album.alias("album_name"),
            name_key("show", show).alias("show_key"),
            show.alias("show_name"),
            F.when(episode.isNotNull(), name_key("episode", show, episode)).alias("episode_key"),
            episode.alias("episode_name"),
            text("reason_start").alias("reason_start"),
            text("reason_end").alias("reason_end"),
            boolean(text("shuffle")).alias("shuffle"),
            boolean(text("skipped")).alias("skipped"),
            boolean(text("offline")).alias("offline"),
            boolean(text("private")).alias("private"),
            text("platform").alias("platform"),
            text("country").alias("country"),
            F.col("reject_reason"),
            estimated.alias("ms_played_estimated"),
            _genres(text("genre"), profile.genre_separator).alias("genres"),
            F.regexp_extract(F.coalesce(text("release_year"), F.lit("")), r"^(\d{4})", 1)
            .try_cast(IntegerType())
            .alias("release_year"),
            _whole_number(text("duration_ms"), 1.0).alias("duration_ms"),
        ]


def catalog_from_events(events: DataFrame) -> DataFrame:
    """Catalog rows (``schema.CATALOG``) from :meth:`EventLogReader.read_events`, with genres.

    Names, album and a duration derived from plays come from :func:`catalog.catalog_from_plays`.
    On top: the genres are every genre the log gave the track (sorted), the release year and the
    duration the most common values it gave (the smallest among equally common ones). A duration
    the log gives wins over the derived one. Every record with a track key counts, whether or not
    quality.py lets it into silver: a refund still names its product.
    """
    tracks = events.where(F.col("track_key").isNotNull())
    given = tracks.groupBy("track_key").agg(
        F.array_sort(F.array_distinct(F.flatten(F.collect_list("genres")))).alias("given_genres"),
        F.mode("release_year", True).alias("given_release_year"),
        F.mode("duration_ms", True).alias("given_duration_ms"),
    )
    replaced = {
        "genres": F.when(F.size("given_genres") > 0, F.col("given_genres")),
        "release_year": F.col("given_release_year"),
        "duration_ms": F.coalesce(F.col("given_duration_ms"), F.col("duration_ms")),
    }
    return (
        catalog.catalog_from_plays(tracks)
        .join(given, "track_key", "left")
        .select(
            *[
                replaced.get(field.name, F.col(field.name)).cast(field.dataType).alias(field.name)
                for field in schema.CATALOG.fields
            ]
        )
    )


# --- helpers ------------------------------------------------------------------------------------


def _column(name: str) -> Column:
    """A top-level column by its exact name, even with dots or spaces in it."""
    return F.col("`" + name.replace("`", "``") + "`")


def _is_hidden(name: str) -> bool:
    """Hadoop's rule: names starting with . or _ are bookkeeping, not data."""
    return name.startswith((".", "_")) and name not in (".", "..")


def _check_json_lines(sample: FileSample, timestamp_column: str, wanted: str) -> str | None:
    expected = f"JSON lines: one object per line with fields such as {wanted}"
    lines = [line for line in sample.head.splitlines() if line.strip()]
    if not lines:
        return expected
    first = lines[0]
    complete = len(lines) > 1 or sample.head.endswith("\n")
    if not complete:  # one record longer than the head: judge by its opening only
        return None if first.lstrip().startswith("{") else expected
    try:
        record = json.loads(first)
    except ValueError:
        return expected
    if not isinstance(record, dict) or timestamp_column not in record:
        return expected
    return None


def _number_rows(rows: DataFrame) -> DataFrame:
    """Add ``source_position``: each row's 0-based index in its file, in file order.

    Spark reads a file in splits (byte ranges, ``_block_start``) and each task reads its splits
    in order, so inside one split ``monotonically_increasing_id`` grows by one per row. A small
    aggregate over the splits gives the first id of each split and how many rows every earlier
    split of the same file held; a row's position is then rows before its split + its offset in it.
    The result does not depend on how many files are read together, on the split size or on the
    number of cores, so re-reading a file gives the same positions (bronze and quarantine rely on
    that) at the price of a second, column-free scan of the input.

    NOTE: positions shift if the file itself changes before the re-read (rows inserted or removed
    above), and both scans must see the same files and split them alike: true within one query,
    as they share one file listing and one configuration. A split whose key found no match (the
    two scans split differently) would get a null position, which the NOT NULL lineage columns
    refuse at write time, rather than a wrong one.
    """
    tagged = rows.select(
        "*",
        F.spark_partition_id().alias("_partition"),
        F.monotonically_increasing_id().alias("_row_id"),
    )
    split_keys = ["source_file", "_block_start", "_partition"]
    earlier_splits = (
        Window.partitionBy("source_file")
        .orderBy("_block_start")
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    splits = (
        tagged.groupBy(*split_keys)
        .agg(F.min("_row_id").alias("_first_row_id"), F.count(F.lit(1)).alias("_split_rows"))
        .select(
            *split_keys,
            "_first_row_id",
            F.coalesce(F.sum("_split_rows").over(earlier_splits), F.lit(0)).alias("_rows_before"),
        )
    )
    position = F.col("_rows_before") + F.col("_row_id") - F.col("_first_row_id")
    return (
        tagged.join(F.broadcast(splits), split_keys, "left")
        .withColumn("source_position", position.cast(LongType()))
        .drop("_block_start", "_partition", "_row_id", "_first_row_id", "_rows_before")
    )


def _timestamp(value: Column, source_type: DataType, timestamp_format: str) -> Column:
    """The source timestamp as UTC, null where it cannot be read (quality.py quarantines it)."""
    if isinstance(source_type, TimestampType | TimestampNTZType | DateType):
        return value.cast(TimestampType())
    text = F.nullif(F.trim(value.cast("string")), F.lit(""))
    if timestamp_format == "unix_seconds":
        return _from_millis(text.try_cast("double") * 1000)
    if timestamp_format == "unix_millis":
        return _from_millis(text.try_cast("double"))
    if timestamp_format == "iso":
        return F.try_to_timestamp(text)
    return F.try_to_timestamp(text, F.lit(timestamp_format))


def _from_millis(millis: Column) -> Column:
    whole = F.round(millis).try_cast(LongType())
    return F.when(whole.between(_MIN_MILLIS, _MAX_MILLIS), F.timestamp_millis(whole))


def _shift(timestamp: Column, milliseconds: Column) -> Column:
    """``timestamp`` moved by ``milliseconds``; null where that leaves Spark's range."""
    return _from_millis(F.try_add(F.unix_millis(timestamp), milliseconds).cast("double"))


def _whole_number(text: Column, scale: float) -> Column:
    return F.round(text.try_cast("double") * F.lit(scale)).try_cast(LongType())


def _ms_played(text: Column, profile: EventLogProfile) -> tuple[Column, Column]:
    """(ms_played, ms_played_estimated) from the source text and the profile's rule.

    A missing value takes the profile's default, if any, and is marked estimated; a value that is
    present but not a number stays null, so the record is quarantined rather than made up.
    """
    measured = _whole_number(text, profile.ms_played_scale)
    default = profile.ms_played_default
    if default is None:
        return measured, F.lit(False)
    return (
        F.when(text.isNull(), F.lit(default).cast(LongType())).otherwise(measured),
        text.isNull(),
    )


def _genres(text: Column, separator: str | None) -> Column:
    if separator is None:
        return F.when(text.isNotNull(), F.array(F.lower(text)))
    parts = F.transform(F.split(text, re.escape(separator)), lambda part: F.lower(F.trim(part)))
    return F.filter(parts, lambda part: part != "")


def _default_readers() -> list[Reader]:
    return [EventLogReader(load_profile("music"))]


# The music profile stands in until --profile names another; it claims no file by itself.
READERS: list[Reader] = _default_readers()
