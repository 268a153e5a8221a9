"""One JSON document and one HTML page per user and period, written by the executors, never
collected to the driver.

Spark writes each user's file into its own partition folder; on a local data directory the folders
are then renamed to ``<out>/<user>/<period>.json`` and ``<out>/<user>/<period>.html``, the layout a
person browses. On object stores the partitioned layout (``user_id=<user>/part-*.txt``) is kept,
since renames there are copies.

The documents follow ``story.schema.json`` (see ``document_schema``), shipped in the package.
"""

from __future__ import annotations

import json
import logging
import shutil
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spinback.render.html import story_page

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "story.schema.json"


@cache
def document_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every document follows, read from the package."""
    text = resources.files("spinback.render").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


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
    """Write one JSON document per user; return the folder that holds them."""
    written = _write_per_user(
        documents.select("user_id", "document"), out_dir, f"{period}.json", is_local
    )
    logger.info("documents for %s written under %s", period, written)
    return written


def story_pages(documents: DataFrame) -> DataFrame:
    """``user_id`` and ``page``: each document of ``story_documents`` as its HTML page.

    Drawing a page is string templating over nested JSON, which Spark SQL cannot express, so it
    runs as a Python UDF on the executors, beside the data; the driver never sees a document. The
    UDF is a plain (pickled, not Arrow) one on purpose: it hands the Python worker about a hundred
    rows at a time, where an Arrow batch holds up to ``maxRecordsPerBatch`` (10,000) documents
    and their pages at once. Rendering is not part of the story computation, and costs one pass
    of Python over the documents.
    """
    render = F.udf(_page_of_document, returnType="string", useArrow=False)
    return documents.select("user_id", render("document").alias("page"))


def write_pages(documents: DataFrame, out_dir: str, period: str, is_local: bool) -> str:
    """Write one HTML page per user beside the documents; return the folder that holds them.

    ``documents`` is what ``story_documents`` returns (``user_id``, ``document``).
    """
    written = _write_per_user(story_pages(documents), out_dir, f"{period}.html", is_local)
    logger.info("pages for %s written under %s", period, written)
    return written


def _page_of_document(document: str | None) -> str | None:
    return None if document is None else story_page(json.loads(document))


def _write_per_user(frame: DataFrame, out_dir: str, file_name: str, is_local: bool) -> str:
    """Write ``frame`` (``user_id`` and one text column) as one file per user.

    Locally the files end up as ``out_dir/<user>/<file_name>``; elsewhere they stay partitioned
    under a staging folder, whose path is returned.
    """
    staging = f"{out_dir}/_staging-{file_name}"
    (
        frame.repartition("user_id")
        .write.mode("overwrite")
        .partitionBy("user_id")
        .option("lineSep", "\n")
        .text(staging)
    )
    if not is_local:
        return staging

    moved = _flatten(Path(staging), Path(out_dir), file_name)
    logger.info("moved %d files named %s under %s", moved, file_name, out_dir)
    return out_dir


def _flatten(staging: Path, out_dir: Path, file_name: str) -> int:
    """``staging/user_id=U/part-*.txt`` -> ``out_dir/U/<file_name>``; returns how many moved."""
    moved = 0
    for user_folder in staging.glob("user_id=*"):
        parts = sorted(user_folder.glob("part-*"))
        if len(parts) != 1:
            raise RuntimeError(f"expected one file in {user_folder}, found {len(parts)}")
        target = out_dir / user_folder.name.removeprefix("user_id=") / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(parts[0]), target)
        moved += 1
    shutil.rmtree(staging)
    return moved
