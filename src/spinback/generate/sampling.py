"""Randomness that does not depend on how Spark splits the rows.

Every draw is a hash of the seed, the draw's purpose and the ids of the row it belongs to (a user,
a day, a session, a play). ``rand()`` would give different numbers when the same rows fall into
other partitions; a hash gives the same numbers on a laptop, a cluster, or after a repartition.
Each purpose string names one decision, so two decisions about one row never share a number.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

# A double holds 53 bits of mantissa: keep that many bits of the 64-bit hash.
_MANTISSA_BITS = 53
_MANTISSA_MASK = (1 << _MANTISSA_BITS) - 1
_MANTISSA_SCALE = float(1 << _MANTISSA_BITS)
# Weighted picks among more values than this use a lookup table of this many slices.
_LONGEST_CHAIN = 6
_WEIGHT_TABLE_SIZE = 1000


def row_key(*ids: Column) -> Column:
    """One 64-bit stand-in for a row's ids (user, day, session, play...).

    Draws hash the key instead of every id again, which keeps each draw small in generated code.
    Build a child's key from its parent's key and its own position.
    """
    return F.xxhash64(*ids)


def uniform(seed: int, purpose: str, *ids: Column) -> Column:
    """A number in the open interval (0, 1), fixed by ``seed``, ``purpose`` and the ``ids``.

    The half-step offset keeps both ends out, so the result is safe to pass to ``log``.
    """
    hashed = F.xxhash64(F.lit(_salt(seed, purpose)), *ids)
    mantissa = hashed.bitwiseAND(F.lit(_MANTISSA_MASK)).cast("double")
    return (mantissa + 0.5) / _MANTISSA_SCALE


def _salt(seed: int, purpose: str) -> int:
    """A 64-bit number for one (seed, purpose) pair; one literal hashes faster than two."""
    digest = hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def standard_normal(seed: int, purpose: str, *ids: Column) -> Column:
    """A draw from the standard normal distribution (Box-Muller on two uniform draws)."""
    radius = F.sqrt(-2.0 * F.log(uniform(seed, f"{purpose}:radius", *ids)))
    angle = 2.0 * math.pi * uniform(seed, f"{purpose}:angle", *ids)
    return radius * F.cos(angle)


def log_normal_around_one(sigma: float, seed: int, purpose: str, *ids: Column) -> Column:
    """A positive multiplier whose mean is 1 and whose spread grows with ``sigma``.

    Subtracting sigma^2 / 2 in the exponent cancels the upward pull of the long right tail, so
    multiplying a rate by it changes who is heavy and who is light but not the average.
    """
    return F.exp(sigma * standard_normal(seed, purpose, *ids) - sigma * sigma / 2.0)


def power_law_index(draw: Column, count: Column | int, exponent: float) -> Column:
    """Map a uniform ``draw`` to an index in [0, count), index i weighing (i + 1)^-exponent.

    This inverts the cumulative distribution of the continuous power law on [1, count + 1) and
    floors the result: a closed form, so sampling needs no lookup table and no join. Index 0 is the
    most likely; the distribution is a close relative of Zipf's law.
    """
    size = count if isinstance(count, Column) else F.lit(count)
    upper = (size + 1).cast("double")
    if math.isclose(exponent, 1.0):
        position = F.pow(upper, draw)
    else:
        flipped = 1.0 - exponent
        position = F.pow(1.0 + draw * (F.pow(upper, flipped) - 1.0), 1.0 / flipped)
    # Rounding can carry the largest draws onto count itself; clamp them to the last index.
    return F.least(F.floor(position) - 1, size - 1).cast("long")


def pick_by_weight(draw: Column, weights: Sequence[float]) -> Column:
    """Map a uniform ``draw`` to an index of ``weights``, chosen in proportion to its weight."""
    return _pick(draw, list(range(len(weights))), weights)


def pick_from(draw: Column, options: Sequence[str], weights: Sequence[float]) -> Column:
    """One of ``options``, chosen by ``draw`` in proportion to ``weights``."""
    if len(options) != len(weights):
        raise ValueError(f"{len(options)} options but {len(weights)} weights")
    return _pick(draw, list(options), weights)


def _pick(draw: Column, values: Sequence[int | str], weights: Sequence[float]) -> Column:
    """``values[i]`` with probability ``weights[i] / sum(weights)``.

    A handful of values is picked by a chain of comparisons with the cumulative shares. For longer
    lists (hours of the day, time zones) the chain would bloat the generated code, so the inverse
    of the cumulative shares is tabulated in ``_WEIGHT_TABLE_SIZE`` equal slices and the pick is
    one array lookup; each share is then rounded to whole slices, far finer than the data needs.
    """
    if not weights or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {list(weights)}")
    total = float(sum(weights))
    shares_below = [sum(weights[: index + 1]) / total for index in range(len(weights) - 1)]
    if len(values) == 1:
        return F.lit(values[0])
    if len(values) <= _LONGEST_CHAIN:
        chosen = F.when(draw < shares_below[0], F.lit(values[0]))
        for value, share_below in zip(values[1:-1], shares_below[1:], strict=True):
            chosen = chosen.when(draw < share_below, F.lit(value))
        return chosen.otherwise(F.lit(values[-1]))

    slots = []
    index = 0
    for slot in range(_WEIGHT_TABLE_SIZE):
        middle = (slot + 0.5) / _WEIGHT_TABLE_SIZE
        while index < len(shares_below) and middle >= shares_below[index]:
            index += 1
        slots.append(index)
    # One SQL literal instead of a thousand lit() calls, each a round trip to the JVM.
    table = F.expr(f"array({', '.join(map(str, slots))})")
    chosen_index = table[(draw * _WEIGHT_TABLE_SIZE).cast("int")]
    if list(values) == list(range(len(values))):
        return chosen_index
    return F.array(*[F.lit(value) for value in values])[chosen_index]


def scattered_number(index: Column, count: int, seed: int) -> Column:
    """A 1-based number for ``index`` in [0, count), spread over 1..count without collisions.

    Indexes are ordered by popularity; without this, "Artist 1" would top every chart. Multiplying
    by a stride that shares no factor with ``count`` permutes the indexes, so every number is used
    exactly once and the mapping is the same for the catalog and for the plays.
    """
    stride = _coprime_stride(count)
    offset = seed % count
    return (index * stride + offset) % count + 1


def _coprime_stride(count: int) -> int:
    # Near the golden ratio of count, so neighbouring indexes land far apart.
    stride = max(1, int(count * 0.618))
    while math.gcd(stride, count) != 1:
        stride += 1
    return stride
