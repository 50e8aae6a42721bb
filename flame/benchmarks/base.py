"""A benchmark: named evaluation data (registered tasks or a file) plus how its subsets aggregate.

One small unit per benchmark (lm-evaluation-harness's habit). A benchmark is built over *tasks selected
by dataset folder and task type* rather than over hard-coded task names, so a task added to a dataset
joins its benchmark, and a benchmark that selects nothing fails loudly instead of scoring zero rows.

A benchmark carries its own aggregation: ``aggregate`` turns its subsets' values of a metric into the
benchmark's value, and ``sections`` name groups of subsets reported with values of their own. The
evaluation harness calls both and never asks which benchmark it is scoring.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame.errors import FlameError
from flame.jsonio import JsonTextError, parse_json, read_jsonl
from flame.registry import Registry
from flame.types import Example, TaskType

# The paper evaluates 256 random examples per task (§5); a model rater needs about a second per judgment.
DEFAULT_LIMIT = 256

# Subset name → a metric's value on that subset, in; the aggregate's value, out.
Aggregate = Callable[[Mapping[str, float]], float]


def mean_of_subsets(values: Mapping[str, float]) -> float:
    """The unweighted mean over subsets, undefined (NaN) subsets skipped: SummaC's four subsets, SummEval's
    four aspects, LLM-AggreFact's datasets each count once, whatever their sizes."""
    vals = [v for v in values.values() if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


@dataclass(frozen=True)
class Section:
    """A named group of a benchmark's subsets, reported with its own value (RewardBench's Chat, Safety ...).

    ``aggregate`` gets the values of the section's subsets that were loaded (never an absent one).
    """

    name: str
    subsets: tuple[str, ...]
    aggregate: Aggregate = mean_of_subsets


class EmptyBenchmarkError(FlameError, ValueError):
    """A benchmark (or file) with no usable rows: a clear error, never a silent zero."""


@dataclass
class Subset:
    """The rows of one benchmark subset (a task, or a file's ``subset`` value) and where they came from."""

    name: str
    task: str
    task_type: TaskType
    examples: list[Example]
    available: int  # rows before the cap

    @property
    def labels(self) -> tuple[str, ...] | None:
        return self.examples[0].labels if self.examples else None


@dataclass
class BenchmarkData:
    benchmark: Benchmark
    subsets: list[Subset]
    problems: list[str] = field(default_factory=list)  # "file:line: reason" for malformed rows
    n_problems: int = 0
    source: str = ""

    @property
    def n(self) -> int:
        return sum(len(s.examples) for s in self.subsets)

    def sizes(self) -> dict[str, int]:
        return {s.name: len(s.examples) for s in self.subsets}


@dataclass(frozen=True)
class Benchmark:
    """What to load and how to aggregate it.

    ``group``: the suite mean this benchmark joins ("pairwise mean"); None: it stands alone.
    ``aggregate``: the subsets' values of a metric → the benchmark's value (default: their unweighted
    mean; RewardBench: its official section weighting); None pools every row into one table (a file,
    whose ``subset`` values label rows rather than strata to average). ``sections``: groups of subsets
    reported apart, each with its own aggregate. ``scored_whole``: the default cap (``DEFAULT_LIMIT``)
    does not apply, only an explicit limit does (RewardBench: the paper scores it whole).
    ``binarize`` maps a task's labels onto a binary space (WiCE: supported vs. not), ``binary_labels``
    names that space. ``human`` holds known human ceilings, metric → value, shown beside the raters.
    """

    name: str
    description: str
    task_type: TaskType
    group: str | None
    primary: str
    datasets: tuple[str, ...] = ()
    split: str = "test"
    aggregate: Aggregate | None = mean_of_subsets
    sections: tuple[Section, ...] = ()
    scored_whole: bool = False
    binarize: dict[str, str] | None = None
    binary_labels: tuple[str, ...] | None = None
    human: dict[str, float] | None = None
    human_note: str = ""
    version: str = "v1"
    loader: Callable[..., BenchmarkData] | None = None
    eval_only: bool = True

    def rows_per_subset(self, limit: int | None = None, full: bool = False) -> int | None:
        """The cap on each subset (None: every row). ``full`` lifts every cap; an explicit ``limit`` caps
        every benchmark alike; with neither, ``DEFAULT_LIMIT`` applies unless the benchmark is scored whole.
        """
        if full:
            return None
        if limit is not None:
            return limit
        return None if self.scored_whole else DEFAULT_LIMIT

    def task_names(self) -> list[str]:
        """The registered tasks this benchmark covers (by dataset folder and task type)."""
        from flame.data.task import load_all_tasks

        tasks = load_all_tasks()
        return [
            t.name
            for t in tasks.values()
            if t.dataset in self.datasets
            and t.task_type == self.task_type
            and t.eval_only == self.eval_only
            and t.derived_from is None  # derived pairs are the dataset's pointwise judgments again
        ]

    def load(self, limit: int | None = DEFAULT_LIMIT, seed: int = 0) -> BenchmarkData:
        """Every subset, each capped at ``limit`` seeded examples (None: all)."""
        if self.loader is not None:
            data = self.loader(self, limit=limit, seed=seed)
        else:
            data = self._load_tasks(limit, seed)
        if not data.subsets or data.n == 0:
            what = data.source or ", ".join(self.datasets) or self.name
            raise EmptyBenchmarkError(
                f"benchmark {self.name!r} has no usable rows ({what}"
                + (f"; {data.n_problems} malformed rows" if data.n_problems else "")
                + ")"
            )
        return data

    def _load_tasks(self, limit: int | None, seed: int) -> BenchmarkData:
        from flame.data.collection import load_examples

        names = self.task_names()
        if not names:
            raise EmptyBenchmarkError(
                f"benchmark {self.name!r} selects no registered task (datasets {list(self.datasets)}, "
                f"type {self.task_type}, eval_only={self.eval_only})"
            )
        subsets = []
        for name in names:
            everything = load_examples(name, self.split)
            examples = cap(everything, limit, seed)
            subsets.append(
                Subset(subset_name(name, self.datasets), name, self.task_type, examples, len(everything))
            )
        return BenchmarkData(self, [s for s in subsets if s.examples], source=", ".join(names))


def subset_name(task: str, datasets: tuple[str, ...]) -> str:
    """``summac_benchmark_factcc_consistency_classification_v1`` → ``factcc_consistency``: the task name
    less its dataset prefix, type and version (the whole name when nothing is left)."""
    short = task
    for d in sorted(datasets, key=len, reverse=True):
        if short.startswith(d + "_"):
            short = short[len(d) + 1 :]
            break
    for suffix in ("_v1", "_v2", "_v3"):
        short = short.removesuffix(suffix)
    for kind in ("_pairwise", "_pointwise", "_classification", "_generative"):
        short = short.removesuffix(kind)
    return short or task


def cap(examples: list[Example], limit: int | None, seed: int) -> list[Example]:
    """A seeded random subset of ``limit`` rows, kept in stored order (all rows when limit is None)."""
    if limit is None or limit >= len(examples):
        return list(examples)
    keep = sorted(random.Random(seed).sample(range(len(examples)), limit))
    return [examples[i] for i in keep]


def split_by_subset(
    examples: list[Example], limit: int | None, seed: int, task: str, default: str = "all"
) -> list[Subset]:
    """Group a file's examples by ``metadata["subset"]`` (one ``default`` subset when absent), each capped."""
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(str(ex.metadata.get("subset") or default), []).append(ex)
    return [
        Subset(name, task, rows[0].task_type, cap(rows, limit, seed), len(rows))
        for name, rows in sorted(groups.items())
    ]


def file_benchmark(path: str | Path, name: str | None = None, format: str | None = None) -> Benchmark:
    """Any benchmark JSONL file (``flame.data.files`` layout) as a pooled benchmark.

    The format is detected from the rows; subsets come from the rows' ``subset`` field.
    """
    from flame.data.files import load_benchmark_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such benchmark file: {path}")
    loaded = load_benchmark_file(path, format=format)
    task_type = TaskType(loaded.format) if loaded.format in {t.value for t in TaskType} else TaskType.PAIRWISE
    primary = {
        TaskType.PAIRWISE: "accuracy",
        TaskType.CLASSIFICATION: "accuracy",
        TaskType.POINTWISE: "spearman",
    }[task_type]

    def load(bench: Benchmark, limit: int | None, seed: int) -> BenchmarkData:
        subsets = split_by_subset(loaded.examples, limit, seed, f"file:{path.name}")
        return BenchmarkData(bench, subsets, list(loaded.problems), len(loaded.problems), source=str(path))

    return Benchmark(
        name=name or path.name.split(".")[0],
        description=f"benchmark file {path}",
        task_type=task_type,
        group=None,  # several files are several experiments: never averaged into one figure
        primary=primary,
        aggregate=None,
        loader=load,
        version=f"file:{_file_digest(path)}",
    )


def _file_digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")
SUITES: Registry[tuple[str, ...] | Callable[[], list[str]]] = Registry("suite")


def register_benchmark(bench: Benchmark) -> Benchmark:
    return BENCHMARKS.add(bench.name, bench)


def aggregate_name(fn: Aggregate | None) -> str:
    """What results.json records for an aggregate: ``pooled``, or the function's dotted path."""
    if fn is None:
        return "pooled"
    return f"{fn.__module__}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def describe(bench: Benchmark) -> dict[str, Any]:
    return {
        "name": bench.name,
        "version": bench.version,
        "type": str(bench.task_type),
        "group": bench.group,
        "primary": bench.primary,
        "aggregate": aggregate_name(bench.aggregate),
        "sections": [
            {"name": s.name, "subsets": list(s.subsets), "aggregate": aggregate_name(s.aggregate)}
            for s in bench.sections
        ],
        "scored_whole": bench.scored_whole,
        "datasets": list(bench.datasets),
        "split": bench.split,
        "binarize": bench.binarize,
        "human": bench.human,
        "description": bench.description,
    }


# ------------------------------------------------------------------ published benchmark files


def read_rows(path: Path) -> tuple[list[tuple[int, Any]], list[str]]:
    """(line or row number, object) for every row; unreadable lines become problems."""
    problems: list[str] = []
    suffixes = "".join(path.suffixes[-2:])
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(enumerate(pq.read_table(path).to_pylist(), start=1)), problems
    if path.suffix == ".json" and not suffixes.endswith(".jsonl"):
        try:
            data = parse_json(path.read_bytes())
        except JsonTextError as e:
            return [], [f"{path}: {e}"]
        if isinstance(data, dict):
            data = data.get("data") or data.get("rows") or list(data.values())
        if not isinstance(data, list):
            return [], [f"{path}: expected a list of rows, got {type(data).__name__}"]
        return list(enumerate(data, start=1)), problems
    rows = []
    for line in read_jsonl(path):
        if line.problem is not None:
            problems.append(f"{path}:{line.lineno}: {line.problem}")
        else:
            rows.append((line.lineno, line.value))
    return rows, problems


def read_file_or_hub(
    path: str | Path | None, hub_id: str, split: str, name: str, option: str, columns: str
) -> tuple[list[tuple[int, Any]], list[str], str]:
    """(row number, object) pairs, problems and a source label, from a local copy of a published benchmark
    or, when no path is given, from the Hugging Face Hub (for users who are online)."""
    if path is None:
        import datasets

        try:
            ds = datasets.load_dataset(hub_id, split=split)
        except Exception as e:  # no network, no cache: say how to give a local copy
            raise EmptyBenchmarkError(
                f"{name} is not available from the hub ({type(e).__name__}); pass a local copy as "
                f"--benchmark {option}=PATH (JSON, JSONL or Parquet with {columns})"
            ) from None
        return list(enumerate(ds, start=1)), [], f"hub:{hub_id}"
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such {name} file: {p}")
    rows, problems = read_rows(p)
    return rows, problems, str(p)
