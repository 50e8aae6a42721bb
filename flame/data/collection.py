"""The built collection: every task's rows, converted once to Examples and stored as Arrow (``datasets``).

Building reads a task's source, applies its pure ``to_row`` to every record, assigns each row a split by a
stable hash of its group text (the shared prompt or document), and writes an Arrow dataset under
``FLAME_CACHE/collection/<task>/<fingerprint>/``. Later loads are memory-mapped, so a collection far larger
than memory still works. The fingerprint covers the task's registration module, its files' sizes and
modification times and the package version: editing a task or a file rebuilds just that task.

Nothing is silently dropped: malformed records (``BadRecord``, ``BadRow``) are reported with file and line,
unlabeled records are counted by reason, and both counts are stored in ``build.json`` beside the rows.
"""

from __future__ import annotations

import inspect
import json
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from flame import __version__
from flame.data.paths import cache_dir, data_root
from flame.data.preprocess import normalize_text, stable_int_hash
from flame.data.sources import BadRecord
from flame.data.task import BadRow, Row, Task, Unlabeled, load_all_tasks
from flame.types import Example

SPLITS = ("train", "dev", "test")
SPLIT_SEED = 20240715  # fixed forever: changing it reshuffles every split (the paper's arXiv date)
MAX_PROBLEMS_KEPT = 200  # per task, in build.json; the count is always exact


def assign_split(group_text: str, fractions: tuple[float, float, float], eval_only: bool) -> str:
    """train/dev/test from a stable hash of the group text: the same on every machine, and every
    judgment of one prompt or document lands in the same split."""
    if eval_only:
        return "test"
    u = stable_int_hash(normalize_text(group_text), seed=SPLIT_SEED) / 2**64
    if u < fractions[0]:
        return "train"
    return "dev" if u < fractions[0] + fractions[1] else "test"


@dataclass
class TaskBuild:
    """What building one task produced: row counts per split and everything that was not a row."""

    task: str
    fingerprint: str
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    labels: dict[str, int] = field(default_factory=dict)
    bad: int = 0
    unlabeled: int = 0
    unlabeled_reasons: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    @property
    def skipped(self) -> int:
        return self.bad + self.unlabeled


def _fingerprint(task: Task, root: Path) -> str:
    func = task.to_row.func if isinstance(task.to_row, partial) else task.to_row
    parts = [
        __version__,
        str(SPLIT_SEED),
        inspect.getsource(inspect.getmodule(func)),
        repr(task.to_row.keywords) if isinstance(task.to_row, partial) else "",
        task.title,
        task.description,
        repr(task.labels),
        repr(task.split_fractions),
        repr(task.eval_only),
    ]
    if task.derived_from:  # its rows are made from another task's rows: rebuild when that task's rows change
        parts.append(_fingerprint(load_all_tasks().get(task.derived_from), root))
    for path in task.source.files(root):
        st = path.stat()
        parts.append(f"{path.relative_to(root)}:{st.st_size}:{int(st.st_mtime)}")
    return f"{stable_int_hash(chr(0).join(parts)):016x}"


def _task_dir(task: Task, fingerprint: str) -> Path:
    return cache_dir() / "collection" / task.name / fingerprint


def iter_examples(task: Task, root: Path, build: TaskBuild) -> Iterator[tuple[Example, str, str]]:
    """(example, split, group hash) for every good row of a task's source; problems go into ``build``."""
    reasons: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for rec in task.source.records(root):
        if isinstance(rec, BadRecord):
            build.bad += 1
            if len(build.problems) < MAX_PROBLEMS_KEPT:
                build.problems.append(f"{rec.location}: {rec.reason}")
            continue
        try:
            out = task.to_row(rec.data)
            rows: list[Row] = out if isinstance(out, list) else [out]
            made = []
            for k, row in enumerate(rows):
                example_id = rec.location if len(rows) == 1 else f"{rec.location}#{k}"
                made.append((task.make_example(row, example_id), row))
        except Unlabeled as e:
            build.unlabeled += 1
            reasons[str(e)] += 1
            continue
        except BadRow as e:
            build.bad += 1
            if len(build.problems) < MAX_PROBLEMS_KEPT:
                build.problems.append(f"{rec.location}: {e}")
            continue
        for ex, row in made:
            group = row.group if row.group is not None else next(iter(row.inputs.values()), "")
            split = row.split or assign_split(group, task.split_fractions, task.eval_only)
            if split not in SPLITS or (task.eval_only and split != "test"):
                raise ValueError(
                    f"{task.name}/{ex.id}: split {split!r} (a held-out task's rows are test rows)"
                )
            build.rows[split] += 1
            if ex.task_type != "generative":
                labels[ex.answer] += 1
            yield ex, split, f"{stable_int_hash(normalize_text(group)):016x}"
    build.unlabeled_reasons = dict(reasons.most_common())
    build.labels = dict(sorted(labels.items()))


