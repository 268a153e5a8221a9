"""MLflow at the edge: where runs are recorded, what they hold, and how models come back by alias.

Every MLflow call of the project goes through this module. By default (``tracking.tracking_uri``
null) the store is embedded in the data directory: a SQLite database at
``<data_dir>/mlflow/mlflow.db`` for runs and the registry, and the experiment's artifacts (models
included) under ``<data_dir>/mlflow/artifacts``. A configured URI (a tracking server,
``databricks``) is used as given, with the artifact location that server chooses.

MLflow keeps the current store and the active run in process-wide state. :func:`connect` points
that state at the configured store and returns a :class:`TrackingTarget`; the functions that open
runs, register or load take the target (or its tracking URI) and point MLflow at it again, so two
configurations in one process (as in the tests) never write into each other's store.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import mlflow.spark
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)

from spinback.config import Config, ConfigError
from spinback.tables import TableLocations

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from pyspark.ml import Transformer

logger = logging.getLogger(__name__)

# The run-relative path under which a run's Spark model is logged.
MODEL_ARTIFACT_PATH = "model"

# How the registry says that a model or an alias does not exist (stores differ in the code).
_ABSENT = {ErrorCode.Name(RESOURCE_DOES_NOT_EXIST), ErrorCode.Name(INVALID_PARAMETER_VALUE)}

# Alias names the registry keeps for itself: "latest" and version names such as "v3".
_RESERVED_ALIAS = re.compile(r"latest|v\d+", re.IGNORECASE)


@dataclass(frozen=True)
class TrackingTarget:
    """The store runs are written to, and the experiment they belong to."""

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    # Where the experiment keeps its artifacts; None when a tracking server decides.
    artifact_location: str | None


def tracking_uri(config: Config) -> str:
    """The configured tracking URI, or the embedded SQLite store under the data directory.

    The embedded store needs a local data directory: SQLite cannot live on object storage, so a
    remote ``data_dir`` without ``tracking.tracking_uri`` stops the run here.
    """
    if config.tracking.tracking_uri is not None:
        return config.tracking.tracking_uri

    locations = TableLocations.from_config(config)
    if not locations.is_local:
        raise ConfigError(
            f"tracking.tracking_uri: null is not allowed with the remote data_dir "
            f"{config.data_dir!r}; expected a tracking server URI (or 'databricks'), since the "
            f"embedded SQLite store needs a local folder"
        )
    return f"sqlite:///{Path(locations.mlflow) / 'mlflow.db'}"


def default_artifact_location(config: Config) -> str | None:
    """``<data_dir>/mlflow/artifacts`` as a file URI for the embedded store; None for a server."""
    if config.tracking.tracking_uri is not None:
        return None
    return (Path(TableLocations.from_config(config).mlflow) / "artifacts").as_uri()


def connect(config: Config) -> TrackingTarget:
    """Point MLflow at the configured store and return its experiment, created on first use.

    For the embedded store the ``mlflow`` folder is created first, because SQLite makes the
    database file but not its folder.
    """
    store_uri = tracking_uri(config)
    artifact_location = default_artifact_location(config)
    if config.tracking.tracking_uri is None:
        Path(TableLocations.from_config(config).mlflow).mkdir(parents=True, exist_ok=True)

    _activate(store_uri)
    experiment_id = _get_or_create_experiment(
        MlflowClient(store_uri), config.tracking.experiment, artifact_location
    )
    target = TrackingTarget(
        tracking_uri=store_uri,
        experiment_id=experiment_id,
        experiment_name=config.tracking.experiment,
        artifact_location=artifact_location,
    )
    logger.info(
        "MLflow tracking at %s, experiment %r (id %s)",
        store_uri,
        target.experiment_name,
        experiment_id,
    )
    return target


@contextmanager
def start_run(
    target: TrackingTarget,
    run_name: str,
    tags: Mapping[str, str] | None = None,
    nested: bool = False,
) -> Iterator[str]:
    """Open a run in the target's experiment and yield its id; the run ends with the block.

    A block that raises ends the run as FAILED, so a broken training leaves a visible record.
    ``nested`` opens a child run of the active run (a tuning trial under its search).
    """
    _activate(target.tracking_uri)
    with mlflow.start_run(
        experiment_id=target.experiment_id,
        run_name=run_name,
        tags=dict(tags or {}),
        nested=nested,
    ) as run:
        logger.info("MLflow run %s (%s) started", run.info.run_id, run_name)
        yield run.info.run_id


def log_params(params: Mapping[str, object]) -> None:
    """Record ``params`` on the active run; MLflow stores every value as text."""
    mlflow.log_params(dict(params))


def log_metrics(metrics: Mapping[str, float]) -> None:
    """Record ``metrics`` on the active run."""
    mlflow.log_metrics(dict(metrics))


def set_tags(tags: Mapping[str, str]) -> None:
    """Record ``tags`` on the active run."""
    mlflow.set_tags(dict(tags))


def log_text(text: str, artifact_file: str) -> None:
    """Store ``text`` as the artifact ``artifact_file`` (a run-relative path) of the active run."""
    mlflow.log_text(text, artifact_file)


def log_figure(figure: Figure, artifact_file: str) -> None:
    """Store a matplotlib figure as the image ``artifact_file`` of the active run."""
    mlflow.log_figure(figure, artifact_file)


def log_spark_model(model: Transformer) -> str:
    """Log a fitted Spark ML model to the active run and return its model URI.

    MLflow wraps a single model in a one-stage ``PipelineModel``. The pip requirements are given
    (the running pyspark), because inferring them would reload the model in a fresh Python process
    with a Spark session of its own.
    """
    model_info = mlflow.spark.log_model(
        model,
        artifact_path=MODEL_ARTIFACT_PATH,
        pip_requirements=mlflow.spark.get_default_pip_requirements(),
    )
    logger.info("logged the Spark model as %s", model_info.model_uri)
    return str(model_info.model_uri)


def register_model_version(target: TrackingTarget, model_uri: str, model_name: str) -> str:
    """Register ``model_uri`` as a new version of ``model_name`` (created if absent).

    Returns the new version number, as text.
    """
    _activate(target.tracking_uri)
    model_version = mlflow.register_model(model_uri, model_name)
    logger.info("registered %s as version %s of %r", model_uri, model_version.version, model_name)
    return str(model_version.version)


def set_model_alias(target: TrackingTarget, model_name: str, alias: str, version: str) -> None:
    """Point ``alias`` of ``model_name`` at ``version``, moving it from any earlier version."""
    MlflowClient(target.tracking_uri).set_registered_model_alias(model_name, alias, version)
    logger.info("alias %r of %r now names version %s", alias, model_name, version)


def alias_version(target: TrackingTarget, model_name: str, alias: str) -> str | None:
    """The version ``alias`` of ``model_name`` names; None when the model or the alias is absent."""
    client = MlflowClient(target.tracking_uri)
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as error:
        if error.error_code in _ABSENT:
            return None
        raise
    return str(version.version)


def check_alias(alias: str, key: str = "train.alias") -> None:
    """Refuse an alias the registry reserves, before any work is done for a model it cannot name."""
    if _RESERVED_ALIAS.fullmatch(alias):
        raise ConfigError(
            f"{key}: {alias!r} is not allowed; the MLflow registry reserves 'latest' and "
            f"'v<number>' for itself, so choose another name such as 'champion' or 'candidate'"
        )


def alias_uri(model_name: str, alias: str) -> str:
    """The registry URI of the version an alias names: ``models:/<name>@<alias>``."""
    return f"models:/{model_name}@{alias}"


def load_spark_model(store_uri: str, model_name: str, alias: str) -> Transformer:
    """Load the version of ``model_name`` that ``alias`` names, as the ``PipelineModel`` logged.

    ``store_uri`` is a tracking URI (see :func:`tracking_uri`); loading needs only the registry,
    so no experiment is looked up or created.
    """
    _activate(store_uri)
    uri = alias_uri(model_name, alias)
    model: Transformer = mlflow.spark.load_model(uri)
    logger.info("loaded %s", uri)
    return model


def _activate(store_uri: str) -> None:
    # The registry lives in the same store as the runs.
    mlflow.set_tracking_uri(store_uri)
    mlflow.set_registry_uri(store_uri)


def _get_or_create_experiment(
    client: MlflowClient, name: str, artifact_location: str | None
) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException as error:
            # Another job created it between the lookup and the creation.
            if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise

    if artifact_location is not None and experiment.artifact_location != artifact_location:
        logger.warning(
            "experiment %r keeps its artifacts at %s, not at %s; its existing location is kept",
            name,
            experiment.artifact_location,
            artifact_location,
        )
    return str(experiment.experiment_id)
