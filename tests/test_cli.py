"""The console command end to end: `spinback demo` on a tiny generated year."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spinback.cli import main


@pytest.mark.heavy
def test_demo_runs_every_step_and_says_where_it_wrote(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "demo"

    code = main([
        "demo", "--users", "12", "--year", "2025", "--data-dir", str(data_dir),
        "--set", "generate.tracks=300", "--set", "generate.artists=40",
        "--set", "generate.plays_per_active_day=4", "--set", "train.rank=4",
        "--set", "train.max_iter=2",
    ])  # fmt: skip

    assert code == 0
    printed = capsys.readouterr().out
    for line in (
        f"generated plays: {data_dir}/landing/generated/plays",
        f"plays: {data_dir}/silver/plays",
        f"stories for 2025: {data_dir}/gold/stories",
        f"documents (<user>/2025.json and .html): {data_dir}/documents",
        "model: models:/spinback-als-tracks@candidate",
        f"recommendations: {data_dir}/gold/recommendations",
        f"mlflow ui --backend-store-uri sqlite:///{data_dir}/mlflow/mlflow.db",
    ):
        assert line in printed, f"missing {line!r} in:\n{printed}"
    documents = sorted((data_dir / "documents").glob("*/2025.json"))
    assert len(documents) == 12
    document = json.loads(documents[0].read_text())
    assert document["period"]["start"] == "2025-01-01"
    # The demo recommends before it writes the documents, so they carry the recommender's stories.
    assert "discover" in document
    assert len(sorted((data_dir / "documents").glob("*/2025.html"))) == 12
