"""The event-log reader: profiles, the four input formats, positions and what quality.py does."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from conftest import SAMPLES
from spinback.config import Config, ConfigError
from spinback.ingest import detect
from spinback.ingest.detect import WrongFileKindError
from spinback.ingest.job import run_ingest_files
from spinback.ingest.pseudonym import DEVELOPMENT_KEY
from spinback.ingest.quality import split_valid
from spinback.ingest.readers.generic import (
    READERS,
    EventLogProfile,
    EventLogReader,
    catalog_from_events,
    load_profile,
    profile_from_mapping,
)
from spinback.ingest.records import NORMALIZED, to_candidates
from spinback.tables import TableLocations, read_delta

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "generic"
MUSIC = FIXTURES / "music"
JSONL = FIXTURES / "jsonl"
RETAIL_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "retail" / "purchases.csv"

# A player's own JSON-lines log: end-stamped in Unix milliseconds, durations in seconds.
PLAYER = {
    "service": "player",
    "input_format": "jsonl",
    "columns": {
        "account": "username",
        "timestamp": "ts_ms",
        "ms_played": "duration_s",
        "track_key": "track_id",
        "track_name": "title",
        "artist_name": "artist",
        "show_name": "show",
        "episode_name": "episode",
        "content_type": "kind",
        "shuffle": "shuffle",
        "skipped": "skipped",
        "platform": "device",
        "country": "cc",
        "reason_end": "end_reason",
    },
    "timestamp_kind": "ended",
    "timestamp_format": "unix_millis",
    "ms_played_scale": 1000,
    "ms_played_default": 180000,
}


def _utc(column: str) -> Column:
    """Timestamps as UTC text, so comparisons do not depend on the Python process's zone."""
    return F.date_format(column, "yyyy-MM-dd HH:mm:ss.SSS")


def _by_position(frame: DataFrame, *columns: str | Column) -> list[tuple[Any, ...]]:
    rows = frame.select(
        F.element_at(F.split("source_file", "/"), -1).alias("file"), "source_position", *columns
    ).collect()
    return sorted(tuple(row) for row in rows)


@pytest.fixture(scope="module")
def music_plays(spark: SparkSession) -> DataFrame:
    reader = EventLogReader(load_profile("music"))
    paths = [str(MUSIC / "plays-2025-h1.csv"), str(MUSIC / "plays-2025-h2.csv")]
    return reader.read(spark, paths, None).cache()


@pytest.fixture(scope="module")
def player_plays(spark: SparkSession) -> DataFrame:
    reader = EventLogReader(profile_from_mapping(PLAYER, "player"))
    paths = [str(JSONL / "events-2025.jsonl"), str(JSONL / "events-2025-late.jsonl")]
    return reader.read(spark, paths, "person-x").cache()


# --- profiles -----------------------------------------------------------------------------------


def test_packaged_profiles_load() -> None:
    music = load_profile("music")
    retail = load_profile("retail")

    assert (music.service, music.input_format, music.timestamp_kind) == ("events", "csv", "started")
    assert music.columns["account"] == "user"
    assert retail.columns["genre"] == "category"
    assert retail.ms_played_scale == 1000.0
    assert retail.key_prefix == "retail:item:"
    assert music.key_prefix == "events:track:"


