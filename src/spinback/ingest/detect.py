"""Find the export files under what a person points at, and work out which reader takes each.

A person points at a folder, a single file or the zip they downloaded. Files whose names a reader
claims but whose content is of another kind stop the run with a message naming the file and what was
expected; files no reader claims (a Spotify download also holds playlists, payments and a PDF) are
listed as ignored. ``--format`` skips the guessing: files that suit that reader are read, others
are listed as ignored.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

logger = logging.getLogger(__name__)

# Enough of a file to recognise its kind: the first records of any export.
HEAD_BYTES = 8192


class WrongFileKindError(ValueError):
    """A file is not of the kind its name, or the chosen format, promises."""


@dataclass(frozen=True)
class FileSample:
    """One file found under the input: where it is, its name and the start of its content."""

    path: str
    name: str
    head: str
    # The export's own name (its folder or zip), used for the account when the files carry none.
    export_name: str


class Reader(Protocol):
    """One source format. ``claims`` decides by name; ``check`` confirms by content."""

    # Read-only, so that frozen dataclasses satisfy the protocol.
    @property
    def name(self) -> str: ...

    @property
    def service(self) -> str: ...

    def claims(self, sample: FileSample) -> bool: ...

    def check(self, sample: FileSample) -> str | None:
        """None when the content suits this reader, else what was expected instead."""
        ...

    def read(self, spark: SparkSession, paths: list[str], account_name: str | None) -> DataFrame:
        """The files' records as normalized plays (``records.NORMALIZED``)."""
        ...


@dataclass(frozen=True)
class DetectedInput:
    by_reader: dict[str, list[FileSample]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def find_files(spark: SparkSession, input_path: str, unpack_dir: str) -> list[FileSample]:
    """Every file under ``input_path`` with its first bytes; zips are unpacked under ``unpack_dir``.

    Local paths are walked directly. Hadoop-compatible URIs (s3a://, abfss://, hdfs://) are listed
    through Spark's binary file source, which reads each file whole: fine for personal exports, the
    only inputs that need detection (large logs name their format in configuration).
    """
    if "://" not in input_path or input_path.startswith("file:"):
        return _local_files(Path(input_path.removeprefix("file:")), Path(unpack_dir))

    listing = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(input_path)
        .select("path", F.substring("content", 1, HEAD_BYTES).alias("head"))
        .collect()  # one row per file of one export, not per play
    )
    export_name = input_path.rstrip("/").rsplit("/", 1)[-1]
    return [
        FileSample(row["path"], row["path"].rsplit("/", 1)[-1], _decode(row["head"]), export_name)
        for row in sorted(listing, key=lambda row: row["path"])
    ]


def detect(
    samples: Sequence[FileSample], readers: Sequence[Reader], chosen: Reader | None = None
) -> DetectedInput:
    """Assign each file to a reader, or stop on a file of the wrong kind."""
    by_reader: dict[str, list[FileSample]] = {}
    ignored: list[str] = []
    for sample in samples:
        if chosen is not None:
            # A chosen format takes the files it claims and any others whose content suits it
            # (a renamed export); the rest (a dump's COPYING, say) are ignored, not fatal.
            if not chosen.claims(sample) and chosen.check(sample) is not None:
                ignored.append(sample.path)
                continue
            reader: Reader | None = chosen
        else:
            reader = next((r for r in readers if r.claims(sample)), None)
        if reader is None:
            ignored.append(sample.path)
            continue
        problem = reader.check(sample)
        if problem is not None:
            raise WrongFileKindError(f"{sample.path}: not a {reader.name} file; expected {problem}")
        by_reader.setdefault(reader.name, []).append(sample)
    if not by_reader:
        raise WrongFileKindError(
            f"no listening history found among {len(samples)} files; known formats: "
            + ", ".join(r.name for r in readers)
        )
    for name, files in by_reader.items():
        logger.info("found %d %s files", len(files), name)
    if ignored:
        logger.info("ignored %d files no reader claims, e.g. %s", len(ignored), ignored[0])
    return DetectedInput(by_reader=by_reader, ignored=ignored)


def _local_files(root: Path, unpack_dir: Path) -> list[FileSample]:
    if not root.exists():
        raise FileNotFoundError(f"input {root} does not exist")
    if root.is_file() and zipfile.is_zipfile(root):
        return _local_files(_unpack(root, unpack_dir), unpack_dir)
    export_name = root.stem if root.is_file() else root.name
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    samples = []
    for path in files:
        if zipfile.is_zipfile(path):
            samples += _local_files(_unpack(path, unpack_dir), unpack_dir)
            continue
        with path.open("rb") as handle:
            head = _decode(handle.read(HEAD_BYTES))
        samples.append(FileSample(str(path.resolve()), path.name, head, export_name))
    return samples


def _unpack(archive: Path, unpack_dir: Path) -> Path:
    """Unpack a zip once into a folder named after its content hash; re-ingesting reuses it."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:12]
    target = unpack_dir / f"{archive.stem}-{digest}"
    if not target.exists():
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(target.with_suffix(".partial"))
        target.with_suffix(".partial").rename(target)
        logger.info("unpacked %s into %s", archive, target)
    # The export folder inside keeps the export's own name (a zip's top folder varies by year).
    return target


def _decode(head: bytes | bytearray) -> str:
    return bytes(head).decode("utf-8", errors="replace").lstrip("\ufeff")
