"""Synthetic implicit feedback for the recommender benchmarks, the same for every library measured.

Users belong to one or two taste clusters; each of their items comes from a cluster's catalogue
(chosen by a power law within the cluster) or, less often, from the whole catalogue by global
popularity. Play counts are geometric. Everything is drawn with NumPy from one seed, so
Spinback's MLlib path and ``implicit`` train and rank on exactly the same pairs and the same
per-user split.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

CLUSTERS = 60
# Share of a user's items drawn from their taste clusters rather than the global charts.
CLUSTER_SHARE = 0.7


def argument_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every recommender benchmark shares: the data drawn, the cores."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--pairs-per-user", type=float, default=36.0)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--cores", type=int, default=2)
    return parser


@dataclass(frozen=True)
class Pairs:
    """Unique (user, item) pairs with their play counts, as parallel int32 / float32 arrays."""

    users: np.ndarray
    items: np.ndarray
    counts: np.ndarray
    user_count: int
    item_count: int

    def __len__(self) -> int:
        return len(self.users)

    def subset(self, mask: np.ndarray) -> Pairs:
        return Pairs(
            self.users[mask], self.items[mask], self.counts[mask], self.user_count, self.item_count
        )

    def matrix(self, values: np.ndarray | None = None) -> csr_matrix:
        """The user x item CSR matrix of ``values`` (default: the counts)."""
        data = self.counts if values is None else values
        return csr_matrix(
            (data.astype(np.float32), (self.users, self.items)),
            shape=(self.user_count, self.item_count),
        )


def generate_pairs(users: int, items: int, pairs_per_user: float, seed: int) -> Pairs:
    """About ``users * pairs_per_user`` unique pairs over ``items`` items."""
    generator = np.random.default_rng(seed)
    per_user = np.maximum(1, generator.lognormal(np.log(pairs_per_user) - 0.32, 0.8, users))
    per_user = per_user.astype(np.int64)
    user_of_draw = np.repeat(np.arange(users, dtype=np.int64), per_user)
    draws = len(user_of_draw)

    # Each item belongs to one cluster; clusters list their items in a fixed random order.
    cluster_of_item = generator.integers(0, CLUSTERS, items)
    by_cluster = [np.flatnonzero(cluster_of_item == c) for c in range(CLUSTERS)]
    first_cluster = generator.integers(0, CLUSTERS, users)
    second_cluster = generator.integers(0, CLUSTERS, users)

    from_cluster = generator.random(draws) < CLUSTER_SHARE
    use_second = generator.random(draws) < 0.3
    cluster = np.where(use_second, second_cluster[user_of_draw], first_cluster[user_of_draw])
    chosen = np.empty(draws, dtype=np.int64)
    for c in range(CLUSTERS):
        in_cluster = from_cluster & (cluster == c)
        catalogue = by_cluster[c]
        chosen[in_cluster] = catalogue[_power_law(generator, in_cluster.sum(), len(catalogue))]
    popular = ~from_cluster
    chosen[popular] = generator.permutation(items)[_power_law(generator, popular.sum(), items)]

    keys = np.unique(user_of_draw * items + chosen)
    counts = generator.geometric(0.3, len(keys)).astype(np.float32)
    return Pairs(
        (keys // items).astype(np.int32),
        (keys % items).astype(np.int32),
        counts,
        users,
        items,
    )


def split_per_user(pairs: Pairs, holdout_share: float, seed: int) -> tuple[Pairs, Pairs]:
    """Hold out about ``holdout_share`` of each user's pairs at random: (train, test)."""
    held_out = np.random.default_rng(seed).random(len(pairs)) < holdout_share
    return pairs.subset(~held_out), pairs.subset(held_out)


def _power_law(generator: np.random.Generator, size: int, count: int) -> np.ndarray:
    """``size`` indexes in ``[0, count)``, index i drawn with weight ``1 / (i + 1)``."""
    uniform = generator.random(size)
    return np.minimum(count - 1, (np.exp(uniform * np.log(count + 1)) - 1).astype(np.int64))
