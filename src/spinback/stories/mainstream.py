"""Mainstream: how popular the music a user plays is among all listeners of the period.

An artist's popularity is how many listeners of the period streamed it (as primary artist). Each
artist gets the percent rank of that popularity among all artists, and a user's score is 100 x the
stream-weighted mean of their artists' percent ranks: 0 is the fringe, 100 the charts. The rarest
listen is the user's track, played at least ``rarest_min_plays`` times, that the fewest listeners
played at all.

Everything here is a population statistic: below ``min_population`` listeners nothing is shown.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spinback.stories.inputs import StoryInputs, percent_rank_among, population_size, story_struct

PERCENT_DECIMALS = 1


def listener_music(inputs: StoryInputs) -> DataFrame:
    """The period's music rollup rows of the listeners (users who opted out are not counted)."""
    return inputs.items.where(F.col("content_type") == "music").join(
        inputs.listeners.select("user_id"), "user_id", "left_semi"
    )


def artist_streams(inputs: StoryInputs) -> DataFrame:
    """Per (user, primary artist) with a qualified stream in the period: ``streams``."""
    return (
        listener_music(inputs)
        .where((F.col("streams") > 0) & F.col("artist_key").isNotNull())
        .groupBy("user_id", "artist_key")
        .agg(F.sum("streams").alias("streams"))
    )


def artist_popularity(user_artists: DataFrame) -> DataFrame:
    """Per artist: ``listeners`` (distinct users streaming it) and its ``percent_rank`` among all
    artists of the period (see :func:`percent_rank_among`)."""
    listeners = user_artists.groupBy("artist_key").agg(F.count(F.lit(1)).alias("listeners"))
    return percent_rank_among(listeners, "listeners")


def mainstream_scores(inputs: StoryInputs) -> DataFrame:
    """Per user with a qualified stream: ``score``, 100 x the stream-weighted mean percent rank of
    the popularity of their artists (unrounded; personality splits on it too).

    Not gated by population size: callers show it only with ``min_population`` listeners.
    """
    user_artists = artist_streams(inputs)
    popularity = artist_popularity(user_artists).select("artist_key", "percent_rank")
    weighted = F.sum(F.col("streams") * F.col("percent_rank")) / F.sum("streams")
    return (
        user_artists.join(popularity, "artist_key")
        .groupBy("user_id")
        .agg((100 * weighted).alias("score"))
    )


def rarest_listens(inputs: StoryInputs) -> DataFrame:
    """Per user: ``rarest_listen``, among the tracks they played at least ``rarest_min_plays``
    times, the one the fewest listeners played (ties: track key asc)."""
    tracks = listener_music(inputs).where(F.col("track_key").isNotNull())
    per_user_track = tracks.groupBy("user_id", "track_key").agg(
        F.sum("plays").alias("plays"),
        F.max("track_name").alias("name"),
        F.max("artist_name").alias("artist"),
    )
    track_listeners = per_user_track.groupBy("track_key").agg(F.count(F.lit(1)).alias("listeners"))
    # The smallest struct orders by its first fields: fewest listeners, then track key.
    rarest = F.min(
        F.struct(
            "listeners",
            "track_key",
            "name",
            "artist",
            F.col("plays").cast("long").alias("plays"),
        )
    )
    return (
        per_user_track.where(F.col("plays") >= inputs.settings.rarest_min_plays)
        .join(track_listeners, "track_key")
        .groupBy("user_id")
        .agg(rarest.alias("rarest"))
        .select(
            "user_id",
            F.struct(
                F.col("rarest.track_key").alias("track_key"),
                F.col("rarest.name").alias("name"),
                F.col("rarest.artist").alias("artist"),
                F.col("rarest.listeners").alias("listeners"),
                F.col("rarest.plays").alias("plays"),
            ).alias("rarest_listen"),
        )
    )


def population_reason(min_population: int) -> Column:
    """The reason a population statistic is withheld; needs the ``population`` column."""
    return F.format_string(
        f"the period has %d listeners, fewer than the {min_population} needed for "
        "population statistics",
        F.col("population"),
    )


def mainstream(inputs: StoryInputs) -> DataFrame:
    """``mainstream``: score (0-100), more_adventurous_than_percent (percent of listeners with a
    higher score) and rarest_listen (track_key, name, artist, listeners, plays)."""
    scores = inputs.shared("mainstream_scores", lambda: mainstream_scores(inputs))
    adventurous = percent_rank_among(scores.withColumn("negated", -F.col("score")), "negated")

    streamed = F.col("score").isNotNull()
    enough = F.col("population") >= inputs.settings.min_population
    eligible = streamed & enough
    reason = F.when(~streamed, F.lit("no qualified stream in the period")).otherwise(
        population_reason(inputs.settings.min_population)
    )
    return (
        inputs.listeners.select("user_id")
        .crossJoin(F.broadcast(population_size(inputs.listeners)))
        .join(adventurous.select("user_id", "score", "percent_rank"), "user_id", "left")
        .join(rarest_listens(inputs), "user_id", "left")
        .select(
            "user_id",
            story_struct(
                eligible,
                reason,
                F.when(eligible, F.round("score", PERCENT_DECIMALS)).alias("score"),
                F.when(eligible, F.round(100 * F.col("percent_rank"), PERCENT_DECIMALS)).alias(
                    "more_adventurous_than_percent"
                ),
                F.when(eligible, F.col("rarest_listen")).alias("rarest_listen"),
            ).alias("mainstream"),
        )
    )
