"""Top lists: the tracks, artists, albums, genres and shows each user played most.

Ranking follows the spec's tie rule: metric desc, minutes desc, first play asc, key asc, so the same
input always gives the same list. Each builder aggregates once per (user, item), ranks with one
window partitioned by user and collects the list with one aggregate per user.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import MS_PER_MINUTE, StoryInputs, story_struct, tie_order

PRIMARY_WEIGHT = 1.0
NO_MUSIC = "no music played in the period"


def artist_credits(items: DataFrame, featured_weight: float) -> DataFrame:
    """One row per (rollup row, credited artist) with its ``credit_weight``: 1 primary, else
    ``featured_weight``; the item's other columns are kept."""
    keep = [c for c in items.columns if c not in ("artist_key", "artist_name")]
    primary = items.select(
        *keep, "artist_key", "artist_name", F.lit(PRIMARY_WEIGHT).alias("credit_weight")
    )
    featured = items.select(*keep, F.explode("featured_artists").alias("credit")).select(
        *keep,
        F.col("credit.artist_key").alias("artist_key"),
        F.col("credit.artist_name").alias("artist_name"),
        F.lit(featured_weight).alias("credit_weight"),
    )
    return primary.unionByName(featured).where(F.col("artist_key").isNotNull())


def artist_totals(items: DataFrame, featured_weight: float) -> DataFrame:
    """Per (user, artist): weighted ``streams``, ``minutes`` (all music plays, private included),
    ``first_played_at`` (first qualified stream) and ``name``."""
    credits = artist_credits(items.where(F.col("content_type") == "music"), featured_weight)
    return credits.groupBy("user_id", "artist_key").agg(
        F.sum(F.col("streams") * F.col("credit_weight")).alias("streams"),
        (F.sum(F.col("ms_played") * F.col("credit_weight")) / MS_PER_MINUTE).alias("minutes"),
        F.min("first_stream_at").alias("first_played_at"),
        # A key can carry differently spelled names across sources; pick one deterministically.
        F.max("artist_name").alias("name"),
    )


def period_artist_totals(inputs: StoryInputs) -> DataFrame:
    """:func:`artist_totals` of the period's items, shared by the stories that rank artists."""
    return inputs.shared(
        "period_artist_totals",
        lambda: artist_totals(inputs.items, inputs.settings.featured_weight),
    )


def ranked_within_user(totals: DataFrame, metric: str, key: str) -> DataFrame:
    """Rows of ``totals`` with ``metric > 0``, with ``distinct`` (how many such rows the user has)
    and ``rank`` by the tie rule (needs ``minutes`` and ``first_played_at``)."""
    by_user = Window.partitionBy("user_id")
    return (
        totals.where(F.col(metric) > 0)
        .withColumn("distinct", F.count(F.lit(1)).over(by_user))
        .withColumn("rank", F.row_number().over(by_user.orderBy(*tie_order(metric, key))))
    )


def minutes_of(column: str = "minutes") -> Column:
    return F.round(column, 3).alias(column)


def music_listeners(items: DataFrame) -> DataFrame:
    """``user_id`` and ``played_music`` (true) for every user with a music play in the period."""
    return (
        items.where(F.col("content_type") == "music")
        .select("user_id")
        .distinct()
        .withColumn("played_music", F.lit(True))
    )


def too_few(threshold: int, what: str, count: Column) -> Column:
    """The reason of a list shorter than ``threshold``, or of a user without music."""
    return F.when(F.col("played_music").isNull(), F.lit(NO_MUSIC)).otherwise(
        F.format_string(f"fewer than {threshold} {what} (%d)", count)
    )


