"""How much raters agree with each other: Cohen's κ for two, Krippendorff's α (nominal) for any number.

Pure functions over labels; ``None`` is a missing value (a member's parse failure). A jury's report
(``flame.evaluate.harness.score_jury``) uses them on its members' argmax labels.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence


def cohen_kappa(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> tuple[float, int]:
    """(κ, n) over the items both raters labeled: κ = (p_o − p_e) / (1 − p_e), where p_e is the agreement
    expected from each rater's own label shares. NaN when p_e = 1 (both always give one and the same
    label: chance explains everything, so κ is undefined) or when no item has both labels."""
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa: {len(a)} labels against {len(b)}")
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    n = len(pairs)
    if n == 0:
        return math.nan, 0
    observed = sum(x == y for x, y in pairs) / n
    ca, cb = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected >= 1.0 - 1e-12:
        return math.nan, n
    return (observed - expected) / (1.0 - expected), n


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> tuple[float, int]:
    """(α, n) for nominal data; ``units[u]`` holds every rater's value for unit u (``None``: missing).

    α = 1 − D_o / D_e from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability"): a unit with m ≥ 2 values adds 1/(m − 1) for each ordered pair of its values;
    units with fewer than two values are not pairable and drop out. ``n`` is the number of pairable
    values. NaN when every pairable value is the same (no expected disagreement) or nothing is pairable.
    """
    coincidence: Counter = Counter()
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        for i, c in enumerate(values):
            for j, k in enumerate(values):
                if i != j:
                    coincidence[c, k] += 1.0 / (m - 1)
    totals: Counter = Counter()
    for (c, _), o in coincidence.items():
        totals[c] += o
    n = sum(totals.values())
    if n <= 1:
        return math.nan, round(n)
    observed = sum(o for (c, k), o in coincidence.items() if c != k)
    expected = (n * n - sum(t * t for t in totals.values())) / (n - 1)
    if expected <= 1e-12:
        return math.nan, round(n)
    return 1.0 - observed / expected, round(n)
