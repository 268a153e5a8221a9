"""Last.fm scrobbles: the CSV files people export their history to, and API pages of recent tracks.

Scrobbles say when a track STARTED and nothing about how long it played: every play gets the
configured default length (see :mod:`spinback.ingest.scrobbles`, shared with ListenBrainz).

Three CSV layouts are in circulation, all read by ``lastfm-csv``; the layout of each file is told by
its first line:

- no header, ``artist,album,track,date`` with dates such as ``20 Nov 2020 09:35`` (UTC);
- header ``artist,artist_mbid,album,album_mbid,track,track_mbid,timestamp,datetime``, unix seconds;
- R's ``write.csv`` of a data frame: header ``"","date","artist","track","album"``, a row index
  first, dates ``2020-04-13 05:01:31`` (UTC) and a bare ``NA`` for a missing value.

``lastfm-api`` reads saved ``user.getrecenttracks`` responses, one page per file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession, Window
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

SERVICE = "lastfm"


def utc_time(text: Column, pattern: str) -> Column:
    """A date-time text without a zone, read as UTC whatever the session's zone; null if invalid."""
    return F.try_to_timestamp(F.concat(F.trim(text), F.lit(" +0000")), F.lit(f"{pattern} Z"))


# --- CSV exports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CsvLayout:
    """One CSV layout: its header as :func:`_header_signature` gives it, fields, and start time."""

    key: str
    header: str | None
    fields: tuple[str, ...]
    started_at: Callable[[Column], Column]
    csv_options: Mapping[str, str] = field(default_factory=dict)

    def parse(self, line: Column) -> Column:
        # One field more than the layout has: filled only when the line has too many fields.
        ddl = ", ".join(f"`{name}` STRING" for name in (*self.fields, "_surplus"))
        # A doubled quote is a quote inside a field, and a backslash is just a character.
        return F.from_csv(line, ddl, {"escape": '"', **self.csv_options})


_PLAIN_DATE = "d MMM yyyy HH:mm"
_PLAIN_DATE_TEXT = re.compile(r"^\d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}$")

_CSV_LAYOUTS = (
    _CsvLayout(
        key="mbid",
        header="artist,artist_mbid,album,album_mbid,track,track_mbid,timestamp,datetime",
        fields=(
            "artist",
            "artist_mbid",
            "album",
            "album_mbid",
            "track",
            "track_mbid",
            "timestamp",
            "datetime",
        ),
        started_at=lambda row: F.coalesce(
            unix_time(row["timestamp"]), utc_time(row["datetime"], "yyyy-MM-dd HH:mm:ss")
        ),
    ),
    _CsvLayout(
        key="r",
        header=",date,artist,track,album",
        fields=("index", "date", "artist", "track", "album"),
        started_at=lambda row: utc_time(row["date"], "yyyy-MM-dd HH:mm:ss"),
        # R writes a missing value as a bare NA. Spark's CSV parser cannot tell it from a quoted
        # "NA", so a name that really is NA is read as missing too.
        csv_options={"nullValue": "NA"},
    ),
    # Last, as the layout of any file whose first line is not a known header.
    _CsvLayout(
        key="plain",
        header=None,
        fields=("artist", "album", "track", "date"),
        started_at=lambda row: utc_time(row["date"], _PLAIN_DATE),
    ),
)

_KNOWN_HEADERS = {layout.header for layout in _CSV_LAYOUTS if layout.header}
_CSV_EXPECTED = (
    "a Last.fm scrobble CSV: either headerless artist,album,track,date rows with dates like "
    "'20 Nov 2020 09:35', or the header "
    + " or ".join(repr(layout.header) for layout in _CSV_LAYOUTS if layout.header)
)


def _header_signature(line: Column) -> Column:
    """A first line without byte-order mark, quotes and spaces, lower-cased, to compare headers."""
    return F.lower(F.regexp_replace(line, '[\\s"\ufeff]', ""))