def top_tracks(inputs: StoryInputs) -> DataFrame:
    """``top_tracks``: distinct (tracks with a qualified stream), the top ``top_n`` items, the
    top ``top_list_size`` list (rank, name, artist, track_key, streams, minutes) and the date of
    the #1's first play ever (from the whole history, not only the period).
    """
    settings = inputs.settings
    music = inputs.items.where((F.col("content_type") == "music") & F.col("track_key").isNotNull())
    per_track = music.groupBy("user_id", "track_key").agg(
        F.sum("streams").alias("streams"),
        (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes"),
        F.min("first_stream_at").alias("first_played_at"),
        F.max("track_name").alias("name"),
        F.max("artist_name").alias("artist"),
    )
    ranked = ranked_within_user(per_track, "streams", "track_key").where(
        F.col("rank") <= settings.top_list_size
    )
    lists = ranked.groupBy("user_id").agg(
        F.first("distinct").alias("distinct"),
        F.array_sort(
            F.collect_list(
                F.struct(
                    "rank",
                    "name",
                    "artist",
                    "track_key",
                    F.col("streams").cast("long").alias("streams"),
                    minutes_of(),
                )
            )
        ).alias("list"),
    )

    number_one = ranked.where(F.col("rank") == 1).select("user_id", "track_key")
    first_played = (
        inputs.history.join(number_one, ["user_id", "track_key"], "left_semi")
        .groupBy("user_id")
        .agg(F.min("local_date").alias("number_one_first_played"))
    )

    distinct = F.coalesce(F.col("distinct"), F.lit(0))
    top_list = F.coalesce(F.col("list"), F.array())
    return (
        inputs.listeners.select("user_id")
        .join(music_listeners(inputs.items), "user_id", "left")
        .join(lists, "user_id", "left")
        .join(first_played, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                distinct >= settings.min_distinct_tracks,
                too_few(
                    settings.min_distinct_tracks,
                    "distinct tracks with a qualified stream",
                    distinct,
                ),
                distinct.cast("int").alias("distinct"),
                F.filter(top_list, lambda item: item["rank"] <= settings.top_n).alias("items"),
                top_list.alias("list"),
                F.col("number_one_first_played"),
            ).alias("top_tracks"),
        )
    )


def fan_bucket(top_percent: Column, buckets: tuple[float, ...]) -> Column:
    """The smallest bucket (a percentage) that ``top_percent`` is within; null beyond the last."""
    bucket: Column | None = None
    for limit in buckets:
        condition = top_percent <= limit
        bucket = (
            F.when(condition, F.lit(float(limit)))
            if bucket is None
            else bucket.when(condition, F.lit(float(limit)))
        )
    return bucket if bucket is not None else F.lit(None).cast("double")


def number_one_fans(
    per_artist: DataFrame, number_ones: DataFrame, listeners: DataFrame, inputs: StoryInputs
) -> DataFrame:
    """Per user, ``number_one_fan``: where the user stands among the listeners of their #1 artist.

    An artist's listeners are the period's listeners with any minutes of it (featured credits
    count at their weight). The user's place is the share of those listeners with at least as
    many minutes (``top_percent``), shown as the smallest of ``fan_buckets`` it is within. Only
    where the artist has ``min_population`` listeners: below that, ``top_percent`` and
    ``listeners`` are null.
    """
    settings = inputs.settings
    by_artist = Window.partitionBy("artist_key")
    fans = (
        per_artist.join(listeners, "user_id", "left_semi")
        # Only the #1 artists of someone need their listeners ranked.
        .join(number_ones.select("artist_key").distinct(), "artist_key", "left_semi")
        .withColumn("listeners", F.count(F.lit(1)).over(by_artist))
        # rank() - 1 over ascending minutes: how many listeners have strictly fewer minutes.
        .withColumn("fewer", F.rank().over(by_artist.orderBy("minutes")) - 1)
    )
    enough = F.col("listeners") >= settings.min_population
    top_percent = (F.col("listeners") - F.col("fewer")) * 100.0 / F.col("listeners")
    return number_ones.join(
        fans.select("user_id", "artist_key", "listeners", "fewer"),
        ["user_id", "artist_key"],
    ).select(
        "user_id",
        F.struct(
            "artist_key",
            "name",
            F.when(enough, fan_bucket(top_percent, settings.fan_buckets)).alias("top_percent"),
            F.when(enough, F.col("listeners")).cast("long").alias("listeners"),
        ).alias("number_one_fan"),
    )