def _with(**changes: Any) -> dict[str, Any]:
    values = {**PLAYER, **changes}
    return {key: value for key, value in values.items() if value is not ...}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (_with(colour="red"), r"unknown key 'colour'; allowed keys: columns, csv_delimiter"),
        (_with(service=...), r"missing key 'service'"),
        (_with(input_format="xml"), r"input_format: 'xml' .* expected csv or jsonl or parquet"),
        (_with(timestamp_kind="middle"), r"timestamp_kind: 'middle' .* expected started or ended"),
        (_with(columns=["ts"]), r"columns: \['ts'\] .* expected a mapping"),
        (
            _with(columns={"timestamp": "ts", "song": "title"}),
            r"columns.song: 'song' .* expected a key among account, timestamp",
        ),
        (_with(columns={"track_name": "title"}), r"columns.timestamp: None .* a source column"),
        (
            _with(columns={"timestamp": "ts", "artist_name": "a"}),
            r"columns: \[.artist_name., .timestamp.\] .* at least one of track_key, track_name",
        ),
        (
            _with(columns={"timestamp": "ts", "track_name": "t"}, ms_played_default=None),
            r"ms_played_default: None .* an integer > 0 when columns has no ms_played",
        ),
        (_with(timestamp_format="epoch"), r"timestamp_format: 'epoch' .* unix_seconds, unix_mil"),
        (_with(ms_played_scale=0), r"ms_played_scale: 0.0 .* expected a number > 0"),
        (_with(ms_played_scale="fast"), r"ms_played_scale: 'fast' .* expected a number"),
        (_with(ms_played_default=True), r"ms_played_default: True .* null or an integer"),
        (_with(default_content_type="purchase"), r"default_content_type: 'purchase' .* music or"),
        (_with(service="My Shop"), r"service: 'My Shop' .* a lower-case name"),
    ],
)
def test_bad_profiles_name_the_key_and_what_is_allowed(values: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"^test-profile: {message}"):
        profile_from_mapping(values, "test-profile")


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'shop'; expected one of music, retail"):
        load_profile("shop")


def test_profile_file_with_a_bad_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("service: mine\ninput_format: csv\nsheet: 1\n", encoding="utf-8")

    with pytest.raises(ConfigError, match=rf"^{path}: unknown key 'sheet'"):
        load_profile(str(path))


def test_profile_is_frozen() -> None:
    profile = load_profile("music")

    with pytest.raises(AttributeError):
        profile.service = "other"  # type: ignore[misc]
    assert isinstance(profile, EventLogProfile)


# --- detection ----------------------------------------------------------------------------------


def test_never_claims_a_file_and_accepts_fitting_files(spark: SparkSession, tmp_path: Path) -> None:
    reader = EventLogReader(load_profile("music"))
    samples = [s for s in detect.find_files(spark, str(MUSIC), str(tmp_path)) if "plays" in s.name]

    assert not any(reader.claims(sample) for sample in samples)
    detected = detect.detect(samples, READERS, chosen=reader)
    assert sorted(s.name for s in detected.by_reader["event-log"]) == [
        "plays-2025-h1.csv",
        "plays-2025-h2.csv",
    ]


def test_csv_with_other_columns_is_the_wrong_kind(spark: SparkSession, tmp_path: Path) -> None:
    reader = EventLogReader(load_profile("music"))
    scrobbles = detect.find_files(spark, str(MUSIC / "scrobbles.csv"), str(tmp_path))

    assert reader.check(scrobbles[0]) == (
        "a CSV file whose header has the columns album, artist, ms_played, track, ts, user"
    )
    # Under --format event-log a file that does not fit is left out; nothing left is an error.
    folder = detect.detect(
        detect.find_files(spark, str(MUSIC), str(tmp_path)), READERS, chosen=reader
    )
    assert [Path(path).name for path in folder.ignored] == ["scrobbles.csv"]
    with pytest.raises(WrongFileKindError, match=r"no listening history found among 1 files"):
        detect.detect(scrobbles, READERS, chosen=reader)


def test_json_array_is_not_json_lines(spark: SparkSession, tmp_path: Path) -> None:
    reader = EventLogReader(profile_from_mapping(PLAYER))
    samples = detect.find_files(spark, str(JSONL / "not-lines.json"), str(tmp_path))

    problem = reader.check(samples[0])

    assert problem is not None
    assert problem.startswith("JSON lines: one object per line with fields such as artist, cc")
    with pytest.raises(WrongFileKindError, match=r"no listening history found among 1 files"):
        detect.detect(samples, READERS, chosen=reader)


def test_missing_columns_stop_the_read(spark: SparkSession) -> None:
    reader = EventLogReader(load_profile("music"))

    with pytest.raises(
        WrongFileKindError,
        match=r"scrobbles\.csv: .* expected the columns "
        r"ms_played, ts, user named in its profile, found artist, album",
    ):
        reader.read(spark, [str(MUSIC / "scrobbles.csv")], None)


# --- CSV ----------------------------------------------------------------------------------------


def test_read_returns_the_normalized_columns(music_plays: DataFrame) -> None:
    def names_and_types(schema: StructType) -> list[tuple[str, DataType]]:
        return [(field.name, field.dataType) for field in schema.fields]

    assert names_and_types(music_plays.schema) == names_and_types(NORMALIZED)


