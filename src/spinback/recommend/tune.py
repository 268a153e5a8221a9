"""`spinback tune`: search ALS settings on a validation split and promote a winner that earns it.

Three consecutive periods of the window (see ``dataset.split_interactions``): every trial fits on
the first and is scored on the second; the winner is refitted on both and scored on the third,
the held-out test, beside popularity and the current champion. Each trial is an MLflow child run
of the search's run. The refitted winner is registered and given ``train.alias``; it takes the
champion alias (``tune.champion_alias``) only when it beats both the version that holds it and
popularity on the held-out metric (``tune.metric``), so a worse search never replaces a better
model.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
import time
from dataclasses import dataclass, field

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import SparkSession

from spinback import tracking
from spinback.config import ConfidenceTransform, Config, TrainConfig, TuneConfig
from spinback.recommend.dataset import Interactions
from spinback.recommend.evaluate import METRICS, POPULARITY, RankingEvaluator
from spinback.recommend.train import (
    als_blocks,
    als_stage,
    evaluator_for,
    indexed_interactions,
    persisted,
    ratings_for,
    render_metrics,
    train_model,
    training_params,
)
from spinback.session import linear_algebra_backends

logger = logging.getLogger(__name__)

MODEL, CHAMPION = "als", "champion"


@dataclass(frozen=True)
class Trial:
    """One setting of the search grid."""

    rank: int
    reg_param: float
    alpha: float
    max_iter: int
    confidence: ConfidenceTransform

    def applied_to(self, params: TrainConfig) -> TrainConfig:
        return dataclasses.replace(
            params,
            rank=self.rank,
            reg_param=self.reg_param,
            alpha=self.alpha,
            max_iter=self.max_iter,
            confidence=self.confidence,
        )


@dataclass(frozen=True)
class Promotion:
    """Whether the winner takes the champion alias, and why (or why not)."""

    promoted: bool
    reason: str


@dataclass(frozen=True)
class TuneResult:
    """What a search tried, what won, and what the registry says now."""

    run_id: str
    tracking_uri: str
    model_name: str
    # The winner's registry version, given train.alias; the champion alias names it if promoted.
    version: str
    winner: Trial
    # Per trial, in the order tried: the setting and its validation metrics.
    trials: list[tuple[Trial, dict[str, float]]]
    # The refitted winner ("als"), popularity and the previous champion on the held-out test.
    test_metrics: dict[str, float]
    promotion: Promotion
    champion_version: str | None
    model: ALSModel = field(repr=False)


def search_space(tune: TuneConfig) -> list[Trial]:
    """The grid of ``tune``, or ``tune.trials`` settings drawn from it with ``tune.seed``.

    Drawn settings keep the grid's order, so the list reads the same way as the configuration.
    """
    grid = [
        Trial(rank, reg_param, alpha, max_iter, confidence)
        for rank, reg_param, alpha, max_iter, confidence in itertools.product(
            tune.ranks, tune.reg_params, tune.alphas, tune.max_iters, tune.confidences
        )
    ]
    if tune.trials >= len(grid):
        return grid
    chosen = sorted(random.Random(tune.seed).sample(range(len(grid)), tune.trials))
    return [grid[position] for position in chosen]


def decide_promotion(test_metrics: dict[str, float], metric: str, has_champion: bool) -> Promotion:
    """Promote only a winner strictly better than popularity and than the current champion."""
    candidate = test_metrics[f"{MODEL}_{metric}"]
    popularity = test_metrics[f"{POPULARITY}_{metric}"]
    if candidate <= popularity:
        return Promotion(
            False, f"{metric} {candidate:.4f} does not beat popularity's {popularity:.4f}"
        )
    if has_champion:
        champion = test_metrics[f"{CHAMPION}_{metric}"]
        if candidate <= champion:
            return Promotion(
                False, f"{metric} {candidate:.4f} does not beat the champion's {champion:.4f}"
            )
        return Promotion(
            True,
            f"{metric} {candidate:.4f} beats popularity {popularity:.4f} and the "
            f"champion {champion:.4f}",
        )
    return Promotion(
        True, f"{metric} {candidate:.4f} beats popularity {popularity:.4f}; no champion yet"
    )


def run_tune(spark: SparkSession, config: Config) -> TuneResult:
    """Search, refit, evaluate, register and maybe promote, on the silver plays of ``config``."""
    tracking.check_alias(config.train.alias)
    tracking.check_alias(config.tune.champion_alias, "tune.champion_alias")
    with indexed_interactions(spark, config, config.tune.validation_days) as (
        interactions,
        id_versions,
    ):
        return tune_and_register(spark, config, interactions, {**id_versions, "split": "time"})


def tune_and_register(
    spark: SparkSession,
    config: Config,
    interactions: Interactions,
    run_params: dict[str, object],
) -> TuneResult:
    """The search on indexed ``interactions`` (``user_index``, ``item_index``, ``play_count``).

    ``interactions.train`` and ``validation`` serve the trials, ``before_test()`` the refit and
    ``test`` the held-out comparison. ``run_params`` are logged on the search's run (how the data
    was split, id map versions).
    """
    tune = config.tune
    trials = search_space(tune)
    evaluator = evaluator_for(config)
    num_blocks = als_blocks(spark, config.train)
    model_name = config.train.registered_model_name
    target = tracking.connect(config)
    logger.info("tuning %s over %d trials, by %s", model_name, len(trials), tune.metric)

    with tracking.start_run(target, run_name="tune") as run_id:
        tracking.set_tags({f"spinback.{k}": v for k, v in linear_algebra_backends(spark).items()})
        tracking.log_params(
            {
                **run_params,
                "item": config.train.item,
                "trials": len(trials),
                "metric": tune.metric,
                "top_k": config.train.top_k,
                "num_blocks": num_blocks,
                "search_ranks": list(tune.ranks),
                "search_reg_params": list(tune.reg_params),
                "search_alphas": list(tune.alphas),
                "search_max_iters": list(tune.max_iters),
                "search_confidences": list(tune.confidences),
            }
        )

        results = []
        for number, trial in enumerate(trials, start=1):
            metrics = _run_trial(
                target, number, trial.applied_to(config.train), interactions, num_blocks, evaluator
            )
            results.append((trial, metrics))
        winner, winner_metrics = max(
            results, key=lambda result: result[1][f"{MODEL}_{tune.metric}"]
        )
        logger.info("winner %s: validation %s", winner, render_metrics(winner_metrics))
        tracking.log_params({f"winner_{k}": v for k, v in dataclasses.asdict(winner).items()})

        final_params = winner.applied_to(config.train)
        with persisted(interactions.before_test()) as (before_test,):
            with persisted(ratings_for(before_test, final_params)) as (ratings,):
                started = time.perf_counter()
                model = train_model(ratings, final_params, num_blocks)
                fit_seconds = time.perf_counter() - started

            champion_version = tracking.alias_version(target, model_name, tune.champion_alias)
            models = {MODEL: model}
            if champion_version is not None:
                models[CHAMPION] = als_stage(
                    tracking.load_spark_model(target.tracking_uri, model_name, tune.champion_alias)
                )
            test_metrics = evaluator.evaluate(models, before_test, interactions.test)
        test_metrics["fit_seconds"] = fit_seconds
        logger.info("held-out test: %s", render_metrics(test_metrics))
        tracking.log_metrics({f"test_{name}": value for name, value in test_metrics.items()})
        _log_report(results, test_metrics, tune.metric, config.train.top_k)

        promotion = decide_promotion(test_metrics, tune.metric, champion_version is not None)
        model_uri = tracking.log_spark_model(model)
        version = tracking.register_model_version(target, model_uri, model_name)
        tracking.set_model_alias(target, model_name, config.train.alias, version)
        if promotion.promoted:
            tracking.set_model_alias(target, model_name, tune.champion_alias, version)
            champion_version = version
        tracking.set_tags(
            {"spinback.promoted": str(promotion.promoted), "spinback.promotion": promotion.reason}
        )
        logger.info("version %s %s: %s", version, _verdict(promotion), promotion.reason)

    return TuneResult(
        run_id=run_id,
        tracking_uri=target.tracking_uri,
        model_name=model_name,
        version=version,
        winner=winner,
        trials=results,
        test_metrics=test_metrics,
        promotion=promotion,
        champion_version=champion_version,
        model=model,
    )


def _run_trial(
    target: tracking.TrackingTarget,
    number: int,
    params: TrainConfig,
    interactions: Interactions,
    num_blocks: int,
    evaluator: RankingEvaluator,
) -> dict[str, float]:
    """Fit one setting on the train period and score it on validation, as a child run."""
    with tracking.start_run(target, run_name=f"trial-{number}", nested=True):
        tracking.log_params({**training_params(params), "num_blocks": num_blocks})
        with persisted(ratings_for(interactions.train, params)) as (ratings,):
            started = time.perf_counter()
            model = train_model(ratings, params, num_blocks)
            fit_seconds = time.perf_counter() - started
            metrics = evaluator.evaluate(
                {MODEL: model}, interactions.train, interactions.validation
            )
        metrics["fit_seconds"] = fit_seconds
        tracking.log_metrics(metrics)
    logger.info("trial %d (%s): %s", number, _describe(params), render_metrics(metrics))
    return metrics


def _log_report(
    results: list[tuple[Trial, dict[str, float]]],
    test_metrics: dict[str, float],
    metric: str,
    k: int,
) -> None:
    """The evaluation report as artifacts: metrics tables (CSV, Markdown) and two plots."""
    recommenders = [
        name for name in (MODEL, CHAMPION, POPULARITY) if f"{name}_{metric}" in test_metrics
    ]
    columns = [*METRICS, "coverage"]
    header = ["recommender", *columns]
    rows = [
        [name, *(f"{test_metrics[f'{name}_{c}']:.4f}" for c in columns)] for name in recommenders
    ]
    tracking.log_text(_csv([header, *rows]), "evaluation/test_metrics.csv")
    tracking.log_text(
        f"# Held-out test at k = {k}\n\n"
        f"{int(test_metrics['evaluated_users'])} users evaluated.\n\n{_markdown([header, *rows])}",
        "evaluation/test_metrics.md",
    )

    trial_header = [
        *(f.name for f in dataclasses.fields(Trial)),
        *(f"validation_{m}" for m in METRICS),
    ]
    trial_rows = [
        [
            *(str(v) for v in dataclasses.astuple(trial)),
            *(f"{scores[f'{MODEL}_{m}']:.4f}" for m in METRICS),
        ]
        for trial, scores in results
    ]
    tracking.log_text(_csv([trial_header, *trial_rows]), "evaluation/trials.csv")

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 4))
    width = 0.8 / len(recommenders)
    for offset, name in enumerate(recommenders):
        positions = [index + offset * width for index in range(len(columns))]
        axes.bar(positions, [test_metrics[f"{name}_{c}"] for c in columns], width, label=name)
    axes.set_xticks([index + 0.4 - width / 2 for index in range(len(columns))], columns)
    axes.set_title(f"Held-out test at k = {k}")
    axes.legend()
    tracking.log_figure(figure, "evaluation/test_metrics.png")
    pyplot.close(figure)

    figure, axes = pyplot.subplots(figsize=(8, 4))
    labels = [_describe_trial(trial) for trial, _ in results]
    axes.barh(labels, [scores[f"{MODEL}_{metric}"] for _, scores in results])
    popularity = results[0][1][f"{POPULARITY}_{metric}"]
    axes.axvline(popularity, color="grey", linestyle="--", label="popularity")
    axes.set_xlabel(f"validation {metric}")
    axes.legend()
    figure.tight_layout()
    tracking.log_figure(figure, "evaluation/trials.png")
    pyplot.close(figure)


def _csv(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\n" for row in rows)


def _markdown(rows: list[list[str]]) -> str:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _describe(params: TrainConfig) -> str:
    return (
        f"rank {params.rank}, reg {params.reg_param:g}, alpha {params.alpha:g}, "
        f"{params.max_iter} iterations, {params.confidence}"
    )


def _describe_trial(trial: Trial) -> str:
    return (
        f"rank {trial.rank}, reg {trial.reg_param:g}, alpha {trial.alpha:g}, "
        f"{trial.max_iter} it, {trial.confidence}"
    )


def _verdict(promotion: Promotion) -> str:
    return "promoted" if promotion.promoted else "not promoted"
