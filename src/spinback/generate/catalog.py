"""The synthetic catalog: artists, their albums and tracks, genres, and podcast shows.

Artists, tracks and shows are numbered by popularity (index 0 is the most played), and every
attribute of a track is a closed-form function of its index and the seed. Plays therefore pick a
track by arithmetic alone, then look up its length and names in the small, broadcast catalog.

Layout: artist ``a`` owns the contiguous run of tracks ``[first_track(a), first_track(a + 1))``.
Popular artists own longer runs, the way a star has a deep back catalogue and a newcomer a single.
Inside an artist's run, tracks are cut into albums of 6 to 14 tracks, and position 0 is the hit.
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from spinback import schema
from spinback.config import GenerateConfig
from spinback.generate.sampling import (
    power_law_index,
    scattered_number,
    standard_normal,
    uniform,
)

# Ordered roughly by how widely they are streamed; the power law favours the first ones.
GENRE_NAMES = (
    "pop", "hip hop", "rock", "dance pop", "indie", "r&b", "latin", "electronic", "rap",
    "alternative", "house", "k-pop", "reggaeton", "country", "soul", "metal", "afrobeats",
    "singer-songwriter", "techno", "lo-fi", "jazz", "classical", "funk", "punk", "folk",
    "trap", "drum and bass", "ambient", "j-pop", "disco", "blues", "reggae", "soundtrack",
    "synthwave", "gospel", "dancehall", "grunge", "bossa nova", "schlager", "chanson",
)  # fmt: skip

# Podcast episodes are weekly: one numbering slot per week of the year, plus one spare.
EPISODES_PER_SHOW = 54

TRACK_MEDIAN_MS = 210_000
TRACK_DURATION_RANGE_MS = (90_000, 600_000)
EPISODE_MEDIAN_MS = 40 * 60_000
EPISODE_DURATION_RANGE_MS = (8 * 60_000, 180 * 60_000)
EARLIEST_RELEASE_YEAR = 1960
# Release years fall back from the generated year with this mean gap, so the catalog leans recent.
MEAN_YEARS_SINCE_RELEASE = 6.0


def genre_names(count: int) -> list[str]:
    """``count`` genre names: real ones first, then ``genre-41``, ``genre-42`` and so on."""
    extra = [f"genre-{number:02d}" for number in range(len(GENRE_NAMES) + 1, count + 1)]
    return [*GENRE_NAMES, *extra][:count]


def first_track_index(artist_index: Column, config: GenerateConfig) -> Column:
    """Index of the first track of ``artist_index``; the same formula gives the next artist's start.

    Every artist gets one track; the remaining ``tracks - artists`` are shared out in proportion to
    sqrt(a + 1) - sqrt(a), about 1 / (2 sqrt(a)), so track counts fall off with popularity without
    a table. At ``artist_index = artists`` the square root is exactly 1, so the runs end at
    ``tracks``.
    """
    spare_tracks = config.tracks - config.artists
    share_before = F.sqrt(artist_index.cast("double") / float(config.artists))
    return artist_index + F.floor(F.lit(spare_tracks) * share_before)


def track_count(artist_index: Column, config: GenerateConfig) -> Column:
    """How many tracks ``artist_index`` owns (at least one)."""
    return first_track_index(artist_index + 1, config) - first_track_index(artist_index, config)


def track_duration_ms(track_index: Column, seed: int) -> Column:
    """A track's length: log-normal around 3.5 minutes, kept within 1.5 to 10 minutes."""
    spread = 0.25 * standard_normal(seed, "track-duration", track_index)
    return _clamped_round(F.exp(math.log(TRACK_MEDIAN_MS) + spread), TRACK_DURATION_RANGE_MS)


def episode_duration_ms(episode_index: Column, seed: int) -> Column:
    """An episode's length: log-normal around forty minutes, kept within 8 minutes and 3 hours."""
    spread = 0.45 * standard_normal(seed, "episode-duration", episode_index)
    return _clamped_round(F.exp(math.log(EPISODE_MEDIAN_MS) + spread), EPISODE_DURATION_RANGE_MS)


def keyed(kind: str, number: Column) -> Column:
    """The stable key of a catalog entity, such as ``spinback:track:4567``."""
    return F.format_string(f"spinback:{kind}:%d", number)


def named(label: str, number: Column) -> Column:
    """A plain display name, such as ``Track 4567``."""
    return F.format_string(f"{label} %d", number)


def artist_credit(artist_index: Column, config: GenerateConfig) -> Column:
    """The key and name of an artist, as the ``ARTIST_CREDIT`` struct."""
    number = scattered_number(artist_index, config.artists, config.seed)
    return F.struct(
        keyed("artist", number).alias("artist_key"),
        named("Artist", number).alias("artist_name"),
    )


