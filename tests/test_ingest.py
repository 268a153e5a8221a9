from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from conftest import local_test_config
from spinback import schema
from spinback.config import Config, load_config
from spinback.ingest.job import run_ingest_generated
from spinback.ingest.pseudonym import (
    DEVELOPMENT_KEY,
    MissingPseudonymKeyError,
    hmac_sha256_hex,
    load_pseudonym_key,
)
from spinback.tables import TableLocations, read_delta


def _play(user: str, ended: datetime, ms: int, track: int | None, **extra: object) -> dict:
    row = {field.name: None for field in schema.GENERATED_PLAYS.fields}
    row.update(
        user_name=user,
        ts=ended,
        ms_played=ms,
        content_type="music",
        track_key=None if track is None else f"spinback:track:{track}",
        track_name=None if track is None else f"Track {track}",
        artist_key="spinback:artist:1",
        artist_name="Artist 1",
        featured_artists=[],
        incognito_mode=False,
        conn_country="DE",
    )
    row.update(extra)
    return row


def _land(spark: SparkSession, config: Config, plays: list[dict]) -> None:
    landing = TableLocations.from_config(config).landing_generated
    spark.createDataFrame(plays, schema.GENERATED_PLAYS).coalesce(1).write.mode(
        "overwrite"
    ).parquet(f"{landing}/plays")
    spark.createDataFrame(
        [("user-000001", "Europe/Berlin", "DE", datetime(2024, 1, 1))], schema.GENERATED_USERS
    ).write.mode("overwrite").parquet(f"{landing}/users")
    spark.createDataFrame(
        [
            (
                "spinback:track:1",
                "Track 1",
                "spinback:artist:1",
                "Artist 1",
                [],
                None,
                None,
                200_000,
                2020,
                ["rock"],
            )
        ],
        schema.CATALOG,
    ).write.mode("overwrite").parquet(f"{landing}/catalog")


NOON = datetime(2025, 3, 1, 12, 0)
GOOD = [
    _play("user-000001", NOON, 200_000, 1),
    _play("user-000001", NOON + timedelta(minutes=4), 10_000, 1, skipped=True),
    # An exact duplicate of the first row, as exports contain: one play, not two.
    _play("user-000001", NOON, 200_000, 1),
]
BAD = [
    _play("user-000001", NOON, -5, 1),
    _play("user-000001", datetime(1970, 1, 1), 1000, 1),
    _play("user-000001", datetime(2999, 1, 1), 1000, 1),
    _play("user-000001", NOON, 1000, None),
]


def test_ingest_twice_adds_nothing_and_quarantines_every_bad_record(
    spark: SparkSession, data_config: Config
) -> None:
    _land(spark, data_config, GOOD + BAD)
    locations = TableLocations.from_config(data_config)

    first = run_ingest_generated(spark, data_config)
    second = run_ingest_generated(spark, data_config)

    # 3 good rows, one an exact duplicate of another -> 2 plays; 7 records in bronze.
    assert first.plays_inserted == 2
    assert first.bronze_inserted == 7
    assert first.quarantine_inserted == 4
    assert first.quarantine_reasons == {
        "negative ms_played": 1,
        "timestamp at or before 1970-01-01 (zero)": 1,
        "timestamp in the future": 1,
        "neither track nor episode": 1,
    }
    assert (second.plays_inserted, second.bronze_inserted, second.quarantine_inserted) == (0, 0, 0)
    assert read_delta(spark, locations.plays).count() == 2
    assert read_delta(spark, locations.bronze_records).count() == 7
    assert read_delta(spark, locations.quarantine).count() == 4
    assert read_delta(spark, locations.users).count() == 1


def test_silver_plays_carry_derived_start_and_pseudonym_not_the_account_name(
    spark: SparkSession, data_config: Config
) -> None:
    _land(spark, data_config, GOOD[:1])
    run_ingest_generated(spark, data_config)

    play = read_delta(spark, TableLocations.from_config(data_config).plays).first()

    assert play is not None
    # ended 12:00:00, 200 000 ms played -> started 200 s earlier, at 11:56:40.
    assert play["started_at"] == datetime(2025, 3, 1, 11, 56, 40)
    expected_id = hmac.new(DEVELOPMENT_KEY, b"generated:user-000001", hashlib.sha256).hexdigest()
    assert play["user_id"] == expected_id[:32]
    assert "user-000001" not in str(play.asDict().values())


def test_quarantine_keeps_the_raw_record_file_and_position(
    spark: SparkSession, data_config: Config
) -> None:
    _land(spark, data_config, [GOOD[0], BAD[0]])
    run_ingest_generated(spark, data_config)

    bad = read_delta(spark, TableLocations.from_config(data_config).quarantine).first()

    assert bad is not None
    assert bad["reason"] == "negative ms_played"
    assert bad["source_position"] == 1  # second row of the one landing file
    assert bad["source_file"].endswith(".parquet")
    assert '"ms_played":-5' in bad["raw_record"]


def test_bronze_can_be_switched_off(spark: SparkSession, tmp_path: Path) -> None:
    config = local_test_config(tmp_path / "data", "privacy.bronze_enabled=false")
    _land(spark, config, GOOD[:1])

    report = run_ingest_generated(spark, config)

    assert report.plays_inserted == 1
    assert "bronze" not in report.written


def test_spark_hmac_matches_python_hmac(spark: SparkSession) -> None:
    key = b"k" * 70  # longer than one SHA-256 block: RFC 2104 hashes it first
    frame = spark.createDataFrame([("alice",), ("bob",)], "name string")

    hashed = frame.select("name", hmac_sha256_hex(key, F.col("name")).alias("mac")).collect()

    for row in hashed:
        assert row["mac"] == hmac.new(key, row["name"].encode(), hashlib.sha256).hexdigest()


def test_cluster_mode_refuses_to_run_without_a_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SPINBACK_PSEUDONYM_KEY", raising=False)
    config = load_config(mode="cluster", overrides=[f"data_dir={tmp_path}"])

    with pytest.raises(MissingPseudonymKeyError, match="SPINBACK_PSEUDONYM_KEY"):
        load_pseudonym_key(config)


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPINBACK_PSEUDONYM_KEY", "from-the-vault")
    config = load_config(mode="cluster", overrides=[f"data_dir={tmp_path}"])

    assert load_pseudonym_key(config) == b"from-the-vault"