def test_music_csv_values(music_plays: DataFrame) -> None:
    rows = _by_position(
        music_plays,
        "account_name",
        _utc("started_at"),
        _utc("ended_at"),
        "ms_played",
        "track_key",
        "album_key",
        "reject_reason",
    )

    song_a = "track:band one | song a"
    first_album = "album:band one | first album"
    assert rows == [
        # 12:00:00 started + 215 000 ms -> ended 12:03:35.
        ("plays-2025-h1.csv", 0, "alice", "2025-03-01 12:00:00.000", "2025-03-01 12:03:35.000",
         215000, song_a, first_album, None),
        # The exact duplicate reads the same; only its position differs.
        ("plays-2025-h1.csv", 1, "alice", "2025-03-01 12:00:00.000", "2025-03-01 12:03:35.000",
         215000, song_a, first_album, None),
        # No zone in the text: UTC. ms_played 0 -> ended = started. Empty album -> no album key.
        ("plays-2025-h1.csv", 2, "bob", "2025-03-02 08:30:00.000", "2025-03-02 08:30:00.000",
         0, "track:band two | song b", None, None),
        # Missing date: both timestamps null, for quality.py to quarantine.
        ("plays-2025-h1.csv", 3, "bob", None, None,
         120000, "track:band two | song c", "album:band two | second album", None),
        # 10:00+02:00 = 08:00 UTC; the negative duration is kept: 08:00:00 - 0.005 s.
        ("plays-2025-h1.csv", 4, "carol", "2025-04-01 08:00:00.000", "2025-04-01 07:59:59.995",
         -5, song_a, first_album, None),
        # ms_played "abc" -> null; ended = started so the reason is the duration.
        ("plays-2025-h1.csv", 5, "carol", "2025-04-02 10:00:00.000", "2025-04-02 10:00:00.000",
         None, "track:band, three | song d", "album:band, three | third", None),
        # No track, no artist: no keys.
        ("plays-2025-h1.csv", 6, "dave", "2025-05-01 00:00:00.000", "2025-05-01 00:00:01.000",
         1000, None, None, None),
        # Seven fields under a six-column header.
        ("plays-2025-h1.csv", 7, "erin", "2025-05-02 00:00:00.000", "2025-05-02 00:00:05.000",
         5000, "track:band five | song e", "album:band five | album",
         "row does not have the 6 fields of the header"),
        # The second half of the year, with CRLF line ends and padded names: same key as Song A.
        ("plays-2025-h2.csv", 0, "alice", "2025-09-01 12:00:00.000", "2025-09-01 12:03:20.000",
         200000, song_a, first_album, None),
        # Timestamp zero, start-stamped: started at the epoch, ended 1 s later.
        ("plays-2025-h2.csv", 1, "alice", "1970-01-01 00:00:00.000", "1970-01-01 00:00:01.000",
         1000, song_a, first_album, None),
    ]  # fmt: skip


def test_raw_record_is_the_row_as_json_or_the_malformed_line(music_plays: DataFrame) -> None:
    raw = dict(
        _row[1:] for _row in _by_position(music_plays, "raw_record") if _row[0].endswith("h1.csv")
    )

    assert raw[0] == (
        '{"user":"alice","ts":"2025-03-01T12:00:00Z","ms_played":"215000","track":"Song A",'
        '"artist":"Band One","album":"First Album"}'
    )
    assert raw[7] == "erin,2025-05-02T00:00:00Z,5000,Song E,Band Five,Album,extra"


def test_positions_do_not_depend_on_how_spark_splits_files(
    spark: SparkSession, music_plays: DataFrame
) -> None:
    reader = EventLogReader(load_profile("music"))
    paths = [str(MUSIC / "plays-2025-h1.csv"), str(MUSIC / "plays-2025-h2.csv")]
    settings = {"spark.sql.files.maxPartitionBytes": "64", "spark.sql.files.openCostInBytes": "0"}
    before = {key: spark.conf.get(key) for key in settings}
    try:
        for key, value in settings.items():
            spark.conf.set(key, value)
        # 64-byte splits: roughly one row per split, several splits per file.
        tiny_splits = reader.read(spark, paths, None)
        scan_tasks = spark.read.text(paths).select(F.spark_partition_id()).distinct().count()
        assert scan_tasks > 2
        split_rows = _by_position(tiny_splits, "account_name", "track_name", "ms_played")
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)

    assert split_rows == _by_position(music_plays, "account_name", "track_name", "ms_played")


