"""The track catalog (``schema.CATALOG``): what plays say about tracks, plus what other files add.

Real exports carry names but rarely durations, release years or genres. :func:`catalog_from_plays`
takes what the plays hold; :func:`read_enrichment` reads an optional file of facts about tracks or
artists; :func:`artist_genres_from_tags` turns Last.fm tags (the HetRec 2011 data set) into artist
genres; :func:`enrich` fills the gaps of a catalog from both. All are DataFrame -> DataFrame except
the two readers, which only read.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from spinback import schema
from spinback.ingest.detect import WrongFileKindError
from spinback.ingest.records import json_records, name_key

logger = logging.getLogger(__name__)

# What read_enrichment returns: facts about one track (by its key, or by artist and track names)
# or about one artist (when neither track column is given).
ENRICHMENT = StructType(
    [
        StructField("track_key", StringType(), True),
        # name_key("track", artist_name, track_name): matches catalog rows whose keys are ids.
        StructField("track_name_key", StringType(), True),
        StructField("artist_key", StringType(), True),
        StructField("genres", ArrayType(StringType()), True),
        StructField("release_year", IntegerType(), True),
        StructField("duration_ms", LongType(), True),
    ]
)

# What artist_genres_from_tags returns: the genres of one artist, most applied first.
ARTIST_GENRES = StructType(
    [
        StructField("artist_key", StringType(), False),
        StructField("genres", ArrayType(StringType()), False),
    ]
)

_ENRICHMENT_COLUMNS = (
    "track_key",
    "artist_name",
    "track_name",
    "genres",
    "release_year",
    "duration_ms",
)
# Genres in one CSV cell or JSON string: "rock|indie" or "rock; indie".
_GENRE_SEPARATORS = r"[|;]"
# How Spotify names a play that ran to the end of the track.
_FULL_PLAY_REASON = "trackdone"


def catalog_from_plays(plays: DataFrame) -> DataFrame:
    """One catalog row per track key in ``plays`` (silver or normalized plays).

    Names, artist, featured artists and album are the most common among the track's plays
    (equally common values: the smallest, so the result does not depend on row order).
    ``duration_ms`` is the most common ``ms_played`` among plays that ran to the end
    (``reason_end`` = "trackdone", not estimated, above 0); among equally common values the
    longest, because a shorter full play is one that started part-way in. Sources without
    ``reason_end`` give no duration. Release year and genres stay null: plays do not hold them.
    """
    estimated = (
        F.coalesce(F.col("ms_played_estimated"), F.lit(False))
        if "ms_played_estimated" in plays.columns
        else F.lit(False)
    )
    full_play_ms = F.when(
        (F.col("reason_end") == _FULL_PLAY_REASON) & ~estimated & (F.col("ms_played") > 0),
        F.col("ms_played"),
    )
    artist = F.when(F.col("artist_key").isNotNull(), F.struct("artist_key", "artist_name"))
    album = F.when(F.col("album_key").isNotNull(), F.struct("album_key", "album_name"))
    tracks = (
        plays.where(F.col("track_key").isNotNull())
        .groupBy("track_key")
        .agg(
            F.mode("track_name", True).alias("track_name"),
            F.mode(artist, True).alias("artist"),
            F.mode("featured_artists", True).alias("featured_artists"),
            F.mode(album, True).alias("album"),
            # mode picks the smallest of equally common values: negate to get the longest.
            (-F.mode(-full_play_ms, True)).alias("duration_ms"),
        )
    )
    return tracks.select(
        "track_key",
        "track_name",
        F.col("artist.artist_key").alias("artist_key"),
        F.col("artist.artist_name").alias("artist_name"),
        "featured_artists",
        F.col("album.album_key").alias("album_key"),
        F.col("album.album_name").alias("album_name"),
        "duration_ms",
        F.lit(None).alias("release_year"),
        F.lit(None).alias("genres"),
    ).select(*[F.col(f.name).cast(f.dataType) for f in schema.CATALOG.fields])


def read_enrichment(spark: SparkSession, path: str) -> DataFrame:
    """Facts about tracks or artists from a CSV file (with header) or a JSON file.

    Columns (all optional but one key): ``track_key``, or ``artist_name`` + ``track_name``, to
    describe a track; ``artist_name`` alone to describe an artist; then ``genres`` (a JSON array, or
    text with genres separated by | or ;), ``release_year`` (a year or a date starting with one)
    and ``duration_ms``. JSON may be one array of objects or one object per line. Unknown columns
    are ignored; values that are not numbers become null. Returns rows of :data:`ENRICHMENT`.
    """
    if path.lower().endswith(".csv"):
        frame = spark.read.options(header="true").csv(path)
        fields = {name: F.col(f"`{name}`") for name in frame.columns if name in _ENRICHMENT_COLUMNS}
    else:
        frame = json_records(spark, [path])
        record_schema = StructType([StructField(c, StringType()) for c in _ENRICHMENT_COLUMNS])
        parsed = F.from_json("raw_record", record_schema)
        # Which fields the records have: one small job over the keys, not the records.
        keys = frame.select(F.explode(F.json_object_keys("raw_record")).alias("key")).distinct()
        present = {row["key"] for row in keys.collect()}
        fields = {name: parsed.getField(name) for name in _ENRICHMENT_COLUMNS if name in present}
    if not {"track_key", "artist_name"} & set(fields):
        raise WrongFileKindError(
            f"{path}: not an enrichment file; expected columns track_key or artist_name "
            f"(with track_name), and genres, release_year or duration_ms"
        )

    def text(name: str) -> Column:
        if name not in fields:
            return F.lit(None).cast("string")
        return F.nullif(F.trim(fields[name]), F.lit(""))

    artist, track = text("artist_name"), text("track_name")
    year_digits = F.regexp_extract(F.coalesce(text("release_year"), F.lit("")), r"^(\d{4})", 1)
    return frame.select(
        text("track_key").alias("track_key"),
        F.when(track.isNotNull(), name_key("track", artist, track)).alias("track_name_key"),
        name_key("artist", artist).alias("artist_key"),
        _genre_list(text("genres")).alias("genres"),
        year_digits.try_cast(IntegerType()).alias("release_year"),
        F.round(text("duration_ms").try_cast("double")).try_cast(LongType()).alias("duration_ms"),
    ).select(*[F.col(f.name).cast(f.dataType) for f in ENRICHMENT.fields])


def artist_genres_from_tags(spark: SparkSession, hetrec_dir: str, top_n: int = 3) -> DataFrame:
    """Artist genres from the tags Last.fm users applied (HetRec 2011 ``hetrec2011-lastfm-2k``).

    A tag counts once per user who applied it to the artist, however often; an artist's genres are
    its ``top_n`` tags by that count (ties: alphabetical), lower-cased and trimmed, most applied
    first. Keys are ``name_key("artist", name)``, so artists of any source match by name; two
    HetRec ids with one name are counted as one artist. Tags of ids missing from ``artists.dat``
    are left out (they have no name to match). Returns rows of :data:`ARTIST_GENRES`.
    """
    if top_n < 1:
        raise ValueError(f"top_n: {top_n!r} is not allowed; expected an integer >= 1")
    # Tab-separated with a header and no quoting: a name may start with a quote ("Weird Al"...).
    tab_separated = {"header": "true", "sep": "\t", "quote": ""}
    applied = spark.read.options(**tab_separated).csv(f"{hetrec_dir}/user_taggedartists.dat")
    # tags.dat is Latin-1, unlike the other files (UTF-8).
    tags = (
        spark.read.options(**tab_separated, encoding="ISO-8859-1")
        .csv(f"{hetrec_dir}/tags.dat")
        .select("tagID", F.lower(F.trim("tagValue")).alias("tag"))
    )
    artists = (
        spark.read.options(**tab_separated)
        .csv(f"{hetrec_dir}/artists.dat")
        .select(
            F.col("id").alias("artistID"), name_key("artist", F.col("name")).alias("artist_key")
        )
        .where(F.col("artist_key").isNotNull())
    )

    tag_users = (
        applied.join(tags, "tagID")
        .join(artists, "artistID")
        .where(F.col("tag") != "")
        .groupBy("artist_key", "tag")
        .agg(F.countDistinct("userID").alias("users"))
    )
    ranked = tag_users.withColumn(
        "rank",
        F.row_number().over(
            Window.partitionBy("artist_key").orderBy(F.col("users").desc(), F.col("tag"))
        ),
    ).where(F.col("rank") <= top_n)
    in_rank_order = F.array_sort(F.collect_list(F.struct("rank", "tag")))
    return ranked.groupBy("artist_key").agg(
        F.transform(in_rank_order, lambda ranked_tag: ranked_tag["tag"]).alias("genres")
    )


def enrich(
    catalog: DataFrame,
    enrichment: DataFrame | None = None,
    artist_genres: DataFrame | None = None,
) -> DataFrame:
    """Fill the catalog's missing duration, release year and genres; what it has stays.

    Sources in order of precedence: the catalog's own value; an enrichment row with the same
    ``track_key``; one without a ``track_key`` but with the same artist and track names; then,
    for genres only, an enrichment row about the track's artist, and last ``artist_genres``
    (e.g. from :func:`artist_genres_from_tags`). Empty genre lists count as missing. A key given
    more than once takes, field by field, the smallest non-null value, so the result never
    depends on row order.
    """
    joined = catalog
    genre_sources = [F.col("genres")]
    duration_sources = [F.col("duration_ms")]
    year_sources = [F.col("release_year")]

    if enrichment is not None:
        facts = [F.min(name).alias(name) for name in ("genres", "release_year", "duration_ms")]
        by_key = enrichment.where(F.col("track_key").isNotNull()).groupBy("track_key").agg(*facts)
        by_names = (
            enrichment.where(F.col("track_key").isNull() & F.col("track_name_key").isNotNull())
            .groupBy("track_name_key")
            .agg(*facts)
        )
        by_artist = (
            enrichment.where(
                F.col("track_key").isNull()
                & F.col("track_name_key").isNull()
                & F.col("artist_key").isNotNull()
            )
            .groupBy("artist_key")
            .agg(F.min("genres").alias("artist_enrichment_genres"))
        )
        catalog_name_key = F.when(
            F.col("track_name").isNotNull(),
            name_key("track", F.col("artist_name"), F.col("track_name")),
        )
        joined = (
            joined.join(_prefixed(by_key, "key_", "track_key"), "track_key", "left")
            .withColumn("track_name_key", catalog_name_key)
            .join(_prefixed(by_names, "names_", "track_name_key"), "track_name_key", "left")
            .join(by_artist, "artist_key", "left")
        )
        genre_sources += [
            F.col("key_genres"),
            F.col("names_genres"),
            F.col("artist_enrichment_genres"),
        ]
        duration_sources += [F.col("key_duration_ms"), F.col("names_duration_ms")]
        year_sources += [F.col("key_release_year"), F.col("names_release_year")]

    if artist_genres is not None:
        tagged = artist_genres.groupBy("artist_key").agg(F.min("genres").alias("tag_genres"))
        joined = joined.join(tagged, "artist_key", "left")
        genre_sources.append(F.col("tag_genres"))

    filled = {
        "genres": F.coalesce(*[F.when(F.size(g) > 0, g) for g in genre_sources]),
        "duration_ms": F.coalesce(*duration_sources),
        "release_year": F.coalesce(*year_sources),
    }
    return joined.select(
        *[
            filled.get(f.name, F.col(f.name)).cast(f.dataType).alias(f.name)
            for f in schema.CATALOG.fields
        ]
    )


def _prefixed(frame: DataFrame, prefix: str, key: str) -> DataFrame:
    return frame.select(key, *[F.col(c).alias(prefix + c) for c in frame.columns if c != key])


def _genre_list(text: Column) -> Column:
    """Genres from a JSON array text or from text separated by | or ;, lower-cased, no empties."""
    as_array = F.from_json(text, ArrayType(StringType()))
    parts = F.when(text.startswith("["), as_array).otherwise(F.split(text, _GENRE_SEPARATORS))
    cleaned = F.transform(parts, lambda genre: F.lower(F.trim(genre)))
    return F.when(
        text.isNotNull(), F.filter(cleaned, lambda genre: genre.isNotNull() & (genre != ""))
    )
