"""The ingest job: landing files -> bronze (raw, with lineage) and quarantine -> silver tables.

Every write is an insert of what is not there yet, keyed by lineage (bronze, quarantine) or by the
deterministic event id (plays), so running the same ingest twice adds nothing.

The input is read and parsed once per run: the judged candidate plays are persisted (in memory,
spilling to local disk) before the first write, and bronze, quarantine, plays, users and catalog
are all written from that copy.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback import tables
from spinback.config import Config
from spinback.ingest import generated
from spinback.ingest.catalog import (
    artist_genres_from_tags,
    catalog_from_plays,
    enrich,
    read_enrichment,
)
from spinback.ingest.detect import FileSample, Reader, detect, find_files
from spinback.ingest.pseudonym import load_pseudonym_key
from spinback.ingest.quality import judge, split_valid
from spinback.ingest.readers import all_readers
from spinback.ingest.records import to_candidates
from spinback.ingest.timezones import users_from_plays
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
    # Records that repeated a play of the same batch exactly; None when bronze is off (not counted).
    duplicate_records: int | None = None
    found: dict[str, int] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
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
    with persisted(judge(candidates)) as judged:
        report = write_plays(spark, config, judged, batch_id)

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
    return record_batch(spark, config, dataclasses.replace(report, written=written), landing)


def write_plays(
    spark: SparkSession, config: Config, candidates: DataFrame, batch_id: str
) -> IngestReport:
    """Bronze, quarantine and silver plays from candidate plays of any reader.

    Each of the three writes reads ``candidates``: pass them judged and persisted
    (:func:`persisted`) so that the input is read once, not three times.
    """
    locations = TableLocations.from_config(config)
    ingested_at = F.lit(datetime.now(timezone.utc)).cast("timestamp")
    written: dict[str, str] = {}

    bronze_inserted = 0
    records_offered: int | None = None
    if config.privacy.bronze_enabled:
        bronze = candidates.select(
            "source",
            "source_file",
            F.col("source_position").cast("long"),
            "raw_record",
            "batch_id",
            ingested_at.alias("ingested_at"),
        )
        bronze_metrics = tables.insert_new(
            spark, bronze, locations.bronze_records, keys=["source", *_LINEAGE_KEYS]
        )
        bronze_inserted = bronze_metrics["inserted"]
        records_offered = bronze_metrics["source_rows"]
        written["bronze"] = locations.bronze_records
        expire_bronze(spark, locations.bronze_records, config.privacy.bronze_retention_days)

    split = split_valid(candidates, ingested_at)
    quarantine_metrics = tables.insert_new(
        spark, split.quarantined, locations.quarantine, keys=["source", *_LINEAGE_KEYS]
    )
    quarantine_inserted = quarantine_metrics["inserted"]
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

    duplicates = None
    if records_offered is not None:
        duplicates = records_offered - quarantine_metrics["source_rows"] - plays["source_rows"]
        if duplicates:
            logger.warning(
                "%d records repeated a play of this batch exactly; kept once", duplicates
            )
    return IngestReport(
        batch_id=batch_id,
        plays_inserted=plays["inserted"],
        bronze_inserted=bronze_inserted,
        quarantine_inserted=quarantine_inserted,
        quarantine_reasons=reasons,
        duplicate_records=duplicates,
        written=written,
    )


def run_ingest_files(
    spark: SparkSession,
    config: Config,
    input_path: str,
    *,
    source_format: str | None = None,
    user: str | None = None,
    time_zone: str | None = None,
    profile: str | None = None,
    enrichment_path: str | None = None,
    artist_tags_dir: str | None = None,
) -> IngestReport:
    """Ingest exports or event logs under ``input_path`` (a folder, a file or a zip).

    The format is detected file by file unless ``source_format`` names it. One person's export
    becomes one user, named ``user`` or after the export; multi-user logs keep their users.
    """
    locations = TableLocations.from_config(config)
    key = load_pseudonym_key(config)
    batch_id = new_batch_id()
    if time_zone:
        _check_time_zone(time_zone)
    started = time.monotonic()

    groups = _reader_groups(spark, config, input_path, source_format, profile)
    candidates = [
        to_candidates(
            _read(spark, reader, samples, user), key, reader.service, reader.name, batch_id
        )
        for reader, samples in groups.readers
    ]
    with persisted(judge(reduce(DataFrame.unionByName, candidates))) as judged:
        report = write_plays(spark, config, judged, batch_id)

        # Users come from every valid record of this run, not only the new plays: a re-run with
        # --timezone must reach users whose plays are all in silver already.
        valid = split_valid(judged).valid
        users = users_from_plays(spark, valid, time_zone, config.ingest.default_timezone)
        tables.insert_new(
            spark,
            enrich(
                _catalog(groups, judged, valid),
                read_enrichment(spark, enrichment_path) if enrichment_path else None,
                artist_genres_from_tags(spark, artist_tags_dir) if artist_tags_dir else None,
            ),
            locations.catalog,
            keys=["track_key"],
        )
        tables.upsert(
            spark,
            users,
            locations.users,
            keys=["user_id"],
            update=["time_zone"] if time_zone else [],
        )
    logger.info(
        "ingest of %s as batch %s took %.1f s", input_path, batch_id, time.monotonic() - started
    )
    report = dataclasses.replace(
        report,
        found={reader.name: len(samples) for reader, samples in groups.readers},
        ignored_files=groups.ignored,
        written={**report.written, "catalog": locations.catalog, "users": locations.users},
    )
    return record_batch(spark, config, report, input_path)


def record_batch(
    spark: SparkSession, config: Config, report: IngestReport, input_path: str
) -> IngestReport:
    """Append the run to silver.batches: what was read and what it added, under its batch id."""
    locations = TableLocations.from_config(config)
    row = spark.createDataFrame(
        [
            (
                report.batch_id,
                input_path,
                sorted(report.found),
                report.plays_inserted,
                report.quarantine_inserted,
                report.duplicate_records,
                datetime.now(timezone.utc),
            )
        ],
        "batch_id string, input string, formats array<string>, plays_inserted long, "
        "quarantined long, duplicate_records long, finished_at timestamp",
    )
    row.write.format("delta").mode("append").save(locations.batches)
    return dataclasses.replace(report, written={**report.written, "batches": locations.batches})


@contextmanager
def persisted(frame: DataFrame) -> Iterator[DataFrame]:
    """``frame``, computed by the first action that reads it and kept for the ones that follow.

    Partitions that do not fit in memory spill to local disk; all of them are released when the
    block ends, whether or not the writes inside succeeded.
    """
    kept = frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        yield kept
    finally:
        kept.unpersist()


def _read(
    spark: SparkSession, reader: Reader, samples: list[FileSample], user: str | None
) -> DataFrame:
    """Normalized plays of one reader's files; an event log's carry its catalog facts beside."""
    from spinback.ingest.readers.generic import EventLogReader

    paths = [sample.path for sample in samples]
    account_name = user or samples[0].export_name
    if isinstance(reader, EventLogReader):
        return reader.read_events(spark, paths, account_name)
    return reader.read(spark, paths, account_name)


def _catalog(groups: _ReaderGroups, judged: DataFrame, valid: DataFrame) -> DataFrame:
    """Catalog rows from this run's plays; an event log also gives genres, years and durations.

    An event log's catalog takes every record that names a track, valid or not (see
    :func:`catalog_from_events`): ``judged`` holds them all, with the facts :func:`_read` kept.
    """
    from spinback.ingest.readers.generic import EventLogReader, catalog_from_events

    if any(isinstance(reader, EventLogReader) for reader, _ in groups.readers):
        return catalog_from_events(judged)
    return catalog_from_plays(valid)


@dataclass(frozen=True)
class _ReaderGroups:
    readers: list[tuple[Reader, list[FileSample]]]
    ignored: list[str]


def _reader_groups(
    spark: SparkSession,
    config: Config,
    input_path: str,
    source_format: str | None,
    profile: str | None,
) -> _ReaderGroups:
    if source_format == "event-log":
        from spinback.ingest.readers.generic import EventLogReader, load_profile

        if not profile:
            raise ValueError("--format event-log needs --profile NAME or a profile file")
        reader = EventLogReader(load_profile(profile))
        sample = FileSample(input_path, input_path.rstrip("/").rsplit("/", 1)[-1], "", "events")
        return _ReaderGroups(readers=[(reader, [sample])], ignored=[])

    readers = all_readers(config.ingest.default_play_ms)
    chosen = None
    if source_format and source_format != "auto":
        chosen = next((r for r in readers if r.name == source_format), None)
        if chosen is None:
            known = ", ".join(["auto", "event-log", *(r.name for r in readers)])
            raise ValueError(f"--format {source_format}: unknown; known formats: {known}")
    samples = find_files(spark, input_path, TableLocations.from_config(config).landing_unpacked)
    detected = detect(samples, readers, chosen)
    by_name = {reader.name: reader for reader in readers}
    return _ReaderGroups(
        readers=[(by_name[name], files) for name, files in detected.by_reader.items()],
        ignored=detected.ignored,
    )


def _check_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"--timezone {name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from error


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
