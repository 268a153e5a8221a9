"""The tuned model against popularity on the HetRec 2011 Last.fm data (user, artist, play count).

The data set lives outside the repository (``../shared/samples``); the test is skipped only where
that folder is absent.
"""

from __future__ import annotations

import dataclasses

import pytest
from pyspark.sql import SparkSession

from conftest import SAMPLES
from spinback.config import Config
from spinback.recommend.hetrec import read_user_artists, split_user_artists
from spinback.recommend.train import persisted
from spinback.recommend.tune import tune_and_register

HETREC = SAMPLES / "hetrec2011-lastfm-2k"


@pytest.mark.heavy
@pytest.mark.skipif(not HETREC.is_dir(), reason=f"the HetRec sample is not at {HETREC}")
def test_tuned_model_beats_popularity_on_hetrec(spark: SparkSession, data_config: Config) -> None:
    config = dataclasses.replace(
        data_config,
        train=dataclasses.replace(
            data_config.train,
            item="artist",
            max_iter=10,
            checkpoint_interval=5,
            num_blocks=2,
            top_k=10,
            artist_model_name="spinback-hetrec-test",
        ),
        tune=dataclasses.replace(
            data_config.tune,
            ranks=(64,),
            reg_params=(0.1, 1.0),
            alphas=(1.0, 5.0),
            max_iters=(10,),
            confidences=("bm25", "log1p"),
            trials=3,
            metric="ndcg_at_k",
        ),
    )
    split = split_user_artists(
        read_user_artists(spark, str(HETREC)), config.tune.holdout_share, config.tune.seed
    )

    with persisted(split.train, split.validation, split.test) as (train, validation, test):
        result = tune_and_register(
            spark,
            config,
            dataclasses.replace(split, train=train, validation=validation, test=test),
            {"data": "hetrec2011-lastfm-2k", "split": "per-user random 80/20, seeded"},
        )

    metrics = result.test_metrics
    print(
        f"HetRec held-out test at k=10: tuned {result.winner}: NDCG {metrics['als_ndcg_at_k']:.4f}"
        f", precision {metrics['als_precision_at_k']:.4f}; popularity NDCG "
        f"{metrics['popularity_ndcg_at_k']:.4f}"
        f", precision {metrics['popularity_precision_at_k']:.4f}"
    )
    assert metrics["evaluated_users"] > 1500
    assert metrics["als_ndcg_at_k"] > metrics["popularity_ndcg_at_k"]
    assert metrics["als_precision_at_k"] > metrics["popularity_precision_at_k"]
    assert result.promotion.promoted
