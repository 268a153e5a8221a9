"""The ingest job: landing files -> bronze (raw, with lineage) and quarantine -> silver tables.

Every write is an insert of what is not there yet, keyed by lineage (bronze, quarantine) or by the
deterministic event id (plays), so running the same ingest twice adds nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback import tables
from spinback.config import Config
from spinback.ingest import generated
from spinback.ingest.pseudonym import load_pseudonym_key
from spinback.ingest.quality import split_valid
from spinback.tables import TableLocations

logger = logging.getLogger(__name__)

_LINEAGE_KEYS = ("source_file", "source_position")


@dataclass(frozen=True)
class IngestReport:
    batch_id: str
    plays_inserted: int
    bronze_inserted: int
    quarantine_inserted: int
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)


def new_batch_id(now: datetime | None = None) -> str:
    """A batch id that sorts by time and cannot collide between two runs started together."""
    moment = now or datetime.now(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def run_ingest_generated(spark: SparkSession, config: Config) -> IngestReport:
    """Ingest what ``spinback generate`` landed under the data directory."""
    locations = TableLocations.from_config(config)
    key = load_pseudonym_key(config)
    batch_id = new_batch_id()
    landing = locations.landing_generated
    logger.info("ingesting generated data from %s as batch %s", landing, batch_id)

    started = time.monotonic()
    candidates = generated.candidate_plays(
        generated.read_landing_plays(spark, f"{landing}/plays"), key, batch_id
    )
    report = write_plays(spark, config, candidates, batch_id)

    catalog = tables.insert_new(
        spark,
        generated.silver_catalog(spark, f"{landing}/catalog"),
        locations.catalog,
        keys=["track_key"],
    )
    users = tables.insert_new(
        spark,
        generated.silver_users(spark, f"{landing}/users", key),
        locations.users,
        keys=["user_id"],
    )
    logger.info(
        "ingest of batch %s took %.1f s: %d plays, %d catalog tracks, %d users new",
        batch_id,
        time.monotonic() - started,
        report.plays_inserted,
        catalog["inserted"],
        users["inserted"],
    )
    written = {**report.written, "catalog": locations.catalog, "users": locations.users}
    return dataclasses.replace(report, written=written)


def write_plays(
    spark: SparkSession, config: Config, candidates: DataFrame, batch_id: str
) -> IngestReport:
    """Bronze, quarantine and silver plays from candidate plays of any reader."""
    locations = TableLocations.from_config(config)
    ingested_at = F.lit(datetime.now(timezone.utc)).cast("timestamp")
    written: dict[str, str] = {}

    bronze_inserted = 0
    if config.privacy.bronze_enabled:
        bronze = candidates.select(
            "source",
            "source_file",
            F.col("source_position").cast("long"),
            "raw_record",
            "batch_id",
            ingested_at.alias("ingested_at"),
        )
        bronze_inserted = tables.insert_new(
            spark,
            bronze,
            locations.bronze_records,
            keys=["source", *_LINEAGE_KEYS],
        )["inserted"]
        written["bronze"] = locations.bronze_records
        expire_bronze(spark, locations.bronze_records, config.privacy.bronze_retention_days)

    split = split_valid(candidates, ingested_at)
    quarantine_inserted = tables.insert_new(
        spark,
        split.quarantined,
        locations.quarantine,
        keys=["source", *_LINEAGE_KEYS],
    )["inserted"]
    written["quarantine"] = locations.quarantine
    reasons = (
        _reasons_of_batch(spark, locations.quarantine, batch_id) if quarantine_inserted else {}
    )

    # Exact duplicates inside one export share an event id; keep one and say how many went.
    unique_plays = split.valid.dropDuplicates(["event_id"])
    plays = tables.insert_new(spark, unique_plays, locations.plays, keys=["event_id"])
    written["plays"] = locations.plays
    for reason, count in sorted(reasons.items()):
        logger.warning("quarantined %d records: %s", count, reason)

    return IngestReport(
        batch_id=batch_id,
        plays_inserted=plays["inserted"],
        bronze_inserted=bronze_inserted,
        quarantine_inserted=quarantine_inserted,
        quarantine_reasons=reasons,
        written=written,
    )


def expire_bronze(spark: SparkSession, bronze_path: str, retention_days: int) -> None:
    """Delete raw records older than the retention: bronze holds personal data only for so long."""
    from delta.tables import DeltaTable

    if not tables.delta_exists(spark, bronze_path):
        return
    cutoff = F.current_timestamp() - F.make_interval(days=F.lit(retention_days))
    DeltaTable.forPath(spark, bronze_path).delete(F.col("ingested_at") < cutoff)


def _reasons_of_batch(spark: SparkSession, quarantine_path: str, batch_id: str) -> dict[str, int]:
    # Reads only this batch's quarantined rows, which the person running the ingest asked to see.
    rows = (
        tables.read_delta(spark, quarantine_path)
        .where(F.col("batch_id") == batch_id)
        .groupBy("reason")
        .count()
        .collect()
    )
    return {row["reason"]: int(row["count"]) for row in rows}
