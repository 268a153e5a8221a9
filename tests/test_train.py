"""The recommender's dataset, its ranking metrics and the MLflow round trip of `spinback train`."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from spinback import tracking
from spinback.config import Config, ConfigError
from spinback.recommend.dataset import (
    assign_ids,
    count_streams,
    qualified_music_streams,
    split_interactions,
    update_id_map,
    with_confidence,
)
from spinback.recommend.train import als_stage, load_als_model, run_train
from spinback.schema import PLAYS
from spinback.tables import TableLocations

NEWEST = datetime(2025, 3, 31, 12, 0, tzinfo=timezone.utc)


def play(
    user_id: str,
    track_key: str | None,
    ended_at: datetime,
    ms_played: int = 180_000,
    content_type: str = "music",
    private: bool | None = False,
) -> tuple[Any, ...]:
    """One silver play in PLAYS column order; the columns the recommender ignores stay null."""
    values: dict[str, Any] = {field.name: None for field in PLAYS.fields}
    values.update(
        event_id=f"{user_id}-{track_key}-{ended_at.isoformat()}-{ms_played}-{content_type}",
        user_id=user_id,
        ended_at=ended_at,
        started_at=ended_at - timedelta(milliseconds=ms_played),
        ms_played=ms_played,
        ms_played_estimated=False,
        content_type=content_type,
        track_key=track_key,
        private=private,
        source="test",
        batch_id="test-batch",
    )
    return tuple(values[field.name] for field in PLAYS.fields)


def plays_frame(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, schema=PLAYS)


def counts_frame(spark: SparkSession, rows: list[tuple[str, str, int]]) -> DataFrame:
    return spark.createDataFrame(rows, "user_id string, track_key string, play_count long")


def confidences_frame(spark: SparkSession, rows: list[tuple[str, str, int, float]]) -> DataFrame:
    """Expected confidences, as a frame so that they compare with a tolerance."""
    return spark.createDataFrame(
        rows, "user_id string, track_key string, play_count long, confidence double"
    )


def keys_frame(spark: SparkSession, *keys: str) -> DataFrame:
    return spark.createDataFrame([(key,) for key in keys], "user_id string")


# --- integer ids --------------------------------------------------------------------------------


def test_ids_in_one_bucket_follow_key_order(spark: SparkSession) -> None:
    # One bucket: no offsets, so the ids are the keys' positions in sorted order.
    ids = assign_ids(
        keys_frame(spark, "carol", "alice", "bob", "alice"),
        None,
        "user_id",
        "user_index",
        buckets=1,
    )

    assertDataFrameEqual(ids, [("alice", 0), ("bob", 1), ("carol", 2)])
    assert dict(ids.dtypes)["user_index"] == "int"


def test_ids_are_dense_unique_and_keep_old_keys_when_new_keys_arrive(spark: SparkSession) -> None:
    first_keys = [f"user-{n:02d}" for n in range(12)]
    first = assign_ids(keys_frame(spark, *first_keys), None, "user_id", "user_index", buckets=4)
    first_ids = dict(first.collect())

    # 12 keys spread over 4 buckets still get exactly 0..11, one each.
    assert sorted(first_ids) == first_keys
    assert sorted(first_ids.values()) == list(range(12))

    # Re-running on the same keys numbers them the same way.
    again = assign_ids(keys_frame(spark, *first_keys), None, "user_id", "user_index", buckets=4)
    assert dict(again.collect()) == first_ids

    # Two old keys and three new ones: only the new keys come back, numbered 12, 13, 14.
    arriving = keys_frame(spark, "user-03", "user-11", "user-12", "user-13", "user-14")
    added = assign_ids(arriving, first, "user_id", "user_index", buckets=4)
    added_ids = dict(added.collect())
    assert sorted(added_ids) == ["user-12", "user-13", "user-14"]
    assert sorted(added_ids.values()) == [12, 13, 14]


def test_id_map_table_grows_and_keeps_ids(spark: SparkSession, data_config: Config) -> None:
    path = TableLocations.from_config(data_config).user_ids

    first_map, first_version = update_id_map(
        spark, keys_frame(spark, "b", "a", "c"), path, "user_id", "user_index", buckets=2
    )
    first_ids = dict(first_map.collect())
    second_map, second_version = update_id_map(
        spark, keys_frame(spark, "d", "a", "e"), path, "user_id", "user_index", buckets=2
    )
    second_ids = dict(second_map.collect())

    assert first_version == 0
    assert second_version == 1
    assert sorted(first_ids.values()) == [0, 1, 2]
    # a, b and c keep their ids; d and e follow the largest id, 2.
    assert {key: second_ids[key] for key in first_ids} == first_ids
    assert sorted(second_ids[key] for key in ("d", "e")) == [3, 4]


# --- interactions and confidence -----------------------------------------------------------------


def test_interactions_count_qualified_streams_in_the_window(spark: SparkSession) -> None:
    # window_days=10, holdout_days=2 and the newest play at NEWEST (Mar 31, 12:00):
    # train is (Mar 21 12:00, Mar 29 12:00], test is (Mar 29 12:00, Mar 31 12:00].
    day = timedelta(days=1)
    rows = [
        play("ann", "t1", NEWEST - 5 * day),
        play("ann", "t1", NEWEST - 4 * day),
        play("ann", "t1", NEWEST - 3 * day),
        play("ann", "t2", NEWEST - 2 * day),  # exactly at the cut: train
        play("ann", "t2", NEWEST - 6 * day, ms_played=29_999),  # too short
        play("ann", "t3", NEWEST - 6 * day, private=True),  # private session
        play("ann", None, NEWEST - 6 * day, content_type="podcast"),  # not music
        play("ann", "t4", NEWEST - 10 * day),  # at the window's open start: outside
        play("ann", "t4", NEWEST - 20 * day),  # long before the window
        play("ann", "t5", NEWEST - day),  # after the cut: test
        play("ann", "t5", NEWEST),  # the newest play: test
        play("bob", "t1", NEWEST - 3 * day, private=None),  # unknown privacy counts as public
    ]
    streams = qualified_music_streams(plays_frame(spark, rows), min_stream_ms=30_000)

    split = split_interactions(streams, window_days=10, holdout_days=2)

    # ann streamed t1 3 times and t2 once before the cut, t5 twice after it; bob t1 once.
    expected_train = [("ann", "t1", 3), ("ann", "t2", 1), ("bob", "t1", 1)]
    assertDataFrameEqual(split.train, counts_frame(spark, expected_train))
    assert split.validation.isEmpty()
    assertDataFrameEqual(split.test, counts_frame(spark, [("ann", "t5", 2)]))


def test_validation_days_split_the_time_before_the_test_cut(spark: SparkSession) -> None:
    # window 10 days, test cut 2 days and validation cut 2 + 3 = 5 days before NEWEST.
    day = timedelta(days=1)
    rows = [
        play("ann", "t1", NEWEST - 6 * day),  # before the validation cut: train
        play("ann", "t2", NEWEST - 5 * day),  # exactly at the validation cut: train
        play("ann", "t3", NEWEST - 4 * day),  # validation
        play("ann", "t3", NEWEST - 2 * day),  # exactly at the test cut: validation
        play("ann", "t4", NEWEST),  # test
    ]
    split = split_interactions(
        plays_frame(spark, rows), window_days=10, holdout_days=2, validation_days=3
    )

    assertDataFrameEqual(split.train, counts_frame(spark, [("ann", "t1", 1), ("ann", "t2", 1)]))
    assertDataFrameEqual(split.validation, counts_frame(spark, [("ann", "t3", 2)]))
    assertDataFrameEqual(split.test, counts_frame(spark, [("ann", "t4", 1)]))
    # Everything before the test cut, summed per pair.
    assertDataFrameEqual(
        split.before_test(),
        counts_frame(spark, [("ann", "t1", 1), ("ann", "t2", 1), ("ann", "t3", 2)]),
    )


def test_log1p_and_raw_confidence(spark: SparkSession) -> None:
    counts = counts_frame(spark, [("ann", "t1", 3), ("ann", "t2", 1)])

    # log1p(3) = ln 4 = 1.3863; log1p(1) = ln 2 = 0.6931.
    assertDataFrameEqual(
        with_confidence(counts, "log1p", "user_id", "track_key"),
        confidences_frame(spark, [("ann", "t1", 3, math.log(4)), ("ann", "t2", 1, math.log(2))]),
    )
    assertDataFrameEqual(
        with_confidence(counts, "raw", "user_id", "track_key"),
        confidences_frame(spark, [("ann", "t1", 3, 3.0), ("ann", "t2", 1, 1.0)]),
    )


def test_bm25_confidence_by_hand(spark: SparkSession) -> None:
    counts = counts_frame(
        spark,
        [("ann", "t1", 4), ("ann", "t2", 2), ("bob", "t1", 2), ("bob", "t2", 1), ("bob", "t3", 3)],
    )

    weighted = with_confidence(counts, "bm25", "user_id", "track_key", bm25_k1=1.0, bm25_b=0.5)

    # N = 3 items; ann streamed 2 of them, bob 3:
    #   idf(ann) = ln 3 - ln 3 = 0 (so all of ann's weights are 0); idf(bob) = ln 3 - ln 4 < 0 -> 0.
    # With idf 0 everywhere the weights say nothing; the next check gives a user a real idf.
    assert {row["confidence"] for row in weighted.collect()} == {0.0}

    counts = counts_frame(
        spark,
        [("ann", "t1", 4), ("bob", "t1", 2), ("bob", "t2", 2), ("cat", "t3", 1), ("dan", "t4", 1)],
    )
    weighted = with_confidence(counts, "bm25", "user_id", "track_key", bm25_k1=1.0, bm25_b=0.5)

    # N = 4 items. idf(ann) = idf(cat) = idf(dan) = ln 4 - ln 2 = ln 2; idf(bob) = ln 4 - ln 3.
    # Item plays: t1 6, t2 2, t3 1, t4 1; mean 10 / 4 = 2.5.
    # norm(t1) = 0.5 + 0.5 * 6 / 2.5 = 1.7; norm(t2) = 0.5 + 0.5 * 2 / 2.5 = 0.9;
    # norm(t3) = norm(t4) = 0.5 + 0.5 * 1 / 2.5 = 0.7.
    # ann t1: 4 * 2 / (1.7 + 4) * ln 2 = 1.40351 * 0.69315 = 0.97284
    # bob t1: 2 * 2 / (1.7 + 2) * ln(4/3) = 1.08108 * 0.28768 = 0.31101
    # bob t2: 2 * 2 / (0.9 + 2) * ln(4/3) = 1.37931 * 0.28768 = 0.39680
    # cat t3, dan t4: 1 * 2 / (0.7 + 1) * ln 2 = 1.17647 * 0.69315 = 0.81547
    expected = [
        ("ann", "t1", 4, 8 / 5.7 * math.log(2)),
        ("bob", "t1", 2, 4 / 3.7 * math.log(4 / 3)),
        ("bob", "t2", 2, 4 / 2.9 * math.log(4 / 3)),
        ("cat", "t3", 1, 2 / 1.7 * math.log(2)),
        ("dan", "t4", 1, 2 / 1.7 * math.log(2)),
    ]
    assertDataFrameEqual(weighted, confidences_frame(spark, expected))
    assert expected[0][3] == pytest.approx(0.97284, abs=1e-5)


def test_unknown_confidence_transform_is_refused(spark: SparkSession) -> None:
    counts = count_streams(plays_frame(spark, [play("ann", "t1", NEWEST)]))

    with pytest.raises(ValueError, match="confidence transform 'squared'"):
        with_confidence(counts, "squared", "user_id", "track_key")  # type: ignore[arg-type]


# --- tracking -----------------------------------------------------------------------------------


def test_embedded_tracking_store_needs_a_local_data_dir(data_config: Config) -> None:
    remote = dataclasses.replace(data_config, data_dir="s3a://bucket/spinback")

    with pytest.raises(ConfigError, match=r"tracking\.tracking_uri"):
        tracking.tracking_uri(remote)


@pytest.mark.parametrize("alias", ["latest", "Latest", "v2"])
def test_aliases_the_registry_reserves_are_refused(alias: str) -> None:
    with pytest.raises(ConfigError, match=rf"train\.alias: '{alias}' is not allowed"):
        tracking.check_alias(alias)


def taste_group_plays() -> list[tuple[Any, ...]]:
    """Six users in two taste groups of five tracks; each user meets one group track late.

    Users u1-u3 stream tracks t01-t05 and users u4-u6 tracks t06-t10. Before the cut (5 days
    before NEWEST) each user streams four tracks of their group, one to three times each, 6 to 17
    days before NEWEST; after the cut they stream the fifth, which two other users of the group
    streamed before the cut. So every user has exactly one relevant track to find.
    """
    groups = {
        ("u1", "u2", "u3"): ["t01", "t02", "t03", "t04", "t05"],
        ("u4", "u5", "u6"): ["t06", "t07", "t08", "t09", "t10"],
    }
    rows = []
    for users, tracks in groups.items():
        for user_number, user in enumerate(users):
            late_track = tracks[user_number]
            for track_number, track in enumerate(t for t in tracks if t != late_track):
                for repeat in range(1 + track_number % 3):
                    ended_at = NEWEST - timedelta(days=6 + track_number * 3 + repeat, hours=1)
                    rows.append(play(user, track, ended_at))
            rows.append(play(user, late_track, NEWEST - timedelta(days=user_number)))
    return rows


def test_train_logs_registers_and_reloads_the_model_by_alias(
    spark: SparkSession, data_config: Config
) -> None:
    config = dataclasses.replace(
        data_config,
        train=dataclasses.replace(
            data_config.train,
            rank=4,
            max_iter=3,
            window_days=30,
            holdout_days=5,
            checkpoint_interval=2,
            top_k=2,
            model_name="spinback-als-test",
            alias="candidate",
        ),
    )
    locations = TableLocations.from_config(config)
    plays_frame(spark, taste_group_plays()).write.format("delta").save(locations.plays)

    result = run_train(spark, config)

    # The registry's alias names the new version, and the model behind it is the trained one.
    assert result.alias_uri == "models:/spinback-als-test@candidate"
    assert result.tracking_uri == f"sqlite:///{locations.mlflow}/mlflow.db"
    client = MlflowClient(result.tracking_uri)
    aliased = client.get_model_version_by_alias("spinback-als-test", "candidate")
    assert str(aliased.version) == result.version == "1"
    pipeline = tracking.load_spark_model(result.tracking_uri, "spinback-als-test", "candidate")
    loaded = als_stage(pipeline)
    assertDataFrameEqual(loaded.itemFactors, result.model.itemFactors)
    assertDataFrameEqual(loaded.userFactors, result.model.userFactors)
    pairs = spark.createDataFrame(
        [(0, 0), (0, 9), (5, 3), (99, 0)], "user_index int, item_index int"
    )
    # User 99 has no factors: coldStartStrategy="drop" removes the row rather than predict NaN.
    assertDataFrameEqual(loaded.transform(pairs), result.model.transform(pairs))
    assert loaded.transform(pairs).where(F.col("user_index") == 99).isEmpty()
    assertDataFrameEqual(load_als_model(config).itemFactors, result.model.itemFactors)

    # The run holds the parameters, the backends and the metrics.
    run = client.get_run(result.run_id)
    assert run.data.params["rank"] == "4"
    assert run.data.params["max_iter"] == "3"
    assert run.data.params["confidence"] == "log1p"
    assert run.data.params["user_ids_version"] == "0"
    assert run.data.params["item_ids_version"] == "0"
    assert run.data.params["item"] == "track"
    assert run.data.params["blas"] == result.blas
    assert run.data.tags["spinback.lapack"] == result.lapack
    # Every user streamed one track after the cut that they had not streamed before.
    assert run.data.metrics["evaluated_users"] == 6
    for name in (
        "als_precision_at_k",
        "als_recall_at_k",
        "als_ndcg_at_k",
        "als_map_at_k",
        "als_coverage",
        "popularity_precision_at_k",
        "popularity_ndcg_at_k",
    ):
        assert 0.0 <= run.data.metrics[name] <= 1.0
        assert run.data.metrics[name] == pytest.approx(result.metrics[name])
    # The taste groups are plain enough for ALS to beat ranking by listener count.
    assert run.data.metrics["als_ndcg_at_k"] > run.data.metrics["popularity_ndcg_at_k"]

    # Everything lives under the data directory: the SQLite store and the model's artifacts.
    mlflow_dir = Path(locations.mlflow)
    assert (mlflow_dir / "mlflow.db").is_file()
    assert list((mlflow_dir / "artifacts").rglob("MLmodel"))