def top_artists(inputs: StoryInputs) -> DataFrame:
    """``top_artists``: distinct, the ranked items (rank, name, artist_key, streams, minutes) and
    ``number_one_fan`` (see :func:`number_one_fans`).

    Streams are weighted by artist credit; only artists with a qualified stream rank. Every
    listener gets a row; without music it is not eligible.
    """
    settings = inputs.settings
    per_artist = period_artist_totals(inputs)

    ranked = ranked_within_user(per_artist, "streams", "artist_key").where(
        F.col("rank") <= settings.top_n
    )
    items = ranked.groupBy("user_id").agg(
        F.first("distinct").alias("distinct"),
        F.array_sort(
            F.collect_list(
                F.struct(
                    "rank",
                    "name",
                    "artist_key",
                    F.round("streams", 3).alias("streams"),
                    minutes_of(),
                )
            )
        ).alias("items"),
    )
    listeners = inputs.listeners.select("user_id")
    fans = number_one_fans(
        per_artist,
        ranked.where(F.col("rank") == 1).select("user_id", "artist_key", "name"),
        listeners,
        inputs,
    )

    distinct = F.coalesce(F.col("distinct"), F.lit(0))
    return (
        listeners.join(music_listeners(inputs.items), "user_id", "left")
        .join(items, "user_id", "left")
        .join(fans, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                distinct >= settings.min_distinct_artists,
                too_few(
                    settings.min_distinct_artists,
                    "distinct artists with a qualified stream",
                    distinct,
                ),
                distinct.cast("int").alias("distinct"),
                F.coalesce(F.col("items"), F.array()).alias("items"),
                F.col("number_one_fan"),
            ).alias("top_artists"),
        )
    )


def top_albums(inputs: StoryInputs) -> DataFrame:
    """``top_albums``: the top ``top_n`` albums (rank, name, artist, album_key, streams, minutes,
    tracks_played, album_tracks) by qualified streams on their tracks.

    An album counts only where the user played at least ``album_min_track_share`` of its tracks;
    where the catalog does not know the album's size, it counts.
    """
    settings = inputs.settings
    share = settings.album_min_track_share
    music = inputs.items.where((F.col("content_type") == "music") & F.col("album_key").isNotNull())
    per_album = music.groupBy("user_id", "album_key").agg(
        F.sum("streams").alias("streams"),
        (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes"),
        F.min("first_stream_at").alias("first_played_at"),
        F.max("album_name").alias("name"),
        F.max("artist_name").alias("artist"),
        F.countDistinct("track_key").cast("int").alias("tracks_played"),
        F.max("album_track_count").cast("int").alias("album_tracks"),
    )
    played_share = F.try_divide(F.col("tracks_played"), F.col("album_tracks"))
    counted = F.col("album_tracks").isNull() | (played_share >= share)
    ranked = ranked_within_user(per_album.where(counted), "streams", "album_key").where(
        F.col("rank") <= settings.top_n
    )
    items = ranked.groupBy("user_id").agg(
        F.array_sort(
            F.collect_list(
                F.struct(
                    "rank",
                    "name",
                    "artist",
                    "album_key",
                    F.col("streams").cast("long").alias("streams"),
                    minutes_of(),
                    "tracks_played",
                    "album_tracks",
                )
            )
        ).alias("items")
    )
    # For the reason: the best share of any streamed album, when none counted.
    best_share = (
        per_album.where(F.col("streams") > 0)
        .groupBy("user_id")
        .agg(F.max(F.coalesce(played_share, F.lit(1.0))).alias("best_share"))
    )

    reason = (
        F.when(F.col("played_music").isNull(), F.lit(NO_MUSIC))
        .when(
            F.col("best_share").isNull(),
            F.lit("no qualified stream of a track with a known album"),
        )
        .otherwise(
            F.format_string(
                f"no album with at least {share * 100:g} %% of its tracks played (best %d %%)",
                F.floor(F.col("best_share") * 100).cast("int"),
            )
        )
    )
    return (
        inputs.listeners.select("user_id")
        .join(music_listeners(inputs.items), "user_id", "left")
        .join(items, "user_id", "left")
        .join(best_share, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                F.col("items").isNotNull(),
                reason,
                F.coalesce(F.col("items"), F.array()).alias("items"),
            ).alias("top_albums"),
        )
    )