# --- JSON lines ---------------------------------------------------------------------------------


def test_player_json_lines_values(player_plays: DataFrame) -> None:
    rows = _by_position(
        player_plays,
        "account_name",
        _utc("started_at"),
        _utc("ended_at"),
        "ms_played",
        "ms_played_estimated",
        "content_type",
        "track_key",
        "episode_key",
        "shuffle",
        "skipped",
        "reject_reason",
    )

    t1 = "player:track:T1"
    assert rows == [
        # ts_ms 1740830400000 = 2025-03-01 12:00:00 (end); 215.5 s x 1000 = 215 500 ms before it.
        ("events-2025-late.jsonl", 0, "carol", "2025-11-30 23:58:59.000",
         "2025-12-01 00:00:00.000", 61000, False, "video", "player:track:T3", None, None, None,
         None),
        ("events-2025.jsonl", 0, "alice", "2025-03-01 11:56:24.500", "2025-03-01 12:00:00.000",
         215500, False, "music", t1, None, True, False, None),
        # The same play with numbers as strings and booleans as 1 / 0: the same values.
        ("events-2025.jsonl", 1, "alice", "2025-03-01 11:56:24.500", "2025-03-01 12:00:00.000",
         215500, False, "music", t1, None, True, False, None),
        # Line 2 is blank. A podcast episode ("Podcast" -> podcast) played 0 s; "TRUE", "yes".
        ("events-2025.jsonl", 3, "bob", "2025-03-01 13:00:00.000", "2025-03-01 13:00:00.000",
         0, False, "podcast", None, "episode:daily talk | episode 7", True, True, None),
        # No duration: the profile's 180 000 ms, estimated; 14:00:00 - 3 min = 13:57:00.
        ("events-2025.jsonl", 4, "bob", "2025-03-01 13:57:00.000", "2025-03-01 14:00:00.000",
         180000, True, "music", "player:track:T2", None, None, None, None),
        # ts_ms 0: ended at the epoch, 30 s before it started.
        ("events-2025.jsonl", 5, "carol", "1969-12-31 23:59:30.000", "1970-01-01 00:00:00.000",
         30000, False, "music", t1, None, None, None, None),
        # Lines that are not JSON objects keep the caller's account and a reason.
        ("events-2025.jsonl", 6, "person-x", None, None, 180000, True, "music", None, None, None,
         None, "record is not a JSON object"),
        ("events-2025.jsonl", 7, "person-x", None, None, 180000, True, "music", None, None, None,
         None, "record is not a JSON object"),
    ]  # fmt: skip


def test_ip_addresses_stay_in_the_raw_record_only(player_plays: DataFrame) -> None:
    first = (
        player_plays.where(F.col("source_position") == 0)
        .where(F.col("source_file").endswith("events-2025.jsonl"))
        .first()
    )

    assert first is not None
    values = first.asDict()
    raw = values.pop("raw_record")
    assert raw.startswith('{"username": "alice", "ts_ms": 1740830400000')
    assert "2001:db8::1" in raw
    assert "2001:db8" not in str(values)
    assert (values["platform"], values["country"], values["reason_end"]) == (
        "android",
        "DE",
        "trackdone",
    )


# --- what quality.py makes of it ----------------------------------------------------------------


def _judged(plays: DataFrame, service: str) -> tuple[dict[tuple[str, int], str], list[Any]]:
    candidates = to_candidates(plays, DEVELOPMENT_KEY, service, "event-log", "batch-1")
    split = split_valid(candidates)
    reasons = {
        (row["file"], row["source_position"]): row["reason"]
        for row in split.quarantined.select(
            F.element_at(F.split("source_file", "/"), -1).alias("file"),
            "source_position",
            "reason",
        ).collect()
    }
    return reasons, split.valid.select("track_key", "event_id").collect()