@dataclass(frozen=True)
class LastfmCsvReader:
    """Scrobble CSVs in any of the three layouts, told apart per file by the first line."""

    default_play_ms: int = DEFAULT_PLAY_MS
    name: str = field(default="lastfm-csv", init=False)
    service: str = field(default=SERVICE, init=False)

    def claims(self, sample: FileSample) -> bool:
        if not sample.name.lower().endswith(".csv"):
            return False
        lines = _complete_lines(sample.head)
        if not lines:
            return False
        header = [cell.strip().lower() for cell in _csv_fields(lines[0])]
        mentions_scrobbles = any("artist" in cell for cell in header) and any(
            "track" in cell for cell in header
        )
        return mentions_scrobbles or any(_is_plain_scrobble(line) for line in lines)

    def check(self, sample: FileSample) -> str | None:
        lines = _complete_lines(sample.head)
        if lines and _header_signature_text(lines[0]) in _KNOWN_HEADERS:
            return None
        # Mostly dated four-field rows: a few broken records do not make it another kind of file.
        scrobble_lines = sum(_is_plain_scrobble(line) for line in lines)
        if scrobble_lines * 2 > len(lines):
            return None
        return _CSV_EXPECTED

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        lines = records.text_lines(spark, paths)

        # Text files are read whole, so a window over one file's lines moves no more than the file.
        per_file = Window.partitionBy("source_file")
        first_line = F.min_by("raw_record", "source_position").over(per_file)
        is_first_line = F.col("source_position") == F.min("source_position").over(per_file)
        layout_key = _layout_key(_header_signature(first_line))
        lines = lines.select(
            "*", layout_key.alias("_layout"), is_first_line.alias("_is_first_line")
        )

        # The header is not a record: skip it by position, in the files whose first line it is.
        with_header = [layout.key for layout in _CSV_LAYOUTS if layout.header]
        lines = lines.where(~(F.col("_is_first_line") & F.col("_layout").isin(*with_header)))

        # Each line is parsed once, by its file's layout, into that layout's field of _parsed.
        by_layout = F.struct(
            *[
                F.when(F.col("_layout") == layout.key, layout.parse(F.col("raw_record"))).alias(
                    layout.key
                )
                for layout in _CSV_LAYOUTS
            ]
        )
        lines = records.with_parsed(lines, "_parsed", by_layout)
        scrobbles = lines.select(
            F.lit(account_name).cast("string").alias("account_name"),
            _by_layout(lambda layout, row: layout.started_at(row)).alias("started_at"),
            _by_layout(lambda _, row: row["artist"]).alias("artist_name"),
            _by_layout(lambda _, row: row["track"]).alias("track_name"),
            _by_layout(lambda _, row: row["album"]).alias("album_name"),
            _by_layout(
                lambda layout, row: F.when(
                    row["_surplus"].isNotNull(),
                    F.lit(f"more fields than the {len(layout.fields)} of the layout"),
                )
            ).alias("reject_reason"),
            *records.RECORD_COLUMNS,
        )
        return normalized_scrobbles(scrobbles, self.default_play_ms)


def _by_layout(value: Callable[[_CsvLayout, Column], Column]) -> Column:
    """``value`` of the parsed line, taken from the field of the line's layout."""
    first, *others = _CSV_LAYOUTS
    parsed = F.col("_parsed")
    chosen = F.when(F.col("_layout") == first.key, value(first, parsed[first.key]))
    for layout in others:
        chosen = chosen.when(F.col("_layout") == layout.key, value(layout, parsed[layout.key]))
    return chosen


def _layout_key(signature: Column) -> Column:
    chosen = F.lit("plain")
    for layout in reversed(_CSV_LAYOUTS):
        if layout.header:
            chosen = F.when(signature == layout.header, layout.key).otherwise(chosen)
    return chosen


def _header_signature_text(line: str) -> str:
    """:func:`_header_signature` of a line of a file's head."""
    return re.sub(r'[\s"\ufeff]', "", line).lower()


