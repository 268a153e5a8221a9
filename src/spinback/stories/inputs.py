"""What every story builder reads: the daily rollups cut to the period, with catalog facts.

A story builder is a pure function ``StoryInputs -> DataFrame`` returning ``user_id`` and one
struct column named by the story's id, with exactly one row per user of ``inputs.listeners``.
Every story struct starts with ``eligible`` (boolean) and ``reason`` (null when eligible).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spinback.config import WrappedConfig
from spinback.stories.period import Period

MS_PER_MINUTE = 60_000


def as_is(frame: DataFrame) -> DataFrame:
    return frame


@dataclass(frozen=True)
class StoryInputs:
    period: Period
    settings: WrappedConfig
    # silver.daily_items rows whose local_date is in the period, with catalog facts (see
    # with_catalog_facts) and `local_month` (first day of the local month) and `weekday`
    # (1 = Monday .. 7 = Sunday).
    items: DataFrame
    # The same columns for every local date before the period's end: first plays ever, comebacks.
    history: DataFrame
    # The same columns for period.year_before(): what year-over-year stories compare against.
    previous: DataFrame
    # silver.daily_platforms rows in the period.
    platforms: DataFrame
    # One row per user with any play in the period who did not opt out of stories:
    # `user_id`, `timezone`, `opt_in_taste_twins`.
    listeners: DataFrame
    # What a story does with an intermediate it reads several times (month vectors, per-artist
    # totals): left as is in one plan (tiny frames), or computed once where stories run one by
    # one (see stories.job.stories_of), since Spark would otherwise recompute it for each read.
    keep: Callable[[DataFrame], DataFrame] = as_is
    # Intermediates more than one story reads, by name (see shared).
    _shared: dict[str, DataFrame] = field(default_factory=dict, init=False, repr=False)

    def shared(self, name: str, build: Callable[[], DataFrame]) -> DataFrame:
        """The intermediate ``name`` (per-artist totals of the period, ...), built and kept once
        for all the stories that read it. ``build`` must depend on these inputs alone."""
        if name not in self._shared:
            self._shared[name] = self.keep(build())
        return self._shared[name]


def with_catalog_facts(items: DataFrame, catalog: DataFrame | None) -> DataFrame:
    """Add ``genres`` (the track's, else its artist's), ``release_year``, ``duration_ms`` and
    ``album_track_count`` from the catalog; nulls where the catalog does not know them.

    An artist's genres are the distinct genres of its tracks in the catalog, so enrichment and
    HetRec tags given per artist reach tracks that came without any.
    """
    if catalog is None:
        return items.select(
            "*",
            F.lit(None).cast("array<string>").alias("genres"),
            F.lit(None).cast("int").alias("release_year"),
            F.lit(None).cast("long").alias("duration_ms"),
            F.lit(None).cast("long").alias("album_track_count"),
        )
    tracks = catalog.select(
        "track_key",
        F.col("genres").alias("track_genres"),
        "release_year",
        "duration_ms",
    )
    artist_genres = (
        catalog.select("artist_key", F.explode("genres").alias("genre"))
        .groupBy("artist_key")
        .agg(F.array_sort(F.collect_set("genre")).alias("artist_genres"))
    )
    # TODO: the count of an album's tracks the catalog knows is the album's size only where the
    # catalog is complete (generated data, enrichment of whole albums). For one person's export it
    # is the tracks they played, so the 70 % album rule always passes; an enrichment column with
    # the album's track count would remove this.
    album_sizes = (
        catalog.where(F.col("album_key").isNotNull())
        .groupBy("album_key")
        .agg(F.countDistinct("track_key").alias("album_track_count"))
    )
    has_genres = F.col("track_genres").isNotNull() & (F.size("track_genres") > 0)
    return (
        items.join(tracks, "track_key", "left")
        .join(artist_genres, "artist_key", "left")
        .join(album_sizes, "album_key", "left")
        .withColumn(
            "genres", F.when(has_genres, F.col("track_genres")).otherwise(F.col("artist_genres"))
        )
        .drop("track_genres", "artist_genres")
    )


def with_calendar(items: DataFrame) -> DataFrame:
    """Add ``local_month`` (first day of the month) and ``weekday`` (1 = Monday .. 7 = Sunday)."""
    return items.withColumn("local_month", F.trunc("local_date", "month")).withColumn(
        "weekday", (F.dayofweek("local_date") + 5) % 7 + 1
    )


def story_struct(eligible: Column, reason: Column, *fields: Column | str) -> Column:
    """The story column: ``eligible``, ``reason`` (null when eligible), then ``fields``.

    An ineligible story keeps what could honestly be computed (the items of a short top list) and
    nulls elsewhere, never an invented value; renderers show only eligible stories.
    """
    return F.struct(
        eligible.alias("eligible"),
        F.when(~eligible, reason).alias("reason"),
        *fields,
    )


def tie_order(metric: str, key: str) -> list[Column]:
    """The spec's ranking: metric desc, minutes desc, first play asc, key asc.

    Expects columns ``minutes`` and ``first_played_at`` beside ``metric`` and ``key``.
    """
    return [
        F.col(metric).desc(),
        F.col("minutes").desc(),
        F.col("first_played_at").asc(),
        F.col(key).asc(),
    ]


def population_size(listeners: DataFrame) -> DataFrame:
    """A one-row frame ``population``: how many users the period has (cross-join it, it is tiny)."""
    return listeners.agg(F.count(F.lit(1)).alias("population"))


def percent_rank_among(
    values: DataFrame, value: str, *, accuracy: int = 10_000, resolution: int = 1_000
) -> DataFrame:
    """Add ``percent_rank`` in [0, 1]: the share of the other rows whose ``value`` is lower.

    An exact percent rank over all users needs a window without a partition, which sorts the whole
    population on one task. Instead ``resolution`` quantiles of the column are computed in one
    aggregate (``percentile_approx`` with relative error 1 / ``accuracy``), and each row's rank is
    the share of quantiles below its value: exact to 1 / ``resolution`` (0.1 % by default).
    """
    levels = [i / resolution for i in range(resolution + 1)]
    cuts = values.agg(F.percentile_approx(value, levels, accuracy).alias("_cuts"))
    below = F.size(F.filter("_cuts", lambda cut: cut < F.col(value)))
    return (
        values.crossJoin(F.broadcast(cuts))
        .withColumn("percent_rank", F.least(F.lit(1.0), below / F.lit(float(resolution))))
        .drop("_cuts")
    )
