"""`spinback recommend`: every user's top-k tracks and the recommender's stories, from the champion.

Steps: load the model the registry alias ``recommend.alias`` names; read silver plays, catalog and
users; count each user's qualified streams in the training window; rank unplayed tracks for the
users with enough history (blocked top-k), and give the others the cold-start fallback; write
``gold.recommendations``; build the four recommender stories and write them to
``gold.recommendation_stories`` for the period of ``wrapped.period``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from datetime import time as clock_time

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spinback import tracking
from spinback.config import Config
from spinback.recommend.dataset import (
    ITEM_INDEX,
    TRACK_INDEX,
    TRACK_KEY,
    USER_INDEX,
    USER_KEY,
    qualified_music_streams,
    streams_in_window,
)
from spinback.recommend.stories import (
    FALLBACK_SOURCE,
    MODEL_SOURCE,
    artist_vectors,
    assemble_stories,
    discover_story,
    genre_fallback,
    rediscover_story,
    similar_artists_story,
    taste_twins_story,
    with_reasons,
)
from spinback.recommend.topk import top_k
from spinback.recommend.train import als_stage, persisted
from spinback.stories.period import Period
from spinback.tables import TableLocations, delta_exists, overwrite, read_delta

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecommendResult:
    """Where the recommendations and the stories went, and which model made them."""

    model_name: str
    model_version: str
    recommendations_table: str
    stories_table: str
    period: str


def run_recommend(spark: SparkSession, config: Config) -> RecommendResult:
    """Recommend for every user and write ``gold.recommendations`` and the recommender stories."""
    locations = TableLocations.from_config(config)
    params = config.recommend
    if config.train.item != "track":
        raise ValueError(
            f"train.item: {config.train.item!r} is not allowed for `spinback recommend`, which "
            "ranks tracks; expected track"
        )
    period = Period.parse(config.wrapped.period)
    model_name = config.train.registered_model_name
    target = tracking.connect(config)
    version = tracking.alias_version(target, model_name, params.alias)
    if version is None:
        raise FileNotFoundError(
            f"no version of {model_name!r} has the alias {params.alias!r}; "
            "run `spinback tune` (or `spinback train`) first, or set recommend.alias"
        )
    model = als_stage(tracking.load_spark_model(target.tracking_uri, model_name, params.alias))
    logger.info("recommending with %s version %s (alias %r)", model_name, version, params.alias)

    logger.info("reading silver plays, catalog and users under %s", locations.root)
    streams = streams_in_window(
        qualified_music_streams(
            read_delta(spark, locations.plays), min_stream_ms=config.wrapped.min_stream_ms
        ),
        config.train.window_days,
    )
    catalog = read_delta(spark, locations.catalog)
    users = _preferences(read_delta(spark, locations.users))
    user_ids = read_delta(spark, locations.user_ids)
    track_ids = read_delta(spark, locations.item_ids).withColumnRenamed(TRACK_INDEX, ITEM_INDEX)

    listening = streams.groupBy(USER_KEY, TRACK_KEY).agg(
        F.count(F.lit(1)).alias("play_count"), F.max("ended_at").alias("last_played")
    )
    with persisted(listening) as (listening,):
        played = listening.join(user_ids, USER_KEY).join(track_ids, TRACK_KEY)
        history = listening.groupBy(USER_KEY).agg(F.count(F.lit(1)).alias("tracks_played"))
        recommendable = users.where(~F.col("opt_out_recommendations")).join(
            history, USER_KEY, "left"
        )
        warm = (
            recommendable.where(F.col("tracks_played") >= params.min_history)
            .join(user_ids, USER_KEY)
            .join(model.userFactors.select(F.col("id").alias(USER_INDEX)), USER_INDEX, "left_semi")
        )
        cold = recommendable.join(warm, USER_KEY, "left_anti").select(USER_KEY)

        # Enough depth for `discover` to keep `story_size` tracks after its per-artist cap.
        depth = max(params.top_k, params.story_size * (params.per_artist + 2))
        started = time.perf_counter()
        ranked = (
            top_k(
                model.userFactors.join(
                    warm.select(F.col(USER_INDEX).alias("id")), "id", "left_semi"
                ),
                model.itemFactors,
                depth,
                excluded=played.join(warm.select(USER_INDEX), USER_INDEX, "left_semi").select(
                    USER_INDEX, ITEM_INDEX
                ),
                query_block_size=params.user_block_size,
                candidate_block_size=params.item_block_size,
            )
            .join(user_ids, USER_INDEX)
            .join(track_ids, ITEM_INDEX)
            .select(USER_KEY, TRACK_KEY, "score", "rank")
        )
        fallback = genre_fallback(
            cold,
            listening,
            catalog,
            max(params.top_k, params.story_size),
            params.fallback_genres,
            params.min_history,
        )
        with persisted(ranked, fallback) as (ranked, fallback):
            recommendations = _recommendations(
                ranked, fallback, catalog, streams, params.top_k, version
            )
            overwrite(recommendations, locations.recommendations)
            logger.info(
                "wrote %s in %.1f s", locations.recommendations, time.perf_counter() - started
            )

            stories = _stories(
                config, period, model, users, listening, played, ranked, fallback, catalog, warm
            )
            _write_period(spark, stories, locations.recommendation_stories, period.label)
            logger.info(
                "wrote the recommender stories of %s to %s",
                period.label,
                locations.recommendation_stories,
            )

    return RecommendResult(
        model_name=model_name,
        model_version=version,
        recommendations_table=locations.recommendations,
        stories_table=locations.recommendation_stories,
        period=period.label,
    )


def _preferences(users: DataFrame) -> DataFrame:
    """``user_id`` with the two recommender choices; unknown choices count as no."""
    return users.select(
        USER_KEY,
        F.coalesce(F.col("opt_out_recommendations"), F.lit(False)).alias("opt_out_recommendations"),
        F.coalesce(F.col("opt_in_taste_twins"), F.lit(False)).alias("opt_in_taste_twins"),
    )


def _recommendations(
    ranked: DataFrame,
    fallback: DataFrame,
    catalog: DataFrame,
    streams: DataFrame,
    k: int,
    model_version: str,
) -> DataFrame:
    """``gold.recommendations``: one row per user and rank, from the model or the fallback."""
    names = catalog.select(TRACK_KEY, "track_name", "artist_key", "artist_name")
    user_artists = streams.select(USER_KEY, "artist_key").where(F.col("artist_key").isNotNull())
    from_model = with_reasons(
        ranked.where(F.col("rank") <= k).join(names, TRACK_KEY, "left"), user_artists
    ).withColumn("source", F.lit(MODEL_SOURCE))
    from_fallback = (
        fallback.where(F.col("rank") <= k)
        .join(names, TRACK_KEY, "left")
        .withColumn("source", F.lit(FALLBACK_SOURCE))
    )
    return from_model.unionByName(from_fallback).select(
        USER_KEY,
        F.col("rank").cast("int").alias("rank"),
        TRACK_KEY,
        "track_name",
        "artist_key",
        "artist_name",
        F.col("score").cast("double").alias("score"),
        "reason",
        "source",
        F.lit(model_version).alias("model_version"),
        F.current_timestamp().alias("generated_at"),
    )


def _stories(
    config: Config,
    period: Period,
    als: ALSModel,
    users: DataFrame,
    listening: DataFrame,
    played: DataFrame,
    ranked: DataFrame,
    fallback: DataFrame,
    catalog: DataFrame,
    warm: DataFrame,
) -> DataFrame:
    """The four recommender stories, one row per user of the period."""
    params = config.recommend
    period_end = datetime.combine(period.end, clock_time(), tzinfo=timezone.utc)
    # TODO: measure "60 days before the period's end" in each user's zone, not in UTC, once the
    # stories' period helpers expose per-user period bounds to other packages.
    long_ago = F.lit(period_end - timedelta(days=params.rediscover_days))

    artists = catalog.select(TRACK_KEY, "artist_key", "artist_name").where(
        F.col("artist_key").isNotNull()
    )
    user_artists = (
        listening.join(artists, TRACK_KEY)
        .groupBy(USER_KEY, "artist_key")
        .agg(F.sum("play_count").alias("streams"), F.min("artist_name").alias("artist_name"))
    )
    top_artists = user_artists.withColumn(
        "artist_rank",
        F.row_number().over(Window.partitionBy(USER_KEY).orderBy(F.desc("streams"), "artist_key")),
    ).where(F.col("artist_rank") <= params.top_artists)
    opted_in = warm.join(users.where(F.col("opt_in_taste_twins")), USER_KEY, "left_semi").select(
        USER_KEY, USER_INDEX
    )
    track_artists = played.select(ITEM_INDEX, TRACK_KEY).distinct().join(artists, TRACK_KEY)

    stories = {
        "discover": discover_story(ranked, fallback, catalog, params.story_size, params.per_artist),
        "rediscover": rediscover_story(
            played.join(warm.select(USER_KEY), USER_KEY, "left_semi").where(
                F.col("last_played") <= long_ago
            ),
            als.userFactors,
            als.itemFactors,
            catalog,
            params.story_size,
        ),
        "taste_twins": taste_twins_story(
            als.userFactors,
            opted_in,
            user_artists,
            params.taste_twins,
            params.shared_artists,
            params.user_block_size,
        ),
        "similar_artists": similar_artists_story(
            artist_vectors(als.itemFactors, track_artists.drop(TRACK_KEY)),
            top_artists,
            params.similar_artists,
            params.item_block_size,
        ),
    }
    # Some stories are built from listening alone; an opt-out must hold for every one of them.
    permitted = users.where(~F.col("opt_out_recommendations")).select(USER_KEY)
    stories = {
        name: story.join(permitted, USER_KEY, "left_semi") for name, story in stories.items()
    }
    opted_out = F.col("opt_out_recommendations")
    reasons: dict[str, Column] = {
        "discover": F.when(opted_out, "opted out of recommendations").otherwise(
            "no track to suggest"
        ),
        "rediscover": F.when(opted_out, "opted out of recommendations").otherwise(
            f"no loved track left unplayed for {params.rediscover_days} days"
        ),
        "taste_twins": F.when(opted_out, "opted out of recommendations")
        .when(~F.col("opt_in_taste_twins"), "taste twins are shown only to users who opt in")
        .otherwise("too little listening history, or no other opted-in listener"),
        "similar_artists": F.when(opted_out, "opted out of recommendations").otherwise(
            "too little listening history"
        ),
    }
    return assemble_stories(users, period.label, stories, reasons)


def _write_period(spark: SparkSession, rows: DataFrame, path: str, period: str) -> None:
    """Replace the rows of ``period`` in the table at ``path`` (created on first use)."""
    if delta_exists(spark, path):
        overwrite(rows, path, replace_where=f"period = '{period}'")
    else:
        overwrite(rows, path, partition_by=("period",))
