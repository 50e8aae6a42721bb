"""What the collection holds: per-task listing records and counts by type and capability (paper Figs. 3-4)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from flame.data.collection import TaskBuild
from flame.data.task import Task
from flame.types import CAPABILITIES, TaskType


def task_record(task: Task, build: TaskBuild | None) -> dict[str, Any]:
    """One entry of ``flame tasks list --json``."""
    return {
        "name": task.name,
        "dataset": task.dataset,
        "type": str(task.task_type),
        "capability": task.capability,
        "license": task.license,
        "permissive": task.permissive,
        "eval_only": task.eval_only,
        "labels": list(task.labels) if task.labels else None,
        "rows": dict(build.rows) if build else None,
        "skipped": {"bad": build.bad, "unlabeled": build.unlabeled} if build else None,
        "hub": task.hub.path if task.hub else None,
        "reference": task.reference,
        "derived_from": task.derived_from,
    }


def counts(
    records: list[dict[str, Any]], key: str, include_eval_only: bool = False
) -> dict[str, dict[str, int]]:
    """Tasks and judgments per value of ``key`` (``type`` or ``capability``). Derived tasks are left out:
    their rows repeat their source's judgments (``derived_rows`` lists them)."""
    tasks: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    for r in records:
        if (r["eval_only"] and not include_eval_only) or r.get("derived_from"):
            continue
        tasks[r[key]] += 1
        rows[r[key]] += sum((r["rows"] or {}).values())
    order = [str(t) for t in TaskType] if key == "type" else list(CAPABILITIES)
    return {k: {"tasks": tasks[k], "rows": rows[k]} for k in order}


DERIVED_COLUMNS = ("task", "from", "prompts", "pairs", "ties skipped", "capped", "dropped copies")


def derived_rows(stats: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Table rows of derived tasks' counts (``flame.data.pairs.derived_stats``), train/dev/test per cell."""

    def splits(d: dict[str, int]) -> str:
        return "/".join(str(d[s]) for s in ("train", "dev", "test"))

    return [
        (
            s["task"],
            s["source"],
            splits(s["prompts"]),
            splits(s["pairs"]),
            splits(s["ties"]),
            splits(s["capped"]),
            str(sum(s["identical"].values()) + sum(s["conflicting"].values())),
        )
        for s in stats
    ]


def plot_counts(records: list[dict[str, Any]], path: Path) -> Path:
    """A two-panel bar chart of training judgments by task type and by capability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in zip(axes, ("type", "capability"), ("by task type", "by capability"), strict=True):
        data = counts(records, key)
        names = list(data)
        rows = [data[n]["rows"] for n in names]
        bars = ax.bar(names, rows, color="#d9622b")
        for bar, n in zip(bars, names, strict=True):
            ax.annotate(
                f"{data[n]['tasks']} tasks",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_title(f"Training judgments {title}")
        ax.set_ylabel("rows")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
