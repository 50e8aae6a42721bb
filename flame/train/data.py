"""The training stream: a named mixture (plus users' benchmark files) → seeded, resumable, length-bucketed batches.

``TrainingData`` knows every task the run samples from and how to fetch row k of each: registered tasks
read their memory-mapped Arrow rows (the usable train rows, decontaminated), benchmark files are held in
memory. ``BatchStream`` draws a pool of ``bucket_batches`` global batches from the mixture's
``MixtureSampler``, sorts the pool by length, cuts it into batches and visits them in a seeded order.
Its whole state is three integers (sampler position at the pool's start, pool number, next batch), so a
resumed run sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flame.data.mixtures import MIXTURES, Mixture, MixtureSampler, resolve
from flame.data.task import load_all_tasks
from flame.registry import UnknownNameError
from flame.train.config import ConfigError, DataConfig
from flame.types import Example


def is_mixture_file(name: str) -> bool:
    return name.endswith((".json", ".yaml", ".yml"))


def register_mixture_file(path: str | Path) -> str:
    """Register the mixture a ``flame tailpatch`` run wrote (``{"name", "components": [[task, weight]]}``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data.mixture: mixture file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        spec = json.loads(text)
    else:
        import yaml

        spec = yaml.safe_load(text)
    try:
        name = spec["name"]
        components = tuple((str(t), float(w)) for t, w in spec["components"])
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(
            f"{path}: not a mixture file (need name and components [[task, weight], ...]): {e}"
        ) from None
    if name in MIXTURES:
        if MIXTURES.get(name).items() != components:
            raise ConfigError(f"{path}: mixture {name!r} is already registered with other components")
    else:
        MIXTURES.add(name, Mixture(name, components, description=spec.get("description", f"from {path}")))
    return name


def check_data(cfg: DataConfig) -> None:
    """Names and paths only (no data is read): an unknown mixture, task or file fails here."""
    tasks = load_all_tasks()
    if cfg.mixture:
        name = register_mixture_file(cfg.mixture) if is_mixture_file(cfg.mixture) else cfg.mixture
        try:
            MIXTURES.get(name)
        except UnknownNameError as e:
            raise ConfigError(f"data.mixture: {e}") from None
    for t in cfg.tasks:
        try:
            tasks.get(t)
        except UnknownNameError as e:
            raise ConfigError(f"data.tasks: {e}") from None
    for f in cfg.files:
        if not Path(f).is_file():
            raise ConfigError(f"data.files: {f} does not exist")
    if not cfg.mixture and not cfg.tasks and not cfg.files:
        raise ConfigError("no training data: set data.mixture, data.tasks or data.files")


@dataclass
class TrainingData:
    rates: dict[str, float]  # task → sampling probability
    sizes: dict[str, int]  # task → usable rows
    indices: dict[str, list[int]] = field(default_factory=dict)  # registered task → Arrow row indices
    file_examples: dict[str, list[Example]] = field(default_factory=dict)
    label_weights: dict[str, dict[str, float]] = field(default_factory=dict)  # task → label → loss weight
    _datasets: dict[str, Any] = field(default_factory=dict, repr=False)

    def weight(self, ex: Example) -> float:
        return self.label_weights.get(ex.task, {}).get(str(ex.answer), 1.0)

    @property
    def tasks(self) -> list[str]:
        return sorted(self.rates)

    def example(self, task: str, k: int) -> Example:
        if task in self.file_examples:
            return self.file_examples[task][k]
        from flame.data.collection import load_task_dataset, task_row_example

        t = load_all_tasks().get(task)
        if task not in self._datasets:
            self._datasets[task] = load_task_dataset(t)
        return task_row_example(t, self._datasets[task][self.indices[task][k]])

    def summary(self) -> dict[str, Any]:
        return {t: {"rate": round(self.rates[t], 6), "rows": self.sizes[t]} for t in self.tasks}


def _usable_indices(cfg: DataConfig, progress: bool):
    """task → usable train row indices, computed on first use (the overlap report once, if needed)."""
    from flame.data.collection import load_task_dataset
    from flame.data.hygiene import overlap_report, training_exclusions, training_indices

    tasks = load_all_tasks()
    cache: dict[str, list[int]] = {}
    exclusions: dict[str, set[str]] | None = None

    def get(name: str) -> list[int]:
        nonlocal exclusions
        if name not in cache:
            task = tasks.get(name)
            if task.eval_only or (cfg.permissive_only and not task.permissive):
                cache[name] = []
            elif cfg.decontaminate:
                if exclusions is None:
                    exclusions = training_exclusions(overlap_report(progress=progress))
                cache[name] = training_indices(task, exclusions)
            else:
                splits = load_task_dataset(task)["split"]
                cache[name] = [i for i, s in enumerate(splits) if s == "train"]
        return cache[name]

    return get


def load_files(paths: list[str]) -> dict[str, list[Example]]:
    """Benchmark-format files as tasks named ``file:<stem>``; unlabeled rows cannot be trained on."""
    from flame.data.files import load_benchmark_file

    out: dict[str, list[Example]] = {}
    for p in paths:
        loaded = load_benchmark_file(p)
        examples = [e for e in loaded.examples if e.answer is not None]
        if not examples:
            raise ConfigError(f"data.files: {p} has no labeled rows ({len(loaded.problems)} problems)")
        name = examples[0].task
        while name in out:
            name += "+"
        out[name] = examples
    return out


def build_training_data(cfg: DataConfig, progress: bool = True) -> TrainingData:
    """Resolve the mixture, the extra tasks and the files into sampling rates over usable rows."""
    check_data(cfg)
    usable = _usable_indices(cfg, progress)
    rates: dict[str, float] = {}
    mass = 0.0  # the mixture's examples-proportional mass, to weigh files against it
    if cfg.mixture:
        name = register_mixture_file(cfg.mixture) if is_mixture_file(cfg.mixture) else cfg.mixture
        try:
            rates = resolve(name, lambda t: len(usable(t)))
        except UnknownNameError as e:
            raise ConfigError(f"data.mixture {name}: {e}") from None
        mass = sum(min(len(usable(t)), cfg.cap) for t in rates)
    elif cfg.tasks:
        raw = {t: float(min(len(usable(t)), cfg.cap)) for t in cfg.tasks}
        total = sum(raw.values())
        if total <= 0:
            raise ConfigError(f"data.tasks {cfg.tasks}: no usable training rows")
        rates = {t: w / total for t, w in raw.items() if w > 0}
        mass = total
    files = load_files(cfg.files) if cfg.files else {}
    if files:
        raw = {t: float(min(len(ex), cfg.cap)) for t, ex in files.items()}
        share = (
            cfg.files_rate if cfg.files_rate is not None else sum(raw.values()) / (sum(raw.values()) + mass)
        )
        if not rates:
            share = 1.0
        rates = {t: p * (1 - share) for t, p in rates.items()}
        total = sum(raw.values())
        rates.update({t: share * w / total for t, w in raw.items()})
    sizes = {t: len(files[t]) if t in files else len(usable(t)) for t in rates}
    rates = {t: p for t, p in rates.items() if p > 0 and sizes[t] > 0}
    if not rates:
        raise ConfigError("the training data is empty")
    data = TrainingData(
        rates=rates,
        sizes={t: sizes[t] for t in rates},
        indices={t: usable(t) for t in rates if t not in files},
        file_examples=files,
    )
    if cfg.balance_labels:
        data.label_weights = _label_weights(data, cfg.balance_cap)
    return data


def inverse_frequency_weights(labels: list[str], cap: float) -> dict[str, float]:
    """label → weight ∝ 1 / frequency, scaled so the weights average 1 over ``labels``, capped at ``cap``.

    Pure. Every label then carries the same total weight (before the cap)."""
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    if len(counts) < 2:
        return {lab: 1.0 for lab in counts}
    n, k = len(labels), len(counts)
    return {lab: min(cap, n / (k * c)) for lab, c in sorted(counts.items())}


def _label_weights(data: TrainingData, cap: float) -> dict[str, dict[str, float]]:
    """Inverse-frequency weights of every classification task's training labels."""
    from flame.data.collection import load_task_dataset

    tasks = load_all_tasks()
    out: dict[str, dict[str, float]] = {}
    for name in data.tasks:
        if name in data.file_examples:
            examples = data.file_examples[name]
            if examples and examples[0].task_type == "classification":
                out[name] = inverse_frequency_weights([str(e.answer) for e in examples], cap)
            continue
        if tasks.get(name).task_type != "classification":
            continue
        column = load_task_dataset(name)["targets"]
        labels = [str(json.loads(column[i]).get("answer")) for i in data.indices[name]]
        out[name] = inverse_frequency_weights(labels, cap)
    return out


@dataclass
class StreamState:
    pool_start: int = 0  # sampler position where the current pool begins
    pool: int = 0  # pools drawn so far (seeds the batch order)
    next: int = 0  # next batch of the current pool

    def to_dict(self) -> dict[str, int]:
        return {"pool_start": self.pool_start, "pool": self.pool, "next": self.next}


class BatchStream:
    """Global batches of encoded examples, length-bucketed within pools, resumable from ``state``."""

    def __init__(
        self,
        data: TrainingData,
        encode,
        batch_size: int,
        bucket_batches: int,
        seed: int,
        state=None,
        swap_pairs: bool = False,
    ):
        self.data = data
        self.swap_pairs = swap_pairs
        self.encode = encode
        self.batch_size = batch_size
        self.bucket_batches = bucket_batches
        self.seed = seed
        self.state = StreamState(**(state or {}))
        self._pool: list[list] | None = None
        self._order: np.ndarray | None = None

    def _fill(self) -> None:
        sampler = MixtureSampler(
            self.data.rates, self.data.sizes, seed=self.seed, position=self.state.pool_start
        )
        groups = self._draw_groups(sampler, self.batch_size * self.bucket_batches)
        if self.bucket_batches > 1:  # sort by length (stable: ties keep draw order; twins stay adjacent)
            groups = sorted(groups, key=lambda g: max(e.n_tokens for e in g))
        encoded = [e for g in groups for e in g][: self.batch_size * self.bucket_batches]
        self._pool = [encoded[i : i + self.batch_size] for i in range(0, len(encoded), self.batch_size)]
        rng = np.random.default_rng([self.seed, self.state.pool, 0xB0C])
        self._order = (
            rng.permutation(len(self._pool)) if self.bucket_batches > 1 else np.arange(len(self._pool))
        )
        self._next_pool_start = sampler.position

    def _draw_groups(self, sampler: MixtureSampler, n: int) -> list[list]:
        """Draw until the pool holds ``n`` sequences: one per draw, two for a pairwise draw when
        ``swap_pairs`` (the example and its A/B twin). A twin cut off at the pool's end is simply dropped;
        the sampler position after the pool is what a resumed run restarts from, so it sees the same pool."""
        from flame.raters.base import can_swap, swap_example

        groups: list[list] = []
        size = 0
        while size < n:
            ex = self.data.example(*next(sampler))
            group = [ex, swap_example(ex)] if self.swap_pairs and can_swap(ex) else [ex]
            encoded = [self.encode(e) for e in group]
            for e, enc in zip(group, encoded, strict=True):
                enc.weight = self.data.weight(e)
            groups.append(encoded)
            size += len(group)
        return groups

    def next_batch(self) -> list:
        if self._pool is None:
            self._fill()
        if self.state.next >= len(self._pool):
            self.state = StreamState(pool_start=self._next_pool_start, pool=self.state.pool + 1, next=0)
            self._fill()
        batch = self._pool[self._order[self.state.next]]
        self.state.next += 1
        # Longest first within a batch: micro-batches of neighbours pad little.
        return sorted(batch, key=lambda e: -e.n_tokens)
