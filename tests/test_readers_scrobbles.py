"""The Last.fm and ListenBrainz readers on hand-written fixtures and on the shared real samples.

Scrobbles are stamped when they STARTED and carry no duration, so in every expected row below
ended_at = started_at + 180 s (the default play length) unless a test says otherwise.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conftest import SAMPLES
from spinback.ingest import detect, records
from spinback.ingest.detect import WrongFileKindError
from spinback.ingest.pseudonym import DEVELOPMENT_KEY
from spinback.ingest.quality import split_valid
from spinback.ingest.readers import lastfm, listenbrainz

FIXTURES = Path(__file__).parent / "fixtures"
READERS = [*listenbrainz.READERS, *lastfm.READERS]
needs_samples = pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples not present")

CSV_READER = lastfm.LastfmCsvReader()
API_READER = lastfm.LastfmApiReader()
EXPORT_READER = listenbrainz.ListenBrainzExportReader()
LB_API_READER = listenbrainz.ListenBrainzApiReader()
LISTENS_READER = listenbrainz.ListenBrainzListensReader()
DUMP_READER = listenbrainz.ListenBrainzDumpReader()


def _files(folder: str, pattern: str = "*") -> list[str]:
    return sorted(str(path) for path in (FIXTURES / folder).rglob(pattern) if path.is_file())


def _rows(frame: DataFrame, *columns: str) -> list[tuple]:
    """(file name, position, *columns) in path and position order; timestamps as UTC text."""
    as_text = {"ended_at", "started_at"}
    ordered = frame.orderBy("source_file", "source_position").select(
        F.element_at(F.split("source_file", "/"), -1),
        "source_position",
        *[F.date_format(c, "yyyy-MM-dd HH:mm:ss") if c in as_text else F.col(c) for c in columns],
    )
    return [tuple(row) for row in ordered.collect()]


def _by_position(frame: DataFrame, *columns: str) -> dict[tuple[str, int], tuple]:
    return {(row[0], row[1]): row[2:] for row in _rows(frame, *columns)}


def _detect(spark: SparkSession, path: Path, unpack_dir: Path) -> detect.DetectedInput:
    return detect.detect(detect.find_files(spark, str(path), str(unpack_dir)), READERS)


@pytest.fixture(scope="module")
def lastfm_csv(spark: SparkSession) -> DataFrame:
    paths = _files("lastfm/plain") + _files("lastfm/mbid") + _files("lastfm/r-export")
    return CSV_READER.read(spark, paths, "caller").cache()


@pytest.fixture(scope="module")
def lastfm_api(spark: SparkSession) -> DataFrame:
    return API_READER.read(spark, _files("lastfm/api"), "caller").cache()


@pytest.fixture(scope="module")
def listenbrainz_export(spark: SparkSession) -> DataFrame:
    paths = _files("listenbrainz/export/listens") + _files("listenbrainz/export-array")
    return EXPORT_READER.read(spark, paths, "caller").cache()


@pytest.fixture(scope="module")
def listenbrainz_api(spark: SparkSession) -> DataFrame:
    return LB_API_READER.read(spark, _files("listenbrainz/api"), "caller").cache()


# --- the normalized shape ------------------------------------------------------------------------


def test_every_reader_returns_the_normalized_columns(
    lastfm_csv: DataFrame,
    lastfm_api: DataFrame,
    listenbrainz_export: DataFrame,
    listenbrainz_api: DataFrame,
) -> None:
    normalized = [(f.name, f.dataType) for f in records.NORMALIZED.fields]
    for frame in (lastfm_csv, lastfm_api, listenbrainz_export, listenbrainz_api):
        assert [(f.name, f.dataType) for f in frame.schema.fields] == normalized


def test_scrobbles_are_music_of_the_default_length_marked_estimated(
    lastfm_csv: DataFrame, lastfm_api: DataFrame, listenbrainz_export: DataFrame
) -> None:
    for frame in (lastfm_csv, lastfm_api, listenbrainz_export):
        constants = frame.select("ms_played", "ms_played_estimated", "content_type").distinct()
        assert [tuple(row) for row in constants.collect()] == [(180_000, True, "music")]


def test_the_configured_play_length_replaces_the_default(spark: SparkSession) -> None:
    reader = lastfm.LastfmCsvReader(default_play_ms=200_000)
    frame = reader.read(spark, _files("lastfm/plain", "2020-part1.csv"), "caller")
    # 21:07:00 + 200 s = 21:10:20
    assert _rows(frame.where("source_position = 0"), "ms_played", "started_at", "ended_at") == [
        ("2020-part1.csv", 0, 200_000, "2020-03-14 21:07:00", "2020-03-14 21:10:20")
    ]


# --- Last.fm CSV ---------------------------------------------------------------------------------


def test_lastfm_csv_times_in_all_three_layouts(lastfm_csv: DataFrame) -> None:
    # ended_at = started_at + 180 s. Header lines (position 0 of mbid and R files) are not records;
    # the blank line 5 of 2020-part2.csv is skipped, its neighbours keep their line numbers.
    assert _rows(lastfm_csv, "started_at", "ended_at", "reject_reason") == [
        # header layout, unix seconds: 1600000000 = 2020-09-13 12:26:40 UTC, twice (duplicate)
        ("lastfm_scrobbles.csv", 1, "2020-09-13 12:26:40", "2020-09-13 12:29:40", None),
        ("lastfm_scrobbles.csv", 2, "2020-09-13 12:26:40", "2020-09-13 12:29:40", None),
        # timestamp 0 stays a 1970 timestamp for quarantine to judge
        ("lastfm_scrobbles.csv", 3, "1970-01-01 00:00:00", "1970-01-01 00:03:00", None),
        ("lastfm_scrobbles.csv", 4, None, None, None),  # no timestamp, no datetime
        ("lastfm_scrobbles.csv", 5, "2018-08-24 14:20:09", "2018-08-24 14:23:09", None),
        # timestamp not a number: the datetime column gives the start
        ("lastfm_scrobbles.csv", 6, "2010-04-20 10:00:00", "2010-04-20 10:03:00", None),
        # headerless layout, year 2020 split over two files
        ("2020-part1.csv", 0, "2020-03-14 21:07:00", "2020-03-14 21:10:00", None),
        ("2020-part1.csv", 1, "2020-03-14 21:17:00", "2020-03-14 21:20:00", None),
        ("2020-part1.csv", 2, "2020-03-14 21:17:00", "2020-03-14 21:20:00", None),
        ("2020-part1.csv", 3, "1970-01-01 00:00:00", "1970-01-01 00:03:00", None),
        ("2020-part2.csv", 0, "2020-11-20 09:35:00", "2020-11-20 09:38:00", None),
        ("2020-part2.csv", 1, None, None, None),  # empty date
        ("2020-part2.csv", 2, None, None, None),  # "not a date"
        (
            "2020-part2.csv",
            3,
            "2020-12-03 23:59:00",
            "2020-12-04 00:02:00",  # 23:59 + 3 min crosses midnight
            "more fields than the 4 of the layout",
        ),
        ("2020-part2.csv", 4, "2020-12-01 08:00:00", "2020-12-01 08:03:00", None),
        ("2020-part2.csv", 6, "2020-12-31 23:58:00", "2021-01-01 00:01:00", None),
        ("2020-part2.csv", 7, "2020-12-31 23:59:00", "2021-01-01 00:02:00", None),
        # R layout
        ("scrobbles.csv", 1, "2020-04-13 05:01:31", "2020-04-13 05:04:31", None),
        ("scrobbles.csv", 2, "2020-04-13 04:57:59", "2020-04-13 05:00:59", None),
        ("scrobbles.csv", 3, "2019-10-21 07:09:18", "2019-10-21 07:12:18", None),
        ("scrobbles.csv", 4, "2019-09-16 02:41:43", "2019-09-16 02:44:43", None),
        ("scrobbles.csv", 5, None, None, None),  # date NA
    ]


def test_lastfm_csv_names_and_keys(lastfm_csv: DataFrame) -> None:
    rows = _by_position(
        lastfm_csv,
        "account_name",
        "artist_key",
        "track_name",
        "track_key",
        "album_name",
        "album_key",
    )
    # A quoted field keeps its commas.
    assert rows[("2020-part1.csv", 1)] == (
        "caller",
        "artist:crosby, stills & nash",
        "Helplessly Hoping",
        "track:crosby, stills & nash | helplessly hoping",
        "Crosby, Stills & Nash",
        "album:crosby, stills & nash | crosby, stills & nash",
    )
    # No album: neither album name nor album key.
    assert rows[("2020-part1.csv", 3)] == (
        "caller",
        "artist:kraftwerk",
        "Computer Love",
        "track:kraftwerk | computer love",
        None,
        None,
    )
    # A doubled quote is one quote; keys are lower-cased.
    assert rows[("2020-part2.csv", 0)][2:4] == ('Jóga "live"', 'track:björk | jóga "live"')
    assert rows[("lastfm_scrobbles.csv", 5)][4] == 'Kamariya (From "Stree") - Single'
    # R's bare NA is a missing album; a backslash is an ordinary character.
    assert rows[("scrobbles.csv", 2)][4:] == (None, None)
    assert rows[("scrobbles.csv", 3)][4:] == (
        "C:\\>CHKDSK /F",
        "album:master boot record | c:\\>chkdsk /f",
    )
    assert rows[("scrobbles.csv", 4)][2] == 'Collapsing (Feat. Bjorn "Speed" Strid)'


# --- Last.fm API ---------------------------------------------------------------------------------


def test_lastfm_api_pages(lastfm_api: DataFrame) -> None:
    rows = _rows(lastfm_api, "started_at", "ended_at", "artist_name", "album_key", "reject_reason")
    assert rows == [
        # nowplaying "true" (text): not finished, so not a scrobble
        ("recenttracks-1.json", 0, None, None, "Khruangbin", "album:khruangbin | mordechai",
         "now playing, not a scrobble"),
        # uts 1606462536 = 2020-11-27 07:35:36 UTC
        ("recenttracks-1.json", 1, "2020-11-27 07:35:36", "2020-11-27 07:38:36", "Khruangbin",
         "album:khruangbin | mordechai", None),
        # uts 1606462000 = 2020-11-27 07:26:40; the album text is empty: no album key
        ("recenttracks-1.json", 2, "2020-11-27 07:26:40", "2020-11-27 07:29:40", "Tinariwen", None,
         None),
        # the same scrobble again on the next page, artist in the extended {"name": ...} form
        ("recenttracks-2.json", 0, "2020-11-27 07:26:40", "2020-11-27 07:29:40", "Tinariwen", None,
         None),
        # nowplaying true (JSON boolean)
        ("recenttracks-2.json", 1, None, None, "Khruangbin", "album:khruangbin | mordechai",
         "now playing, not a scrobble"),
        ("recenttracks-2.json", 2, "1970-01-01 00:00:00", "1970-01-01 00:03:00", "Unknown Artist",
         None, None),
        # no uts: the date text "01 Dec 2020, 18:05" (UTC) gives the start
        ("recenttracks-2.json", 3, "2020-12-01 18:05:00", "2020-12-01 18:08:00", "Nils Frahm",
         "album:nils frahm | spaces", None),
        ("recenttracks-2.json", 4, None, None, None, None, "record is not a JSON object"),
    ]  # fmt: skip
    assert {row[0] for row in lastfm_api.select("account_name").distinct().collect()} == {"caller"}


# --- ListenBrainz --------------------------------------------------------------------------------


def test_listenbrainz_export_lines_and_array(listenbrainz_export: DataFrame) -> None:
    rows = _rows(listenbrainz_export, "account_name", "started_at", "ended_at", "track_key")
    assert rows == [
        # the JSON array, a listen twice (exact duplicate)
        ("river_lb-2024-03-02.json", 0, "river", "2024-03-02 00:40:00", "2024-03-02 00:43:00",
         "track:moderat | a new error"),
        ("river_lb-2024-03-02.json", 1, "river", "2024-03-02 00:40:00", "2024-03-02 00:43:00",
         "track:moderat | a new error"),
        # JSON lines, 2024 split over 1.jsonl and 2.jsonl; 1704067200 = 2024-01-01 00:00 UTC
        ("1.jsonl", 0, "river", "2024-01-01 00:00:00", "2024-01-01 00:03:00",
         "track:bonobo | kerala"),
        ("1.jsonl", 1, "river", "2024-01-01 00:00:00", "2024-01-01 00:03:00",
         "track:bonobo | kerala"),
        # listened_at as text "1704153600"; no user_name: the caller's account
        ("1.jsonl", 2, "caller", "2024-01-02 00:00:00", "2024-01-02 00:03:00",
         "track:floating points | silhouettes (i, ii & iii)"),
        ("1.jsonl", 3, "caller", "1970-01-01 00:00:00", "1970-01-01 00:03:00",
         "track:four tet | baby"),
        ("1.jsonl", 4, "caller", None, None, None),  # a cut-off line
        # listened_at written as a float, 1706745600.0 = 2024-02-01 00:00 UTC
        ("2.jsonl", 0, "river", "2024-02-01 00:00:00", "2024-02-01 00:03:00",
         "track:jon hopkins | emerald rush"),
        ("2.jsonl", 1, "river", None, None, "track:caribou | home"),  # no listened_at
        ("2.jsonl", 2, "river", "2024-02-02 00:00:00", "2024-02-02 00:03:00", None),  # no track
    ]  # fmt: skip
    reasons = _by_position(listenbrainz_export, "reject_reason")
    assert reasons[("1.jsonl", 4)] == ("record is not a JSON object",)
    assert sum(reason != (None,) for reason in reasons.values()) == 1


def test_listenbrainz_api_pages_take_the_page_user(listenbrainz_api: DataFrame) -> None:
    # 1709251200 = 2024-03-01 00:00 UTC; the second listen has no user_name: payload.user_id
    assert _rows(listenbrainz_api, "account_name", "started_at", "album_key", "reject_reason") == [
        ("listens-page-1.json", 0, "river", "2024-03-01 00:00:00", "album:bicep | bicep", None),
        ("listens-page-1.json", 1, "river", "2024-03-01 01:00:00", "album:burial | untrue", None),
        ("playing-now.json", 0, "river", None, "album:burial | untrue",
         "now playing, not a scrobble"),
    ]  # fmt: skip


def test_listenbrainz_object_with_listens_at_its_top(spark: SparkSession) -> None:
    frame = LISTENS_READER.read(spark, _files("listenbrainz/listens-object"), "caller")
    # 1709340000 = 2024-03-02 00:40 UTC
    assert _rows(frame, "account_name", "started_at", "ended_at", "track_key", "album_key") == [
        ("listenbrainz.json", 0, "river", "2024-03-02 00:40:00", "2024-03-02 00:43:00",
         "track:kiss | i was made for lovin' you", "album:kiss | the very best of kiss"),
    ]  # fmt: skip


def _write_dump(folder: Path) -> None:
    """A tiny Spark listen dump: two Parquet files and the companion files of a real one."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    folder.mkdir()
    utc = timezone.utc

    def listens(rows: list[tuple]) -> object:
        listened_at, user_id, artist, recording, release = zip(*rows, strict=True)
        return pa.table(
            {
                "listened_at": pa.array(listened_at, pa.timestamp("us", tz="UTC")),
                "user_id": pa.array(user_id, pa.int64()),
                "artist_name": pa.array(artist, pa.string()),
                "release_name": pa.array(release, pa.string()),
                "recording_name": pa.array(recording, pa.string()),
                "recording_mbid": pa.array([None] * len(rows), pa.string()),
            }
        )

    pq.write_table(
        listens(
            [
                (
                    datetime(2021, 12, 31, 23, 0, tzinfo=utc),
                    1,
                    "Kalabi",
                    "Keep Falling",
                    "Support Network",
                ),
                (
                    datetime(2021, 12, 31, 23, 0, tzinfo=utc),
                    1,
                    "Kalabi",
                    "Keep Falling",
                    "Support Network",
                ),
                (datetime(1970, 1, 1, tzinfo=utc), 2, "Klergy", "And so It Begins", None),
            ]
        ),
        folder / "0.parquet",
    )
    pq.write_table(
        listens(
            [
                (
                    datetime(2022, 1, 1, 0, 30, tzinfo=utc),
                    2,
                    "Ott",
                    "Splitting an Atom",
                    "Blumenkraft",
                )
            ]
        ),
        folder / "1.parquet",
    )
    (folder / "COPYING").write_text("Sample Dump License")
    (folder / "START_TIMESTAMP").write_text("2021-12-31 00:00:00.000000")
    (folder / "END_TIMESTAMP").write_text("2022-01-02 00:00:00.000000")
    (folder / "SCHEMA_SEQUENCE").write_text("1")


