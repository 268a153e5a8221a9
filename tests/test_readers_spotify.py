"""The Spotify readers on hand-written fixtures (exact values) and on the shared real samples."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conftest import SAMPLES
from spinback.ingest import detect
from spinback.ingest.detect import FileSample, WrongFileKindError
from spinback.ingest.pseudonym import DEVELOPMENT_KEY
from spinback.ingest.quality import rejection_reason
from spinback.ingest.readers import spotify
from spinback.ingest.records import NORMALIZED, to_candidates

FIXTURES = Path(__file__).parent / "fixtures" / "spotify"
EXTENDED, ENDSONG, ACCOUNT = spotify.READERS
needs_samples = pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples not present")

# The columns compared row by row; timestamps as UTC text, so the driver's zone plays no part.
TRAP_COLUMNS = (
    "ended_at",
    "started_at",
    "ms_played",
    "content_type",
    "track_key",
    "episode_key",
    "shuffle",
    "skipped",
    "offline",
    "private",
)


def _files(folder: str) -> list[str]:
    return sorted(str(path) for path in (FIXTURES / folder).glob("*.json"))


def _rows(frame: DataFrame, *columns: str) -> list[tuple]:
    """Rows in file-name and position order, timestamps as text (the session zone is UTC)."""
    text = {"ended_at", "started_at"}
    ordered = frame.select(
        F.element_at(F.split("source_file", "/"), -1).alias("file_name"),
        "source_position",
        *[F.col(c).cast("string").alias(c) if c in text else F.col(c) for c in columns],
    ).orderBy("file_name", "source_position")
    return [tuple(row)[2:] for row in ordered.collect()]


def _sample(name: str, head: str = "") -> FileSample:
    return FileSample(path=f"/downloads/{name}", name=name, head=head, export_name="downloads")


@pytest.fixture(scope="module")
def extended_fixture(spark: SparkSession) -> DataFrame:
    return EXTENDED.read(spark, _files("extended"), "caller").cache()


# --- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "reader_name"),
    [
        ("Streaming_History_Audio_2023.json", "spotify-extended"),
        ("Streaming_History_Audio_2014-2016_0.json", "spotify-extended"),
        ("Streaming_History_Audio_2023-2024_12.json", "spotify-extended"),
        ("Streaming_History_Video_2018-2024.json", "spotify-extended"),
        ("endsong_0.json", "spotify-endsong"),
        ("endsong_11.json", "spotify-endsong"),
        ("StreamingHistory0.json", "spotify-account"),
        ("StreamingHistory_music_3.json", "spotify-account"),
        ("StreamingHistory_podcast_0.json", "spotify-account"),
        ("StreamingHistory_audiobook_0.json", "spotify-account"),
        # The rest of a download, macOS resource forks, and names in another case.
        ("Userdata.json", None),
        ("Playlist1.json", None),
        ("SearchQueries.json", None),
        ("YourLibrary.json", None),
        ("StreamingHistory_video_0.json", None),
        ("._Streaming_History_Audio_2023.json", None),
        ("streaming_history_audio_2023.json", None),
        ("Streaming_History_Audio_2023.json.bak", None),
        ("Endsong_0.json", None),
        ("ReadMeFirst_ExtendedStreamingHistory.pdf", None),
    ],
)
def test_readers_claim_spotify_history_files_by_exact_name(
    file_name: str, reader_name: str | None
) -> None:
    claimants = [reader.name for reader in spotify.READERS if reader.claims(_sample(file_name))]
    assert claimants == ([reader_name] if reader_name else [])


def test_fixture_folders_are_detected_as_their_formats(tmp_path: Path, spark: SparkSession) -> None:
    samples = detect.find_files(spark, str(FIXTURES), str(tmp_path))
    history = [s for s in samples if "wrong" not in Path(s.path).parts]

    found = detect.detect(history, spotify.READERS)

    names = {reader: sorted(s.name for s in files) for reader, files in found.by_reader.items()}
    assert names == {
        "spotify-extended": [
            "Streaming_History_Audio_2023-2024_1.json",
            "Streaming_History_Audio_2023.json",
            "Streaming_History_Video_2024.json",
        ],
        "spotify-endsong": ["endsong_0.json"],
        "spotify-account": [
            "StreamingHistory0.json",
            "StreamingHistory1.json",
            "StreamingHistory_audiobook_0.json",
            "StreamingHistory_music_0.json",
            "StreamingHistory_podcast_0.json",
        ],
    }
    assert found.ignored == []


def test_an_empty_history_fits_and_a_first_record_that_is_no_object_does_not() -> None:
    assert EXTENDED.check(_sample("Streaming_History_Audio_2023.json", "[ ]")) is None
    assert ACCOUNT.check(_sample("StreamingHistory0.json", "\n[\n  ]\n")) is None
    assert EXTENDED.check(_sample("Streaming_History_Audio_2023.json", "[42]")) is not None


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        # One JSON object where an array of plays belongs.
        (
            "object",
            r"Streaming_History_Audio_2022\.json: not a spotify-extended file; expected a JSON "
            r"array of objects with ts, ms_played and master_metadata_track_name",
        ),
        # A CSV export of another service under an endsong name.
        (
            "csv",
            r"endsong_0\.json: not a spotify-endsong file; expected a JSON array of objects "
            r"with ts, ms_played and master_metadata_track_name",
        ),
        # A playlist array under the account history's name.
        (
            "playlists",
            r"StreamingHistory0\.json: not a spotify-account file; expected a JSON array of "
            r"objects with endTime, msPlayed, artistName and trackName",
        ),
    ],
)
def test_a_file_of_another_kind_fails_naming_the_file_and_the_expectation(
    tmp_path: Path, spark: SparkSession, folder: str, expected: str
) -> None:
    samples = detect.find_files(spark, str(FIXTURES / "wrong" / folder), str(tmp_path))

    with pytest.raises(WrongFileKindError, match=expected):
        detect.detect(samples, spotify.READERS)


def test_account_podcast_files_must_carry_podcast_fields() -> None:
    music_head = (FIXTURES / "account-split" / "StreamingHistory_music_0.json").read_text()

    problem = ACCOUNT.check(_sample("StreamingHistory_podcast_0.json", music_head))

    assert problem == "a JSON array of objects with endTime, msPlayed, podcastName and episodeName"


def test_a_download_zip_is_detected_by_file_name_whatever_its_folder(
    tmp_path: Path, spark: SparkSession
) -> None:
    download = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.write(
            FIXTURES / "extended" / "Streaming_History_Audio_2023.json",
            "Spotify Extended Streaming History/Streaming_History_Audio_2023.json",
        )
        archive.writestr(
            "Spotify Extended Streaming History/Userdata.json",
            json.dumps({"username": "fixture-user", "country": "DE"}),
        )

    samples = detect.find_files(spark, str(download), str(tmp_path / "unpacked"))
    found = detect.detect(samples, spotify.READERS)

    assert [s.name for s in found.by_reader["spotify-extended"]] == [
        "Streaming_History_Audio_2023.json"
    ]
    assert list(found.by_reader) == ["spotify-extended"]
    assert [Path(path).name for path in found.ignored] == ["Userdata.json"]
    assert Path(found.ignored[0]).parent.name == "Spotify Extended Streaming History"


# --- extended streaming history ---------------------------------------------------------------


def test_every_reader_returns_the_normalized_columns(spark: SparkSession) -> None:
    for reader, folder in [(EXTENDED, "extended"), (ENDSONG, "endsong"), (ACCOUNT, "account")]:
        schema = reader.read(spark, _files(folder), "caller").schema
        assert [(f.name, f.dataType) for f in schema] == [(f.name, f.dataType) for f in NORMALIZED]


def test_extended_history_keeps_every_record_with_its_traps(extended_fixture: DataFrame) -> None:
    # started_at = ended_at - ms_played, e.g. 23:50:00 - 200 000 ms = 23:46:40.
    spotify_track = "spotify:track:00000000000000000000"
    expected = [
        # Streaming_History_Audio_2023-2024_1.json: the 2023/2024 split continues here.
        (
            "2023-12-31 23:59:30", "2023-12-31 23:59:00", 30000, "music", f"{spotify_track}03",
            None, False, False, False, False,
        ),  # 23:59:30 - 30 s
        (
            "2024-01-01 00:03:00", "2024-01-01 00:00:00", 180000, "music", f"{spotify_track}01",
            None, False, False, True, False,
        ),  # ms_played "180000" as text; booleans as "false" text
        # Streaming_History_Audio_2023.json
        (
            "2023-12-31 23:50:00", "2023-12-31 23:46:40", 200000, "music", f"{spotify_track}01",
            None, True, False, False, False,
        ),
        (
            "2023-12-31 23:50:00", "2023-12-31 23:46:40", 200000, "music", f"{spotify_track}01",
            None, True, False, False, False,
        ),  # the exact duplicate is kept: the job drops it by event id
        (
            "2023-12-31 23:55:00", "2023-12-31 23:55:00", 0, "music", f"{spotify_track}02",
            None, True, True, False, False,
        ),  # ms_played 0; booleans "true", 1, "false", 0
        (
            "2023-11-05 08:30:00", "2023-11-05 08:00:00", 1800000, "podcast", None,
            "spotify:episode:0000000000000000000007", False, False, False, False,
        ),  # 08:30 - 30 min
        (
            "2023-11-06 21:00:00", "2023-11-06 20:50:00", 600000, "audiobook", None,
            "spotify:episode:0000000000000000000101", False, False, False, True,
        ),  # 21:00 - 10 min; incognito
        (
            "1970-01-01 00:00:00", "1969-12-31 23:59:59", 1000, "music", f"{spotify_track}01",
            None, False, False, False, False,
        ),  # timestamp 0 stays, for quarantine to judge
        (
            None, None, 95000, "music", f"{spotify_track}02", None, False, False, False, False,
        ),  # missing date: ts null
        (
            "2023-12-16 00:38:35", "2023-12-16 00:38:30.449", 4551, "music", None, None,
            False, None, False, False,
        ),  # neither track nor episode; 38:35 - 4.551 s
        (None, None, None, "music", None, None, None, None, None, None),  # the record 42
        (
            "2023-12-20 12:00:00", "2023-12-20 12:00:01.5", -1500, "music", f"{spotify_track}02",
            None, False, False, False, False,
        ),  # a negative ms_played is kept: 12:00:00 - (-1.5 s)
        # Streaming_History_Video_2024.json
        (
            "2024-04-11 10:11:49", "2024-04-11 10:11:44", 5000, "video", f"{spotify_track}01",
            None, False, True, None, False,
        ),  # 10:11:49 - 5 s; offline null
    ]  # fmt: skip

    assert _rows(extended_fixture, *TRAP_COLUMNS) == expected


def test_extended_history_maps_names_keys_and_context(extended_fixture: DataFrame) -> None:
    columns = tuple(
        f.name
        for f in NORMALIZED.fields
        if f.name
        not in {
            *TRAP_COLUMNS,
            "source_file",
            "source_position",
            "raw_record",
            "ms_played_estimated",
            "reject_reason",
        }
    )
    rows = _rows(extended_fixture, *columns)
    # Spotify gives every play's duration, and every fixture record is a JSON object.
    assert _rows(extended_fixture, "ms_played_estimated", "reject_reason") == [(False, None)] * len(
        rows
    )
    assert columns == (
        "account_name", "track_name", "artist_key", "artist_name", "featured_artists",
        "album_key", "album_name", "show_key", "show_name", "episode_name", "reason_start",
        "reason_end", "platform", "country",
    )  # fmt: skip

    first_play, podcast, audiobook, video = rows[2], rows[5], rows[6], rows[12]
    assert first_play == (
        "caller", "Harbour Lights", "artist:the fixture band", "The Fixture Band", None,
        "album:the fixture band | test pressing", "Test Pressing", None, None, None,
        "clickrow", "trackdone", "android", "DE",
    )  # fmt: skip
    assert podcast == (
        "caller", None, None, None, None, None, None, "show:the fixture hour",
        "The Fixture Hour", " Episode 7: Testing in Public", "playbtn", "endplay", "android", "DE",
    )  # fmt: skip
    assert audiobook == (
        "caller", None, None, None, None, None, None, "spotify:show:0000000000000000000100",
        "A Book of Fixtures", "Chapter 1", "clickrow", "endplay", "android", "DE",
    )  # fmt: skip
    assert video[:4] == ("caller", "Harbour Lights", "artist:the fixture band", "The Fixture Band")
    assert rows[1][-1] == "AT"  # the 2024 play connected from another country


def test_no_ip_address_leaves_the_raw_record(
    spark: SparkSession, extended_fixture: DataFrame
) -> None:
    endsong = ENDSONG.read(spark, _files("endsong"), "caller")
    for frame in (extended_fixture, endsong):
        for row in frame.drop("raw_record").collect():
            text = json.dumps(row.asDict(), default=str)
            assert "192.0.2." not in text and "2001:db8:" not in text


def test_extended_traps_get_their_quarantine_reasons(extended_fixture: DataFrame) -> None:
    candidates = to_candidates(
        extended_fixture, DEVELOPMENT_KEY, "spotify", "spotify-extended", "b1"
    ).withColumn("reject_reason", F.lit(None).cast("string"))

    judged = candidates.select(
        F.element_at(F.split("source_file", "/"), -1).alias("file_name"),
        "source_position",
        "event_id",
        rejection_reason(candidates).alias("reason"),
    ).collect()

    reasons = {(r["file_name"], r["source_position"]): r["reason"] for r in judged if r["reason"]}
    audio_2023 = "Streaming_History_Audio_2023.json"
    assert reasons == {
        (audio_2023, 5): "timestamp at or before 1970-01-01 (zero)",
        (audio_2023, 6): "missing or unparsable timestamp",
        (audio_2023, 7): "neither track nor episode",
        (audio_2023, 8): "missing or unparsable timestamp",
        (audio_2023, 9): "negative ms_played",
    }
    # 13 records - 5 quarantined = 8 plays, of which the exact duplicate shares its event id.
    valid_ids = [r["event_id"] for r in judged if r["reason"] is None]
    assert len(valid_ids) == 8 and len(set(valid_ids)) == 7


def test_a_play_too_long_for_timestamps_does_not_stop_the_read(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [("f.json", 0, '{"ts": "2024-01-01T00:00:00Z", "ms_played": 9000000000000000000}')],
        "source_file string, source_position long, raw_record string",
    )

    row = spotify.extended_plays(records, "caller").collect()[0]

    assert row["ms_played"] == 9_000_000_000_000_000_000 and row["started_at"] is None


def test_endsong_takes_the_account_from_username_and_drops_empty_values(
    spark: SparkSession,
) -> None:
    frame = ENDSONG.read(spark, _files("endsong"), "caller")

    rows = _rows(
        frame,
        "account_name",
        "ended_at",
        "started_at",
        "ms_played",
        "reason_start",
        "reason_end",
        "skipped",
        "offline",
        "platform",
        "country",
    )

    assert rows == [
        # ZZ is Spotify's unknown country; 16:52:16 - 1.785 s
        (
            "fixture-user", "2019-09-09 16:52:16", "2019-09-09 16:52:14.215", 1785, "fwdbtn",
            "fwdbtn", None, False, "web_player windows 10;chrome 76.0.3809.132;desktop", None,
        ),
        # empty reasons become null; 01:26:15 - 192.958 s = 01:23:02.042
        (
            "fixture-user", "2016-01-23 01:26:15", "2016-01-23 01:23:02.042", 192958, None,
            None, False, False, "Partner google cast_tv;Chromecast;;", "US",
        ),
        # one play logged twice, differing only in offline_timestamp (milliseconds, not read):
        # 19:37:29 - 210.937 s = 19:33:58.063
        (
            "fixture-user", "2018-07-30 19:37:29", "2018-07-30 19:33:58.063", 210937,
            "trackdone", "trackdone", None, True, "iOS 11.4.1 (iPhone10,3)", "US",
        ),
        (
            "fixture-user", "2018-07-30 19:37:29", "2018-07-30 19:33:58.063", 210937,
            "trackdone", "trackdone", None, True, "iOS 11.4.1 (iPhone10,3)", "US",
        ),
        # no username: the caller's account name
        (
            "caller", "2014-06-18 00:26:09", "2014-06-18 00:26:09", 0, None, None, True, False,
            "iOS 7.1.1 (iPad3,4)", "US",
        ),
    ]  # fmt: skip


# --- account data -----------------------------------------------------------------------------


def test_account_history_reads_names_to_the_minute(spark: SparkSession) -> None:
    frame = ACCOUNT.read(spark, _files("account"), "caller")

    rows = _rows(
        frame,
        "account_name",
        "ended_at",
        "started_at",
        "ms_played",
        "content_type",
        "track_key",
        "artist_key",
        "track_name",
        "episode_key",
        "shuffle",
        "private",
        "country",
    )

    harbour = "track:the fixture band | harbour lights"
    midnight = "track:ms. sample | midnight fixture"
    assert rows == [
        # StreamingHistory0.json: 23:58 - 120 s = 23:56, and its exact duplicate
        (
            "caller", "2022-12-31 23:58:00", "2022-12-31 23:56:00", 120000, "music", harbour,
            "artist:the fixture band", "Harbour Lights", None, None, None, None,
        ),
        (
            "caller", "2022-12-31 23:58:00", "2022-12-31 23:56:00", 120000, "music", harbour,
            "artist:the fixture band", "Harbour Lights", None, None, None, None,
        ),
        # a podcast episode listed as a track stays music (known limitation); 00:30 - 25 min
        (
            "caller", "2023-01-01 00:30:00", "2023-01-01 00:05:00", 1500000, "music",
            "track:the fixture hour | episode 7: testing in public", "artist:the fixture hour",
            "Episode 7: Testing in Public", None, None, None, None,
        ),
        # timestamp 0: 00:00 - 1 s
        (
            "caller", "1970-01-01 00:00:00", "1969-12-31 23:59:59", 1000, "music", midnight,
            "artist:ms. sample", "Midnight Fixture", None, None, None, None,
        ),
        # StreamingHistory1.json, the same year continued: ms_played 0
        (
            "caller", "2023-01-02 10:00:00", "2023-01-02 10:00:00", 0, "music", midnight,
            "artist:ms. sample", "Midnight Fixture", None, None, None, None,
        ),
        # missing date
        (
            "caller", None, None, 5000, "music", midnight, "artist:ms. sample",
            "Midnight Fixture", None, None, None, None,
        ),
        # msPlayed "45000" as text: 10:07 - 45 s
        (
            "caller", "2023-01-02 10:07:00", "2023-01-02 10:06:15", 45000, "music",
            "track:ms. sample | edge case blues", "artist:ms. sample", "Edge Case Blues", None,
            None, None, None,
        ),
    ]  # fmt: skip


def test_account_split_files_read_as_music_podcast_and_audiobook(spark: SparkSession) -> None:
    frame = ACCOUNT.read(spark, _files("account-split"), None)

    rows = _rows(
        frame,
        "account_name",
        "ended_at",
        "started_at",
        "ms_played",
        "content_type",
        "track_key",
        "artist_name",
        "show_key",
        "show_name",
        "episode_key",
        "episode_name",
    )

    assert rows == [
        # StreamingHistory_audiobook_0.json: 22:05 - 15 min; the author as artist
        (
            None, "2024-03-03 22:05:00", "2024-03-03 21:50:00", 900000, "audiobook", None,
            "Ada Example", "show:a book of fixtures", "A Book of Fixtures",
            "episode:a book of fixtures | chapter 2", "Chapter 2",
        ),
        # StreamingHistory_music_0.json: 07:15 - 181 s = 07:11:59
        (
            None, "2024-03-01 07:15:00", "2024-03-01 07:11:59", 181000, "music",
            "track:the fixture band | second song", "The Fixture Band", None, None, None, None,
        ),
        (
            None, "2024-03-01 07:15:00", "2024-03-01 07:15:00", 0, "music",
            "track:the fixture band | harbour lights", "The Fixture Band", None, None, None,
            None,
        ),
        # StreamingHistory_podcast_0.json: 18:40 - 40 min; the key trims the episode name
        (
            None, "2024-03-02 18:40:00", "2024-03-02 18:00:00", 2400000, "podcast", None, None,
            "show:the fixture hour", "The Fixture Hour",
            "episode:the fixture hour | episode 8: more testing", "Episode 8: More Testing ",
        ),
    ]  # fmt: skip


# --- the shared real samples ------------------------------------------------------------------


def _expected_extended(paths: list[Path]) -> Counter:
    """Plays per (file, content type), counted with Python's json module from the same files."""
    counts: Counter = Counter()
    for path in paths:
        for record in json.loads(path.read_text(encoding="utf-8")):
            if record.get("audiobook_uri") or record.get("audiobook_chapter_uri"):
                kind = "audiobook"
            elif record.get("spotify_episode_uri"):
                kind = "podcast"
            elif path.name.startswith("Streaming_History_Video_"):
                kind = "video"
            else:
                kind = "music"
            counts[(path.name, kind)] += 1
    return counts


