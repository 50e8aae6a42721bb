"""Mixtures: named, nestable lists of (task or mixture, rate), and a seeded, resumable sampler.

A rate is a number or a function of the task's training size (seqio's ``examples-proportional`` with a
cap, temperature scaling). Resolving a mixture flattens nested mixtures into one {task: probability} map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from flame.registry import Registry

Rate = float | Callable[[int], float]  # a number, or a function of the component's training size
Components = tuple[tuple[str, Rate], ...]

PAPER_CAP = 2**16  # FLAMe caps each task at 2^16 examples in its examples-proportional mixture (§4.1)


def examples_proportional(cap: int = PAPER_CAP) -> Callable[[int], float]:
    """Rate ∝ the task's size, capped so that no large task swamps the small ones."""

    def rate(n: int) -> float:
        return float(min(n, cap))

    rate.__name__ = f"examples_proportional(cap={cap})"
    return rate


def temperature(t: float, cap: int = PAPER_CAP) -> Callable[[int], float]:
    """Rate ∝ min(size, cap)^(1/t): t=1 is examples-proportional, larger t moves toward uniform."""
    if t <= 0:
        raise ValueError("temperature must be positive")

    def rate(n: int) -> float:
        return float(min(n, cap)) ** (1.0 / t)

    rate.__name__ = f"temperature(t={t}, cap={cap})"
    return rate


def describe_rate(rate: Rate) -> str:
    return getattr(rate, "__name__", repr(rate)) if callable(rate) else f"{rate:g}"


@dataclass(frozen=True)
class Mixture:
    """``components`` is a tuple of (task or mixture name, rate), or a function returning one (so that a
    mixture like ``flame_v1`` can mean "every training task" whatever modules are installed)."""

    name: str
    components: Components | Callable[[], Components]
    description: str = ""

    def items(self) -> Components:
        comps = self.components() if callable(self.components) else self.components
        return tuple(comps)


MIXTURES: Registry[Mixture] = Registry("mixture")


def register_mixture(mixture: Mixture) -> Mixture:
    return MIXTURES.add(mixture.name, mixture)


def resolve(
    name: str,
    sizes: Callable[[str], int],
    mixtures: Registry[Mixture] = MIXTURES,
    _seen: tuple[str, ...] = (),
) -> dict[str, float]:
    """Flatten a mixture into {task: probability}.

    ``sizes(task)`` gives a task's training size. A nested mixture's own probabilities are scaled by its
    rate; a rate function applied to a nested mixture sees the mixture's total size.
    """
    if name in _seen:
        raise ValueError(f"mixture cycle: {' -> '.join((*_seen, name))}")
    weights: dict[str, float] = {}
    for comp, rate in mixtures.get(name).items():
        if comp in mixtures:
            inner = resolve(comp, sizes, mixtures, (*_seen, name))
            inner_size = sum(sizes(t) for t in inner)
            w = rate(inner_size) if callable(rate) else float(rate)
            for t, p in inner.items():
                weights[t] = weights.get(t, 0.0) + w * p
        else:
            n = sizes(comp)
            w = rate(n) if callable(rate) else float(rate)
            if n == 0:
                w = 0.0  # a task with no training rows cannot be sampled, whatever its rate
            weights[comp] = weights.get(comp, 0.0) + w
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"mixture {name!r} has no training data")
    return {t: w / total for t, w in sorted(weights.items()) if w > 0}


class MixtureSampler:
    """A deterministic stream of (task, row index) draws from a resolved mixture.

    The stream is a pure function of (rates, sizes, seed) and the position: task choices come in blocks
    drawn from ``default_rng([seed, block])`` and each task walks a fresh seeded permutation of its rows
    per epoch. Restarting at position p replays only the cheap task choices of earlier blocks (a bincount
    per block), so a training run resumes exactly where it stopped.
    """

    BLOCK = 4096

    def __init__(self, rates: dict[str, float], sizes: dict[str, int], seed: int = 0, position: int = 0):
        self.tasks = sorted(t for t in rates if sizes.get(t, 0) > 0)
        if not self.tasks:
            raise ValueError("nothing to sample: every task in the mixture is empty")
        p = np.array([rates[t] for t in self.tasks], dtype=np.float64)
        self.probs = p / p.sum()
        self.sizes = np.array([sizes[t] for t in self.tasks], dtype=np.int64)
        self.seed = seed
        self.position = position
        self._counts = self._counts_before(position)

    def _block_choices(self, block: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, block])
        return rng.choice(len(self.tasks), size=self.BLOCK, p=self.probs)

    def _counts_before(self, position: int) -> np.ndarray:
        counts = np.zeros(len(self.tasks), dtype=np.int64)
        full, rest = divmod(position, self.BLOCK)
        for b in range(full):
            counts += np.bincount(self._block_choices(b), minlength=len(self.tasks))
        if rest:
            counts += np.bincount(self._block_choices(full)[:rest], minlength=len(self.tasks))
        return counts

    def _row(self, k: int, count: int) -> int:
        epoch, offset = divmod(count, int(self.sizes[k]))
        perm = np.random.default_rng([self.seed, k, epoch]).permutation(int(self.sizes[k]))
        return int(perm[offset])

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return self

    def __next__(self) -> tuple[str, int]:
        block, offset = divmod(self.position, self.BLOCK)
        if offset == 0 or not hasattr(self, "_block") or self._block_id != block:
            self._block, self._block_id = self._block_choices(block), block
        k = int(self._block[offset])
        row = self._row(k, int(self._counts[k]))
        self._counts[k] += 1
        self.position += 1
        return self.tasks[k], row

    def take(self, n: int) -> list[tuple[str, int]]:
        return [next(self) for _ in range(n)]


def sampled_proportions(draws: Iterable[tuple[str, int]]) -> dict[str, float]:
    counts: dict[str, int] = {}
    total = 0
    for task, _ in draws:
        counts[task] = counts.get(task, 0) + 1
        total += 1
    return {t: c / total for t, c in sorted(counts.items())}
