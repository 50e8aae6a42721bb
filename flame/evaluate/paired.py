"""Paired comparisons of two raters on the same examples: is judge X really better than judge Y here?

Two raters of one run judged the very same rows, so their difference is measured *paired*:

* ``paired_difference``: the difference of a statistic (a benchmark's primary metric, its own aggregate
  included) with a percentile-bootstrap 95% CI whose resamples draw the same rows for both raters,
  stratified by subset as every other interval (``flame.evaluate.bootstrap``). When the raters tend to be
  right on the same rows the paired interval is much narrower than two overlapping intervals suggest.
* ``mcnemar``: for accuracy, McNemar's exact test on per-example correctness: under "equally good" each
  discordant row (one right, the other wrong) is a fair coin, so the p-value is the two-sided binomial
  test of the discordant split. A row where either rater earned a fraction (a judgment of exactly
  P = 0.5 counts half in accuracy) is neither right nor wrong: it is left out of the test and counted.
  Rows the accuracy does not score (gold ties under ``--ties exclude``) are not in the table either.
* ``holm``: Holm–Bonferroni adjusted p-values over a family (one rater pair across the run's benchmarks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from flame.evaluate.bootstrap import DEFAULT_RESAMPLES, Columns, Estimate, bootstrap

ALPHA = 0.05  # the level of the "significant" marks in the reports


@dataclass(frozen=True)
class Discordance:
    """Per-example correctness of raters A and B on the rows both were scored on."""

    a_only: int  # A right, B wrong
    b_only: int  # B right, A wrong
    both: int
    neither: int
    halves: int  # rows where either earned a fraction (P = 0.5): left out of the test

    @property
    def n(self) -> int:
        return self.a_only + self.b_only + self.both + self.neither


def discordance(credit_a: np.ndarray, credit_b: np.ndarray) -> Discordance:
    """The 2×2 table of two credit columns (1 right, 0 wrong, a fraction for tied top labels, NaN unscored)."""
    a, b = np.asarray(credit_a, dtype=float), np.asarray(credit_b, dtype=float)
    scored = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[scored], b[scored]
    whole = np.isin(a, (0.0, 1.0)) & np.isin(b, (0.0, 1.0))
    ra, rb = a[whole] == 1.0, b[whole] == 1.0
    return Discordance(
        a_only=int(np.sum(ra & ~rb)),
        b_only=int(np.sum(~ra & rb)),
        both=int(np.sum(ra & rb)),
        neither=int(np.sum(~ra & ~rb)),
        halves=int(np.sum(~whole)),
    )


def mcnemar(table: Discordance) -> float:
    """McNemar's exact two-sided p-value: the binomial test of a_only among the discordant rows at 1/2.
    No discordant row: no evidence either way, p = 1."""
    discordant = table.a_only + table.b_only
    if discordant == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(table.a_only, discordant, 0.5).pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input's order; NaN (no test) is neither counted in the
    family nor adjusted. The k-th smallest of m is multiplied by (m − k + 1), made monotone, capped at 1."""
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(idx)
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def with_holm(entries: Sequence[Any]) -> list[Any]:
    """``PairedEntry`` rows with ``p_holm`` and ``family`` set: Holm within each rater pair, over the
    benchmarks the pair was tested on (entries without a test are not in the family)."""
    out = list(entries)
    for pair in dict.fromkeys((e.rater_a, e.rater_b) for e in out):
        idx = [i for i, e in enumerate(out) if (e.rater_a, e.rater_b) == pair and e.test]
        for i, p in zip(idx, holm([out[i].p for i in idx]), strict=True):
            out[i] = replace(out[i], p_holm=p, family=len(idx))
    return out


def _joined(a: Columns, b: Columns) -> Columns:
    # One table whose rows hold both raters' columns: resampling its rows resamples pairs.
    if len(next(iter(a.values()))) != len(next(iter(b.values()))):
        raise ValueError("paired columns must hold the same rows")
    return {**{f"a:{k}": v for k, v in a.items()}, **{f"b:{k}": v for k, v in b.items()}}


def _side(strata: list[Columns], side: str) -> list[Columns]:
    n = len(side) + 1
    return [{k[n:]: v for k, v in c.items() if k.startswith(side + ":")} for c in strata]


def paired_difference(
    statistic: Callable[[list[Columns]], float],
    strata_a: Sequence[Columns],
    strata_b: Sequence[Columns],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """statistic(A) − statistic(B) with its paired bootstrap interval: each resample draws the same rows
    of each stratum (subset) for both raters. ``strata_a[k]`` and ``strata_b[k]`` hold the same rows."""
    joined = [_joined(a, b) for a, b in zip(strata_a, strata_b, strict=True)]

    def diff(strata: list[Columns]) -> float:
        return statistic(_side(strata, "a")) - statistic(_side(strata, "b"))

    return bootstrap(diff, joined, n_resamples=n_resamples, seed=seed)


def beats(difference: float, ci_low: float, ci_high: float, p_holm: float | None) -> bool:
    """Significant at ALPHA: by the adjusted McNemar p where there is one, else by a CI that excludes 0."""
    if p_holm is not None and not math.isnan(p_holm):
        return p_holm < ALPHA and difference != 0
    return not math.isnan(ci_low) and (ci_low > 0 or ci_high < 0)
