"""Readers for the listening histories in a Spotify data download.

Two of Spotify's downloads hold listening histories. The extended streaming history
(``Streaming_History_Audio_*.json`` and ``Streaming_History_Video_*.json``, in older downloads
``endsong_N.json``) has one record per playback with the track, episode or audiobook URI. The
account data (``StreamingHistory*.json``) has only names, the end of each play to the minute and
the milliseconds played. Both stamp a play with the moment playback ended, in UTC, so
``started_at`` is derived as ``ended_at - ms_played``.

A download also holds playlists, search queries, the library and user data as JSON: the readers
claim files by their exact names only, whatever folder the download's year put them in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from spinback.ingest.detect import FileSample, Reader
from spinback.ingest.records import (
    NORMALIZED,
    NOT_AN_OBJECT,
    boolean,
    json_records,
    name_key,
    with_parsed,
)

SERVICE = "spotify"

EXTENDED_FILE = re.compile(r"Streaming_History_(Audio|Video)_\d{4}(-\d{4})?(_\d+)?\.json")
ENDSONG_FILE = re.compile(r"endsong_\d+\.json")
ACCOUNT_FILE = re.compile(r"StreamingHistory(\d+|_(music|podcast|audiobook)_\d+)\.json")
_VIDEO_FILE = r"(^|/)Streaming_History_Video_[^/]*$"

# Every field is parsed as text and converted here, so that exports which write a boolean as
# "true" or 1, or a number as a string, still read. IP addresses and user agents are not parsed:
# they stay only in the raw record.
EXTENDED_FIELDS = (
    "ts",
    "username",
    "platform",
    "ms_played",
    "conn_country",
    "master_metadata_track_name",
    "master_metadata_album_artist_name",
    "master_metadata_album_album_name",
    "spotify_track_uri",
    "episode_name",
    "episode_show_name",
    "spotify_episode_uri",
    "audiobook_title",
    "audiobook_uri",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "incognito_mode",
)
ACCOUNT_FIELDS = (
    "endTime",
    "msPlayed",
    "artistName",
    "trackName",
    "podcastName",
    "episodeName",
    "audiobookName",
    "chapterName",
    "authorName",
)

EXTENDED_REQUIRED = ("ts", "ms_played", "master_metadata_track_name")
ACCOUNT_REQUIRED = {
    "music": ("endTime", "msPlayed", "artistName", "trackName"),
    "podcast": ("endTime", "msPlayed", "podcastName", "episodeName"),
    "audiobook": ("endTime", "msPlayed", "audiobookName", "chapterName"),
}

# Beyond this many milliseconds (some 30 000 years) ended_at - ms_played overflows Spark's
# timestamps; such a play keeps a null started_at rather than stopping the batch.
_LONGEST_SUBTRACTABLE_MS = 10**15

# The column that holds the parsed record while the normalized columns are built from it.
_RECORD = "record"

# A code for no country ("unknown or unspecified"), which old endsong files carry for some plays.
_UNKNOWN_COUNTRY = "ZZ"


@dataclass
class ExtendedHistoryReader:
    """Extended streaming history, under its current names or the older ``endsong_N.json``.

    Both carry the same fields; endsong records add ``username`` (preferred over the caller's
    account name), ``ip_addr_decrypted`` and ``user_agent_decrypted`` (never read), and write
    ``offline_timestamp`` in milliseconds instead of seconds (not read either: ``ts`` is the end of
    playback in both).
    """

    name: str
    file_name: re.Pattern[str]
    service: str = SERVICE

    def claims(self, sample: FileSample) -> bool:
        return self.file_name.fullmatch(sample.name) is not None

    def check(self, sample: FileSample) -> str | None:
        return _unmet_expectation(sample.head, EXTENDED_REQUIRED)

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        return extended_plays(json_records(spark, paths), account_name)


@dataclass
class AccountHistoryReader:
    """The account data's streaming history: ``StreamingHistoryN.json`` and its newer split files
    ``StreamingHistory_music_N.json``, ``_podcast_N.json`` and ``_audiobook_N.json``."""

    name: str = "spotify-account"
    service: str = SERVICE

    def claims(self, sample: FileSample) -> bool:
        return ACCOUNT_FILE.fullmatch(sample.name) is not None

    def check(self, sample: FileSample) -> str | None:
        kind = next((k for k in ("podcast", "audiobook") if f"_{k}_" in sample.name), "music")
        return _unmet_expectation(sample.head, ACCOUNT_REQUIRED[kind])

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        return account_plays(json_records(spark, paths), account_name)


def extended_plays(records: DataFrame, account_name: str | None) -> DataFrame:
    """Extended history records (``records.json_records``) -> normalized plays.

    The content type follows what the record points at: an audiobook chapter, else a podcast
    episode, else a video when the file is a ``Streaming_History_Video_*`` file, else music.
    Audiobook chapters become episodes of a show named after the audiobook. Spotify names only the
    album artist of a track, so ``featured_artists`` stays null (unknown).
    """
    parsed = with_parsed(records, _RECORD, _parse(EXTENDED_FIELDS))
    ended_at = F.try_to_timestamp(_field("ts"), F.lit("yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX"))

    audiobook_uri = _field("audiobook_uri")
    audiobook_title = _field("audiobook_title")
    chapter_uri = _field("audiobook_chapter_uri")
    is_audiobook = audiobook_uri.isNotNull() | chapter_uri.isNotNull()
    is_podcast = _field("spotify_episode_uri").isNotNull()
    content_type = (
        F.when(is_audiobook, "audiobook")
        .when(is_podcast, "podcast")
        .when(F.col("source_file").rlike(_VIDEO_FILE), "video")
        .otherwise("music")
    )

    artist_name = _field("master_metadata_album_artist_name")
    album_name = _field("master_metadata_album_album_name")
    show_name = F.when(is_audiobook, audiobook_title).otherwise(_field("episode_show_name"))
    # Spotify gives audiobooks an id but podcast shows none; a play of an audiobook whose chapter
    # is not named is still a play of that audiobook.
    show_key = F.when(
        is_audiobook, F.coalesce(audiobook_uri, name_key("show", audiobook_title))
    ).otherwise(name_key("show", show_name))
    episode_key = F.when(is_audiobook, F.coalesce(chapter_uri, audiobook_uri)).otherwise(
        _field("spotify_episode_uri")
    )
    episode_name = F.when(is_audiobook, _field("audiobook_chapter_title")).otherwise(
        _field("episode_name")
    )
    country = _field("conn_country")

    return _normalized(
        parsed,
        account_name=F.coalesce(_field("username"), F.lit(account_name)),
        ended_at=ended_at,
        ms_played=_field("ms_played").try_cast("long"),
        content_type=content_type,
        track_key=_field("spotify_track_uri"),
        track_name=_field("master_metadata_track_name"),
        artist_key=name_key("artist", artist_name),
        artist_name=artist_name,
        album_key=name_key("album", artist_name, album_name),
        album_name=album_name,
        show_key=show_key,
        show_name=show_name,
        episode_key=episode_key,
        episode_name=episode_name,
        reason_start=_field("reason_start"),
        reason_end=_field("reason_end"),
        shuffle=boolean(_field("shuffle")),
        skipped=boolean(_field("skipped")),
        offline=boolean(_field("offline")),
        private=boolean(_field("incognito_mode")),
        platform=_field("platform"),
        country=F.when(F.upper(country) != _UNKNOWN_COUNTRY, country),
    )


def account_plays(records: DataFrame, account_name: str | None) -> DataFrame:
    """Account data records (``records.json_records``) -> normalized plays with name-based keys.

    ``endTime`` is UTC to the minute. A record with ``audiobookName`` or ``chapterName`` is an
    audiobook play (its author becomes the artist), one with ``podcastName`` or ``episodeName`` a
    podcast play, anything else music. The account data says nothing of shuffle, skips, devices,
    countries or private sessions: those stay null.

    TODO: the older ``StreamingHistoryN.json`` lists podcast episodes like tracks (the show as
    ``artistName``, the episode as ``trackName``), so they read as music here. Nothing in the
    record tells them apart; revisit if a show catalog becomes available to match names against.
    """
    parsed = with_parsed(records, _RECORD, _parse(ACCOUNT_FIELDS))
    ended_at = F.try_to_timestamp(
        F.concat(_field("endTime"), F.lit("Z")), F.lit("yyyy-MM-dd HH:mm[:ss]X")
    )

    audiobook_name = _field("audiobookName")
    chapter_name = _field("chapterName")
    podcast_name = _field("podcastName")
    episode_name = _field("episodeName")
    is_audiobook = audiobook_name.isNotNull() | chapter_name.isNotNull()
    is_podcast = ~is_audiobook & (podcast_name.isNotNull() | episode_name.isNotNull())
    is_music = ~is_audiobook & ~is_podcast

    show_name = F.when(is_audiobook, audiobook_name).when(is_podcast, podcast_name)
    episode = F.when(is_audiobook, chapter_name).when(is_podcast, episode_name)
    artist_name = F.when(is_audiobook, _field("authorName")).when(is_music, _field("artistName"))
    track_name = F.when(is_music, _field("trackName"))

    return _normalized(
        parsed,
        account_name=F.lit(account_name),
        ended_at=ended_at,
        ms_played=_field("msPlayed").try_cast("long"),
        content_type=(
            F.when(is_audiobook, "audiobook").when(is_podcast, "podcast").otherwise("music")
        ),
        track_key=F.when(is_music, name_key("track", artist_name, track_name)),
        track_name=track_name,
        artist_key=name_key("artist", artist_name),
        artist_name=artist_name,
        show_key=name_key("show", show_name),
        show_name=show_name,
        episode_key=name_key("episode", show_name, episode),
        episode_name=episode,
    )


def _parse(fields: Sequence[str]) -> Column:
    """``raw_record``'s fields as text; a record that is not a JSON object gives all nulls."""
    schema = StructType([StructField(name, StringType(), True) for name in fields])
    return F.from_json(F.col("raw_record"), schema)


