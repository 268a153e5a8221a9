"""Playlist: the user's "top songs" of the period, ``playlist_size`` tracks long.

The first ``playlist_ranked_positions`` tracks are the top-tracks ranking as it stands (qualified
streams, tie rule). The rest favour songs that stayed with the user: score = streams +
``playlist_day_weight`` x distinct days with a qualified stream, ties by the tie rule. They are
placed greedily so that no two neighbours share a primary artist: each position takes the best
remaining candidate by another artist than the previous track's, or the best remaining one when
every candidate left is by that artist.

The greedy placement is sequential, so it runs inside one row per user: the candidates, sorted by
score, are folded with the ``aggregate`` higher-order function.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import MS_PER_MINUTE, StoryInputs, story_struct
from spinback.stories.tops import ranked_within_user

# Candidates kept per user for the positions after the ranked ones, as a multiple of those
# positions: enough that the adjacency rule can always reach past one artist's run of hits.
CANDIDATES_PER_POSITION = 4
# How many of the candidates left the placement looks at first for one by another artist.
LOOKAHEAD = 8


def track_totals(items: DataFrame) -> DataFrame:
    """Per (user, track) of the period's music: ``streams``, ``minutes``, ``first_played_at``,
    ``days`` (local dates with a qualified stream), ``name``, ``artist`` and ``artist_key``."""
    # TODO: tops.top_tracks aggregates the same per-track totals (without days); share one
    # function once tops.py exposes it.
    return (
        items.where((F.col("content_type") == "music") & F.col("track_key").isNotNull())
        .groupBy("user_id", "track_key")
        .agg(
            F.sum("streams").alias("streams"),
            (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes"),
            F.min("first_stream_at").alias("first_played_at"),
            # The rollups hold one row per user, local date and track, so rows are days; a
            # distinct count would double every row (Spark expands it) for the same number.
            F.count_if(F.col("streams") > 0).alias("days"),
            F.max("track_name").alias("name"),
            F.max("artist_name").alias("artist"),
            F.max("artist_key").alias("artist_key"),
        )
    )


def _entry(order: str) -> Column:
    return F.struct(
        F.col(order).alias("order"),
        "track_key",
        "name",
        "artist",
        "artist_key",
        F.col("streams").cast("long").alias("streams"),
        F.col("days").cast("int").alias("days"),
    )


def place_apart(artists: Column, previous_artist: Column, positions: Column) -> Column:
    """The 1-based indices of the first ``positions`` candidates (``artists`` holds their artist
    keys, best candidate first), reordered greedily so that no track follows one by the same
    artist where another candidate is left.

    The fold carries candidate indices, not the candidates: filtering and copying an int array
    each step is cheap where an array of structs with names is not (at 100 positions that made
    the story take minutes per 5,000 users).
    """

    def differs(index: Column, previous: Column) -> Column:
        # An unknown artist is never "the same" as the previous one.
        return F.coalesce(F.element_at(artists, index) != previous, F.lit(True))

    def place_next(state: Column, _: Column) -> Column:
        remaining, previous = state["remaining"], state["previous_artist"]
        # The pick is nearly always among the first few left: look there before scanning all
        # (coalesce stops at the first non-null).
        pick = F.coalesce(
            F.try_element_at(
                F.filter(F.slice(remaining, 1, LOOKAHEAD), lambda i: differs(i, previous)),
                F.lit(1),
            ),
            F.try_element_at(F.filter(remaining, lambda i: differs(i, previous)), F.lit(1)),
            F.try_element_at(remaining, F.lit(1)),
        )
        return F.struct(
            F.concat(state["placed"], F.array(pick)).alias("placed"),
            F.array_remove(remaining, pick).alias("remaining"),
            F.element_at(artists, pick).alias("previous_artist"),
        )

    indices = F.transform(artists, lambda _, position: position + 1)
    start = F.struct(
        F.array().cast("array<int>").alias("placed"),
        indices.alias("remaining"),
        previous_artist.alias("previous_artist"),
    )
    steps = F.array_repeat(F.lit(True), F.least(positions, F.size(artists)))
    return F.aggregate(steps, start, place_next)["placed"]


def playlists(inputs: StoryInputs) -> DataFrame:
    """Per user with a qualified stream: ``tracks``, the playlist (position, track_key, name,
    artist, streams, days)."""
    settings = inputs.settings
    ranked_positions = settings.playlist_ranked_positions
    open_positions = settings.playlist_size - ranked_positions
    ranked = ranked_within_user(track_totals(inputs.items), "streams", "track_key")

    score = F.col("streams") + settings.playlist_day_weight * F.col("days")
    # Candidates are numbered by score apart from the ranked head.
    by_score = Window.partitionBy("user_id", "in_head").orderBy(
        score.desc(),
        F.col("minutes").desc(),
        F.col("first_played_at").asc(),
        F.col("track_key").asc(),
    )
    in_head = F.col("in_head")
    lists = (
        ranked.withColumn("in_head", F.col("rank") <= ranked_positions)
        .withColumn("candidate", F.row_number().over(by_score))
        .where(in_head | (F.col("candidate") <= CANDIDATES_PER_POSITION * open_positions))
        .groupBy("user_id")
        .agg(
            F.array_sort(F.collect_list(F.when(in_head, _entry("rank")))).alias("head"),
            F.array_sort(F.collect_list(F.when(~in_head, _entry("candidate")))).alias("candidates"),
        )
    )
    previous_artist = F.try_element_at("head", F.lit(-1))["artist_key"]
    placed = place_apart(F.col("candidate_artists"), previous_artist, F.lit(open_positions))
    tracks = F.concat("head", F.transform(placed, lambda index: F.element_at("candidates", index)))
    # The artists are kept in a column so the fold reads them, not an expression run per step.
    return lists.withColumn(
        "candidate_artists", F.transform("candidates", lambda c: c["artist_key"])
    ).select(
        "user_id",
        F.transform(
            tracks,
            lambda track, index: F.struct(
                (index + 1).alias("position"),
                track["track_key"].alias("track_key"),
                track["name"].alias("name"),
                track["artist"].alias("artist"),
                track["streams"].alias("streams"),
                track["days"].alias("days"),
            ),
        ).alias("tracks"),
    )


def playlist(inputs: StoryInputs) -> DataFrame:
    """``playlist``: tracks[] (position, track_key, name, artist, streams, days)."""
    facts = inputs.listeners.select("user_id").join(playlists(inputs), "user_id", "left")
    eligible = F.col("tracks").isNotNull()
    return facts.select(
        "user_id",
        story_struct(
            eligible,
            F.lit("no qualified stream in the period"),
            F.coalesce(F.col("tracks"), F.array()).alias("tracks"),
        ).alias("playlist"),
    )