def test_music_traps_reach_quarantine_with_their_reasons(music_plays: DataFrame) -> None:
    reasons, valid = _judged(music_plays, "events")

    assert reasons == {
        ("plays-2025-h1.csv", 3): "missing or unparsable timestamp",
        ("plays-2025-h1.csv", 4): "negative ms_played",
        ("plays-2025-h1.csv", 5): "missing ms_played",
        ("plays-2025-h1.csv", 6): "neither track nor episode",
        ("plays-2025-h1.csv", 7): "row does not have the 6 fields of the header",
        # Start-stamped at 0: started_at is the epoch.
        ("plays-2025-h2.csv", 1): "timestamp at or before 1970-01-01 (zero)",
    }
    # Valid: h1 rows 0 and 1 (exact duplicates: one event id), h1 row 2 (0 ms is still a play)
    # and h2 row 0.
    ids = Counter(row["event_id"] for row in valid)
    assert sorted(ids.values()) == [1, 1, 2]


def test_player_traps_reach_quarantine_with_their_reasons(player_plays: DataFrame) -> None:
    reasons, valid = _judged(player_plays, "player")

    assert reasons == {
        ("events-2025.jsonl", 5): "timestamp at or before 1970-01-01 (zero)",
        ("events-2025.jsonl", 6): "record is not a JSON object",
        ("events-2025.jsonl", 7): "record is not a JSON object",
    }
    # Lines 0 and 1 are one play written two ways: one event id for both.
    ids = Counter(row["event_id"] for row in valid)
    assert len(valid) == 5
    assert sorted(ids.values()) == [1, 1, 1, 2]


# --- Parquet and Delta --------------------------------------------------------------------------

NATIVE = {
    "service": "player",
    "input_format": "parquet",
    "columns": {"account": "user", "timestamp": "ts", "ms_played": "ms", "track_name": "title",
                "artist_name": "artist"},
    "timestamp_kind": "ended",
    "timestamp_format": "iso",
}  # fmt: skip


def _native_rows(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            ("ann", "2025-06-01 10:00:00", 60000, "Song P", "Band P"),
            ("ann", "2025-06-01 11:00:00", 90000, "Song Q", "Band P"),
            ("ben", "2025-06-02 09:00:00", 30000, "Song P", "Band P"),
        ],
        "user string, ts string, ms long, title string, artist string",
    ).withColumn("ts", F.to_timestamp("ts"))


EXPECTED_NATIVE = [
    # Native timestamps need no format; each ended ms_played after its start.
    (0, "ann", "2025-06-01 09:59:00.000", 60000, "track:band p | song p"),
    (1, "ann", "2025-06-01 10:58:30.000", 90000, "track:band p | song q"),
    (2, "ben", "2025-06-02 08:59:30.000", 30000, "track:band p | song p"),
]


def test_parquet_rows_use_the_row_index(spark: SparkSession, tmp_path: Path) -> None:
    _native_rows(spark).coalesce(1).write.parquet(str(tmp_path / "log"))
    reader = EventLogReader(profile_from_mapping(NATIVE))
    # Spark's output folder also holds _SUCCESS and .crc files: accepted, and skipped.
    samples = detect.find_files(spark, str(tmp_path / "log"), str(tmp_path / "unpacked"))
    files = [s.path for s in detect.detect(samples, READERS, chosen=reader).by_reader["event-log"]]
    assert any(Path(path).name == "_SUCCESS" for path in files)

    plays = reader.read(spark, files, None)

    rows = plays.select(
        "source_position", "account_name", _utc("started_at"), "ms_played", "track_key"
    ).collect()
    assert sorted(tuple(row) for row in rows) == EXPECTED_NATIVE
    raw = plays.where(F.col("source_position") == 0).first()
    assert raw is not None
    assert raw["raw_record"] == (
        '{"user":"ann","ts":"2025-06-01T10:00:00.000Z","ms":60000,"title":"Song P",'
        '"artist":"Band P"}'
    )