def top_genres(inputs: StoryInputs) -> DataFrame:
    """``top_genres``: distinct genres and the top ``top_n`` (rank, genre, streams, share).

    Each qualified stream's weight is split equally over its track's genres (the artist's where
    the track has none); a genre's share is its weight over the user's total genre weight.
    Minutes split the same way, for the tie rule.
    """
    settings = inputs.settings
    with_genres = inputs.items.where(
        (F.col("content_type") == "music") & (F.col("streams") > 0) & (F.size("genres") > 0)
    )
    split = with_genres.select(
        "user_id",
        F.explode("genres").alias("genre"),
        (F.col("streams") / F.size("genres")).alias("streams"),
        (F.col("ms_played") / F.size("genres")).alias("ms_played"),
        "first_stream_at",
    )
    per_genre = split.groupBy("user_id", "genre").agg(
        F.sum("streams").alias("streams"),
        (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes"),
        F.min("first_stream_at").alias("first_played_at"),
    )
    by_user = Window.partitionBy("user_id")
    ranked = (
        ranked_within_user(per_genre, "streams", "genre")
        .withColumn("share", F.col("streams") / F.sum("streams").over(by_user))
        .where(F.col("rank") <= settings.top_n)
    )
    items = ranked.groupBy("user_id").agg(
        F.first("distinct").alias("distinct"),
        F.array_sort(
            F.collect_list(
                F.struct(
                    "rank",
                    "genre",
                    F.round("streams", 3).alias("streams"),
                    F.round("share", 4).alias("share"),
                )
            )
        ).alias("items"),
    )
    streamed = (
        inputs.items.where(F.col("streams") > 0)
        .select("user_id")
        .distinct()
        .withColumn("streamed", F.lit(True))
    )

    reason = (
        F.when(F.col("played_music").isNull(), F.lit(NO_MUSIC))
        .when(F.col("streamed").isNull(), F.lit("no qualified stream in the period"))
        .otherwise(F.lit("the catalog gives no genres for the streamed tracks"))
    )
    return (
        inputs.listeners.select("user_id")
        .join(music_listeners(inputs.items), "user_id", "left")
        .join(streamed, "user_id", "left")
        .join(items, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                F.col("items").isNotNull(),
                reason,
                F.coalesce(F.col("distinct"), F.lit(0)).cast("int").alias("distinct"),
                F.coalesce(F.col("items"), F.array()).alias("items"),
            ).alias("top_genres"),
        )
    )


def top_podcasts(inputs: StoryInputs) -> DataFrame:
    """``top_podcasts``: podcast minutes, the top ``top_n`` shows (rank, name, show_key, minutes,
    plays) by minutes, with no 30 s rule, and the #1's share of the podcast minutes."""
    settings = inputs.settings
    podcasts = inputs.items.where(
        (F.col("content_type") == "podcast") & F.col("show_key").isNotNull()
    )
    per_show = podcasts.groupBy("user_id", "show_key").agg(
        (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes"),
        F.sum("plays").cast("long").alias("plays"),
        F.min("first_started_at").alias("first_played_at"),
        F.max("show_name").alias("name"),
    )
    by_user = Window.partitionBy("user_id")
    ranked = (
        per_show.withColumn("total_minutes", F.sum("minutes").over(by_user))
        .withColumn("rank", F.row_number().over(by_user.orderBy(*tie_order("minutes", "show_key"))))
        .where(F.col("rank") <= settings.top_n)
    )
    number_one = F.when(F.col("rank") == 1, F.col("minutes"))
    shows = ranked.groupBy("user_id").agg(
        F.first("total_minutes").alias("total_minutes"),
        F.try_divide(F.max(number_one), F.first("total_minutes")).alias("number_one_share"),
        F.array_sort(
            F.collect_list(F.struct("rank", "name", "show_key", minutes_of(), "plays"))
        ).alias("items"),
    )
    return (
        inputs.listeners.select("user_id")
        .join(shows, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                F.col("items").isNotNull(),
                F.lit("no podcast played in the period"),
                F.round(F.coalesce(F.col("total_minutes"), F.lit(0.0)), 3).alias("minutes"),
                F.coalesce(F.col("items"), F.array()).alias("items"),
                F.round("number_one_share", 4).alias("number_one_share"),
            ).alias("top_podcasts"),
        )
    )