def _field(name: str) -> Column:
    """A parsed field's text; empty and blank strings (endsong writes "" for reasons) are null."""
    value = F.col(_RECORD)[name]
    return F.when(F.trim(value) != "", value)


def _normalized(records: DataFrame, **columns: Column) -> DataFrame:
    """``records`` with the given normalized columns, the rest null, in NORMALIZED's order."""
    ended_at = columns["ended_at"]
    ms_played = columns["ms_played"]
    columns["started_at"] = F.when(
        ms_played.between(-_LONGEST_SUBTRACTABLE_MS, _LONGEST_SUBTRACTABLE_MS),
        F.timestamp_millis(F.unix_millis(ended_at) - ms_played),
    )
    columns.setdefault("ms_played_estimated", F.lit(False))
    columns["reject_reason"] = F.when(F.col(_RECORD).isNull(), F.lit(NOT_AN_OBJECT))
    for lineage in ("source_file", "source_position", "raw_record"):
        columns[lineage] = F.col(lineage)
    return records.select(
        *[
            columns.get(field.name, F.lit(None)).cast(field.dataType).alias(field.name)
            for field in NORMALIZED.fields
        ]
    )


def _unmet_expectation(head: str, required: Sequence[str]) -> str | None:
    """None when ``head`` starts a JSON array whose first object has ``required``, else what was
    expected. An empty array fits: it is a history without plays, not a file of another kind."""
    expected = f"a JSON array of objects with {', '.join(required[:-1])} and {required[-1]}"
    text = head.lstrip()
    if not text.startswith("["):
        return expected
    body = text[1:].lstrip()
    if body.startswith("]"):
        return None
    try:
        first, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return expected
    if not isinstance(first, dict) or any(name not in first for name in required):
        return expected
    return None


READERS: list[Reader] = [
    ExtendedHistoryReader("spotify-extended", EXTENDED_FILE),
    ExtendedHistoryReader("spotify-endsong", ENDSONG_FILE),
    AccountHistoryReader(),
]