def _row_generator(task: Task, root: Path, build: TaskBuild):
    for ex, split, group in iter_examples(task, root, build):
        yield {
            "id": ex.id,
            "split": split,
            "group": group,
            "inputs": json.dumps(ex.inputs, ensure_ascii=False),
            "targets": json.dumps(ex.targets, ensure_ascii=False),
            "metadata": json.dumps(ex.metadata, ensure_ascii=False, default=str),
        }


def build_task(task: Task, root: Path | None = None, force: bool = False) -> TaskBuild:
    """Build one task's Arrow rows (or reuse them when the fingerprint matches)."""
    root = root or data_root()
    fp = _fingerprint(task, root)
    out = _task_dir(task, fp)
    meta = out / "build.json"
    if meta.exists() and not force:
        return TaskBuild(**json.loads(meta.read_text()))
    import datasets

    datasets.disable_progress_bars()
    build = TaskBuild(task=task.name, fingerprint=fp)
    staging = out.with_name(fp + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    features = datasets.Features(
        {k: datasets.Value("string") for k in ("id", "split", "group", "inputs", "targets", "metadata")}
    )
    rows = list(_row_generator(task, root, build))
    # from_list keeps one task in memory while writing; the biggest task here has ~60k rows. The
    # written Arrow file is memory-mapped on every later load.
    ds = (
        datasets.Dataset.from_list(rows, features=features)
        if rows
        else datasets.Dataset.from_dict({k: [] for k in features}, features=features)
    )
    ds.save_to_disk(str(staging))
    (staging / "build.json").write_text(json.dumps(asdict(build), indent=1))
    # Replace any older build of this task atomically enough: write, then rename.
    for old in out.parent.glob("*"):
        if old != staging:
            shutil.rmtree(old, ignore_errors=True)
    staging.rename(out)
    return build


def build_collection(
    tasks: Iterable[Task] | None = None, root: Path | None = None, progress: bool = True, force: bool = False
) -> dict[str, TaskBuild]:
    """Build (or reuse) every task; returns each task's build stats by name."""
    root = root or data_root()
    tasks = list(tasks) if tasks is not None else load_all_tasks().values()
    builds: dict[str, TaskBuild] = {}
    if not progress:
        for t in tasks:
            builds[t.name] = build_task(t, root, force)
        return builds
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        job = bar.add_task("building tasks", total=len(tasks))
        for t in tasks:
            bar.update(job, description=f"building {t.name}")
            builds[t.name] = build_task(t, root, force)
            bar.advance(job)
    return builds


def load_task_dataset(task: Task | str, root: Path | None = None):
    """The task's rows as a memory-mapped ``datasets.Dataset`` (built first when needed)."""
    import datasets

    task = load_all_tasks().get(task) if isinstance(task, str) else task
    root = root or data_root()
    build = build_task(task, root)
    return datasets.load_from_disk(str(_task_dir(task, build.fingerprint)))


def task_row_example(task: Task, row: dict[str, Any]) -> Example:
    return Example(
        task=task.name,
        task_type=task.task_type,
        title=task.title,
        description=task.description,
        inputs=json.loads(row["inputs"]),
        targets=json.loads(row["targets"]),
        labels=task.labels,
        output_fields=task.output_fields,
        id=row["id"],
        metadata=json.loads(row["metadata"]),
    )


def load_examples(
    task_name: str,
    split: str = "dev",
    limit: int | None = None,
    seed: int = 0,
    exclude: set[str] | None = None,
) -> list[Example]:
    """Examples of one split of a task, in stored order; ``limit`` takes a seeded random subset."""
    import random

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    task = load_all_tasks().get(task_name)
    ds = load_task_dataset(task)
    indices = [i for i, s in enumerate(ds["split"]) if s == split]
    if exclude:
        ids = ds["id"]
        indices = [i for i in indices if ids[i] not in exclude]
    if limit is not None and limit < len(indices):
        indices = sorted(random.Random(seed).sample(indices, limit))
    return [task_row_example(task, ds[i]) for i in indices]
