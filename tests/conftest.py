"""One SparkSession for the whole run, built by the library's own factory in a temporary folder."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spinback.config import Config, load_config
from spinback.session import build_session

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"

# PySpark hands timestamps to Python in the process's local zone; tests state expectations in UTC.
os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spinback-data")


def local_test_config(data_dir: Path, *overrides: str) -> Config:
    """Local configuration for tests: two cores, two shuffle partitions, data under ``data_dir``."""
    return load_config(
        mode="local",
        overrides=[
            f"data_dir={data_dir}",
            "spark.master=local[2]",
            "spark.shuffle_partitions=2",
            "spark.driver_memory=4g",
            # One session serves some three hundred tests: the UI's record of every job and SQL
            # execution (each with its plan) would otherwise fill the driver's heap by the end.
            'spark.extra={"spark.ui.enabled": "false", "spark.sql.ui.retainedExecutions": "20",'
            ' "spark.ui.retainedJobs": "50", "spark.ui.retainedStages": "50"}',
            *overrides,
        ],
    )


@pytest.fixture(scope="session")
def config(session_data_dir: Path) -> Config:
    return local_test_config(session_data_dir)


@pytest.fixture(scope="session")
def spark(config: Config) -> Iterator[SparkSession]:
    session = build_session(config)
    yield session
    session.stop()


@pytest.fixture
def data_config(tmp_path: Path) -> Config:
    """A configuration pointed at a fresh data directory for one test (same Spark settings)."""
    return local_test_config(tmp_path / "data")