def test_listenbrainz_dump_claims_parquet_only_and_reads_each_rows_user(
    spark: SparkSession, tmp_path: Path
) -> None:
    dump = tmp_path / "listenbrainz-spark-dump-1-20220102-full"
    _write_dump(dump)
    found = _detect(spark, dump, tmp_path / "unpacked")
    assert {
        name: [Path(s.path).name for s in files] for name, files in found.by_reader.items()
    } == {"listenbrainz-dump": ["0.parquet", "1.parquet"]}
    assert sorted(Path(path).name for path in found.ignored) == [
        "COPYING",
        "END_TIMESTAMP",
        "SCHEMA_SEQUENCE",
        "START_TIMESTAMP",
    ]
    frame = DUMP_READER.read(spark, [s.path for s in found.by_reader["listenbrainz-dump"]], None)
    # The user id of each row is its account; the year 2021 ends in 0.parquet, 2022 starts in 1.
    assert _rows(frame, "account_name", "started_at", "ended_at", "track_key", "album_key") == [
        ("0.parquet", 0, "1", "2021-12-31 23:00:00", "2021-12-31 23:03:00",
         "track:kalabi | keep falling", "album:kalabi | support network"),
        ("0.parquet", 1, "1", "2021-12-31 23:00:00", "2021-12-31 23:03:00",
         "track:kalabi | keep falling", "album:kalabi | support network"),
        ("0.parquet", 2, "2", "1970-01-01 00:00:00", "1970-01-01 00:03:00",
         "track:klergy | and so it begins", None),
        ("1.parquet", 0, "2", "2022-01-01 00:30:00", "2022-01-01 00:33:00",
         "track:ott | splitting an atom", "album:ott | blumenkraft"),
    ]  # fmt: skip


