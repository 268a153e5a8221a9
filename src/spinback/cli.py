"""The ``spinback`` command: one subcommand per job; arguments -> configuration -> session -> job.

The same ``main`` serves the console script and the thin ``jobs/*.py`` entry points for spark-
submit. It is the only place besides ``jobs/`` that prints: what was written where, for the person
running it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence

from pyspark.sql import SparkSession

from spinback.config import Config, ConfigError, load_config

logger = logging.getLogger(__name__)

Command = Callable[[SparkSession, Config, argparse.Namespace], None]


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--conf", metavar="FILE", help="a YAML file layered over conf/")
    common.add_argument("--data-dir", metavar="DIR", help="where tables, documents and MLflow live")
    common.add_argument("--mode", choices=["local", "cluster"], help="default: from configuration")
    common.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one configuration key, e.g. train.rank=64",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(prog="spinback", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser(
        "generate", parents=[common], help="write a synthetic listening log to the landing folder"
    )
    generate.add_argument("--users", type=int)
    generate.add_argument("--year", type=int)
    generate.add_argument("--seed", type=int)
    generate.set_defaults(run=_generate)

    ingest = commands.add_parser(
        "ingest", parents=[common], help="exports or logs -> bronze, quarantine and silver tables"
    )
    ingest.add_argument(
        "--input",
        metavar="PATH",
        help="a folder, file or zip (local or s3a://, abfss://, hdfs://); "
        "default: what `spinback generate` landed",
    )
    ingest.add_argument(
        "--format",
        default="auto",
        dest="source_format",
        help="auto (default), event-log, or a reader name such as spotify-extended",
    )
    ingest.add_argument("--user", help="the name of the person whose export this is")
    ingest.add_argument("--timezone", dest="time_zone", help="their IANA time zone")
    ingest.add_argument(
        "--profile", help="column mapping for --format event-log: music, retail or a YAML file"
    )
    ingest.add_argument(
        "--enrich", metavar="FILE", help="catalog facts by track or artist (CSV or JSON)"
    )
    ingest.add_argument(
        "--artist-tags", metavar="DIR", help="HetRec-style tag files giving artists genres"
    )
    ingest.set_defaults(run=_ingest)

    wrapped = commands.add_parser(
        "wrapped", parents=[common], help="every user's year-in-review stories for one period"
    )
    period = wrapped.add_mutually_exclusive_group()
    period.add_argument(
        "--period", help="2025, 2025-Q2, 2025-07, 2025-03-01..2025-06-01 or 2026-ytd"
    )
    period.add_argument("--year", type=int, help="a calendar year: the same as --period YEAR")
    wrapped.add_argument(
        "--input",
        metavar="PATH",
        help="one person's export (folder, file or zip): ingest it first, then tell its stories",
    )
    wrapped.add_argument("--user", help="with --input: the name of the person")
    wrapped.add_argument("--timezone", dest="time_zone", help="with --input: their IANA time zone")
    wrapped.add_argument(
        "--format", default="auto", dest="source_format", help="with --input: as for ingest"
    )
    wrapped.add_argument(
        "--out", metavar="DIR", help="where <user>/<period>.json and .html go (default: data dir)"
    )
    wrapped.set_defaults(run=_wrapped)

    train = commands.add_parser(
        "train", parents=[common], help="train the ALS recommender and register it in MLflow"
    )
    train.set_defaults(run=_train)

    tune = commands.add_parser(
        "tune",
        parents=[common],
        help="search ALS settings; register the winner, champion only when it beats both",
    )
    tune.set_defaults(run=_tune)

    recommend = commands.add_parser(
        "recommend",
        parents=[common],
        help="top-k tracks for every user and the recommender stories, from the champion",
    )
    recommend.add_argument("--period", help="the stories' period, such as 2025")
    recommend.set_defaults(run=_recommend)

    demo = commands.add_parser(
        "demo", parents=[common], help="generate, ingest, wrapped and train in sequence"
    )
    demo.add_argument("--users", type=int)
    demo.add_argument("--year", type=int)
    demo.add_argument("--seed", type=int)
    demo.set_defaults(run=_demo)
    return parser


def _configuration(arguments: argparse.Namespace) -> Config:
    overrides = list(arguments.overrides)
    if arguments.data_dir:
        overrides.append(f"data_dir={arguments.data_dir}")
    for option, key in (("users", "generate.users"), ("seed", "generate.seed")):
        if getattr(arguments, option, None) is not None:
            overrides.append(f"{key}={getattr(arguments, option)}")
    year = getattr(arguments, "year", None)
    if year is not None:
        overrides.append(f"wrapped.period='{year}'")
        if arguments.command != "wrapped":
            overrides.append(f"generate.year={year}")
    if getattr(arguments, "period", None):
        overrides.append(f"wrapped.period='{arguments.period}'")
    return load_config(mode=arguments.mode, conf_file=arguments.conf, overrides=overrides)


def _generate(spark: SparkSession, config: Config, arguments: argparse.Namespace) -> None:
    from spinback.generate import generate_listening, write_generated
    from spinback.tables import TableLocations

    data = generate_listening(spark, config.generate)
    written = write_generated(data, TableLocations.from_config(config).landing_generated)
    for name, path in written.items():
        print(f"generated {name}: {path}")


def _ingest(spark: SparkSession, config: Config, arguments: argparse.Namespace) -> None:
    from spinback.ingest.job import run_ingest_files, run_ingest_generated

    if getattr(arguments, "input", None):
        report = run_ingest_files(
            spark,
            config,
            arguments.input,
            source_format=arguments.source_format,
            user=arguments.user,
            time_zone=arguments.time_zone,
            profile=getattr(arguments, "profile", None),
            enrichment_path=getattr(arguments, "enrich", None),
            artist_tags_dir=getattr(arguments, "artist_tags", None),
        )
    else:
        report = run_ingest_generated(spark, config)
    for reader, files in sorted(report.found.items()):
        print(f"found {files} {reader} file(s)")
    if report.ignored_files:
        print(f"ignored {len(report.ignored_files)} file(s) that hold no listening history")
    print(
        f"ingest batch {report.batch_id}: {report.plays_inserted} new plays, "
        f"{report.bronze_inserted} new bronze records, "
        f"{report.quarantine_inserted} quarantined"
    )
    if report.duplicate_records:
        print(f"  {report.duplicate_records} exact duplicate records kept once")
    for reason, count in sorted(report.quarantine_reasons.items()):
        print(f"  quarantined {count}: {reason}")
    for name, path in report.written.items():
        print(f"{name}: {path}")


def _wrapped(spark: SparkSession, config: Config, arguments: argparse.Namespace) -> None:
    from spinback.stories.job import run_wrapped

    if getattr(arguments, "input", None):
        _ingest(spark, config, arguments)
    result = run_wrapped(spark, config, out_dir=getattr(arguments, "out", None))
    print(f"stories for {result.period.label}: {result.stories_table}")
    print(f"documents (<user>/{result.period.label}.json and .html): {result.documents_dir}")


def _train(spark: SparkSession, config: Config, arguments: argparse.Namespace) -> None:
    from spinback.recommend.train import run_train

    result = run_train(spark, config)
    print(f"MLflow run {result.run_id} in {result.tracking_uri}")
    print(f"model: {result.alias_uri} (version {result.version}, logged as {result.model_uri})")
    print(f"linear algebra: BLAS {result.blas}, LAPACK {result.lapack}")
    print("metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items())))


def _tune(spark: SparkSession, config: Config, arguments: argparse.Namespace) -> None:
    from spinback.recommend.tune import run_tune

    result = run_tune(spark, config)
    print(f"MLflow run {result.run_id} in {result.tracking_uri}")
    print(f"tried {len(result.trials)} settings; winner: {result.winner}")
    metric = config.tune.metric
    k = config.train.top_k
    for name in ("als", "champion", "popularity"):
        if f"{name}_{metric}" in result.test_metrics:
            scores = ", ".join(
                f"{m}@{k}={result.test_metrics[f'{name}_{m}_at_k']:.4f}"
                for m in ("ndcg", "precision", "recall", "map")
            )
            print(f"held-out test, {name}: {scores}")
    verdict = "champion" if result.promotion.promoted else "not promoted"
    print(f"{result.model_name} version {result.version}: {verdict} ({result.promotion.reason})")


def _recommend(spark: SparkSession, config: Config, arguments: argparse.Namespace) -> None:
    from spinback.recommend.job import run_recommend

    result = run_recommend(spark, config)
    print(f"model: {result.model_name} version {result.model_version}")
    print(f"recommendations: {result.recommendations_table}")
    print(f"recommender stories for {result.period}: {result.stories_table}")


def _demo(spark: SparkSession, config: Config, arguments: argparse.Namespace) -> None:
    # The demo recommends with the model it has just trained, so that its pages show the
    # recommender's stories too; a real deployment recommends with the champion `spinback tune`
    # promotes. Wrapped comes last because its documents include those stories.
    demo_config = dataclasses.replace(
        config, recommend=dataclasses.replace(config.recommend, alias=config.train.alias)
    )
    for step in (_generate, _ingest, _train, _recommend, _wrapped):
        step(spark, demo_config, arguments)
    print(f"MLflow UI: mlflow ui --backend-store-uri {_tracking_uri(config)}")


def _tracking_uri(config: Config) -> str:
    from spinback.tracking import tracking_uri

    return tracking_uri(config)


def configure_logging(level: int = logging.INFO) -> None:
    """Attach one handler to the package logger only, so spark-submit and notebooks keep theirs."""
    package_logger = logging.getLogger("spinback")
    if not package_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        package_logger.addHandler(handler)
    package_logger.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    configure_logging()
    try:
        config = _configuration(arguments)
    except ConfigError as error:
        print(f"spinback: configuration error: {error}", file=sys.stderr)
        return 2

    from spinback.session import build_session

    spark = build_session(config)
    try:
        arguments.run(spark, config, arguments)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        # Bad input the person can fix (a wrong file, a missing key or table): say it plainly.
        # Spark's own errors are not among these and keep their traceback.
        print(f"spinback {arguments.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