def _complete_lines(head: str) -> list[str]:
    """The non-empty lines of a file's head, without the last one if the head cut it short."""
    lines = head.splitlines()
    if len(lines) > 1 and not head.endswith(("\n", "\r")):
        lines = lines[:-1]
    return [line for line in lines if line.strip()]


def _csv_fields(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _is_plain_scrobble(line: str) -> bool:
    row = _csv_fields(line)
    return len(row) == 4 and bool(_PLAIN_DATE_TEXT.match(row[3].strip()))


# --- API pages -----------------------------------------------------------------------------------

# Every field as text: the reader converts types itself, so odd values reach quarantine intact.
_API_TRACK = StructType(
    [StructField(name, StringType(), True) for name in ("artist", "album", "name", "date", "@attr")]
)
_TEXT_OR_NAME = StructType(
    [StructField("#text", StringType(), True), StructField("name", StringType(), True)]
)
_API_PAGE = re.compile(r'^\{\s*"recenttracks"\s*:\s*\{')


@dataclass(frozen=True)
class LastfmApiReader:
    """Saved ``user.getrecenttracks`` pages: ``{"recenttracks": {"track": [...]}}``, one per file.

    The track playing when the page was fetched comes first, flagged ``nowplaying`` and without a
    date: it is not a scrobble yet, and goes to quarantine with that reason.
    """

    default_play_ms: int = DEFAULT_PLAY_MS
    name: str = field(default="lastfm-api", init=False)
    service: str = field(default=SERVICE, init=False)

    def claims(self, sample: FileSample) -> bool:
        return sample.name.lower().endswith(".json") and '"recenttracks"' in sample.head

    def check(self, sample: FileSample) -> str | None:
        if _API_PAGE.match(sample.head.lstrip()):
            return None
        return (
            'a Last.fm user.getrecenttracks page, a JSON object {"recenttracks": {"track": [...]}}'
        )

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        # A page of one track holds an object there, not an array; json_records takes both.
        tracks = records.json_records(spark, paths, "$.recenttracks.track")
        tracks = records.with_parsed(tracks, "_track", F.from_json("raw_record", _API_TRACK))
        track = F.col("_track")
        tracks = records.with_parsed(
            tracks, "_date", F.from_json(track["date"], "uts STRING, `#text` STRING")
        )
        date = F.col("_date")
        now_playing = records.boolean(F.get_json_object(track["@attr"], "$.nowplaying"))

        scrobbles = tracks.select(
            F.lit(account_name).cast("string").alias("account_name"),
            F.coalesce(unix_time(date["uts"]), utc_time(date["#text"], "d MMM yyyy, HH:mm")).alias(
                "started_at"
            ),
            _text_of(track["artist"]).alias("artist_name"),
            track["name"].alias("track_name"),
            _text_of(track["album"]).alias("album_name"),
            F.when(F.json_object_keys("raw_record").isNull(), F.lit(records.NOT_AN_OBJECT))
            .when(now_playing, F.lit(NOW_PLAYING))
            .alias("reject_reason"),
            *records.RECORD_COLUMNS,
        )
        return normalized_scrobbles(scrobbles, self.default_play_ms)


def _text_of(value: Column) -> Column:
    """An API name: ``{"#text": ...}``, ``{"name": ...}`` (extended pages), or plain text."""
    parsed = F.from_json(value, _TEXT_OR_NAME)
    is_object = F.trim(value).startswith("{")
    return F.when(is_object, F.coalesce(parsed["#text"], parsed["name"])).otherwise(value)


def readers(default_play_ms: int = DEFAULT_PLAY_MS) -> list[Reader]:
    """The Last.fm readers, with scrobbles lasting ``default_play_ms`` (config.ingest)."""
    return [LastfmApiReader(default_play_ms), LastfmCsvReader(default_play_ms)]


READERS: list[Reader] = readers()