def build_tracks(spark: SparkSession, config: GenerateConfig) -> DataFrame:
    """One row per track: ``track_index`` (popularity order) and the catalog columns.

    The frame is small (one row per track) and meant to be broadcast into the plays.
    """
    artists = _artists(spark, config)
    position = F.col("position_in_artist")
    track_index = F.col("first_track_index") + position
    album_first_track = F.col("first_track_index") + F.floor(
        position / F.col("album_size")
    ) * F.col("album_size")

    tracks = artists.select(
        "artist_index",
        "first_track_index",
        "album_size",
        "genres",
        F.explode(F.sequence(F.lit(0).cast("long"), F.col("track_count") - 1)).alias(
            "position_in_artist"
        ),
    ).select(
        track_index.alias("track_index"),
        "artist_index",
        "genres",
        album_first_track.alias("album_first_track_index"),
    )

    seed = config.seed
    track_number = scattered_number(F.col("track_index"), config.tracks, seed)
    album_number = scattered_number(F.col("album_first_track_index"), config.tracks, seed)
    artist = artist_credit(F.col("artist_index"), config)
    return tracks.select(
        "track_index",
        keyed("track", track_number).alias("track_key"),
        named("Track", track_number).alias("track_name"),
        artist["artist_key"].alias("artist_key"),
        artist["artist_name"].alias("artist_name"),
        # Cast here, once per track, so the plays that carry the credits need no cast per row.
        _featured_artists(config).cast(ArrayType(schema.ARTIST_CREDIT)).alias("featured_artists"),
        keyed("album", album_number).alias("album_key"),
        named("Album", album_number).alias("album_name"),
        track_duration_ms(F.col("track_index"), seed).alias("duration_ms"),
        _release_year(F.col("album_first_track_index"), config).alias("release_year"),
        "genres",
    )


def build_episodes(spark: SparkSession, config: GenerateConfig) -> DataFrame:
    """One row per podcast episode: ``episode_index`` (show by show, week by week) and its length.

    Episode ``e`` belongs to show ``e // EPISODES_PER_SHOW``; like tracks, the frame is small and
    meant to be broadcast.
    """
    return spark.range(config.shows * EPISODES_PER_SHOW).select(
        F.col("id").alias("episode_index"),
        episode_duration_ms(F.col("id"), config.seed).alias("duration_ms"),
    )


def _artists(spark: SparkSession, config: GenerateConfig) -> DataFrame:
    """One row per artist: where its tracks start, how many, album size and genres."""
    artist_index = F.col("artist_index")
    album_size = 6 + F.floor(9 * uniform(config.seed, "album-size", artist_index))
    return (
        spark.range(config.artists)
        .select(
            F.col("id").alias("artist_index"),
            first_track_index(F.col("id"), config).alias("first_track_index"),
            track_count(F.col("id"), config).alias("track_count"),
        )
        .select(
            "*",
            album_size.alias("album_size"),
            _artist_genres(artist_index, config).alias("genres"),
        )
    )


def _artist_genres(artist_index: Column, config: GenerateConfig) -> Column:
    """One to three genres per artist, shared by all its tracks.

    The main genre follows a gentle power law (pop is common, chanson rare); a second genre is often
    a neighbour in the list, and a few artists cross over into a third, unrelated one.
    """
    seed = config.seed
    count = config.genres
    names = F.array(*[F.lit(name) for name in genre_names(count)])

    def name_at(index: Column) -> Column:
        return F.element_at(names, (index + 1).cast("int"))

    main = power_law_index(uniform(seed, "genre-main", artist_index), count, 0.9)
    step = 1 + F.floor(3 * uniform(seed, "genre-step", artist_index))
    neighbour = (main + step) % count
    crossover = power_law_index(uniform(seed, "genre-crossover", artist_index), count, 0.9)
    has_neighbour = uniform(seed, "genre-has-neighbour", artist_index) < 0.55
    has_crossover = uniform(seed, "genre-has-crossover", artist_index) < 0.2
    candidates = F.array(
        name_at(main),
        F.when(has_neighbour, name_at(neighbour)),
        F.when(has_crossover, name_at(crossover)),
    )
    return F.array_distinct(F.array_compact(candidates))


def _featured_artists(config: GenerateConfig) -> Column:
    """Guest artists on a track: none on most, one on about 9 %, two on about 3 %.

    Guests are drawn from the popularity law, so stars feature often; an artist never features on
    its own track.
    """
    track_index = F.col("track_index")
    if config.artists < 2:
        return F.array().cast(ArrayType(schema.ARTIST_CREDIT))
    seed = config.seed
    draw = uniform(seed, "featured-count", track_index)
    guests = F.when(draw < 0.03, 2).when(draw < 0.12, 1).otherwise(0)
    credits = []
    for slot in (1, 2):
        draw = uniform(seed, f"featured-artist-{slot}", track_index)
        guest = power_law_index(draw, config.artists, config.popularity_exponent)
        guest = F.when(guest == F.col("artist_index"), (guest + 1) % config.artists).otherwise(
            guest
        )
        credits.append(F.when(guests >= slot, artist_credit(guest, config)))
    return F.array_distinct(F.array_compact(F.array(*credits)))


def _release_year(album_first_track_index: Column, config: GenerateConfig) -> Column:
    """Album release year: exponentially many recent albums, none before 1960 or after the year."""
    draw = uniform(config.seed, "release-year", album_first_track_index)
    years_back = F.floor(-F.log(draw) * MEAN_YEARS_SINCE_RELEASE)
    earliest = min(EARLIEST_RELEASE_YEAR, config.year)
    return F.greatest(F.lit(config.year) - years_back, F.lit(earliest)).cast("int")


def _clamped_round(value: Column, bounds: tuple[int, int]) -> Column:
    low, high = bounds
    return F.least(F.greatest(F.round(value), F.lit(low)), F.lit(high)).cast("long")
