from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.q2_dialogue_consistency import cross_label, q2_row

K = "Gardening is considered by many people to be a relaxing activity."


def rec(labels, **kw):
    base = {
        "knowledge": K,
        "message": "I like gardening.",
        "response": "it is relaxing .",
        "system": "dodeca",
    }
    return {**base, "labels": labels, **kw}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec([{"file": "dodeca_consistent.csv", "consistent": True}]), "Yes"),
        (
            rec(
                [
                    {"file": "dodeca_inconsistent.csv", "consistent": False},
                    {"file": "cross", "consistent": False},
                ]
            ),
            "No",
        ),
        (rec([{"file": "cross_annotation.csv", "consistent": True}]), "Yes"),
        (
            rec(
                [
                    {"file": "dodeca_consistent.csv", "consistent": True},
                    {"file": "cross", "consistent": False},
                ]
            ),
            Unlabeled,
        ),
        (rec([{"file": "cross_annotation.csv", "consistent": "bad:2"}]), BadRow),
        (rec([]), BadRow),
        (rec([{"file": "cross", "consistent": True}], knowledge=""), BadRow),
    ],
)
def test_q2_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            q2_row(record)
        return
    row = q2_row(record)
    assert row.answer == expected
    assert list(row.inputs) == ["knowledge", "conversation", "response"]


def test_cross_label_direction():
    # checked on the files: 1 in cross_annotation.csv marks an inconsistent response
    assert cross_label("0") is True
    assert cross_label("1") is False
    assert cross_label("x") is None


def test_q2_opening_turn_has_no_conversation():
    row = q2_row(rec([{"file": "cross", "consistent": True}], message=""))
    assert list(row.inputs) == ["knowledge", "response"]


def count(name):
    """Apply the task's to_row to every real record: counts of outcomes and of labels."""
    try:
        root = data_root()
    except DataRootError:
        pytest.skip("no data root")
    task = TASKS.get(name)
    counts, labels = Counter(), Counter()
    for rec in task.source.records(root):
        if not isinstance(rec, Record):
            counts["badrecord"] += 1
            continue
        try:
            rows = task.to_row(rec.data)
        except Unlabeled:
            counts["unlabeled"] += 1
            continue
        except BadRow:
            counts["bad"] += 1
            continue
        for row in rows if isinstance(rows, list) else [rows]:
            task.make_example(row, rec.location)
            counts["good"] += 1
            labels[row.answer] += 1
    return dict(counts), dict(labels)


@pytest.mark.data
def test_q2_real_data():
    counts, labels = count("q2_dialogue_consistency_consistency_classification_v1")
    # 1088 distinct responses; the 600 of the per-label files all agree with cross_annotation
    assert counts == {"good": 1088}
    assert labels == {"Yes": 628, "No": 460}
