"""Behaviour: how a user listens (skips, finished tracks, shuffle, offline) and on what platforms.

Each rate is taken over the plays that recorded the behaviour at all: scrobbles say nothing of
skips or shuffle, and counting them as "not skipped" would make a rate up. Skips and completions
are rates of music plays (an episode left half-way is not a skipped song); shuffle and offline
shares are over plays of every kind, like the platform split.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import StoryInputs, story_struct

SHARE_DECIMALS = 4


def behaviour(inputs: StoryInputs) -> DataFrame:
    """``behaviour``: skip_rate, completion_rate, shuffle_share, offline_share (fractions, null
    where no play recorded them) and platforms[] (platform, plays, share of plays), most played
    first."""
    music = F.col("content_type") == "music"

    def music_sum(column: str) -> Column:
        return F.sum(F.when(music, F.col(column)).otherwise(0))

    counts = inputs.items.groupBy("user_id").agg(
        music_sum("skips").alias("skips"),
        music_sum("completions").alias("completions"),
        music_sum("outcome_known_plays").alias("outcome_known_plays"),
        F.sum("shuffle_plays").alias("shuffle_plays"),
        F.sum("shuffle_known_plays").alias("shuffle_known_plays"),
        F.sum("offline_plays").alias("offline_plays"),
        F.sum("offline_known_plays").alias("offline_known_plays"),
    )

    def share(part: str, known: str) -> Column:
        return F.when(F.col(known) > 0, F.round(F.col(part) / F.col(known), SHARE_DECIMALS))

    played = F.coalesce(F.col("played"), F.lit(False))
    return (
        inputs.listeners.select("user_id")
        .join(counts.withColumn("played", F.lit(True)), "user_id", "left")
        .join(platform_split(inputs.platforms), "user_id", "left")
        .select(
            "user_id",
            story_struct(
                played,
                F.lit("no play in the period"),
                share("skips", "outcome_known_plays").alias("skip_rate"),
                share("completions", "outcome_known_plays").alias("completion_rate"),
                share("shuffle_plays", "shuffle_known_plays").alias("shuffle_share"),
                share("offline_plays", "offline_known_plays").alias("offline_share"),
                F.coalesce(F.col("platforms"), F.array()).alias("platforms"),
            ).alias("behaviour"),
        )
    )


def platform_split(platforms: DataFrame) -> DataFrame:
    """Per user: ``platforms``, an array of (platform, plays, share) by plays desc, then name."""
    per_platform = platforms.groupBy("user_id", "platform").agg(F.sum("plays").alias("plays"))
    by_user = Window.partitionBy("user_id")
    ranked = per_platform.withColumn(
        "share", F.round(F.col("plays") / F.sum("plays").over(by_user), SHARE_DECIMALS)
    ).withColumn(
        "position",
        F.row_number().over(by_user.orderBy(F.col("plays").desc(), F.col("platform").asc())),
    )
    entries = F.array_sort(
        F.collect_list(
            F.struct("position", "platform", F.col("plays").cast("long").alias("plays"), "share")
        )
    )
    return ranked.groupBy("user_id").agg(
        F.transform(entries, lambda entry: entry.dropFields("position")).alias("platforms")
    )
