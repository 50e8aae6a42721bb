"""Collection hygiene: the overlap report over every built task, and the training rows it removes.

Held-out benchmarks are whole datasets never trained on; on top of that, every training row whose
prompt or document overlaps a held-out benchmark row is removed from training, and training rows that
duplicate another training dataset are kept once (see ``flame.data.decontam``). A derived task (pairs of a
pointwise task's rows, ``flame.data.pairs``) is not indexed: its texts are its source's, and a pair is removed
exactly when one of its two source rows is.
"""

from __future__ import annotations

import json
from pathlib import Path

from flame.data.collection import build_collection, load_task_dataset
from flame.data.decontam import DocRef, OverlapIndex, OverlapReport
from flame.data.paths import cache_dir
from flame.data.preprocess import stable_int_hash
from flame.data.task import Task, load_all_tasks


def _report_path(builds) -> Path:
    key = stable_int_hash("\x00".join(f"{n}:{b.fingerprint}" for n, b in sorted(builds.items())))
    return cache_dir() / "collection" / "_overlap" / f"{key:016x}.json"


def overlap_report(
    tasks: list[Task] | None = None, progress: bool = True, force: bool = False
) -> OverlapReport:
    """The overlap report of the whole collection (cached until any task changes)."""
    import json as _json

    tasks = tasks if tasks is not None else load_all_tasks().values()
    # Derived tasks stay out of the index (and of its cache key): their rows are their sources' texts, so the
    # report, and what it removes from every other task, is the same with or without them.
    tasks = [t for t in tasks if t.derived_from is None]
    builds = build_collection(tasks, progress=progress)
    path = _report_path(builds)
    if path.exists() and not force:
        return OverlapReport.from_json(path.read_text())
    index = OverlapIndex()
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        job = bar.add_task("indexing prompts and documents", total=len(tasks))
    try:
        for task in tasks:
            ds = load_task_dataset(task)
            for example_id, inputs in zip(ds["id"], ds["inputs"], strict=True):
                for field, text in _json.loads(inputs).items():
                    index.add(DocRef(task.name, task.dataset, example_id, field, task.eval_only), text)
            if bar:
                bar.advance(job)
    finally:
        if bar:
            bar.stop()
    report = index.finish()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.to_json())
    return report


def training_exclusions(report: OverlapReport | None = None) -> dict[str, set[str]]:
    """{training task: example ids removed from training} (overlaps with held-out rows, duplicates); a derived
    task's pairs that use a removed row of its source are removed with it."""
    from flame.data.pairs import derived_exclusions

    report = report or overlap_report(progress=False)
    out: dict[str, set[str]] = {}
    for task, example_id in (*report.contaminated, *report.duplicates):
        out.setdefault(task, set()).add(example_id)
    for task in load_all_tasks().values():
        if task.derived_from in out:
            removed = derived_exclusions(task, out[task.derived_from])
            if removed:
                out[task.name] = removed
    return out


def save_exclusions(path: Path, exclusions: dict[str, set[str]]) -> None:
    path.write_text(json.dumps({t: sorted(ids) for t, ids in sorted(exclusions.items())}, indent=1))


def training_indices(task: Task, exclusions: dict[str, set[str]]) -> list[int]:
    """Row indices of a task's train split that training may use (held-out overlaps removed)."""
    if task.eval_only:
        return []
    ds = load_task_dataset(task)
    removed = exclusions.get(task.name, set())
    return [
        i
        for i, (s, eid) in enumerate(zip(ds["split"], ds["id"], strict=True))
        if s == "train" and eid not in removed
    ]
