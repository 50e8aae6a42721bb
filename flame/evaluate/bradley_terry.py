"""Bradley–Terry strengths from pairwise verdicts: win matrices, an MM fit, and a bootstrap over prompts.

Pure functions on arrays; `flame.evaluate.arena` feeds them judged pairs. A verdict is ``(i, j, s)``: systems
``i`` and ``j`` met once and ``i`` scored ``s`` (1 a win, 0.5 a tie, 0 a loss, or any value in between), so
``j`` scored ``1 - s``. The model: P(i beats j) = p_i / (p_i + p_j); strengths are reported as
``theta_i = log p_i`` (the logit scale), anchored so their mean is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# One virtual tie (half a win each way) per pair of systems that met. Why: a system that lost every game
# has a maximum-likelihood strength of minus infinity, and a bootstrap resample drawing only its losses
# would blow up the interval; half a win each way pulls extreme pairs in a little and vanishes as the
# number of real games grows (hundreds per pair in a typical arena).
DEFAULT_PRIOR = 0.5
MAX_ITER = 10_000
TOL = 1e-10  # on the change of log-strengths between MM steps
ELO_SCALE = 400 / math.log(10)  # one logit unit in Elo points
ELO_BASE = 1000.0


@dataclass(frozen=True)
class Verdicts:
    """Verdicts as parallel arrays; ``group`` is the prompt each came from (the bootstrap's unit)."""

    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    group: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, int, float, int]]) -> Verdicts:
        arr = np.asarray(rows, dtype=float).reshape(-1, 4)
        return cls(arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2], arr[:, 3].astype(int))

    def __len__(self) -> int:
        return len(self.score)


def win_counts(v: Verdicts, n: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``W[i, j]``: what i scored against j, summed; ``N[i, j]``: games between i and j (symmetric)."""
    w = np.ones(len(v)) if weights is None else weights
    wins = np.zeros((n, n))
    games = np.zeros((n, n))
    np.add.at(wins, (v.i, v.j), w * v.score)
    np.add.at(wins, (v.j, v.i), w * (1.0 - v.score))
    np.add.at(games, (v.i, v.j), w)
    np.add.at(games, (v.j, v.i), w)
    return wins, games


def win_rates(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    """Each system's share of points over all its games (ties count half); NaN for a system with none."""
    played = games.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(played > 0, wins.sum(axis=1) / played, np.nan)


def win_matrix(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    """``M[i, j]``: i's share of points against j; NaN where they never met (and on the diagonal)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, wins / games, np.nan)


def connected(games: np.ndarray, members: np.ndarray | None = None) -> bool:
    """Whether the systems in ``members`` (default: all) form one component of the "met" graph."""
    n = len(games)
    members = np.arange(n) if members is None else members
    if len(members) <= 1:
        return True
    inside = np.zeros(n, dtype=bool)
    inside[members] = True
    seen = {int(members[0])}
    stack = [int(members[0])]
    while stack:
        a = stack.pop()
        for b in np.flatnonzero((games[a] > 0) & inside):
            if int(b) not in seen:
                seen.add(int(b))
                stack.append(int(b))
    return len(seen) == len(members)


def fit(wins: np.ndarray, games: np.ndarray, *, prior: float = DEFAULT_PRIOR) -> np.ndarray:
    """Log-strengths by Hunter's (2004) MM algorithm, mean 0 over the systems that played.

    Systems without a game get NaN. The caller checks `connected`: across components the strengths
    are not comparable (the fit still returns numbers, each component anchored only by the prior).
    """
    met = games > 0
    wins = wins + prior * met
    games = games + 2 * prior * met
    played = games.sum(axis=1) > 0
    theta = np.full(len(wins), np.nan)
    idx = np.flatnonzero(played)
    if len(idx) == 0:
        return theta
    w = wins[np.ix_(idx, idx)]
    g = games[np.ix_(idx, idx)]
    total = w.sum(axis=1)
    p = np.ones(len(idx))
    for _ in range(MAX_ITER):
        denom = (g / (p[:, None] + p[None, :])).sum(axis=1)
        new = total / denom
        new /= math.exp(np.log(new).mean())  # geometric mean 1: log-strengths of mean 0
        delta = np.max(np.abs(np.log(new) - np.log(p)))
        p = new
        if delta < TOL:
            break
    theta[idx] = np.log(p)
    return theta


def elo(theta: np.ndarray) -> np.ndarray:
    """Log-strengths on the Elo scale (400 points per factor of 10 in odds), centered on 1000."""
    return ELO_BASE + ELO_SCALE * theta


@dataclass(frozen=True)
class Fit:
    theta: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_resamples: int
    n_failed: int  # resamples whose graph fell apart (left out of the intervals)


def bootstrap_fit(
    v: Verdicts,
    n: int,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    prior: float = DEFAULT_PRIOR,
    confidence: float = 0.95,
) -> Fit:
    """The fit and percentile intervals over resamples of the prompts (``group``), drawn with replacement.

    Why prompts: the verdicts of one prompt share its difficulty and its responses, so they are not
    independent; resampling whole prompts keeps that dependence in the interval.
    """
    wins, games = win_counts(v, n)
    theta = fit(wins, games, prior=prior)
    groups, inverse = np.unique(v.group, return_inverse=True)
    rng = np.random.default_rng(seed)
    draws = np.full((n_resamples, n), np.nan)
    failed = 0
    for r in range(n_resamples):
        counts = np.bincount(rng.integers(0, len(groups), size=len(groups)), minlength=len(groups))
        weights = counts[inverse].astype(float)
        w, g = win_counts(v, n, weights)
        present = np.flatnonzero(g.sum(axis=1) > 0)
        if not connected(g, present):
            failed += 1
            continue
        draws[r] = fit(w, g, prior=prior)
    alpha = (1 - confidence) / 2
    ok = ~np.all(np.isnan(draws), axis=0)
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    if n_resamples and ok.any():
        low[ok] = np.nanquantile(draws[:, ok], alpha, axis=0)
        high[ok] = np.nanquantile(draws[:, ok], 1 - alpha, axis=0)
    return Fit(theta, low, high, n_resamples, failed)


def simulate(
    theta: Sequence[float], n_groups: int, *, pairs_per_group: int | None = None, seed: int = 0
) -> Verdicts:
    """Verdicts drawn from the model with log-strengths ``theta``: each group judges every pair once (or
    ``pairs_per_group`` random pairs). For tests and for sizing an arena."""
    theta = np.asarray(theta, dtype=float)
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for a in range(len(theta)) for b in range(a + 1, len(theta))]
    rows = []
    for g in range(n_groups):
        chosen = pairs
        if pairs_per_group is not None and pairs_per_group < len(pairs):
            chosen = [pairs[k] for k in rng.choice(len(pairs), pairs_per_group, replace=False)]
        for a, b in chosen:
            p = 1.0 / (1.0 + math.exp(theta[b] - theta[a]))
            rows.append((a, b, float(rng.random() < p), g))
    return Verdicts.from_rows(rows)
