"""The HetRec 2011 Last.fm data set as recommender interactions: (user, artist, play count).

``user_artists.dat`` holds one tab-separated row per user and artist with the user's total plays
of that artist, and no timestamps, so the time split cannot apply: each user's artists are split
at random instead, with a seed (``dataset.split_per_user``). The data set's integer ids are used
as they are (they fit int32), since nothing else refers to these users and artists.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback.recommend.dataset import ITEM_INDEX, USER_INDEX, Interactions, split_per_user

USER_ARTISTS_FILE = "user_artists.dat"


def read_user_artists(spark: SparkSession, folder: str) -> DataFrame:
    """``user_index, item_index, play_count`` from ``<folder>/user_artists.dat``."""
    raw = (
        spark.read.option("header", True)
        .option("sep", "\t")
        .schema("userID int, artistID int, weight long")
        .csv(f"{folder.rstrip('/')}/{USER_ARTISTS_FILE}")
    )
    return raw.where(F.col("weight") > 0).select(
        F.col("userID").alias(USER_INDEX),
        F.col("artistID").alias(ITEM_INDEX),
        F.col("weight").alias("play_count"),
    )


def split_user_artists(user_artists: DataFrame, holdout_share: float, seed: int) -> Interactions:
    """Test, then validation, each ``holdout_share`` of a user's artists; the rest is train.

    The test share is taken from all of a user's artists, the validation share from what remains,
    with different seeds, so the three sets are disjoint.
    """
    rest, test = split_per_user(user_artists, holdout_share, seed)
    train, validation = split_per_user(rest, holdout_share, seed + 1)
    return Interactions(train=train, validation=validation, test=test)