def _expected_account(paths: list[Path]) -> Counter:
    counts: Counter = Counter()
    for path in paths:
        for record in json.loads(path.read_text(encoding="utf-8")):
            if "audiobookName" in record:
                kind = "audiobook"
            elif "podcastName" in record:
                kind = "podcast"
            else:
                kind = "music"
            counts[(path.name, kind)] += 1
    return counts


def _ms_played(paths: list[Path], field: str) -> int:
    return sum(
        int(record[field])
        for path in paths
        for record in json.loads(path.read_text(encoding="utf-8"))
    )


def _summary(frame: DataFrame) -> tuple[Counter, int, int]:
    """Plays per (file, content type), total ms_played and plays without a parsed end."""
    rows = (
        frame.groupBy(
            F.element_at(F.split("source_file", "/"), -1).alias("file_name"), "content_type"
        )
        .agg(
            F.count("*").alias("plays"),
            F.sum("ms_played").alias("ms_played"),
            F.count_if(F.col("ended_at").isNull()).alias("unparsed"),
        )
        .collect()
    )
    counts = Counter({(row["file_name"], row["content_type"]): row["plays"] for row in rows})
    return counts, sum(row["ms_played"] for row in rows), sum(row["unparsed"] for row in rows)


@needs_samples
@pytest.mark.parametrize(
    ("folder", "reader_name", "ms_field"),
    [
        ("spotify-extended/person-a", "spotify-extended", "ms_played"),
        ("spotify-extended/person-b", "spotify-extended", "ms_played"),
        ("spotify-extended/person-c-legacy-endsong", "spotify-endsong", "ms_played"),
        ("spotify-account/person-d", "spotify-account", "msPlayed"),
        ("spotify-account/person-e", "spotify-account", "msPlayed"),
    ],
)
def test_samples_read_every_record(
    spark: SparkSession, tmp_path: Path, folder: str, reader_name: str, ms_field: str
) -> None:
    paths = sorted((SAMPLES / folder).glob("*.json"))
    found = detect.detect(
        detect.find_files(spark, str(SAMPLES / folder), str(tmp_path)), spotify.READERS
    )
    assert list(found.by_reader) == [reader_name] and found.ignored == []
    reader = next(r for r in spotify.READERS if r.name == reader_name)

    frame = reader.read(spark, [s.path for s in found.by_reader[reader_name]], "sample-export")

    counts, ms_played, unparsed = _summary(frame)
    expected = _expected_account(paths) if ms_field == "msPlayed" else _expected_extended(paths)
    assert counts == expected
    assert ms_played == _ms_played(paths, ms_field)
    assert unparsed == 0