def test_delta_tables_found_through_their_files(spark: SparkSession, tmp_path: Path) -> None:
    for table in ("table-a", "table-b"):
        _native_rows(spark).coalesce(1).write.format("delta").save(str(tmp_path / "in" / table))
    reader = EventLogReader(profile_from_mapping({**NATIVE, "input_format": "delta"}))
    samples = detect.find_files(spark, str(tmp_path / "in"), str(tmp_path / "unpacked"))
    detected = detect.detect(samples, READERS, chosen=reader)

    plays = reader.read(spark, [s.path for s in detected.by_reader["event-log"]], None)

    rows = plays.select(
        "source_position", "account_name", _utc("started_at"), "ms_played", "track_key"
    ).collect()
    # Each table's one data file numbers its rows from 0.
    assert sorted(tuple(row) for row in rows) == sorted(EXPECTED_NATIVE * 2)
    data_files = {row["source_file"] for row in plays.select("source_file").collect()}
    assert len(data_files) == 2
    assert all(path.endswith(".parquet") for path in data_files)


# --- the retail example and its catalog ---------------------------------------------------------


def test_retail_example_reads_purchases_as_plays_with_genres(spark: SparkSession) -> None:
    with RETAIL_EXAMPLE.open(newline="", encoding="utf-8") as handle:
        purchases = list(csv.DictReader(handle))
    reader = EventLogReader(load_profile("retail"))

    events = reader.read_events(spark, [str(RETAIL_EXAMPLE)], None).cache()

    assert events.count() == len(purchases)
    first = events.where(F.col("source_position") == 0).select(
        "account_name", _utc("started_at"), _utc("ended_at"), "ms_played", "track_key", "genres",
        "platform",
    ).first()  # fmt: skip
    # Row 0: C0023 bought SKU-0301 for 299 cents at 07:17:25; 299 x 1 000 ms = 299 s
    # = 4 min 59 s, so the "play" ends at 07:22:24.
    assert purchases[0]["amount_cents"] == "299"
    assert tuple(first) == (  # type: ignore[arg-type]
        "C0023", "2025-01-01 07:17:25.000", "2025-01-01 07:22:24.000", 299_000,
        "retail:item:SKU-0301", ["stationery"], "store",
    )  # fmt: skip
    refunds = [row for row in purchases if int(row["amount_cents"]) < 0]
    assert events.where(F.col("ms_played") < 0).count() == len(refunds) == 1

    tracks = catalog_from_events(events).collect()
    expected = {(f"retail:item:{r['sku']}", r["category"], r["brand"]) for r in purchases}
    assert {(t["track_key"], *t["genres"], t["artist_name"]) for t in tracks} == expected
    events.unpersist()


def test_retail_example_through_the_ingest_job_twice(
    spark: SparkSession, data_config: Config
) -> None:
    first = run_ingest_files(
        spark, data_config, str(RETAIL_EXAMPLE), source_format="event-log", profile="retail"
    )
    second = run_ingest_files(
        spark, data_config, str(RETAIL_EXAMPLE), source_format="event-log", profile="retail"
    )

    # 301 rows: 300 purchases and one refund, which quarantine keeps with its reason.
    assert (first.plays_inserted, first.bronze_inserted, first.quarantine_inserted) == (300, 301, 1)
    assert first.quarantine_reasons == {"negative ms_played": 1}
    # Positions do not move between runs, so bronze and quarantine add nothing either.
    assert (second.plays_inserted, second.bronze_inserted, second.quarantine_inserted) == (0, 0, 0)
    quarantined = read_delta(spark, TableLocations.from_config(data_config).quarantine).first()
    assert quarantined is not None
    assert quarantined["source_position"] == 300
    assert '"amount_cents":"-6009"' in quarantined["raw_record"]
    # Categories become genres in silver.catalog: one row per SKU, each with its category.
    expected = {}
    with RETAIL_EXAMPLE.open() as example:
        for row in csv.DictReader(example):
            expected.setdefault(row["sku"], set()).add(row["category"])
    catalog = read_delta(spark, TableLocations.from_config(data_config).catalog).collect()
    assert {r["track_key"].rsplit(":", 1)[-1]: set(r["genres"]) for r in catalog} == expected


