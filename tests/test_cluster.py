"""A real Spark standalone cluster: a master and two workers on 127.0.0.1, fed by spark-submit.

The daemons come from the installed pyspark; the jobs are the ones in ``jobs/``, shipped as the
package zip that ``deploy/package.sh`` builds, exactly as ``deploy/submit.sh`` sends them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.find_spark_home import _find_spark_home
from pyspark.sql import SparkSession

from spinback.config import load_config
from spinback.tables import TableLocations, read_delta

REPOSITORY = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKERS = 2

pytestmark = pytest.mark.heavy


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    logs: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise RuntimeError(f"{log.name}: no '{text}' after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    logs = tmp_path_factory.mktemp("standalone")
    spark_class = Path(_find_spark_home()) / "bin" / "spark-class"
    environment = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    port = _free_port()
    master_url = f"spark://127.0.0.1:{port}"

    daemons: list[subprocess.Popen[bytes]] = []

    def start(name: str, *arguments: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(spark_class), *arguments],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        daemons.append(process)
        return process, log

    try:
        master, master_log = start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(_free_port()),
        )
        _wait_for(master_log, "I have been elected leader", master, 90)
        for index in range(WORKERS):
            worker, worker_log = start(
                f"worker-{index}",
                "org.apache.spark.deploy.worker.Worker",
                master_url,
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                "1500m",
                "--webui-port",
                str(_free_port()),
                "--work-dir",
                str(logs / f"work-{index}"),
            )
            _wait_for(worker_log, "Successfully registered with master", worker, 90)
        yield StandaloneCluster(master_url=master_url, logs=logs)
    finally:
        # Stop by process id: each daemon leads its own session, so its JVM goes with it.
        for process in daemons:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in daemons:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _submit(cluster: StandaloneCluster, job: str, *arguments: str) -> str:
    package = subprocess.run(
        ["bash", "deploy/package.sh"],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    ).stdout.strip()
    environment = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPINBACK_CONF_DIR": str(REPOSITORY / "conf"),
        # Cluster mode refuses the development key: a real key, from the environment.
        "SPINBACK_PSEUDONYM_KEY": "cluster-test-key",
    }
    completed = subprocess.run(
        [
            str(BIN / "spark-submit"),
            "--master",
            cluster.master_url,
            "--deploy-mode",
            "client",
            "--py-files",
            str(REPOSITORY / package),
            "--packages",
            load_config().spark.delta_package,
            "--conf",
            "spark.executor.cores=1",
            "--conf",
            "spark.executor.memory=1g",
            "--conf",
            "spark.cores.max=2",
            f"jobs/{job}.py",
            "--mode",
            "cluster",
            *arguments,
        ],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (cluster.logs / f"submit-{job}.log").write_text(completed.stdout + completed.stderr)
    assert completed.returncode == 0, f"{job} failed:\n{completed.stderr[-4000:]}"
    return completed.stdout


def test_jobs_run_on_a_standalone_cluster(
    cluster: StandaloneCluster, spark: SparkSession, tmp_path: Path
) -> None:
    data_dir = tmp_path / "cluster-data"
    settings = [
        "--data-dir",
        str(data_dir),
        "--set",
        "spark.shuffle_partitions=4",
    ]
    generated = _submit(
        cluster,
        "generate",
        *settings,
        "--users",
        "30",
        "--year",
        "2025",
        "--set",
        "generate.tracks=500",
        "--set",
        "generate.artists=80",
    )
    ingested = _submit(cluster, "ingest", *settings)

    locations = TableLocations.at(str(data_dir))
    landing = spark.read.parquet(f"{locations.landing_generated}/plays")
    plays = read_delta(spark, locations.plays)
    assert "generated plays:" in generated
    assert f"plays: {locations.plays}" in ingested
    # Every generated play is valid and unique, so silver holds exactly the landing rows.
    assert plays.count() == landing.count() > 0
    assert plays.select("user_id").distinct().count() == 30
    for index in range(WORKERS):
        applications = list((cluster.logs / f"work-{index}").glob("app-*"))
        assert applications, f"worker {index} ran no executor"
