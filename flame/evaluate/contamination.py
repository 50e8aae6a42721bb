"""Contamination guard: refuse to score a benchmark whose prompts overlap the rater's training data.

A ``run:RUN_DIR`` rater records what it was trained on (``RUN_DIR/run.json``: ``tasks``, ``mixture``).
Two checks, both before any judgment is spent:

* task level: an evaluation-only benchmark task that the run trained on is contaminated outright;
* prompt level: the benchmark's input texts against the run's training rows, with the foundation
  issue's overlap check (``flame.data.decontam``: exact and 13-gram matches across datasets). Training
  rows that the collection hygiene already removed from training are not counted.

Raters without a recorded run (baselines, hub models, APIs) have nothing to check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame.errors import FlameError
from flame.types import Example


class ContaminationError(FlameError, RuntimeError):
    """Evaluation refused: a benchmark overlaps the rater's training data (use --allow-overlap to flag)."""


@dataclass
class Finding:
    rater: str
    benchmark: str
    kind: str  # "task" or "prompt"
    rows: int
    detail: str
    examples: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rater": self.rater,
            "benchmark": self.benchmark,
            "kind": self.kind,
            "rows": self.rows,
            "detail": self.detail,
            "examples": self.examples,
        }


def run_dir_of(spec: str) -> Path | None:
    return Path(spec[len("run:") :]).expanduser() if spec.startswith("run:") else None


def training_tasks(run_dir: Path) -> list[str]:
    meta = run_dir / "run.json"
    if not meta.exists():
        return []
    return list(json.loads(meta.read_text()).get("tasks") or [])


BENCH_PREFIX = "benchmark:"


def find_overlaps(
    benchmarks: dict[str, list[Example]],
    training: Iterable[tuple[str, str, Example]],
    **index_options: Any,
) -> dict[str, tuple[int, list[tuple[str, str]]]]:
    """Per benchmark: (rows sharing text with a training row, a few (benchmark id, training task/id) pairs).

    One index holds every benchmark and the training rows once: the training side (a quarter of a million
    rows for a FLAMe run) is the expensive part, so it is never indexed per benchmark. Overlaps between two
    benchmarks are not contamination and are ignored. ``training`` yields (task, dataset, example). Pure.
    """
    from flame.data.decontam import DocRef, OverlapIndex

    index = OverlapIndex(**index_options)
    for name, examples in benchmarks.items():
        dataset = f"{BENCH_PREFIX}{name}"
        for ex in examples:
            for field_name, text in ex.inputs.items():
                index.add(DocRef(f"{dataset}/{ex.task}", dataset, ex.id, field_name, True), text)
    for task, dataset, ex in training:
        for field_name, text in ex.inputs.items():
            index.add(DocRef(task, dataset, ex.id, field_name, False), text)
    report = index.finish()
    found: dict[str, tuple[int, list[tuple[str, str]]]] = {name: (0, []) for name in benchmarks}
    for pair in report.pairs:
        a_bench, b_bench = pair.a.startswith(BENCH_PREFIX), pair.b.startswith(BENCH_PREFIX)
        if a_bench == b_bench:
            continue
        bench_task = pair.a if a_bench else pair.b
        name = bench_task[len(BENCH_PREFIX) :].split("/", 1)[0]
        rows, samples = found[name]
        rows += pair.rows_a if a_bench else pair.rows_b
        for x, y in pair.examples[:3]:
            samples.append((x, f"{pair.b}/{y}") if a_bench else (y, f"{pair.a}/{x}"))
        found[name] = (rows, samples)
    return found


def find_overlap(
    benchmark: str,
    examples: Iterable[Example],
    training: Iterable[tuple[str, str, Example]],
    **index_options: Any,
) -> tuple[int, list[tuple[str, str]]]:
    """One benchmark's (overlapping rows, sample pairs); see ``find_overlaps``."""
    return find_overlaps({benchmark: list(examples)}, training, **index_options)[benchmark]


ROW_COLUMNS = ("split", "id", "inputs", "targets", "metadata")


def _run_training_rows(tasks: list[str]) -> Iterator[tuple[str, str, Example]]:
    """Train-split rows of the run's tasks, less the rows collection hygiene keeps out of training."""
    from flame.data.collection import load_task_dataset, task_row_example
    from flame.data.task import load_all_tasks

    registry = load_all_tasks()
    try:
        from flame.data.hygiene import training_exclusions

        excluded = training_exclusions()
    except Exception:  # no overlap report yet: count every train row (stricter, never laxer)
        excluded = {}
    for name in tasks:
        if name not in registry:
            continue
        task = registry.get(name)
        removed = excluded.get(name, set())
        # Whole columns at once: a row-by-row read of a quarter of a million rows costs a minute.
        columns = load_task_dataset(task).select_columns(list(ROW_COLUMNS)).to_dict()
        for values in zip(*(columns[c] for c in ROW_COLUMNS), strict=True):
            row = dict(zip(ROW_COLUMNS, values, strict=True))
            if row["split"] == "train" and row["id"] not in removed:
                yield name, task.dataset, task_row_example(task, row)


def check(
    rater_spec: str,
    data: Iterable[Any],
    training: Iterable[tuple[str, str, Example]] | None = None,
) -> list[Finding]:
    """Findings for one rater over loaded benchmarks (``BenchmarkData``); empty when nothing overlaps."""
    run_dir = run_dir_of(rater_spec)
    if run_dir is None and training is None:
        return []
    tasks = training_tasks(run_dir) if run_dir is not None else []
    findings: list[Finding] = []
    data = list(data)
    for d in data:
        trained = sorted({s.task for s in d.subsets if s.task in tasks and d.benchmark.eval_only})
        if trained and d.benchmark.split == "test":
            findings.append(
                Finding(
                    rater_spec,
                    d.benchmark.name,
                    "task",
                    sum(len(s.examples) for s in d.subsets if s.task in trained),
                    f"the run trained on evaluation tasks {trained}",
                )
            )
    if training is None and not tasks:
        return findings
    rows_source = training if training is not None else _run_training_rows(tasks)
    benchmarks = {d.benchmark.name: [ex for s in d.subsets for ex in s.examples] for d in data}
    for name, (rows, samples) in find_overlaps(benchmarks, rows_source).items():
        if rows:
            findings.append(
                Finding(
                    rater_spec,
                    name,
                    "prompt",
                    rows,
                    f"{rows} benchmark rows share text with the rater's training data",
                    [list(s) for s in samples[:5]],
                )
            )
    return findings
