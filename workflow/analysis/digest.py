"""Medians from log-bucket histograms: the mapping of DDSketch, with counts that can be taken back.

A working time ``v`` seconds goes to bucket ``ceil(log_γ v) + 1`` with ``γ = (1 + α) / (1 − α)``;
a bucket answers ``2γ^(k−1) / (γ + 1)``, which is within ``α`` of every value in it (Masson, Rim
and Lee, "DDSketch", VLDB 2019). Times under a second go to bucket 0 and answer 0. Histograms
of days and grids merge by adding counts, and a refreshed case takes back its old bucket by
subtracting one: that is why the daily rows keep plain counts rather than the ``ddsketch``
package's stores, which neither subtract nor serialise to JSON.

A median from a histogram is therefore within ``RELATIVE_ACCURACY`` (0.5 %) of the exact median,
or within a second of it; ``aggregate`` reads the exact values instead when a group measured at
most ``EXACT_UP_TO`` cases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

RELATIVE_ACCURACY = 0.005
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
# Below this many measured cases the exact values are read: a small street's median is exact.
EXACT_UP_TO = 5000

Bins = dict[str, int]


def key(seconds: float) -> str:
    """Return the bucket of a working time in seconds (a JSON object key)."""
    if seconds < 1:
        return "0"
    return str(math.ceil(math.log(seconds) / _LOG_GAMMA) + 1)


def value(bucket: str) -> float:
    """Return the working time, in seconds, a bucket stands for."""
    k = int(bucket)
    if k == 0:
        return 0.0
    return 2 * GAMMA ** (k - 1) / (GAMMA + 1)


def merge(into: Bins, other: Mapping[str, int]) -> Bins:
    """Add ``other``'s counts into ``into`` (dropping buckets that reach zero) and return it."""
    for bucket, count in other.items():
        total = into.get(bucket, 0) + count
        if total:
            into[bucket] = total
        else:
            into.pop(bucket, None)
    return into


def merged(histograms: Iterable[Mapping[str, int]]) -> Bins:
    """Return the sum of some histograms."""
    out: Bins = {}
    for histogram in histograms:
        merge(out, histogram)
    return out


def median(bins: Mapping[str, int]) -> float | None:
    """Return the median of a histogram in seconds (the mean of the two middle values for an even count)."""
    total = sum(bins.values())
    if total <= 0:
        return None
    wanted = sorted({(total - 1) // 2, total // 2})
    found: list[float] = []
    seen = 0
    for bucket in sorted(bins, key=int):
        seen += bins[bucket]
        while wanted and wanted[0] < seen:
            found.append(value(bucket))
            wanted.pop(0)
        if not wanted:
            break
    if total % 2:
        return found[0]
    return (found[0] + found[-1]) / 2
