from __future__ import annotations

from pathlib import Path

import pytest

from spinback.config import ConfigError, load_config


def test_base_configuration_loads_with_local_defaults() -> None:
    config = load_config()

    assert config.mode == "local"
    assert config.spark.master == "local[*]"
    assert config.wrapped.featured_weight == 0.5
    assert config.train.confidence in ("raw", "log1p")


def test_override_changes_one_key_and_keeps_the_type() -> None:
    config = load_config(overrides=["train.rank=64", "train.alpha=5"])

    assert config.train.rank == 64
    # An integer given for a float key is accepted as that float.
    assert config.train.alpha == 5.0 and isinstance(config.train.alpha, float)


def test_cluster_mode_reads_the_cluster_file() -> None:
    config = load_config(mode="cluster")

    assert config.mode == "cluster"
    assert config.spark.shuffle_partitions == 200


def test_conf_file_layers_over_base(tmp_path: Path) -> None:
    conf_file = tmp_path / "mine.yaml"
    conf_file.write_text("generate:\n  users: 10\n")

    config = load_config(conf_file=conf_file)

    assert config.generate.users == 10
    assert config.generate.year == 2025


def test_unknown_key_names_the_key_and_the_allowed_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown key 'train\.rnk'.*allowed keys in train: .*rank"
    ):
        load_config(overrides=["train.rnk=8"])


def test_unknown_section_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'trian'"):
        load_config(overrides=["trian.rank=8"])


def test_wrong_type_names_the_key_and_what_it_accepts() -> None:
    with pytest.raises(
        ConfigError, match=r"train\.rank: 'many' is not allowed; expected an integer"
    ):
        load_config(overrides=["train.rank=many"])


def test_boolean_is_not_taken_for_an_integer() -> None:
    with pytest.raises(ConfigError, match=r"generate\.users: True is not allowed"):
        load_config(overrides=["generate.users=true"])


def test_out_of_range_value_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"wrapped\.featured_weight: 1\.5 .* in \[0, 1\]"):
        load_config(overrides=["wrapped.featured_weight=1.5"])


def test_literal_choice_lists_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match=r"train\.confidence: 'tfidf' .* raw or log1p or bm25"):
        load_config(overrides=["train.confidence=tfidf"])


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"mode: 'staging' .* local or cluster"):
        load_config(mode="staging")


def test_missing_conf_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml does not exist"):
        load_config(conf_file=tmp_path / "nope.yaml")


def test_malformed_override_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"must look like section\.key=value"):
        load_config(overrides=["train.rank"])


def test_yaml_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    conf_file = tmp_path / "list.yaml"
    conf_file.write_text("- a\n- b\n")

    with pytest.raises(ConfigError, match=r"must hold a mapping of keys, not list"):
        load_config(conf_file=conf_file)


def test_missing_key_in_base_is_named(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("mode: local\ndata_dir: data\n")

    with pytest.raises(ConfigError, match=r"missing key 'spark'"):
        load_config(conf_dir=tmp_path)


def test_alias_reserved_by_mlflow_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"train\.alias: 'latest' .* other than latest"):
        load_config(overrides=["train.alias=latest"])
    with pytest.raises(ConfigError, match=r"train\.alias: 'v3'"):
        load_config(overrides=["train.alias=v3"])
