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

from flame.types import Example


class ContaminationError(RuntimeError):
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


@dataclass(frozen=True)
class _TaskRef:
    name: str
    dataset: str
    eval_only: bool


def find_overlap(
    benchmark: str,
    examples: Iterable[Example],
    training: Iterable[tuple[str, str, Example]],
    **index_options: Any,
) -> tuple[int, list[tuple[str, str]]]:
    """(benchmark rows sharing text with a training row, a few (benchmark id, training task/id) pairs).

    ``training`` yields (task, dataset, example). Pure: everything is passed in.
    """
    from flame.data.decontam import DocRef, OverlapIndex

    index = OverlapIndex(**index_options)
    bench_dataset = f"benchmark:{benchmark}"
    for ex in examples:
        for name, text in ex.inputs.items():
            index.add(DocRef(f"{bench_dataset}/{ex.task}", bench_dataset, ex.id, name, True), text)
    for task, dataset, ex in training:
        for name, text in ex.inputs.items():
            index.add(DocRef(task, dataset, ex.id, name, False), text)
    report = index.finish()
    rows = 0
    samples: list[tuple[str, str]] = []
    for pair in report.pairs:
        a_bench, b_bench = pair.a.startswith(bench_dataset), pair.b.startswith(bench_dataset)
        if a_bench == b_bench:
            continue
        rows += pair.rows_a if a_bench else pair.rows_b
        for x, y in pair.examples[:3]:
            samples.append((x, f"{pair.b}/{y}") if a_bench else (y, f"{pair.a}/{x}"))
    return rows, samples


def _run_training_rows(tasks: list[str]) -> Iterator[tuple[str, str, Example]]:
    """Train-split rows of the run's tasks, less the rows collection hygiene keeps out of training."""
    from flame.data.collection import load_task_dataset, row_to_example
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
        ds = load_task_dataset(task)
        removed = excluded.get(name, set())
        for i, (split, eid) in enumerate(zip(ds["split"], ds["id"], strict=True)):
            if split == "train" and eid not in removed:
                yield name, task.dataset, row_to_example(task, ds[i])


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
    rows_source = list(training) if training is not None else list(_run_training_rows(tasks))
    for d in data:
        examples = [ex for s in d.subsets for ex in s.examples]
        rows, samples = find_overlap(d.benchmark.name, examples, rows_source)
        if rows:
            findings.append(
                Finding(
                    rater_spec,
                    d.benchmark.name,
                    "prompt",
                    rows,
                    f"{rows} benchmark rows share text with the rater's training data",
                    [list(s) for s in samples[:5]],
                )
            )
    return findings