# --- detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "reader_name", "file_count"),
    [
        ("lastfm/plain", "lastfm-csv", 2),
        ("lastfm/mbid", "lastfm-csv", 1),
        ("lastfm/r-export", "lastfm-csv", 1),
        ("lastfm/api", "lastfm-api", 2),
        ("listenbrainz/api", "listenbrainz-api", 2),
        ("listenbrainz/listens-object", "listenbrainz-listens", 1),
        ("listenbrainz/export-array", "listenbrainz-export", 1),
    ],
)
def test_each_fixture_folder_goes_to_its_reader(
    spark: SparkSession, folder: str, reader_name: str, file_count: int, tmp_path: Path
) -> None:
    found = _detect(spark, FIXTURES / folder, tmp_path)
    assert {name: len(files) for name, files in found.by_reader.items()} == {
        reader_name: file_count
    }
    assert found.ignored == []


def test_listenbrainz_export_zip_is_unpacked_and_only_its_listens_claimed(
    spark: SparkSession, tmp_path: Path
) -> None:
    export = FIXTURES / "listenbrainz" / "export"
    archive = tmp_path / "river-listenbrainz-export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(export.rglob("*")):
            zipped.write(path, path.relative_to(export).as_posix())

    found = _detect(spark, archive, tmp_path / "unpacked")
    claimed = found.by_reader["listenbrainz-export"]
    assert [Path(s.path).relative_to(Path(s.path).parents[2]).as_posix() for s in claimed] == [
        "listens/2024/1.jsonl",
        "listens/2024/2.jsonl",
    ]
    assert sorted(Path(path).name for path in found.ignored) == ["feedback.jsonl", "user.json"]

    frame = EXPORT_READER.read(spark, [s.path for s in claimed], "caller")
    # 5 lines in 1.jsonl + 3 in 2.jsonl, none dropped, the cut-off line included
    assert frame.count() == 8


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        # a CSV with artist and track columns of another layout
        ("lastfm/wrong-kind/plays.csv", "not a lastfm-csv file; expected a Last.fm scrobble CSV"),
        # pages gathered into one JSON array instead of one page per file
        (
            "lastfm/wrong-kind/recenttracks-pages.json",
            r"not a lastfm-api file; expected a Last.fm user.getrecenttracks page",
        ),
        # one pretty-printed listen: neither JSON lines nor an array
        (
            "listenbrainz/wrong-kind/listen.json",
            "not a listenbrainz-export file; expected ListenBrainz listens: one JSON object per",
        ),
        # an API page of statistics, not listens
        (
            "listenbrainz/wrong-kind/top-artists.json",
            "not a listenbrainz-api file; expected a ListenBrainz API page of listens",
        ),
    ],
)
def test_a_file_of_the_wrong_kind_stops_detection(
    spark: SparkSession, fixture: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(WrongFileKindError, match=f"{Path(fixture).name}: {message}"):
        _detect(spark, FIXTURES / fixture, tmp_path)


def test_a_listen_longer_than_the_head_still_passes_the_check() -> None:
    line = '{"listened_at": 1704067200, "track_metadata": {"artist_name": "' + "x" * 9000
    sample = detect.FileSample("/in/1.jsonl", "1.jsonl", line[: detect.HEAD_BYTES], "in")
    assert EXPORT_READER.claims(sample)
    assert EXPORT_READER.check(sample) is None


@needs_samples
def test_no_scrobble_reader_claims_a_file_of_another_format(
    spark: SparkSession, tmp_path: Path
) -> None:
    others = [
        p for p in SAMPLES.iterdir() if p.is_dir() and p.name not in {"lastfm", "listenbrainz"}
    ]
    samples = [s for folder in others for s in detect.find_files(spark, str(folder), str(tmp_path))]
    assert samples
    claimed = [(s.path, r.name) for s in samples for r in READERS if r.claims(s)]
    assert claimed == []


# --- through quality -----------------------------------------------------------------------------


def _candidates(frame: DataFrame, service: str) -> DataFrame:
    return records.to_candidates(frame, DEVELOPMENT_KEY, service, "test", "batch-1")


def test_duplicates_share_an_event_id_and_bad_records_get_their_reason(
    lastfm_csv: DataFrame, lastfm_api: DataFrame
) -> None:
    csv_candidates = _candidates(lastfm_csv, "lastfm")
    ids = _by_position(csv_candidates, "event_id")
    assert ids[("2020-part1.csv", 1)] == ids[("2020-part1.csv", 2)]
    assert ids[("lastfm_scrobbles.csv", 1)] == ids[("lastfm_scrobbles.csv", 2)]
    # the same scrobble on two API pages, its artist written two ways
    api_ids = _by_position(_candidates(lastfm_api, "lastfm"), "event_id")
    assert api_ids[("recenttracks-1.json", 2)] == api_ids[("recenttracks-2.json", 0)]

    quarantined = split_valid(_candidates(lastfm_api, "lastfm")).quarantined
    api_reasons = _by_position(quarantined, "reason")
    api_reasons.pop(("recenttracks-2.json", 2), None)  # uts 0: judged in the test below
    assert api_reasons == {
        ("recenttracks-1.json", 0): ("now playing, not a scrobble",),
        ("recenttracks-2.json", 1): ("now playing, not a scrobble",),
        ("recenttracks-2.json", 4): ("record is not a JSON object",),
    }
    csv_reasons = _by_position(split_valid(csv_candidates).quarantined, "reason")
    assert csv_reasons[("2020-part2.csv", 3)] == ("more fields than the 4 of the layout",)
    assert csv_reasons[("scrobbles.csv", 5)] == ("missing or unparsable timestamp",)


def test_a_scrobble_at_unix_zero_is_quarantined(lastfm_csv: DataFrame) -> None:
    reasons = _by_position(split_valid(_candidates(lastfm_csv, "lastfm")).quarantined, "reason")
    assert reasons[("2020-part1.csv", 3)] == ("timestamp at or before 1970-01-01 (zero)",)


def test_an_api_page_with_a_single_track_object_is_read(
    spark: SparkSession, tmp_path: Path
) -> None:
    page = {
        "recenttracks": {
            "track": {
                "artist": {"#text": "Solo Act", "mbid": ""},
                "album": {"#text": "Only"},
                "name": "One",
                "date": {"uts": "1600000000", "#text": "13 Sep 2020, 12:26"},
            },
            "@attr": {"user": "someone", "page": "1", "total": "1"},
        }
    }
    (tmp_path / "page.json").write_text(json.dumps(page))
    reader = next(r for r in lastfm.READERS if r.name == "lastfm-api")

    rows = reader.read(spark, [str(tmp_path / "page.json")], "me").collect()

    assert [(r["track_name"], r["artist_name"], r["reject_reason"]) for r in rows] == [
        ("One", "Solo Act", None)
    ]
    # unix 1 600 000 000 s = 2020-09-13 12:26:40 UTC, the start of the scrobble.
    assert rows[0]["started_at"] == datetime(2020, 9, 13, 12, 26, 40)


# --- the shared real samples ---------------------------------------------------------------------


def _utc_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _scrobble_counter(frame: DataFrame) -> Counter[tuple]:
    rows = frame.select(
        "artist_name",
        "track_name",
        "album_name",
        F.date_format("started_at", "yyyy-MM-dd HH:mm:ss"),
    ).collect()
    return Counter(tuple(row) for row in rows)


@needs_samples
def test_lastfm_sample_with_header_and_mbids(spark: SparkSession) -> None:
    path = SAMPLES / "lastfm" / "with-header-mbid" / "lastfm_scrobbles.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # Python's csv module on the same file: names as they are (an empty album is no album),
    # unix seconds to UTC text.
    expected = Counter(
        (
            r["artist"] or None,
            r["track"] or None,
            r["album"] or None,
            _utc_text(int(r["timestamp"])),
        )
        for r in rows
    )
    frame = CSV_READER.read(spark, [str(path)], "sample").cache()
    assert frame.count() == len(rows) == 17_503
    assert _scrobble_counter(frame) == expected
    assert frame.where(F.col("started_at") == F.timestamp_seconds(F.lit(0))).count() == sum(
        r["timestamp"] == "0" for r in rows
    )
    # the first scrobble: 1536407564 = 2018-09-08 11:52:44 UTC, ended 180 s later
    assert _rows(frame.where("source_position = 1"), "artist_key", "track_key", "ended_at") == [
        (
            "lastfm_scrobbles.csv",
            1,
            "artist:blackbird blackbird",
            "track:blackbird blackbird | hawaii",
            "2018-09-08 11:55:44",
        )
    ]
    frame.unpersist()


@needs_samples
def test_lastfm_sample_r_export(spark: SparkSession) -> None:
    path = SAMPLES / "lastfm" / "r-export" / "scrobbles.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    # index, date, artist, track, album; R's NA is a missing value
    expected = Counter(
        tuple(None if value in ("", "NA") else value for value in (artist, track, album, date))
        for _, date, artist, track, album in rows
    )
    frame = CSV_READER.read(spark, [str(path)], "sample")
    assert _scrobble_counter(frame) == expected
    assert sum(expected.values()) == 16_545
    assert frame.where(F.col("album_name").isNull()).count() == 258


@needs_samples
def test_listenbrainz_sample_api_listens(spark: SparkSession, tmp_path: Path) -> None:
    path = SAMPLES / "listenbrainz" / "api-listens" / "listenbrainz.json"
    listens = json.loads(path.read_text(encoding="utf-8"))["listens"]
    found = _detect(spark, path, tmp_path)
    assert list(found.by_reader) == ["listenbrainz-listens"]

    frame = LISTENS_READER.read(spark, [str(path)], "sample")
    expected = Counter(
        (
            listen["track_metadata"]["artist_name"],
            listen["track_metadata"]["track_name"],
            listen["track_metadata"].get("release_name"),
            _utc_text(listen["listened_at"]),
        )
        for listen in listens
    )
    assert _scrobble_counter(frame) == expected
    assert sum(expected.values()) == 100
    accounts = {row[0] for row in frame.select("account_name").distinct().collect()}
    assert accounts == {listen["user_name"] for listen in listens} == {"emomert"}


@needs_samples
def test_listenbrainz_sample_spark_dumps(spark: SparkSession, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    dumps = SAMPLES / "listenbrainz" / "spark-dumps"
    found = _detect(spark, dumps, tmp_path)
    claimed = sorted(s.path for s in found.by_reader["listenbrainz-dump"])
    # every Parquet file, fresh_releases_listens.parquet and rec_listens.parquet included
    assert claimed == sorted(str(p.resolve()) for p in dumps.rglob("*.parquet"))
    assert len(claimed) == 11
    # COPYING, START_TIMESTAMP, END_TIMESTAMP and SCHEMA_SEQUENCE of the three dumps with them
    assert len(found.ignored) == 12
    assert list(found.by_reader) == ["listenbrainz-dump"]

    # pyarrow reads the same files on its own; its naive timestamps are UTC.
    expected: Counter[tuple] = Counter()
    for path in claimed:
        for row in pq.read_table(path).to_pylist():
            expected[
                (
                    str(row["user_id"]),
                    row["artist_name"],
                    row["recording_name"],
                    row["release_name"],
                    row["listened_at"].strftime("%Y-%m-%d %H:%M:%S"),
                )
            ] += 1
    frame = DUMP_READER.read(spark, claimed, None)
    rows = frame.select(
        "account_name",
        "artist_name",
        "track_name",
        "album_name",
        F.date_format("started_at", "yyyy-MM-dd HH:mm:ss"),
    ).collect()
    assert Counter(tuple(row) for row in rows) == expected
    assert sum(expected.values()) == 128
