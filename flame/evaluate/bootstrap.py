"""Seeded percentile-bootstrap confidence intervals, stratified by subset.

One resample draws, *within each stratum* (a benchmark subset), as many rows as the stratum has, with
replacement, and recomputes the statistic on the resampled columns. Stratifying keeps every subset's
size fixed, so an aggregate (the mean over SummaC's four subsets, RewardBench's weighted sections)
varies only by what the rater did, never by how many rows each subset happened to draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Columns = dict[str, np.ndarray]

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.value, self.low, self.high)


def _take(c: Columns, idx: np.ndarray) -> Columns:
    return {k: v[idx] for k, v in c.items()}


def bootstrap(
    statistic: Callable[[list[Columns]], float],
    strata: Sequence[Columns],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> Estimate:
    """The statistic on ``strata`` and its percentile interval over ``n_resamples`` stratified resamples.

    Resamples whose statistic is undefined (NaN: a constant column in a correlation) are dropped; if
    more than half are undefined, so is the interval.
    """
    strata = list(strata)
    value = statistic(strata)
    if n_resamples <= 0 or math.isnan(value):
        return Estimate(value, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    sizes = [len(next(iter(c.values()))) if c else 0 for c in strata]
    stats = np.empty(n_resamples)
    for r in range(n_resamples):
        resampled = [
            _take(c, rng.integers(0, n, size=n)) if n else c for c, n in zip(strata, sizes, strict=True)
        ]
        stats[r] = statistic(resampled)
    ok = stats[~np.isnan(stats)]
    if len(ok) < n_resamples / 2:
        return Estimate(value, math.nan, math.nan)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(ok, [alpha, 1.0 - alpha])
    return Estimate(value, float(low), float(high))


def single(metric: Callable[[Columns], float]) -> Callable[[list[Columns]], float]:
    """A per-subset metric as a statistic over one stratum."""
    return lambda strata: metric(strata[0])


def mean_over(metric: Callable[[Columns], float]) -> Callable[[list[Columns]], float]:
    """The unweighted mean over strata of a per-subset metric (NaN subsets skipped)."""

    def stat(strata: list[Columns]) -> float:
        vals = [metric(c) for c in strata]
        vals = [v for v in vals if not math.isnan(v)]
        return float(np.mean(vals)) if vals else math.nan

    return stat


def pooled(metric: Callable[[Columns], float]) -> Callable[[list[Columns]], float]:
    """The metric on all strata's rows pooled into one table."""

    def stat(strata: list[Columns]) -> float:
        keys = strata[0].keys()
        return metric({k: np.concatenate([c[k] for c in strata]) for k in keys})

    return stat
