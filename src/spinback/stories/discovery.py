"""Discovery: the artists a user heard for the first time ever during the period.

An artist's first play is the earliest local date of any music play with that primary artist in
the user's whole history (the rollups up to the period's end). An artist is new when that date
falls in the period and the user streamed it (a qualified stream) in the period: a five-second
skip is not a discovery. Only the primary artist counts, so the share of streams stays a share.

A history that starts inside the period cannot tell a new artist from an old favourite whose
plays predate the export, so the story is then not eligible; it still says where the history
starts.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import MS_PER_MINUTE, StoryInputs, story_struct, tie_order

SHARE_DECIMALS = 4


def first_plays(history: DataFrame) -> DataFrame:
    """Per (user, primary artist): ``first_played``, the local date of the first music play ever.

    Rows with a null ``artist_key`` (podcasts, audiobooks, untagged plays) are kept under that
    null key, so :func:`history_starts` reads the user's first play of anything from the same
    aggregate.
    """
    artist = F.when(F.col("content_type") == "music", F.col("artist_key"))
    return history.groupBy("user_id", artist.alias("artist_key")).agg(
        F.min("local_date").alias("first_played")
    )


def history_first_plays(inputs: StoryInputs) -> DataFrame:
    """:func:`first_plays` of the whole history, kept once for the discovery counts, the top
    discovery and the history's start."""
    return inputs.shared("history_first_plays", lambda: first_plays(inputs.history))


def history_starts(firsts: DataFrame) -> DataFrame:
    """Per user: ``history_starts``, the first local date of any play (from :func:`first_plays`)."""
    return firsts.groupBy("user_id").agg(F.min("first_played").alias("history_starts"))


def period_artists(items: DataFrame) -> DataFrame:
    """Per (user, primary artist) of the period's music: ``streams``, ``minutes``,
    ``first_played_at`` (first qualified stream) and ``name``."""
    return (
        items.where((F.col("content_type") == "music") & F.col("artist_key").isNotNull())
        .groupBy("user_id", "artist_key")
        .agg(
            F.sum("streams").alias("streams"),
            (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes"),
            F.min("first_stream_at").alias("first_played_at"),
            F.max("artist_name").alias("name"),
        )
    )


def new_artists(inputs: StoryInputs) -> DataFrame:
    """Per (user, artist) streamed in the period: the :func:`period_artists` columns, the artist's
    ``first_played`` date and ``is_new``. Kept once: the shares and the top discovery read it."""
    firsts = history_first_plays(inputs).where(F.col("artist_key").isNotNull())
    return inputs.shared(
        "new_artists",
        lambda: (
            period_artists(inputs.items)
            .where(F.col("streams") > 0)
            .join(firsts, ["user_id", "artist_key"], "left")
            .withColumn("is_new", F.col("first_played") >= F.lit(inputs.period.start))
        ),
    )


def discovery_shares(inputs: StoryInputs) -> DataFrame:
    """Per user with a play in the history: ``history_starts``, ``history_complete``, ``streams``
    (qualified, 0 without music), ``new_artists``, ``new_streams`` and ``share_of_streams`` (new
    artists' streams over all streams, null without streams or with an incomplete history).

    Personality reads the share from here, so both stories use one definition of "new".
    """
    per_user = (
        new_artists(inputs)
        .groupBy("user_id")
        .agg(
            F.sum("streams").alias("streams"),
            F.sum(F.when(F.col("is_new"), F.col("streams")).otherwise(0)).alias("new_streams"),
            F.count(F.when(F.col("is_new"), True)).alias("new_artists"),
        )
    )
    starts = history_starts(history_first_plays(inputs))
    complete = F.col("history_starts") < F.lit(inputs.period.start)
    streams = F.coalesce(F.col("streams"), F.lit(0))
    return starts.join(per_user, "user_id", "left").select(
        "user_id",
        "history_starts",
        complete.alias("history_complete"),
        streams.alias("streams"),
        F.coalesce(F.col("new_artists"), F.lit(0)).alias("new_artists"),
        F.coalesce(F.col("new_streams"), F.lit(0)).alias("new_streams"),
        F.when(complete & (streams > 0), F.col("new_streams") / streams).alias("share_of_streams"),
    )


def discovery(inputs: StoryInputs) -> DataFrame:
    """``discovery``: new_artists, share_of_streams, top_discovery (the new artist with the most
    streams, by the tie rule), history_starts and history_complete."""
    by_user = Window.partitionBy("user_id").orderBy(*tie_order("streams", "artist_key"))
    top = (
        new_artists(inputs)
        .where(F.col("is_new"))
        .withColumn("rank", F.row_number().over(by_user))
        .where(F.col("rank") == 1)
        .select(
            "user_id",
            F.struct(
                "artist_key",
                "name",
                F.col("streams").cast("long").alias("streams"),
                "first_played",
            ).alias("top_discovery"),
        )
    )

    shares = inputs.shared("discovery_shares", lambda: discovery_shares(inputs))
    facts = inputs.listeners.select("user_id").join(shares, "user_id", "left")
    streamed = F.col("streams") > 0
    eligible = streamed & F.col("history_complete")
    reason = F.when(~streamed, F.lit("no qualified stream in the period")).otherwise(
        F.format_string(
            "the history starts on %s, inside the period (which starts on %s): "
            "artists first played before the history are unknown",
            F.col("history_starts").cast("string"),
            F.lit(inputs.period.start.isoformat()),
        )
    )
    return facts.join(top, "user_id", "left").select(
        "user_id",
        story_struct(
            eligible,
            reason,
            F.when(eligible, F.col("new_artists").cast("int")).alias("new_artists"),
            F.when(eligible, F.round("share_of_streams", SHARE_DECIMALS)).alias("share_of_streams"),
            F.when(eligible, F.col("top_discovery")).alias("top_discovery"),
            "history_starts",
            "history_complete",
        ).alias("discovery"),
    )
