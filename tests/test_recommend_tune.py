"""The search space, the promotion rule, and a real search recorded in MLflow (SQLite)."""

from __future__ import annotations

import dataclasses

import pytest
from mlflow import MlflowClient
from pyspark.sql import DataFrame, SparkSession

from spinback.config import Config, ConfigError, load_config
from spinback.recommend.dataset import Interactions
from spinback.recommend.tune import Trial, decide_promotion, search_space, tune_and_register


def tune_config(data_config: Config, **changes: object) -> Config:
    return dataclasses.replace(
        data_config,
        train=dataclasses.replace(
            data_config.train,
            model_name="spinback-tune-test",
            checkpoint_interval=2,
            top_k=2,
            num_blocks=2,
        ),
        tune=dataclasses.replace(data_config.tune, **changes),  # type: ignore[arg-type]
    )


# --- search space and promotion -----------------------------------------------------------------


def test_search_space_is_the_grid_or_a_seeded_draw_in_grid_order(config: Config) -> None:
    tune = dataclasses.replace(
        config.tune,
        ranks=(8, 16),
        reg_params=(0.1,),
        alphas=(1.0, 10.0),
        max_iters=(5,),
        confidences=("log1p", "bm25"),
        trials=100,
    )

    grid = search_space(tune)

    # 2 ranks x 1 x 2 alphas x 1 x 2 transforms = 8 settings, ranks varying slowest.
    assert len(grid) == 8
    assert grid[0] == Trial(8, 0.1, 1.0, 5, "log1p")
    assert grid[-1] == Trial(16, 0.1, 10.0, 5, "bm25")

    drawn = search_space(dataclasses.replace(tune, trials=3))
    assert len(drawn) == 3
    assert drawn == search_space(dataclasses.replace(tune, trials=3))  # the seed decides
    assert drawn == [trial for trial in grid if trial in drawn]  # in grid order


def test_an_empty_search_dimension_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"tune\.ranks"):
        load_config(mode="local", overrides=["tune.ranks=[]"])
    with pytest.raises(ConfigError, match=r"tune\.confidences\[0\]"):
        load_config(mode="local", overrides=["tune.confidences=[squared]"])


@pytest.mark.parametrize(
    ("als", "popularity", "champion", "promoted", "reason"),
    [
        (0.30, 0.20, None, True, "beats popularity 0.2000; no champion yet"),
        (0.30, 0.20, 0.25, True, "beats popularity 0.2000 and the champion 0.2500"),
        (0.30, 0.30, None, False, "does not beat popularity's 0.3000"),
        (0.30, 0.40, 0.10, False, "does not beat popularity's 0.4000"),
        (0.30, 0.20, 0.30, False, "does not beat the champion's 0.3000"),
        (0.30, 0.20, 0.35, False, "does not beat the champion's 0.3500"),
    ],
)
def test_promotion_needs_a_strict_win_over_both(
    als: float, popularity: float, champion: float | None, promoted: bool, reason: str
) -> None:
    metrics = {"als_ndcg_at_k": als, "popularity_ndcg_at_k": popularity}
    if champion is not None:
        metrics["champion_ndcg_at_k"] = champion

    promotion = decide_promotion(metrics, "ndcg_at_k", has_champion=champion is not None)

    assert promotion.promoted is promoted
    assert reason in promotion.reason


# --- a search in MLflow ---------------------------------------------------------------------------


def taste_groups(spark: SparkSession) -> Interactions:
    """Two groups of four users; each group streams its own six items, nothing of the other's.

    Items 0-5 belong to users 0-3, items 6-11 to users 4-7; every item has two or three listeners
    in each period, so popularity (ties to the lower id) offers group A's items to everyone and
    misses group B entirely, while a model of the two groups finds both.
    Train: user u streams the items (u + j) mod 6 of its group, j = 0..2 (two to four times).
    Validation: item (u + 3) mod 6; test: item (u + 4) mod 6 of the group.
    """

    def periods(offsets: range, base_count: int) -> DataFrame:
        rows = []
        for user in range(8):
            first_item = 0 if user < 4 else 6
            for offset in offsets:
                item = first_item + (user + offset) % 6
                rows.append((user, item, base_count + offset % 3))
        return spark.createDataFrame(rows, "user_index int, item_index int, play_count long")

    return Interactions(
        train=periods(range(3), 2), validation=periods(range(3, 4), 1), test=periods(range(4, 5), 1)
    )


def test_tune_logs_trials_as_child_runs_and_moves_champion_only_on_a_win(
    spark: SparkSession, data_config: Config
) -> None:
    config = tune_config(
        data_config,
        ranks=(2, 4),
        reg_params=(0.01,),
        alphas=(10.0,),
        max_iters=(5,),
        confidences=("log1p",),
        trials=2,
    )
    interactions = taste_groups(spark)

    first = tune_and_register(spark, config, interactions, {"split": "hand-made"})

    # No champion yet: the winner beats popularity on the held-out test and takes both aliases.
    assert first.test_metrics["als_ndcg_at_k"] > first.test_metrics["popularity_ndcg_at_k"]
    assert first.promotion.promoted
    client = MlflowClient(first.tracking_uri)
    assert str(client.get_model_version_by_alias("spinback-tune-test", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("spinback-tune-test", "candidate").version) == "1"

    # Every trial is a child run of the search, with its setting and validation metrics.
    parent = client.get_run(first.run_id)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{first.run_id}'"
    )
    assert sorted(run.data.params["rank"] for run in children) == ["2", "4"]
    assert all("als_ndcg_at_k" in run.data.metrics for run in children)
    assert all("popularity_ndcg_at_k" in run.data.metrics for run in children)
    assert parent.data.metrics["test_als_ndcg_at_k"] == pytest.approx(
        first.test_metrics["als_ndcg_at_k"]
    )
    report = {artifact.path for artifact in client.list_artifacts(first.run_id, "evaluation")}
    assert report == {
        "evaluation/test_metrics.csv",
        "evaluation/test_metrics.md",
        "evaluation/test_metrics.png",
        "evaluation/trials.csv",
        "evaluation/trials.png",
    }

    # The same search again scores exactly as well as the champion: a tie is not a win, so the
    # champion stays at version 1 while the new version only becomes the candidate.
    second = tune_and_register(spark, config, interactions, {"split": "hand-made"})

    assert second.version == "2"
    assert second.test_metrics["champion_ndcg_at_k"] == pytest.approx(
        first.test_metrics["als_ndcg_at_k"]
    )
    assert not second.promotion.promoted
    assert "does not beat the champion" in second.promotion.reason
    assert str(client.get_model_version_by_alias("spinback-tune-test", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("spinback-tune-test", "candidate").version) == "2"
