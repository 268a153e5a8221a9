"""The recommender's stories and the cold-start fallback, as DataFrame transforms.

Four stories of the spec's "Stories from the recommender", each one struct column per user:

- ``discover``: the model's best-scored tracks the user never played, at most ``per_artist`` per
  artist; users with too little history get the cold-start fallback here instead (``source``
  says which).
- ``rediscover``: the best-scored tracks the user played, whose last play is at least
  ``rediscover_days`` before the period's end.
- ``taste_twins``: the users whose factors are closest by cosine, only among users who opted in,
  with the artists both listen to.
- ``similar_artists``: for each of the user's top artists, the artists closest by cosine of the
  track factors averaged per artist.

Every story struct has ``eligible`` (bool), ``reason`` (null when eligible), ``source`` (``model``
or ``genre_popularity``) and ``items``, an array of :data:`STORY_ITEM` structs ordered by rank.
The cold-start fallback, popularity within the user's top genres, also feeds
``gold.recommendations``.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from spinback.recommend.dataset import USER_INDEX, USER_KEY, assign_ids
from spinback.recommend.topk import top_k

logger = logging.getLogger(__name__)

# One entry of a story's list. `artist` is the track's artist (discover, rediscover) or, for
# similar artists, the user's top artist the entry resembles; `shared_artists` only for twins.
# `rank` is never null, but it is declared nullable: ranks that come straight from top_k's Arrow
# function are nullable to Spark, and a cast cannot make a nullable field non-nullable.
STORY_ITEM = StructType(
    [
        StructField("rank", IntegerType(), True),
        StructField("key", StringType(), True),
        StructField("name", StringType(), True),
        StructField("artist", StringType(), True),
        StructField("score", DoubleType(), True),
        StructField("shared_artists", ArrayType(StringType()), True),
    ]
)

STORY = StructType(
    [
        StructField("eligible", BooleanType(), False),
        StructField("reason", StringType(), True),
        StructField("source", StringType(), True),
        StructField("items", ArrayType(STORY_ITEM), True),
    ]
)

STORY_NAMES = ("discover", "rediscover", "taste_twins", "similar_artists")

MODEL_SOURCE, FALLBACK_SOURCE = "model", "genre_popularity"


def dot(left: Column, right: Column) -> Column:
    """The dot product of two equal-length numeric arrays, as a double."""
    return F.aggregate(
        F.zip_with(left, right, lambda a, b: a.cast("double") * b.cast("double")),
        F.lit(0.0),
        lambda total, x: total + x,
    )


def unit_vectors(factors: DataFrame) -> DataFrame:
    """Factors (``id``, ``features``) scaled to length 1; zero vectors are dropped."""
    length = F.sqrt(dot(F.col("features"), F.col("features")))
    return (
        factors.withColumn("length", length)
        .where(F.col("length") > 0)
        .select("id", F.transform("features", lambda x: x / F.col("length")).alias("features"))
    )


# --- recommendations ------------------------------------------------------------------------------


def with_reasons(ranked: DataFrame, user_artists: DataFrame) -> DataFrame:
    """Add ``reason`` to the model's tracks: the artist the user already plays, else taste.

    ``ranked`` has ``user_id``, ``artist_key`` and ``artist_name``; ``user_artists`` the
    ``user_id, artist_key`` pairs the user streamed in the window.
    """
    known = user_artists.select(USER_KEY, "artist_key").distinct().withColumn("known", F.lit(True))
    return (
        ranked.join(known, [USER_KEY, "artist_key"], "left")
        .withColumn(
            "reason",
            F.when(
                F.col("known"),
                F.concat(F.lit("more from "), F.col("artist_name"), F.lit(", whom you play")),
            ).otherwise(F.lit("played by listeners with your taste")),
        )
        .drop("known")
    )


def genre_fallback(
    cold_users: DataFrame,
    listening: DataFrame,
    catalog: DataFrame,
    k: int,
    genres_per_user: int,
    history_limit: int,
) -> DataFrame:
    """Cold start: the tracks with most listeners in each user's top genres, unplayed, top ``k``.

    ``cold_users`` has ``user_id``; ``listening`` is ``user_id, track_key, play_count`` over the
    window (all users); ``catalog`` has ``track_key`` and ``genres``. A user's top genres are
    the ``genres_per_user`` genres of most streams (ties by name); a track's score is its number
    of listeners. Users without any genre (no plays, or none with a genre) get the overall chart.

    Each chart keeps ``k + history_limit`` tracks, enough for users who played fewer than
    ``history_limit`` tracks (the cold-start threshold). Returns ``user_id, track_key, score,
    rank, reason``.
    """
    track_genres = catalog.select("track_key", F.explode("genres").alias("genre"))
    chart_size = k + history_limit

    top_genres = (
        listening.join(cold_users, USER_KEY, "left_semi")
        .join(track_genres, "track_key")
        .groupBy(USER_KEY, "genre")
        .agg(F.sum("play_count").alias("streams"))
        .withColumn(
            "genre_rank",
            F.row_number().over(Window.partitionBy(USER_KEY).orderBy(F.desc("streams"), "genre")),
        )
        .where(F.col("genre_rank") <= genres_per_user)
    )
    listeners = listening.groupBy("track_key").agg(F.countDistinct(USER_KEY).alias("listeners"))
    genre_charts = (
        listeners.join(track_genres, "track_key")
        .withColumn(
            "chart_rank",
            F.row_number().over(
                Window.partitionBy("genre").orderBy(F.desc("listeners"), "track_key")
            ),
        )
        .where(F.col("chart_rank") <= chart_size)
    )
    overall_chart = listeners.orderBy(F.desc("listeners"), "track_key").limit(chart_size)

    by_genre = top_genres.join(genre_charts, "genre").select(
        USER_KEY,
        "track_key",
        "listeners",
        "genre_rank",
        F.concat(F.lit("popular in "), F.col("genre")).alias("reason"),
    )
    without_genres = cold_users.join(top_genres, USER_KEY, "left_anti")
    overall = without_genres.crossJoin(F.broadcast(overall_chart)).select(
        USER_KEY,
        "track_key",
        "listeners",
        F.lit(0).alias("genre_rank"),
        F.lit("popular with all listeners").alias("reason"),
    )

    # A track in several of the user's genres counts once, for the user's first such genre.
    once = Window.partitionBy(USER_KEY, "track_key").orderBy("genre_rank")
    best_first = Window.partitionBy(USER_KEY).orderBy(F.desc("listeners"), "track_key")
    return (
        by_genre.unionByName(overall)
        .join(listening.select(USER_KEY, "track_key"), [USER_KEY, "track_key"], "left_anti")
        .withColumn("once", F.row_number().over(once))
        .where(F.col("once") == 1)
        .withColumn("rank", F.row_number().over(best_first))
        .where(F.col("rank") <= k)
        .select(
            USER_KEY,
            "track_key",
            F.col("listeners").cast("double").alias("score"),
            F.col("rank").cast("int").alias("rank"),
            "reason",
        )
    )


# --- stories ------------------------------------------------------------------------------------


def discover_story(
    ranked: DataFrame, fallback: DataFrame, catalog: DataFrame, size: int, per_artist: int
) -> DataFrame:
    """``user_id, discover``: the model's unplayed tracks, at most ``per_artist`` per artist.

    ``ranked`` holds the model's ``user_id, track_key, score, rank`` (unplayed tracks, enough of
    them to leave ``size`` after the artist cap); ``fallback`` the cold-start tracks in the same
    columns, for users the model does not rank.
    """
    per_artist_order = Window.partitionBy(USER_KEY, "artist_key").orderBy("rank")
    capped = (
        ranked.join(catalog.select("track_key", "artist_key"), "track_key", "left")
        .withColumn("artist_key", F.coalesce("artist_key", "track_key"))
        .withColumn("artist_position", F.row_number().over(per_artist_order))
        .where(F.col("artist_position") <= per_artist)
        .drop("artist_position", "artist_key")
    )
    from_model = _top_tracks(capped, catalog, size).withColumn("source", F.lit(MODEL_SOURCE))
    from_fallback = _top_tracks(
        fallback.join(ranked, USER_KEY, "left_anti"), catalog, size
    ).withColumn("source", F.lit(FALLBACK_SOURCE))
    return _as_story(from_model.unionByName(from_fallback), "discover")


def rediscover_story(
    played: DataFrame,
    user_factors: DataFrame,
    item_factors: DataFrame,
    catalog: DataFrame,
    size: int,
) -> DataFrame:
    """``user_id, rediscover``: the best-scored tracks among those played long enough ago.

    ``played`` holds ``user_id, user_index, item_index, track_key`` of the tracks whose last play
    is far enough before the period's end (the caller applies the rule). Scores are the dot
    products of the user's and the track's factors, computed for those pairs only.
    """
    users = user_factors.select(F.col("id").alias(USER_INDEX), F.col("features").alias("user_f"))
    items = item_factors.select(F.col("id").alias("item_index"), F.col("features").alias("item_f"))
    scored = (
        played.join(users, USER_INDEX)
        .join(items, "item_index")
        .withColumn("score", dot(F.col("user_f"), F.col("item_f")))
        .withColumn(
            "rank",
            F.row_number().over(Window.partitionBy(USER_KEY).orderBy(F.desc("score"), "track_key")),
        )
        .where(F.col("rank") <= size)
        .select(USER_KEY, "track_key", "score", "rank")
    )
    return _as_story(
        _top_tracks(scored, catalog, size).withColumn("source", F.lit(MODEL_SOURCE)), "rediscover"
    )


def taste_twins_story(
    user_factors: DataFrame,
    opted_in: DataFrame,
    user_artists: DataFrame,
    twins: int,
    shared_artists: int,
    block_size: int,
) -> DataFrame:
    """``user_id, taste_twins``: the closest opted-in users by cosine, and artists they share.

    ``opted_in`` has ``user_id, user_index`` of the users who opted in; only they are compared,
    and only with each other. ``user_artists`` has ``user_id, artist_key, artist_name,
    streams`` over the window; shared artists are ranked by the streams of both users together.
    """
    vectors = unit_vectors(user_factors).join(
        opted_in.select(F.col(USER_INDEX).alias("id")), "id", "left_semi"
    )
    themselves = opted_in.select(USER_INDEX, F.col(USER_INDEX).alias("twin_index"))
    nearest = top_k(
        vectors,
        vectors,
        twins,
        excluded=themselves,
        query_column=USER_INDEX,
        candidate_column="twin_index",
        query_block_size=block_size,
        candidate_block_size=block_size,
    )
    twin_ids = opted_in.select(
        F.col(USER_KEY).alias("twin_id"), F.col(USER_INDEX).alias("twin_index")
    )
    pairs = nearest.join(opted_in, USER_INDEX).join(twin_ids, "twin_index")

    theirs = user_artists.select(
        F.col(USER_KEY).alias("twin_id"), "artist_key", F.col("streams").alias("twin_streams")
    )
    shared = (
        pairs.select(USER_KEY, "twin_id")
        .join(user_artists, USER_KEY)
        .join(theirs, ["twin_id", "artist_key"])
        .withColumn("together", F.col("streams") + F.col("twin_streams"))
        .withColumn(
            "shared_rank",
            F.row_number().over(
                Window.partitionBy(USER_KEY, "twin_id").orderBy(F.desc("together"), "artist_key")
            ),
        )
        .where(F.col("shared_rank") <= shared_artists)
        .groupBy(USER_KEY, "twin_id")
        .agg(F.array_sort(F.collect_list(F.struct("shared_rank", "artist_name"))).alias("shared"))
        .select(USER_KEY, "twin_id", F.col("shared.artist_name").alias("shared_artists"))
    )
    items = pairs.join(shared, [USER_KEY, "twin_id"], "left").select(
        USER_KEY,
        _item(
            F.col("rank"),
            F.col("twin_id"),
            F.col("twin_id"),
            F.lit(None),
            F.col("score"),
            F.coalesce(F.col("shared_artists"), F.array().cast("array<string>")),
        ),
    )
    return _as_story(items.withColumn("source", F.lit(MODEL_SOURCE)), "taste_twins")


def artist_vectors(item_factors: DataFrame, track_artists: DataFrame) -> DataFrame:
    """Per artist, the mean of its tracks' unit factors, with a dense int ``id`` for the top-k.

    ``track_artists`` has ``item_index, artist_key, artist_name``. Returns ``id, features,
    artist_key, artist_name``. The element-wise mean is a group-by over (artist, dimension).
    """
    exploded = (
        unit_vectors(item_factors)
        .join(track_artists.withColumnRenamed("item_index", "id"), "id")
        .select("artist_key", F.posexplode("features").alias("dimension", "value"))
    )
    means = (
        exploded.groupBy("artist_key", "dimension")
        .agg(F.avg("value").alias("value"))
        .groupBy("artist_key")
        .agg(F.array_sort(F.collect_list(F.struct("dimension", "value"))).alias("ordered"))
        .select("artist_key", F.col("ordered.value").cast("array<float>").alias("features"))
    )
    names = track_artists.groupBy("artist_key").agg(F.min("artist_name").alias("artist_name"))
    ids = assign_ids(means, None, "artist_key", "id")
    return means.join(ids, "artist_key").join(names, "artist_key")


def similar_artists_story(
    artists: DataFrame,
    top_artists: DataFrame,
    similar: int,
    block_size: int,
) -> DataFrame:
    """``user_id, similar_artists``: for each top artist of the user, the closest artists.

    ``artists`` comes from :func:`artist_vectors`; ``top_artists`` has ``user_id, artist_key,
    artist_rank``. Items are numbered top artist by top artist: the first top artist's similar
    artists come first, each entry naming in ``artist`` the top artist it resembles.
    """
    vectors = unit_vectors(artists.select("id", "features"))
    themselves = vectors.select(F.col("id").alias("artist_id"), F.col("id").alias("similar_id"))
    nearest = top_k(
        vectors,
        vectors,
        similar,
        excluded=themselves,
        query_column="artist_id",
        candidate_column="similar_id",
        query_block_size=block_size,
        candidate_block_size=block_size,
    )
    names = artists.select("id", "artist_key", "artist_name")
    similar_named = nearest.join(names.withColumnRenamed("id", "artist_id"), "artist_id").join(
        names.select(
            F.col("id").alias("similar_id"),
            F.col("artist_key").alias("similar_key"),
            F.col("artist_name").alias("similar_name"),
        ),
        "similar_id",
    )
    items = (
        top_artists.select(USER_KEY, "artist_key", "artist_rank")
        .join(similar_named, "artist_key")
        .select(
            USER_KEY,
            _item(
                ((F.col("artist_rank") - 1) * similar + F.col("rank")).cast("int"),
                F.col("similar_key"),
                F.col("similar_name"),
                F.col("artist_name"),
                F.col("score"),
                F.lit(None),
            ),
        )
    )
    return _as_story(items.withColumn("source", F.lit(MODEL_SOURCE)), "similar_artists")


def assemble_stories(
    users: DataFrame, period: str, stories: dict[str, DataFrame], reasons: dict[str, Column]
) -> DataFrame:
    """One row per user of ``users``: ``user_id, period`` and one struct column per story.

    ``stories`` maps each of :data:`STORY_NAMES` to a ``user_id, <name>`` frame (eligible
    stories only). A user missing from a story frame gets ``eligible = false`` and the reason
    that ``reasons[name]`` computes from the columns of ``users``.
    """
    assembled = users
    for name in STORY_NAMES:
        assembled = assembled.join(stories[name], USER_KEY, "left")
    return assembled.select(
        USER_KEY,
        F.lit(period).alias("period"),
        *(
            F.coalesce(
                F.col(name),
                F.struct(
                    F.lit(False).alias("eligible"),
                    reasons[name].alias("reason"),
                    F.lit(None).cast("string").alias("source"),
                    F.lit(None).cast(ArrayType(STORY_ITEM)).alias("items"),
                ),
            )
            .cast(STORY)
            .alias(name)
            for name in STORY_NAMES
        ),
    )


def _top_tracks(tracks: DataFrame, catalog: DataFrame, size: int) -> DataFrame:
    """Re-rank ``user_id, track_key, score, rank`` rows 1..size per user, as story items."""
    best_first = Window.partitionBy(USER_KEY).orderBy("rank", "track_key")
    return (
        tracks.withColumn("position", F.row_number().over(best_first))
        .where(F.col("position") <= size)
        .join(catalog.select("track_key", "track_name", "artist_name"), "track_key", "left")
        .select(
            USER_KEY,
            _item(
                F.col("position").cast("int"),
                F.col("track_key"),
                F.col("track_name"),
                F.col("artist_name"),
                F.col("score"),
                F.lit(None),
            ),
        )
    )


def _item(
    rank: Column, key: Column, name: Column, artist: Column, score: Column, shared: Column
) -> Column:
    return F.struct(
        rank.alias("rank"),
        key.alias("key"),
        name.alias("name"),
        artist.cast("string").alias("artist"),
        score.cast("double").alias("score"),
        shared.cast("array<string>").alias("shared_artists"),
    ).alias("item")


def _as_story(items: DataFrame, name: str) -> DataFrame:
    """Collect ``user_id, item, source`` rows into one eligible story struct per user.

    Users without items are absent; :func:`assemble_stories` says why they are not eligible.
    """
    return items.groupBy(USER_KEY).agg(
        F.struct(
            F.lit(True).alias("eligible"),
            F.lit(None).cast("string").alias("reason"),
            F.first("source").alias("source"),
            F.array_sort(F.collect_list("item")).alias("items"),
        ).alias(name)
    )
