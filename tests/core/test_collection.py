"""Building a task: rows, splits by a stable hash of the shared prompt, problems reported, caching."""

import json
from functools import partial

import pytest

from flame.data.collection import assign_split, build_task, load_examples
from flame.data.sources import LocalFiles
from flame.data.task import TASKS, BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import TaskType


def toy_row(record: dict, flip: bool = False) -> Row:
    if record.get("label") is None:
        raise Unlabeled("no label")
    if record["label"] not in (0, 1):
        raise BadRow(f"label {record['label']!r}")
    answer = "Yes" if record["label"] == 1 else "No"
    return Row({"document": require_text(record, "doc"), "claim": require_text(record, "claim")}, answer)


@pytest.fixture
def toy_task(tmp_path):
    lines = [{"doc": f"document {i // 3}", "claim": f"claim {i}", "label": i % 2} for i in range(60)]
    lines += [
        {"doc": "d", "claim": "c", "label": None},
        {"doc": "", "claim": "c", "label": 1},
        {"doc": "d", "claim": "c", "label": 7},
    ]
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "rows.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    task = Task(
        name="toy_claims_classification_v1",
        dataset="toy",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license="MIT",
        title="Is the claim supported?",
        description="Answer 'Yes' or 'No'.",
        source=LocalFiles("toy/rows.jsonl"),
        to_row=partial(toy_row, flip=False),
        labels=("Yes", "No"),
    )
    with TASKS.isolated():
        register_task(task)
        yield task, tmp_path


def test_build_counts_rows_and_reports_problems_with_file_and_line(toy_task):
    task, root = toy_task
    build = build_task(task, root)
    assert build.total == 60
    assert build.unlabeled == 1 and build.unlabeled_reasons == {"no label": 1}
    assert build.bad == 3
    assert build.problems == [
        "toy/rows.jsonl:62: empty field 'doc'",
        "toy/rows.jsonl:63: label 7",
        "toy/rows.jsonl:64: bad JSON (Expecting value)",
    ]
    assert build.labels == {"No": 30, "Yes": 30}


def test_every_judgment_of_one_document_lands_in_one_split(toy_task, monkeypatch):
    task, root = toy_task
    monkeypatch.setenv("FLAME_DATA_DIR", str(root))
    build_task(task, root)
    by_doc = {}
    for split in ("train", "dev", "test"):
        for ex in load_examples(task.name, split):
            by_doc.setdefault(ex.inputs["document"], set()).add(split)
    assert len(by_doc) == 20 and all(len(s) == 1 for s in by_doc.values())


def test_split_is_a_stable_hash():
    # Pinned values: a change here reshuffles every split on every machine.
    splits = [assign_split(f"prompt {i}", (0.8, 0.1, 0.1), False) for i in range(12)]
    assert splits == ["train"] * 10 + ["dev", "train"]
    assert assign_split("Prompt  0", (0.8, 0.1, 0.1), False) == assign_split(
        "prompt 0", (0.8, 0.1, 0.1), False
    )
    assert assign_split("anything", (0.8, 0.1, 0.1), True) == "test"


def test_build_is_cached_until_the_file_changes(toy_task):
    task, root = toy_task
    first = build_task(task, root)
    assert build_task(task, root).fingerprint == first.fingerprint
    path = root / "toy" / "rows.jsonl"
    path.write_text(path.read_text() + json.dumps({"doc": "new", "claim": "c", "label": 1}) + "\n")
    import os

    os.utime(path, (1, 1))
    second = build_task(task, root)
    assert second.fingerprint != first.fingerprint and second.total == 61


def test_limit_takes_a_seeded_subset(toy_task, monkeypatch):
    task, root = toy_task
    monkeypatch.setenv("FLAME_DATA_DIR", str(root))
    a = [e.id for e in load_examples(task.name, "train", limit=5, seed=1)]
    assert a == [e.id for e in load_examples(task.name, "train", limit=5, seed=1)]
    assert a != [e.id for e in load_examples(task.name, "train", limit=5, seed=2)]
