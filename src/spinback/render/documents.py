"""One JSON document per user and period, written by the executors, never collected to the driver.

Spark writes each user's document into its own partition folder; on a local data directory the
folders are then renamed to ``<out>/<user>/<period>.json``, the layout a person browses. On object
stores the partitioned layout (``user_id=<user>/part-*.txt``) is kept, since renames there are
copies.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1.0"


def story_documents(stories: DataFrame, story_columns: list[str]) -> DataFrame:
    """``user_id``, ``period`` and ``document``: the JSON text of each user's stories."""
    document = F.struct(
        F.lit(SCHEMA_VERSION).alias("schema_version"),
        F.col("user_id").alias("user"),
        F.struct(
            F.date_format("period_start", "yyyy-MM-dd").alias("start"),
            F.date_format("period_end", "yyyy-MM-dd").alias("end"),
            F.col("period").alias("label"),
        ).alias("period"),
        F.col("timezone"),
        *story_columns,
    )
    # Keep explicit nulls (an ineligible story's missing values) so readers see every field.
    as_json = F.to_json(document, {"ignoreNullFields": "false"})
    return stories.select("user_id", "period", as_json.alias("document"))


def write_documents(documents: DataFrame, out_dir: str, period: str, is_local: bool) -> str:
    """Write one document per user; return the folder that holds them."""
    staging = f"{out_dir}/_staging-{period}"
    (
        documents.select("user_id", "document")
        .repartition("user_id")
        .write.mode("overwrite")
        .partitionBy("user_id")
        .text(staging)
    )
    if not is_local:
        logger.info("documents for %s written partitioned by user under %s", period, staging)
        return staging

    moved = _flatten(Path(staging), Path(out_dir), period)
    logger.info("wrote %d documents for %s under %s", moved, period, out_dir)
    return out_dir


def _flatten(staging: Path, out_dir: Path, period: str) -> int:
    """``staging/user_id=U/part-*.txt`` -> ``out_dir/U/<period>.json``; returns how many moved."""
    moved = 0
    for user_folder in staging.glob("user_id=*"):
        parts = sorted(user_folder.glob("part-*"))
        if len(parts) != 1:
            raise RuntimeError(f"expected one document file in {user_folder}, found {len(parts)}")
        target = out_dir / user_folder.name.removeprefix("user_id=") / f"{period}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(parts[0]), target)
        moved += 1
    shutil.rmtree(staging)
    return moved
