"""What the scrobble readers (Last.fm, ListenBrainz) share: plays that only say when they started.

A scrobble, or a ListenBrainz listen, is stamped with the moment a track STARTED and says nothing
about how long it played. :func:`normalized_scrobbles` gives each one the configured default
length, marks it estimated and ends it that long after its start. Artist, track and album keys are
built from names, so that both services, and Spotify exports without ids, agree on them.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spinback.ingest import records

# How long a scrobble is taken to last when the caller does not pass config.ingest.default_play_ms.
DEFAULT_PLAY_MS = 180_000

# The track playing when a page was fetched: it has not finished, so it is no play yet.
NOW_PLAYING = "now playing, not a scrobble"


def normalized_scrobbles(scrobbles: DataFrame, default_play_ms: int) -> DataFrame:
    """Parsed scrobbles -> normalized plays of estimated length ``default_play_ms``.

    ``scrobbles`` holds ``account_name``, ``started_at`` (UTC, null when unknown), ``artist_name``,
    ``track_name``, ``album_name``, ``reject_reason`` and the record columns. Blank names count as
    missing, and a key is only made from names that are there: a scrobble without a track name
    gets no track key, one without an album no album key.
    """
    artist = _present(F.col("artist_name"))
    track = _present(F.col("track_name"))
    album = _present(F.col("album_name"))
    started_at = F.col("started_at")
    # MBIDs (Last.fm CSV and API, ListenBrainz) are kept nowhere for now: keys come from names.
    values = {
        "account_name": F.col("account_name"),
        "ended_at": F.timestamp_millis(F.unix_millis(started_at) + F.lit(default_play_ms)),
        "started_at": started_at,
        "ms_played": F.lit(default_play_ms),
        "ms_played_estimated": F.lit(True),
        "content_type": F.lit("music"),
        "track_key": F.when(track.isNotNull(), records.name_key("track", artist, track)),
        "track_name": track,
        "artist_key": records.name_key("artist", artist),
        "artist_name": artist,
        "album_key": F.when(album.isNotNull(), records.name_key("album", artist, album)),
        "album_name": album,
        "reject_reason": F.col("reject_reason"),
        **{name: F.col(name) for name in records.RECORD_COLUMNS},
    }
    return scrobbles.select(
        *[
            values.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name)
            for f in records.NORMALIZED.fields
        ]
    )


def unix_time(text: Column) -> Column:
    """Unix seconds as text, whole or not (``"0"``, ``"1704067200.0"``) -> timestamp, else null."""
    return F.timestamp_seconds(F.trim(text).try_cast("decimal(20,6)"))


def _present(name: Column) -> Column:
    return F.when(F.trim(name) != "", name)
