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
ConfidenceTransform = Literal["raw", "log1p", "bm25"]
# What the recommender ranks: tracks, or artists (a second, coarser model).
ItemKind = Literal["track", "artist"]
# The ranking metrics the evaluator reports; tuning and promotion compare one of them.
RankingMetric = Literal["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k"]

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
class DayPart:
    """A named slice of the local day, ``[start_hour, end_hour)``, for the ``audio_day`` story."""

    name: str
    start_hour: int
    end_hour: int


StreamRule = Literal["spotify", "scrobble"]


@dataclass(frozen=True)
class WrappedConfig:
    """The rules and thresholds of every story (see docs/stories.md and the spec they follow)."""

    # "2025", "2025-Q2", "2025-07", "2025-03-01..2025-06-01" (end exclusive) or "2026-ytd".
    period: str
    # `spotify`: music, ms_played >= min_stream_ms, not private. `scrobble`: ms_played >=
    # min(duration / 2, 240 s) on tracks longer than 30 s (min_stream_ms without a duration).
    stream_rule: StreamRule
    min_stream_ms: int
    featured_weight: float
    top_n: int
    # Length of the top-tracks list kept beside the top 5.
    top_list_size: int
    min_distinct_artists: int
    min_distinct_tracks: int
    # An album counts only where the user played this share of its tracks (when its size is known).
    album_min_track_share: float
    # Population statistics are published only over at least this many users of the period.
    min_population: int
    # Fan percentile buckets of the #1 artist, in percent ("top 0.1 %", "top 0.5 %", ...).
    fan_buckets: tuple[float, ...]
    day_parts: tuple[DayPart, ...]
    # Rarest listen: a track the user played at least this many times.
    rarest_min_plays: int
    # Evolution: at most this many phases; each phase beyond the first costs this much distance.
    max_phases: int
    phase_penalty: float
    playlist_size: int
    # Playlist positions taken straight from the ranking before the streams + days score applies.
    playlist_ranked_positions: int
    playlist_day_weight: float
    # Year over year: an artist is a comeback after this many days of silence, loyal in this many
    # months of the twelve.
    comeback_days: int
    loyal_months: int
    milestone_streams: tuple[int, ...]
    milestone_minutes: tuple[int, ...]

    def __post_init__(self) -> None:
        from spinback.stories.period import Period  # the period grammar lives with the stories

        try:
            Period.parse(self.period)
        except ValueError as error:
            raise ConfigError(f"wrapped.period: {error}") from None
        for name in (
            "top_n",
            "top_list_size",
            "min_population",
            "rarest_min_plays",
            "max_phases",
            "playlist_size",
            "comeback_days",
            "loyal_months",
        ):
            value = getattr(self, name)
            _require(value >= 1, f"wrapped.{name}", "an integer >= 1", value)
        _require(
            self.min_stream_ms >= 0, "wrapped.min_stream_ms", "an integer >= 0", self.min_stream_ms
        )
        for name in ("featured_weight", "album_min_track_share"):
            value = getattr(self, name)
            _require(0.0 <= value <= 1.0, f"wrapped.{name}", "a number in [0, 1]", value)
        _require(
            0 <= self.playlist_ranked_positions <= self.playlist_size,
            "wrapped.playlist_ranked_positions",
            "an integer in [0, playlist_size]",
            self.playlist_ranked_positions,
        )
        _require(self.loyal_months <= 12, "wrapped.loyal_months", "at most 12", self.loyal_months)
        _require(
            list(self.fan_buckets) == sorted(self.fan_buckets)
            and all(0 < b <= 100 for b in self.fan_buckets),
            "wrapped.fan_buckets",
            "increasing percentages in (0, 100]",
            self.fan_buckets,
        )
        hours = [h for part in self.day_parts for h in (part.start_hour, part.end_hour)]
        contiguous = all(
            a.end_hour == b.start_hour
            for a, b in zip(self.day_parts, self.day_parts[1:], strict=False)
        )
        _require(
            bool(self.day_parts)
            and hours[0] == 0
            and hours[-1] == 24
            and contiguous
            and all(p.start_hour < p.end_hour for p in self.day_parts),
            "wrapped.day_parts",
            "contiguous [start_hour, end_hour) slices covering 0..24 in order",
            [(p.name, p.start_hour, p.end_hour) for p in self.day_parts],
        )


def _require_alias(alias: str, key: str) -> None:
    # MLflow reserves "latest" and "v<number>" for its own version lookups.
    reserved = alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias)
    _require(
        alias.isidentifier() and not reserved,
        key,
        "a name of letters, digits and _ other than latest or v<number>",
        alias,
    )