@needs_samples
def test_sample_spot_values(spark: SparkSession) -> None:
    person_a = SAMPLES / "spotify-extended/person-a/Streaming_History_Audio_2023.json"
    extended = EXTENDED.read(spark, [str(person_a)], "a")
    first = _rows(
        extended.where(F.col("source_position") == 0),
        "ended_at",
        "started_at",
        "track_key",
        "artist_key",
        "platform",
        "country",
    )
    # 2023-09-25T12:26:38Z - 228 000 ms = 12:22:50
    assert first == [
        (
            "2023-09-25 12:26:38", "2023-09-25 12:22:50", "spotify:track:0MNgTp3FLtbPiCvrG8lsru",
            "artist:rahul jain", "windows", "IN",
        )
    ]  # fmt: skip

    person_c = SAMPLES / "spotify-extended/person-c-legacy-endsong/endsong_1.json"
    endsong = ENDSONG.read(spark, [str(person_c)], "c")
    summary = endsong.agg(
        F.collect_set("account_name").alias("accounts"),
        F.count_if(F.col("country").isNull()).alias("no_country"),
        F.count_if(F.col("reason_start").isNull()).alias("no_reason_start"),
    ).collect()[0]
    raw = json.loads(person_c.read_text(encoding="utf-8"))
    assert summary["accounts"] == ["sample-user"]  # the records' username, not the caller's "c"
    assert summary["no_country"] == sum(1 for r in raw if r["conn_country"] == "ZZ")
    assert summary["no_reason_start"] == sum(1 for r in raw if r["reason_start"] == "")

    person_e = SAMPLES / "spotify-account/person-e/StreamingHistory_audiobook_0.json"
    audiobooks = ACCOUNT.read(spark, [str(person_e)], "e")
    second = _rows(
        audiobooks.where(F.col("source_position") == 1),
        "ended_at",
        "started_at",
        "ms_played",
        "content_type",
        "show_key",
        "episode_key",
    )
    # endTime "2024-04-03 17:05" (UTC), msPlayed 0: it started when it ended
    assert second == [
        (
            "2024-04-03 17:05:00", "2024-04-03 17:05:00", 0, "audiobook",
            "show:everything i know about love",
            "episode:everything i know about love | everything i know about love",
        )
    ]  # fmt: skip
