"""Typed configuration, loaded from ``conf/*.yaml`` and validated before any Spark work starts.

The layers, each overriding the one before: ``conf/base.yaml`` (every key, documented), the mode
file (``conf/local.yaml`` or ``conf/cluster.yaml``), an optional ``--conf FILE``, then ``--set
key=value`` pairs from the command line. An unknown key, a missing key or a value of the wrong type
stops the run at once with a :class:`ConfigError` that names the key and what it accepts.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, Union

import yaml

Mode = Literal["local", "cluster"]
ConfidenceTransform = Literal["raw", "log1p"]

CONF_DIR_ENV = "SPINBACK_CONF_DIR"


class ConfigError(ValueError):
    """A configuration key is unknown, missing or holds a value it does not accept."""


def _require(condition: bool, key: str, allowed: str, value: object) -> None:
    if not condition:
        raise ConfigError(f"{key}: {value!r} is not allowed; expected {allowed}")


@dataclass(frozen=True)
class SparkConfig:
    app_name: str
    # Used only in local mode; on a cluster the session comes from spark-submit or Databricks.
    master: str
    shuffle_partitions: int
    driver_memory: str
    # Maven coordinates of the Delta JARs, resolved by Spark's Ivy (which also searches ~/.m2).
    delta_package: str
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(
            self.shuffle_partitions >= 1,
            "spark.shuffle_partitions",
            "an integer >= 1",
            self.shuffle_partitions,
        )
        _require(
            self.master.startswith(("local", "spark://", "yarn", "k8s://")),
            "spark.master",
            "local[N], local[*], spark://HOST:PORT, yarn or k8s://...",
            self.master,
        )


@dataclass(frozen=True)
class PrivacyConfig:
    # The pseudonymisation key is read from this environment variable, else from this file.
    pseudonym_key_env: str
    pseudonym_key_file: str | None
    bronze_enabled: bool
    bronze_retention_days: int

    def __post_init__(self) -> None:
        _require(
            self.bronze_retention_days >= 0,
            "privacy.bronze_retention_days",
            "an integer >= 0",
            self.bronze_retention_days,
        )


@dataclass(frozen=True)
class GenerateConfig:
    users: int
    year: int
    seed: int
    tracks: int
    artists: int
    genres: int
    shows: int
    # Mean qualified-or-not plays per active day of an average user; activity is heavy-tailed.
    plays_per_active_day: float
    podcast_share: float
    # Share of users whose first play falls after the start of the year.
    late_joiner_share: float
    # Exponent of the power law that shapes track and artist popularity (Zipf-like).
    popularity_exponent: float

    def __post_init__(self) -> None:
        for name in ("users", "tracks", "artists", "genres", "shows"):
            value = getattr(self, name)
            _require(value >= 1, f"generate.{name}", "an integer >= 1", value)
        _require(
            1900 <= self.year <= 2100, "generate.year", "a year between 1900 and 2100", self.year
        )
        _require(
            self.plays_per_active_day > 0,
            "generate.plays_per_active_day",
            "a number > 0",
            self.plays_per_active_day,
        )
        for name in ("podcast_share", "late_joiner_share"):
            value = getattr(self, name)
            _require(0.0 <= value < 1.0, f"generate.{name}", "a number in [0, 1)", value)
        _require(
            self.popularity_exponent > 0,
            "generate.popularity_exponent",
            "a number > 0",
            self.popularity_exponent,
        )


@dataclass(frozen=True)
class IngestConfig:
    # A scrobble carries no duration: it lasts the catalog's, else this long (the spec's default).
    default_play_ms: int
    # Time zone of users whose zone is neither given nor inferable from their plays' country.
    default_timezone: str

    def __post_init__(self) -> None:
        _require(
            self.default_play_ms > 0,
            "ingest.default_play_ms",
            "an integer > 0",
            self.default_play_ms,
        )


@dataclass(frozen=True)
class WrappedConfig:
    # A calendar year such as "2025"; the period is [Jan 1, Jan 1 of the next year) in local time.
    period: str
    top_n: int
    # A stream qualifies for rankings from this many milliseconds (the `spotify` stream rule).
    min_stream_ms: int
    featured_weight: float
    min_distinct_artists: int

    def __post_init__(self) -> None:
        _require(
            self.period.isdigit() and len(self.period) == 4,
            "wrapped.period",
            "a calendar year such as 2025",
            self.period,
        )
        _require(self.top_n >= 1, "wrapped.top_n", "an integer >= 1", self.top_n)
        _require(
            self.min_stream_ms >= 0, "wrapped.min_stream_ms", "an integer >= 0", self.min_stream_ms
        )
        _require(
            0.0 <= self.featured_weight <= 1.0,
            "wrapped.featured_weight",
            "a number in [0, 1]",
            self.featured_weight,
        )


@dataclass(frozen=True)
class TrainConfig:
    rank: int
    max_iter: int
    reg_param: float
    alpha: float
    confidence: ConfidenceTransform
    # Plays from the last this-many days before the newest play form the training data.
    window_days: int
    # Share of each user's most recent days held out to evaluate the model.
    holdout_days: int
    checkpoint_interval: int
    seed: int
    top_k: int
    model_name: str
    # The registry alias the newly trained version receives.
    alias: str

    def __post_init__(self) -> None:
        for name in ("rank", "max_iter", "window_days", "checkpoint_interval", "top_k"):
            value = getattr(self, name)
            _require(value >= 1, f"train.{name}", "an integer >= 1", value)
        _require(self.holdout_days >= 0, "train.holdout_days", "an integer >= 0", self.holdout_days)
        _require(self.reg_param >= 0, "train.reg_param", "a number >= 0", self.reg_param)
        _require(self.alpha > 0, "train.alpha", "a number > 0", self.alpha)
        # MLflow reserves "latest" and "v<number>" for its own version lookups.
        reserved = self.alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", self.alias)
        _require(
            self.alias.isidentifier() and not reserved,
            "train.alias",
            "a name of letters, digits and _ other than latest or v<number>",
            self.alias,
        )


@dataclass(frozen=True)
class TrackingConfig:
    # None: a SQLite store under <data_dir>/mlflow, artifacts beside it.
    tracking_uri: str | None
    experiment: str


@dataclass(frozen=True)
class Config:
    mode: Mode
    data_dir: str
    spark: SparkConfig
    privacy: PrivacyConfig
    generate: GenerateConfig
    ingest: IngestConfig
    wrapped: WrappedConfig
    train: TrainConfig
    tracking: TrackingConfig

    def __post_init__(self) -> None:
        _require(bool(self.data_dir), "data_dir", "a folder path or URI", self.data_dir)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- loading -----------------------------------------------------------------------------------


def default_conf_dir() -> Traversable:
    """Where ``base.yaml`` lives: $SPINBACK_CONF_DIR, else the ``conf`` folder the package carries.

    The package's ``conf`` links to the repository's ``conf/``, and wheels and the spark-submit zip
    hold a copy, so the defaults travel with the code to any cluster.
    """
    if os.environ.get(CONF_DIR_ENV):
        return Path(os.environ[CONF_DIR_ENV])
    return resources.files("spinback") / "conf"


def load_config(
    mode: str | None = None,
    conf_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    conf_dir: str | Path | Traversable | None = None,
) -> Config:
    """Merge base, mode file, ``conf_file`` and ``key=value`` overrides into a validated Config.

    ``mode`` defaults to the value in the merged files (``local`` in base.yaml).
    """
    directory = Path(conf_dir) if isinstance(conf_dir, str) else conf_dir or default_conf_dir()
    merged = _read_yaml(directory / "base.yaml")

    file_layers = [_read_yaml(Path(conf_file))] if conf_file else []
    override_layer = _parse_overrides(overrides)
    chosen_mode = (
        mode or override_layer.get("mode") or _last_mode(file_layers) or merged.get("mode")
    )
    _require(chosen_mode in typing.get_args(Mode), "mode", "local or cluster", chosen_mode)

    mode_file = directory / f"{chosen_mode}.yaml"
    if mode_file.is_file():
        merged = _deep_merge(merged, _read_yaml(mode_file))
    for layer in file_layers:
        merged = _deep_merge(merged, layer)
    merged = _deep_merge(merged, override_layer)
    merged["mode"] = chosen_mode
    return _build(Config, merged, "")


def _last_mode(layers: list[dict[str, Any]]) -> str | None:
    modes = [layer["mode"] for layer in layers if "mode" in layer]
    return modes[-1] if modes else None


def _read_yaml(path: Path | Traversable) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"configuration file {path} is not valid YAML: {error}") from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(
            f"configuration file {path} must hold a mapping of keys, not {type(content).__name__}"
        )
    return content


def _parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """Turn ``["train.rank=64", "mode=local"]`` into a nested mapping; values are read as YAML."""
    nested: dict[str, Any] = {}
    for override in overrides:
        key, separator, raw_value = override.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"override {override!r} must look like section.key=value")
        parts = key.strip().split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(raw_value) if raw_value.strip() else None
    return nested


def _deep_merge(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(cls: type, values: Any, prefix: str) -> Any:
    where = prefix.rstrip(".") or "the configuration"
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping of keys, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key '{prefix}{unknown[0]}'; allowed keys in {where}: "
            f"{', '.join(sorted(fields))}"
        )
    arguments = {}
    for name, spec in fields.items():
        key = f"{prefix}{name}"
        if name not in values:
            has_default = (
                spec.default is not dataclasses.MISSING
                or spec.default_factory is not dataclasses.MISSING
            )
            if has_default:
                continue
            raise ConfigError(f"missing key '{key}'")
        arguments[name] = _coerce(hints[name], values[name], key)
    return cls(**arguments)


def _coerce(kind: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _build(kind, value, f"{key}.")
    if origin in (Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        inner = [option for option in options if option is not type(None)]
        return _coerce(inner[0], value, key)
    if origin is Literal:
        allowed = typing.get_args(kind)
        _require(value in allowed, key, " or ".join(map(str, allowed)), value)
        return value
    if origin is dict:
        _require(isinstance(value, Mapping), key, "a mapping", value)
        return {str(k): str(v) for k, v in value.items()}
    if kind is bool:
        _require(isinstance(value, bool), key, "true or false", value)
        return value
    if kind is int:
        _require(isinstance(value, int) and not isinstance(value, bool), key, "an integer", value)
        return value
    if kind is float:
        _require(
            isinstance(value, int | float) and not isinstance(value, bool), key, "a number", value
        )
        return float(value)
    if kind is str:
        _require(
            isinstance(value, str | int) and not isinstance(value, bool), key, "a string", value
        )
        return str(value)
    raise ConfigError(f"{key}: unsupported configuration type {kind!r}")
