"""The wrapped job: daily rollups -> every story of the period -> gold.stories and documents.

``build_stories`` is the whole engine as a DataFrame function (plays in, one row per user out), for
tests and one person's export. ``run_wrapped`` is the same engine at scale: it brings the Delta
rollups up to date (merging only the days new batches touched), reads them once for the period, the
history before it and the year before, and writes the period's rows of gold.stories. Documents and
pages carry the recommender's stories too, once ``spinback recommend`` has written that period.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from spinback import tables
from spinback.config import Config
from spinback.recommend.stories import STORY as RECOMMENDER_STORY
from spinback.recommend.stories import STORY_ITEM
from spinback.recommend.stories import STORY_NAMES as RECOMMENDER_STORIES
from spinback.render.documents import story_documents, write_documents, write_pages
from spinback.rollups import daily_items, daily_platforms, local_plays, update_rollups
from spinback.stories.inputs import StoryInputs, with_calendar, with_catalog_facts
from spinback.stories.period import Period
from spinback.stories.registry import STORIES
from spinback.tables import TableLocations

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WrappedResult:
    period: Period
    stories_table: str
    documents_dir: str


def rollup_facts(items: DataFrame, catalog: DataFrame | None) -> DataFrame:
    """Daily item rollups with catalog facts and calendar columns: what stories are cut from."""
    return with_calendar(with_catalog_facts(items, catalog))


def story_inputs(
    facts: DataFrame,
    platforms: DataFrame,
    users: DataFrame,
    period: Period,
    config: Config,
) -> StoryInputs:
    """Cut the rollup facts (see :func:`rollup_facts`) to the period and to what comes before."""
    start, end = F.lit(period.start), F.lit(period.end)
    before = period.year_before()
    in_period = facts.where((F.col("local_date") >= start) & (F.col("local_date") < end))

    opted_out = F.coalesce(F.col("opt_out_stories"), F.lit(False))
    preferences = users.select("user_id", "opt_out_stories", "opt_in_taste_twins")
    listeners = (
        in_period.groupBy("user_id")
        .agg(F.max("time_zone").alias("timezone"))
        .join(preferences, "user_id", "left")
        .where(~opted_out)
        .select(
            "user_id",
            "timezone",
            F.coalesce(F.col("opt_in_taste_twins"), F.lit(False)).alias("opt_in_taste_twins"),
        )
    )
    return StoryInputs(
        period=period,
        settings=config.wrapped,
        items=in_period,
        history=facts.where(F.col("local_date") < end),
        previous=facts.where(
            (F.col("local_date") >= F.lit(before.start)) & (F.col("local_date") < F.lit(before.end))
        ),
        platforms=platforms.where((F.col("local_date") >= start) & (F.col("local_date") < end)),
        listeners=listeners,
    )


def stories_of(inputs: StoryInputs, staged: bool = False) -> DataFrame:
    """One row per listener: user, period, timezone and one struct column per story.

    Unstaged, the result is one lazy plan: nothing runs until it is written, as a pure DataFrame
    function should (tests, one person's export). ``staged`` runs each story on its own (a local
    checkpoint per story, lineage cut there) and keeps the intermediates that several stories read
    (``StoryInputs.keep``) before the per-user results are joined. The single plan holds about a
    hundred shuffle stages that AQE submits at once and recomputes every shared intermediate for
    each reader: on 2.1 M plays of 5,000 users on 2 cores it had not finished after 11.5 minutes
    (the playlist's earlier, slower placement included), where staged the stories took 225 s
    (bench/bench_wrapped.py).
    """
    period = inputs.period
    if staged:
        inputs = replace(inputs, listeners=inputs.listeners.localCheckpoint(), keep=checkpointed)
    rows = inputs.listeners.select(
        "user_id",
        F.lit(period.label).alias("period"),
        F.lit(period.start).alias("period_start"),
        F.lit(period.end).alias("period_end"),
        "timezone",
    )
    for story in STORIES:
        # Building may already compute (and keep) an intermediate shared with later stories.
        started = time.monotonic()
        built = story.build(inputs)
        if staged:
            built = built.localCheckpoint()
            logger.info("story %s took %.1f s", story.id, time.monotonic() - started)
        rows = rows.join(built, "user_id", "left")
    return rows


def checkpointed(frame: DataFrame) -> DataFrame:
    """``frame`` computed now and kept on the executors, its lineage cut.

    Known shortcoming: a local checkpoint lives in executor storage, so losing an executor midway
    fails the run instead of recomputing (acceptable for a job that is re-run whole; Delta staging
    tables would survive it at the price of writes and of erasing them afterwards).
    """
    return frame.localCheckpoint()


def build_stories(
    plays: DataFrame,
    users: DataFrame,
    period: Period,
    config: Config,
    catalog: DataFrame | None = None,
) -> DataFrame:
    """Every user's stories for ``period`` straight from plays (rolled up in memory, not stored)."""
    located = local_plays(
        plays.withColumn("duration_ms", F.lit(None).cast("long"))
        if catalog is None or config.wrapped.stream_rule != "scrobble"
        else plays.join(catalog.select("track_key", "duration_ms"), "track_key", "left"),
        users,
        config.ingest.default_timezone,
    )
    facts = rollup_facts(daily_items(located, config.wrapped), catalog)
    return stories_of(story_inputs(facts, daily_platforms(located), users, period, config))


def with_recommender_stories(stories: DataFrame, recommended: DataFrame) -> DataFrame:
    """``stories`` with the recommender's four story columns of the same period beside them.

    A listener the recommender did not reach (new since it ran, or opted out there) gets each of
    those stories as not eligible, so every document of a period has the same fields.
    """
    missing = F.struct(
        F.lit(False).alias("eligible"),
        F.lit("no recommendations were made for this listener in this period").alias("reason"),
        F.lit(None).cast("string").alias("source"),
        F.lit(None).cast(ArrayType(STORY_ITEM)).alias("items"),
    ).cast(RECOMMENDER_STORY)
    return stories.join(recommended.drop("period"), "user_id", "left").select(
        *stories.columns,
        *[F.coalesce(F.col(name), missing).alias(name) for name in RECOMMENDER_STORIES],
    )


def write_period_stories(spark: SparkSession, config: Config, period: Period) -> None:
    """Every listener's stories of ``period`` from the Delta rollups, replacing that period in gold.

    The rollups must be up to date (:func:`spinback.rollups.update_rollups`). Replacing only this
    period's rows makes a re-run idempotent and leaves other periods alone.
    """
    locations = TableLocations.from_config(config)
    catalog = (
        tables.read_delta(spark, locations.catalog)
        if tables.delta_exists(spark, locations.catalog)
        else None
    )
    # Every story reads the rollups up to the period's end; keeping them once saves a re-read and
    # a re-join with the catalog per story.
    history_end = F.col("local_date") < F.lit(period.end)
    facts = rollup_facts(
        tables.read_delta(spark, locations.daily_items).where(history_end), catalog
    ).persist(StorageLevel.MEMORY_AND_DISK)
    inputs = story_inputs(
        facts,
        tables.read_delta(spark, locations.daily_platforms),
        tables.read_delta(spark, locations.users),
        period,
        config,
    )
    # Known shortcoming (issue 4): 21.8 M plays of 50,000 users take 1,410 s here on 2 cores after
    # 270 s of rollups (bench/bench_wrapped.py), 42x DuckDB's 40 s for the core aggregates against
    # a goal of 2.5x. Every story still scans the period's rollup rows and shuffles about as many;
    # one aggregate per grain (user-track, user-artist, user-month) shared by all stories, and
    # names joined after ranking only where that is cheaper than a sort, would cut the passes.
    stories = stories_of(inputs, staged=True)
    if tables.delta_exists(spark, locations.stories):
        tables.overwrite(stories, locations.stories, replace_where=f"period = '{period.label}'")
    else:
        tables.overwrite(stories, locations.stories, partition_by=["period"])
    facts.unpersist()


def run_wrapped(
    spark: SparkSession,
    config: Config,
    period_label: str | None = None,
    out_dir: str | None = None,
) -> WrappedResult:
    """Compute the period's stories for every user, replace that period in gold, write documents.

    Documents go to ``out_dir``, else the data directory's ``documents`` folder.
    """
    locations = TableLocations.from_config(config)
    period = Period.parse(period_label or config.wrapped.period)
    started = time.monotonic()

    update_rollups(spark, config)
    write_period_stories(spark, config, period)
    logger.info("stories for %s written to %s", period.label, locations.stories)

    period_stories = tables.read_delta(spark, locations.stories).where(
        F.col("period") == period.label
    )
    story_columns = [story.id for story in STORIES]
    if tables.delta_exists(spark, locations.recommendation_stories):
        period_stories = with_recommender_stories(
            period_stories,
            tables.read_delta(spark, locations.recommendation_stories).where(
                F.col("period") == period.label
            ),
        )
        story_columns += list(RECOMMENDER_STORIES)
    # Each document is rendered twice (JSON, then the HTML page drawn from it): kept once, the
    # stories table is read and serialised once.
    documents = story_documents(period_stories, story_columns).persist(StorageLevel.MEMORY_AND_DISK)
    target = out_dir or locations.documents
    is_local = locations.is_local and "://" not in (out_dir or "")
    documents_dir = write_documents(documents, target, period.label, is_local=is_local)
    write_pages(documents, target, period.label, is_local=is_local)
    documents.unpersist()
    logger.info("wrapped %s took %.1f s", period.label, time.monotonic() - started)
    return WrappedResult(
        period=period, stories_table=locations.stories, documents_dir=documents_dir
    )