def test_catalog_from_events_joins_genres_years_and_durations(
    spark: SparkSession, tmp_path: Path
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "user,ts,track,artist,genre,year,length\n"
        "u1,1740830400,Song A,Band One,Rock| Indie,1999,200000\n"
        "u2,1740830500,Song A,Band One,rock,1999-01-01,200000\n"
        "u1,1740830600,Song B,Band Two,,,\n",
        encoding="utf-8",
    )
    profile = profile_from_mapping(
        {
            "service": "events",
            "input_format": "csv",
            "columns": {"account": "user", "timestamp": "ts", "track_name": "track",
                        "artist_name": "artist", "genre": "genre", "release_year": "year",
                        "duration_ms": "length"},
            "timestamp_kind": "started",
            "timestamp_format": "unix_seconds",
            "ms_played_default": 180000,
            "genre_separator": "|",
        }
    )  # fmt: skip

    events = EventLogReader(profile).read_events(spark, [str(log)], None)
    tracks = {row["track_name"]: row for row in catalog_from_events(events).collect()}

    # Song A: genres {rock, indie} from "Rock| Indie" and "rock", sorted; year from "1999" and
    # "1999-01-01"; the log's length wins (no "trackdone" plays to derive one from anyway).
    assert tracks["Song A"]["genres"] == ["indie", "rock"]
    assert tracks["Song A"]["release_year"] == 1999
    assert tracks["Song A"]["duration_ms"] == 200000
    assert tracks["Song B"]["genres"] is None
    assert tracks["Song B"]["release_year"] is None


# --- real samples -------------------------------------------------------------------------------

LASTFM = SAMPLES / "lastfm"


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples are not on this machine")
def test_lastfm_csv_through_a_unix_seconds_profile(spark: SparkSession) -> None:
    path = LASTFM / "with-header-mbid" / "lastfm_scrobbles.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        scrobbles = list(csv.DictReader(handle))
    profile = profile_from_mapping(
        {
            "service": "lastfm",
            "input_format": "csv",
            "columns": {"timestamp": "timestamp", "track_name": "track", "artist_name": "artist",
                        "album_name": "album"},
            "timestamp_kind": "started",
            "timestamp_format": "unix_seconds",
            "ms_played_default": 180000,
        }
    )  # fmt: skip

    plays = EventLogReader(profile).read(spark, [str(path)], "lastfm-user")

    counts = plays.agg(
        F.count("*").alias("rows"),
        F.sum((F.col("started_at") == F.lit("1970-01-01").cast("timestamp")).cast("int")).alias(
            "zero"
        ),
        F.sum(F.col("ms_played_estimated").cast("int")).alias("estimated"),
        F.max("source_position").alias("last_position"),
    ).first()
    assert counts is not None
    assert counts["rows"] == len(scrobbles)
    assert counts["zero"] == sum(row["timestamp"] == "0" for row in scrobbles)
    assert counts["estimated"] == len(scrobbles)
    assert counts["last_position"] == len(scrobbles) - 1
    first = (
        plays.where(F.col("source_position") == 0)
        .select("artist_name", "track_name", _utc("started_at").alias("started"))
        .first()
    )
    assert first is not None
    # Row 0: 1536407564 s = 2018-09-08 11:52:44 UTC, as the export's own datetime column says.
    assert (first["artist_name"], first["track_name"], first["started"]) == (
        scrobbles[0]["artist"],
        scrobbles[0]["track"],
        scrobbles[0]["datetime"] + ".000",
    )


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples are not on this machine")
def test_lastfm_r_export_through_a_datetime_pattern(spark: SparkSession) -> None:
    path = LASTFM / "r-export" / "scrobbles.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        scrobbles = list(csv.DictReader(handle))
    profile = profile_from_mapping(
        {
            "service": "lastfm",
            "input_format": "csv",
            "columns": {"timestamp": "date", "track_name": "track", "artist_name": "artist",
                        "album_name": "album"},
            "timestamp_kind": "started",
            "timestamp_format": "yyyy-MM-dd HH:mm:ss",
            "ms_played_default": 180000,
        }
    )  # fmt: skip

    plays = EventLogReader(profile).read(spark, [str(path)], "r-user")

    parsed = plays.where(F.col("started_at").isNotNull()).count()
    assert plays.count() == len(scrobbles)
    assert parsed == sum(bool(row["date"]) for row in scrobbles)
    first = (
        plays.where(F.col("source_position") == 0)
        .select(_utc("started_at").alias("started"), "track_name")
        .first()
    )
    assert first is not None
    assert (first["started"], first["track_name"]) == (
        scrobbles[0]["date"] + ".000",
        scrobbles[0]["track"],
    )
