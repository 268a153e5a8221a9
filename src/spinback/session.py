"""The SparkSession, and the only module that knows whether Spinback runs locally or on a cluster.

Anything that needs the SparkContext or the JVM (checkpoint directory, BLAS probing) lives here too,
so that the rest of the library also runs over Spark Connect, where neither exists.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from spinback.config import Config
from spinback.tables import TableLocations

logger = logging.getLogger(__name__)

_DELTA_SETTINGS = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def build_session(config: Config) -> SparkSession:
    """Return the session for ``config.mode``.

    Local: ``spark.master`` from the configuration (``local[*]`` by default), the Delta JARs through
    ``spark.jars.packages``, few shuffle partitions, and the warehouse under the data directory.
    Cluster: the session spark-submit or Databricks already made (its master and JARs are theirs);
    only the Delta SQL extension and settings that are safe to set at run time are added.
    """
    locations = TableLocations.from_config(config)
    builder = SparkSession.builder.appName(config.spark.app_name)
    settings = {
        **_DELTA_SETTINGS,
        "spark.sql.shuffle.partitions": str(config.spark.shuffle_partitions),
        # Every timestamp is handled as UTC inside Spark; local time is always computed explicitly
        # from the user's zone, never from the machine's.
        "spark.sql.session.timeZone": "UTC",
        # The pseudonym key enters plans as 128-hex-digit pads: keep it out of the UI and logs.
        "spark.sql.redaction.string.regex": "[0-9a-fA-F]{128}",
        **config.spark.extra,
    }
    if config.mode == "local":
        settings.update(
            {
                "spark.jars.packages": config.spark.delta_package,
                "spark.driver.memory": config.spark.driver_memory,
                "spark.sql.warehouse.dir": locations.warehouse,
                "spark.ui.showConsoleProgress": "false",
                "spark.sql.adaptive.enabled": "true",
                # AQE judges a join side by its shuffle before the final aggregate: the rollups'
                # item descriptions (one row per item) measure ~20 MB there and would otherwise be
                # sort-merge joined with every daily row. The driver is the whole cluster here.
                "spark.sql.adaptive.autoBroadcastJoinThreshold": "64m",
                # The story plan holds dozens of sorts in one task, and each takes a whole page
                # at once: at the default (up to 64 MiB) a 4 GiB driver runs out on a tiny demo.
                "spark.buffer.pageSize": "4m",
                # Delta's defaults suit large tables; a small machine spends its time on tiny files.
                "spark.databricks.delta.snapshotPartitions": "2",
                "spark.databricks.delta.autoCompact.enabled": "false",
            }
        )
        builder = builder.master(config.spark.master)
        # Python workers (the recommender's Arrow functions) run in the driver's interpreter, so
        # they see the same packages; PySpark reads this only from the environment.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        Path(locations.warehouse).mkdir(parents=True, exist_ok=True)

    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()

    if config.mode == "local":
        spark.sparkContext.setLogLevel("WARN")
    set_checkpoint_dir(spark, locations.checkpoints)
    logger.info(
        "Spark %s session ready (mode %s, master %s)", spark.version, config.mode, _master(spark)
    )
    return spark


def is_spark_connect(spark: SparkSession) -> bool:
    """True when ``spark`` is a Spark Connect client, which has no SparkContext or JVM."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def set_checkpoint_dir(spark: SparkSession, directory: str) -> None:
    """Point RDD checkpoints (which ALS uses to cut its lineage) at ``directory``.

    Over Spark Connect the server owns the checkpoint directory, so there is nothing to set here.
    """
    if is_spark_connect(spark):
        return
    if "://" not in directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
    spark.sparkContext.setCheckpointDir(directory)


def core_count(spark: SparkSession) -> int:
    """How many tasks the session runs at once: Spark's default parallelism.

    Over Spark Connect, where the SparkContext is out of reach, the shuffle partition count stands
    in for it.
    """
    if is_spark_connect(spark):
        return int(spark.conf.get("spark.sql.shuffle.partitions") or 1)
    return int(spark.sparkContext.defaultParallelism)


def linear_algebra_backends(spark: SparkSession) -> dict[str, str]:
    """Name the BLAS and LAPACK implementations that MLlib picked in the driver's JVM.

    ``JNIBLAS`` / ``JNILAPACK`` mean a native library (OpenBLAS here) was found; ``VectorBLAS``,
    ``Java11BLAS`` or ``F2jLAPACK`` mean the pure-Java fallback. Over Spark Connect this is unknown.
    """
    if is_spark_connect(spark):
        return {"blas": "unknown (Spark Connect)", "lapack": "unknown (Spark Connect)"}
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    netlib = jvm.dev.ludovic.netlib
    return {
        "blas": netlib.blas.BLAS.getInstance().getClass().getSimpleName(),
        "lapack": netlib.lapack.LAPACK.getInstance().getClass().getSimpleName(),
    }


def _master(spark: SparkSession) -> str:
    try:
        return spark.conf.get("spark.master") or "unknown"
    except Exception:  # Spark Connect may refuse to read static settings
        return "unknown"
