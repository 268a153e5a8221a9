"""Top lists: the artists (and later tracks, albums, genres, shows) each user played most.

Ranking follows the spec's tie rule: metric desc, minutes desc, first play asc, key asc, so the same
input always gives the same list.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

PRIMARY_WEIGHT = 1.0


def is_qualified_stream(min_stream_ms: int) -> Column:
    """The `spotify` stream rule: music, played at least ``min_stream_ms``, not private."""
    return (
        (F.col("content_type") == "music")
        & (F.col("ms_played") >= min_stream_ms)
        & ~F.coalesce(F.col("private"), F.lit(False))
    )


def artist_credits(music_plays: DataFrame, featured_weight: float) -> DataFrame:
    """One row per (play, credited artist) with its ``credit_weight``: 1 primary, else featured."""
    keep = [c for c in music_plays.columns if c not in ("artist_key", "artist_name")]
    primary = music_plays.select(
        *keep, "artist_key", "artist_name", F.lit(PRIMARY_WEIGHT).alias("credit_weight")
    )
    featured = music_plays.select(*keep, F.explode("featured_artists").alias("credit")).select(
        *keep,
        F.col("credit.artist_key").alias("artist_key"),
        F.col("credit.artist_name").alias("artist_name"),
        F.lit(featured_weight).alias("credit_weight"),
    )
    return primary.unionByName(featured).where(F.col("artist_key").isNotNull())


def top_artists(
    period_plays: DataFrame,
    listeners: DataFrame,
    *,
    min_stream_ms: int,
    featured_weight: float,
    top_n: int,
    min_distinct_artists: int,
) -> DataFrame:
    """Per user: ``top_artists`` struct of eligible, reason, distinct and the ranked items.

    ``period_plays`` are the user's plays in the period with ``local_started_at``. Streams are
    weighted by artist credit; minutes are the credited share of ``ms_played`` over all music plays
    (private ones included, as the spec counts minutes); only artists with a qualified stream rank.
    Every user in ``listeners`` gets a row; without a qualified stream it is not eligible.
    """
    credits = artist_credits(period_plays.where(F.col("content_type") == "music"), featured_weight)
    qualified = is_qualified_stream(min_stream_ms)
    per_artist = credits.groupBy("user_id", "artist_key").agg(
        F.sum(F.when(qualified, F.col("credit_weight")).otherwise(0.0)).alias("streams"),
        (F.sum(F.col("ms_played") * F.col("credit_weight")) / 60_000).alias("minutes"),
        F.min(F.when(qualified, F.col("local_started_at"))).alias("first_played_at"),
        # A key can carry differently spelled names across sources; pick one deterministically.
        F.max("artist_name").alias("name"),
    )

    by_user = Window.partitionBy("user_id")
    ranking = by_user.orderBy(
        F.col("streams").desc(),
        F.col("minutes").desc(),
        F.col("first_played_at").asc(),
        F.col("artist_key").asc(),
    )
    ranked = (
        per_artist.where(F.col("streams") > 0)
        .withColumn("distinct", F.count(F.lit(1)).over(by_user))
        .withColumn("rank", F.row_number().over(ranking))
        .where(F.col("rank") <= top_n)
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
                    F.round("minutes", 3).alias("minutes"),
                )
            )
        ).alias("items"),
    )

    music_listeners = credits.select("user_id").distinct().withColumn("played_music", F.lit(True))
    distinct = F.coalesce(F.col("distinct"), F.lit(0))
    too_few = f"fewer than {min_distinct_artists} distinct artists with a qualified stream (%d)"
    return (
        listeners.join(music_listeners, "user_id", "left")
        .join(items, "user_id", "left")
        .select(
            "user_id",
            F.struct(
                (distinct >= min_distinct_artists).alias("eligible"),
                F.when(F.col("played_music").isNull(), F.lit("no music played in the period"))
                .when(
                    distinct < min_distinct_artists,
                    F.format_string(too_few, distinct),
                )
                .alias("reason"),
                distinct.cast("int").alias("distinct"),
                F.coalesce(F.col("items"), F.array()).alias("items"),
            ).alias("top_artists"),
        )
    )