@dataclass(frozen=True)
class TrainConfig:
    # What the model ranks: `track` (the default) or `artist`, each with its own registered name.
    item: ItemKind
    rank: int
    max_iter: int
    reg_param: float
    alpha: float
    confidence: ConfidenceTransform
    # BM25 weighting (confidence `bm25`): saturation of play counts and strength of the length norm.
    bm25_k1: float
    bm25_b: float
    # Plays from the last this-many days before the newest play form the training data.
    window_days: int
    # Share of each user's most recent days held out to evaluate the model.
    holdout_days: int
    checkpoint_interval: int
    # ALS user and item blocks; 0 takes one block per core of the session.
    num_blocks: int
    seed: int
    top_k: int
    model_name: str
    artist_model_name: str
    # The registry alias the newly trained version receives.
    alias: str

    def __post_init__(self) -> None:
        for name in ("rank", "max_iter", "window_days", "checkpoint_interval", "top_k"):
            value = getattr(self, name)
            _require(value >= 1, f"train.{name}", "an integer >= 1", value)
        _require(self.holdout_days >= 0, "train.holdout_days", "an integer >= 0", self.holdout_days)
        _require(self.num_blocks >= 0, "train.num_blocks", "an integer >= 0", self.num_blocks)
        _require(self.reg_param >= 0, "train.reg_param", "a number >= 0", self.reg_param)
        _require(self.alpha > 0, "train.alpha", "a number > 0", self.alpha)
        _require(self.bm25_k1 > 0, "train.bm25_k1", "a number > 0", self.bm25_k1)
        _require(0.0 <= self.bm25_b <= 1.0, "train.bm25_b", "a number in [0, 1]", self.bm25_b)
        _require_alias(self.alias, "train.alias")

    @property
    def registered_model_name(self) -> str:
        """The registry name of the model for ``item``."""
        return self.model_name if self.item == "track" else self.artist_model_name


@dataclass(frozen=True)
class TuneConfig:
    # The grid searched; each trial takes one value of each list (see `trials`).
    ranks: tuple[int, ...]
    reg_params: tuple[float, ...]
    alphas: tuple[float, ...]
    max_iters: tuple[int, ...]
    confidences: tuple[ConfidenceTransform, ...]
    # How many settings of the grid are tried, drawn with `seed`; the whole grid when it is smaller.
    trials: int
    # Trials fit before (test cut - validation_days) and are scored on the days up to the test cut.
    validation_days: int
    # Data without timestamps: this share of each user's items is held out, drawn with `seed`.
    holdout_share: float
    # The held-out metric that picks the winner and decides promotion.
    metric: RankingMetric
    # The alias the winner receives when it beats both the current holder and popularity.
    champion_alias: str
    seed: int

    def __post_init__(self) -> None:
        for name in ("ranks", "reg_params", "alphas", "max_iters", "confidences"):
            _require(bool(getattr(self, name)), f"tune.{name}", "a non-empty list", [])
        _require(all(r >= 1 for r in self.ranks), "tune.ranks", "integers >= 1", self.ranks)
        _require(
            all(i >= 1 for i in self.max_iters), "tune.max_iters", "integers >= 1", self.max_iters
        )
        _require(
            all(r >= 0 for r in self.reg_params), "tune.reg_params", "numbers >= 0", self.reg_params
        )
        _require(all(a > 0 for a in self.alphas), "tune.alphas", "numbers > 0", self.alphas)
        _require(self.trials >= 1, "tune.trials", "an integer >= 1", self.trials)
        _require(
            self.validation_days >= 1,
            "tune.validation_days",
            "an integer >= 1",
            self.validation_days,
        )
        _require(
            0.0 < self.holdout_share < 1.0,
            "tune.holdout_share",
            "a number in (0, 1)",
            self.holdout_share,
        )
        _require_alias(self.champion_alias, "tune.champion_alias")


@dataclass(frozen=True)
class RecommendConfig:
    # The registry alias of the model that recommends.
    alias: str
    top_k: int
    # The blocked top-k multiplies this many users' factors at a time against this many items'.
    user_block_size: int
    item_block_size: int
    # Users with fewer distinct tracks than this get the cold-start fallback instead of the model:
    # the tracks most listened to in their top genres.
    min_history: int
    fallback_genres: int
    # Recommender stories: list lengths and rules (see the spec's "Stories from the recommender").
    story_size: int
    per_artist: int
    rediscover_days: int
    taste_twins: int
    shared_artists: int
    top_artists: int
    similar_artists: int

    def __post_init__(self) -> None:
        for name in (
            "top_k",
            "user_block_size",
            "item_block_size",
            "fallback_genres",
            "story_size",
            "per_artist",
            "rediscover_days",
            "taste_twins",
            "shared_artists",
            "top_artists",
            "similar_artists",
        ):
            value = getattr(self, name)
            _require(value >= 1, f"recommend.{name}", "an integer >= 1", value)
        _require(
            self.min_history >= 0, "recommend.min_history", "an integer >= 0", self.min_history
        )
        _require_alias(self.alias, "recommend.alias")


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
    tune: TuneConfig
    recommend: RecommendConfig
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
    if origin is tuple:
        _require(isinstance(value, list | tuple), key, "a list", value)
        (item_kind, _ellipsis) = typing.get_args(kind)
        return tuple(_coerce(item_kind, item, f"{key}[{i}]") for i, item in enumerate(value))
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
