"""Where every table and file lives, and the few Delta operations the jobs share.

Only this module turns a data directory into locations. The data directory may be a local folder
(made absolute, so Spark and MLflow agree on it) or a Hadoop-compatible URI (s3a://, abfss://, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spinback.config import Config

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableLocations:
    root: str

    @classmethod
    def from_config(cls, config: Config) -> TableLocations:
        return cls.at(config.data_dir)

    @classmethod
    def at(cls, data_dir: str) -> TableLocations:
        if "://" in data_dir or data_dir.startswith("dbfs:"):
            return cls(data_dir.rstrip("/"))
        return cls(str(Path(data_dir).expanduser().resolve()))

    def _under(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    @property
    def is_local(self) -> bool:
        return "://" not in self.root and not self.root.startswith("dbfs:")

    # Landing: files as they arrive, before ingest (the generator writes here).
    @property
    def landing_generated(self) -> str:
        return self._under("landing", "generated")

    @property
    def landing_unpacked(self) -> str:
        """Where uploaded zips are unpacked before their files are read."""
        return self._under("landing", "unpacked")

    # Bronze: raw records with their lineage.
    @property
    def bronze_records(self) -> str:
        return self._under("bronze", "records")

    @property
    def quarantine(self) -> str:
        return self._under("bronze", "quarantine")

    # Silver: cleaned, pseudonymised, one row per thing.
    @property
    def plays(self) -> str:
        return self._under("silver", "plays")

    @property
    def batches(self) -> str:
        """One row per ingest run, so later jobs can process only the batches they have not seen."""
        return self._under("silver", "batches")

    @property
    def catalog(self) -> str:
        return self._under("silver", "catalog")

    @property
    def users(self) -> str:
        return self._under("silver", "users")

    @property
    def daily_items(self) -> str:
        """Per user, local date and item: counts, milliseconds, hourly streams (rollups.py)."""
        return self._under("silver", "daily_items")

    @property
    def daily_platforms(self) -> str:
        return self._under("silver", "daily_platforms")

    @property
    def rollup_state(self) -> str:
        """The ingest batches already rolled up, and the stream rule they were rolled up with."""
        return self._under("silver", "rollup_state")

    # Gold: what people see.
    @property
    def stories(self) -> str:
        return self._under("gold", "stories")

    @property
    def recommendations(self) -> str:
        return self._under("gold", "recommendations")

    @property
    def item_ids(self) -> str:
        return self._under("gold", "recommender_item_ids")

    @property
    def user_ids(self) -> str:
        return self._under("gold", "recommender_user_ids")

    @property
    def artist_ids(self) -> str:
        """The integer ids of artists for the per-(user, artist) model."""
        return self._under("gold", "recommender_artist_ids")

    @property
    def recommendation_stories(self) -> str:
        """One row per user and period: discover, rediscover, taste twins, similar artists."""
        return self._under("gold", "recommendation_stories")

    # Files.
    @property
    def documents(self) -> str:
        return self._under("documents")

    @property
    def checkpoints(self) -> str:
        return self._under("checkpoints")

    @property
    def warehouse(self) -> str:
        return self._under("warehouse")

    @property
    def mlflow(self) -> str:
        return self._under("mlflow")


def delta_exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)


def read_delta(spark: SparkSession, path: str) -> DataFrame:
    if not delta_exists(spark, path):
        raise FileNotFoundError(f"no Delta table at {path}; run the step that writes it first")
    return spark.read.format("delta").load(path)


def insert_new(
    spark: SparkSession,
    rows: DataFrame,
    path: str,
    keys: Sequence[str],
    partition_by: Sequence[str] = (),
) -> dict[str, int]:
    """Insert the rows whose ``keys`` the Delta table at ``path`` lacks; create it if absent.

    Running the same input twice adds nothing. ``rows`` must already be unique on ``keys``.
    Returns Delta's own operation metrics, read from the table history rather than counted again:
    ``inserted`` rows and ``source_rows`` offered.
    """
    return upsert(spark, rows, path, keys, update=(), partition_by=partition_by)


def upsert(
    spark: SparkSession,
    rows: DataFrame,
    path: str,
    keys: Sequence[str],
    update: Sequence[str],
    partition_by: Sequence[str] = (),
) -> dict[str, int]:
    """Insert new rows and overwrite the ``update`` columns of rows already there.

    Returns ``inserted``, ``updated`` and ``source_rows`` from Delta's operation metrics.
    """
    from delta.tables import DeltaTable

    if not delta_exists(spark, path):
        writer = rows.write.format("delta").mode("errorifexists")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(path)
        written = _last_operation_metrics(spark, path).get("numOutputRows", 0)
        return {"inserted": written, "updated": 0, "source_rows": written}

    condition = " AND ".join(f"target.`{key}` = source.`{key}`" for key in keys)
    merge = DeltaTable.forPath(spark, path).alias("target").merge(rows.alias("source"), condition)
    if update:
        merge = merge.whenMatchedUpdate(set={column: f"source.`{column}`" for column in update})
    merge.whenNotMatchedInsertAll().execute()
    metrics = _last_operation_metrics(spark, path)
    return {
        "inserted": metrics.get("numTargetRowsInserted", 0),
        "updated": metrics.get("numTargetRowsUpdated", 0),
        "source_rows": metrics.get("numSourceRows", 0),
    }


def overwrite(
    rows: DataFrame, path: str, partition_by: Sequence[str] = (), replace_where: str | None = None
) -> None:
    """Replace the table at ``path`` (or only the rows matching ``replace_where``) with ``rows``."""
    writer = rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if replace_where:
        writer = writer.option("replaceWhere", replace_where).option("overwriteSchema", "false")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)


def _last_operation_metrics(spark: SparkSession, path: str) -> dict[str, int]:
    from delta.tables import DeltaTable

    history = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").first()
    metrics = (history["operationMetrics"] if history else None) or {}
    return {name: int(value) for name, value in metrics.items() if str(value).isdigit()}
