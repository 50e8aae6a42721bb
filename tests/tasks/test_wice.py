from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.wice import wice_row

EV = ["Media Play News is a trade publication.", "Thomas K. Arnold is its publisher."]


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"claim": "Arnold publishes Media Play News.", "evidence": EV, "label": "supported"}, "Supported"),
        (
            {"claim": "C", "evidence": EV, "label": "partially_supported", "_file": "claim_test.jsonl.gz"},
            "Partially supported",
        ),
        ({"claim": "C", "evidence": EV, "label": "not_supported"}, "Not supported"),
        ({"claim": "C", "evidence": EV, "label": "refuted"}, BadRow),
        ({"claim": "C", "evidence": [], "label": "supported"}, BadRow),
        ({"claim": "C", "evidence": "one string", "label": "supported"}, BadRow),
        ({"claim": "", "evidence": EV, "label": "supported"}, BadRow),
    ],
)
def test_wice_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            wice_row(record)
        return
    row = wice_row(record)
    assert row.answer == expected
    assert list(row.inputs) == ["claim", "evidence"]
    assert row.inputs["evidence"] == "\n".join(EV)


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
def test_wice_real_data():
    assert TASKS.get("wice_support_classification_v1").eval_only
    counts, labels = count("wice_support_classification_v1")
    assert counts == {"good": 707}
    assert labels == {"Supported": 226, "Partially supported": 406, "Not supported": 75}
