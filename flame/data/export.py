"""Mixture sizes and export of a mixture's rendered input/target pairs (what training reads)."""

from __future__ import annotations

import json
from pathlib import Path

from flame.data.collection import build_collection, load_task_dataset, task_row_example
from flame.data.hygiene import overlap_report, training_exclusions, training_indices
from flame.data.mixtures import MixtureSampler, resolve
from flame.data.task import load_all_tasks
from flame.format import render_input, render_target


def split_indices(split: str, permissive_only: bool = False, progress: bool = True) -> dict[str, list[int]]:
    """{task: usable row indices of ``split``}. Training rows exclude held-out overlaps and duplicates;
    held-out benchmarks contribute nothing to any training split."""
    tasks = load_all_tasks()
    build_collection(progress=progress)
    exclusions = training_exclusions(overlap_report(progress=progress)) if split == "train" else {}
    out: dict[str, list[int]] = {}
    for task in tasks.values():
        if task.eval_only or (permissive_only and not task.permissive):
            out[task.name] = []
        elif split == "train":
            out[task.name] = training_indices(task, exclusions)
        else:
            splits = load_task_dataset(task)["split"]
            out[task.name] = [i for i, s in enumerate(splits) if s == split]
    return out


def export_mixture(
    mixture: str,
    split: str,
    out: Path,
    limit: int | None = None,
    seed: int = 0,
    permissive_only: bool = False,
) -> int:
    """Write rendered examples of a mixture as JSONL (``task``, ``id``, ``input``, ``target``).

    Without ``limit``: every usable row of every task the mixture samples from. With ``limit``: that many
    draws from the mixture's seeded sampler (the same stream a training run reads).
    """
    tasks = load_all_tasks()
    indices = split_indices(split, permissive_only)
    rates = resolve(mixture, lambda t: len(indices.get(t, ())))
    if limit is None:
        plan = [(t, i) for t in sorted(rates) for i in indices[t]]
    else:
        sizes = {t: len(indices[t]) for t in rates}
        plan = [(t, indices[t][k]) for t, k in MixtureSampler(rates, sizes, seed=seed).take(limit)]
    # Fetch each task's rows in one columnar read: random access to an Arrow row costs milliseconds.
    wanted: dict[str, list[int]] = {}
    for task_name, i in plan:
        wanted.setdefault(task_name, []).append(i)
    rows: dict[tuple[str, int], dict] = {}
    for task_name, idx in wanted.items():
        unique = sorted(set(idx))
        selected = load_task_dataset(tasks.get(task_name)).select(unique).to_list()
        rows.update({(task_name, i): row for i, row in zip(unique, selected, strict=True)})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for task_name, i in plan:
            ex = task_row_example(tasks.get(task_name), rows[(task_name, i)])
            line = {
                "task": ex.task,
                "id": ex.id,
                "split": split,
                "input": render_input(ex),
                "target": render_target(ex),
            }
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.rename(out)
    return len(plan)
