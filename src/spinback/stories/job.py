"""The wrapped job: silver plays and users -> gold.stories (a row per user and period), JSON."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback import tables
from spinback.config import Config
from spinback.render.documents import story_documents, write_documents
from spinback.stories.period import Period, in_period, with_local_time
from spinback.stories.tops import top_artists
from spinback.tables import TableLocations

logger = logging.getLogger(__name__)

STORY_COLUMNS = ["top_artists"]


@dataclass(frozen=True)
class WrappedResult:
    period: Period
    stories_table: str
    documents_dir: str


def build_stories(plays: DataFrame, users: DataFrame, period: Period, config: Config) -> DataFrame:
    """Every user's stories for ``period``: one row per user who played anything in it."""
    settings = config.wrapped
    period_plays = in_period(with_local_time(plays, users, config.ingest.default_timezone), period)
    listeners = period_plays.groupBy("user_id").agg(F.first("time_zone").alias("timezone"))
    artists = top_artists(
        period_plays,
        listeners.select("user_id"),
        min_stream_ms=settings.min_stream_ms,
        featured_weight=settings.featured_weight,
        top_n=settings.top_n,
        min_distinct_artists=settings.min_distinct_artists,
    )
    return listeners.join(artists, "user_id").select(
        "user_id",
        F.lit(period.label).alias("period"),
        F.lit(period.start).alias("period_start"),
        F.lit(period.end).alias("period_end"),
        "timezone",
        "top_artists",
    )


def run_wrapped(
    spark: SparkSession, config: Config, period_label: str | None = None
) -> WrappedResult:
    """Compute the period's stories for every user, replace that period in gold, write documents."""
    locations = TableLocations.from_config(config)
    period = Period.parse(period_label or config.wrapped.period)
    started = time.monotonic()

    plays = tables.read_delta(spark, locations.plays)
    users = tables.read_delta(spark, locations.users)
    stories = build_stories(plays, users, period, config)

    # Replacing only this period's rows makes a re-run idempotent and leaves other periods alone.
    if tables.delta_exists(spark, locations.stories):
        tables.overwrite(stories, locations.stories, replace_where=f"period = '{period.label}'")
    else:
        tables.overwrite(stories, locations.stories, partition_by=["period"])
    logger.info("stories for %s written to %s", period.label, locations.stories)

    period_stories = tables.read_delta(spark, locations.stories).where(
        F.col("period") == period.label
    )
    documents_dir = write_documents(
        story_documents(period_stories, STORY_COLUMNS),
        locations.documents,
        period.label,
        is_local=locations.is_local,
    )
    logger.info("wrapped %s took %.1f s", period.label, time.monotonic() - started)
    return WrappedResult(
        period=period, stories_table=locations.stories, documents_dir=documents_dir
    )
