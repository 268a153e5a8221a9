"""`spinback ingest --input`: one person's export, end to end through detection into silver."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spinback.cli import main
from spinback.config import Config
from spinback.ingest.job import run_ingest_files
from spinback.tables import TableLocations, read_delta

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "person-export" / "my_spotify_data"


def test_an_export_folder_is_detected_ingested_once_and_its_zone_inferred(
    spark: SparkSession, data_config: Config
) -> None:
    locations = TableLocations.from_config(data_config)

    first = run_ingest_files(spark, data_config, str(EXPORT), user="kaze-fan")
    again = run_ingest_files(spark, data_config, str(EXPORT), user="kaze-fan")

    assert first.found == {"spotify-extended": 1}
    assert [Path(p).name for p in first.ignored_files] == ["Userdata.json"]
    # 5 records: one exact duplicate, one negative ms_played -> 3 plays, 1 quarantined.
    assert (first.plays_inserted, first.quarantine_inserted, first.duplicate_records) == (3, 1, 1)
    assert first.quarantine_reasons == {"negative ms_played": 1}
    assert (again.plays_inserted, again.quarantine_inserted, again.bronze_inserted) == (0, 0, 0)
    assert read_delta(spark, locations.plays).count() == 3
    # Each run is recorded as a batch, even one that added nothing.
    batches = read_delta(spark, locations.batches).orderBy("finished_at").collect()
    assert [(b["batch_id"], b["plays_inserted"]) for b in batches] == [
        (first.batch_id, 3),
        (again.batch_id, 0),
    ]

    user = read_delta(spark, locations.users).first()
    assert user is not None
    # Two of the three plays came from JP, one from the US.
    assert (user["country"], user["time_zone"]) == ("JP", "Asia/Tokyo")
    catalog = read_delta(spark, locations.catalog).orderBy("track_key").collect()
    # a1 ran to the end for 200 s and for 90 s: equally common, the longer is the full track.
    assert [(t["track_key"], t["duration_ms"]) for t in catalog] == [
        ("spotify:track:a1", 200_000),
        ("spotify:track:a2", 180_000),
    ]
    plays_text = read_delta(spark, locations.plays).select(F.to_json(F.struct("*"))).collect()
    assert not any("2001:db8" in row[0] or "kaze-fan" in row[0] for row in plays_text)


def test_a_given_time_zone_replaces_the_inferred_one(
    spark: SparkSession, data_config: Config
) -> None:
    locations = TableLocations.from_config(data_config)
    run_ingest_files(spark, data_config, str(EXPORT), user="kaze-fan")

    run_ingest_files(spark, data_config, str(EXPORT), user="kaze-fan", time_zone="Europe/Berlin")

    zones = [row["time_zone"] for row in read_delta(spark, locations.users).collect()]
    assert zones == ["Europe/Berlin"]


def test_a_zip_download_is_unpacked_and_read(
    spark: SparkSession, data_config: Config, tmp_path: Path
) -> None:
    import zipfile

    download = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for path in EXPORT.iterdir():
            archive.write(path, f"Spotify Extended Streaming History/{path.name}")

    report = run_ingest_files(spark, data_config, str(download), user="kaze-fan")

    assert report.found == {"spotify-extended": 1}
    assert report.plays_inserted == 3


def test_cli_names_a_file_of_the_wrong_kind(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ingest", "--input", str(FIXTURES / "wrong-kind"), "--data-dir", str(tmp_path)])

    assert code == 1
    error = capsys.readouterr().err
    assert "wrong-kind/Streaming_History_Audio_2025.json: not a spotify-extended file" in error
    assert "expected a JSON array" in error


def test_cli_refuses_an_unknown_time_zone(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "ingest",
            "--input",
            str(EXPORT),
            "--timezone",
            "Mars/Olympus",
            "--data-dir",
            str(tmp_path),
        ]
    )

    assert code == 1
    assert "'Mars/Olympus' is not an IANA time zone" in capsys.readouterr().err


def test_cli_refuses_an_unknown_format(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ingest", "--input", str(EXPORT), "--format", "mp3", "--data-dir", str(tmp_path)])

    assert code == 1
    assert "--format mp3: unknown; known formats: auto, event-log, spotify-extended" in (
        capsys.readouterr().err
    )
