from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.begin_dialogue_attribution import begin_row

K = "Crayola shifted its focus to art products, beginning with chalk."


def rec(**kw):
    base = {"model_name": "t5", "data_source": "wow", "knowledge": K, "message": "Why that name?"}
    return {**base, "response": "crayola began with chalk", "begin_label": "Fully attributable", **kw}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec(), "Fully attributable"),
        (rec(begin_label="Not fully attributable"), "Not fully attributable"),
        (rec(begin_label="Generic", response="that sounds fun"), "Generic"),
        (rec(begin_label="Hallucination"), BadRow),
        (rec(begin_label=""), BadRow),
        (rec(knowledge=""), BadRow),
    ],
)
def test_begin_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            begin_row(record)
        return
    row = begin_row(record)
    assert row.answer == expected
    assert list(row.inputs) == ["knowledge", "conversation", "response"]
    assert row.metadata["subset"] == "wow"


def test_begin_opening_turn_has_no_conversation():
    assert list(begin_row(rec(message="")).inputs) == ["knowledge", "response"]


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
def test_begin_real_data():
    counts, labels = count("begin_dialogue_attribution_attribution_classification_v1")
    assert counts == {"good": 4836}
    assert labels == {"Fully attributable": 1705, "Not fully attributable": 3044, "Generic": 87}
