from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.summac_benchmark import summac_row

DOC = "The council approved the new park on Monday."


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"document": DOC, "claim": "The council approved a park.", "label": 1}, "Yes"),
        ({"document": DOC, "claim": "The council rejected a park.", "label": 0, "model_name": "M11"}, "No"),
        ({"document": DOC, "claim": "A park.", "label": "1"}, "Yes"),
        ({"document": DOC, "claim": "A park.", "label": 2}, BadRow),
        ({"document": DOC, "claim": "A park."}, BadRow),
        ({"document": "  ", "claim": "A park.", "label": 1}, BadRow),
        ({"document": DOC, "label": 1}, BadRow),
    ],
)
def test_summac_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            summac_row(record, subset="factcc")
        return
    row = summac_row(record, subset="factcc")
    assert row.answer == expected
    assert list(row.inputs) == ["document", "summary"]
    assert row.metadata["subset"] == "factcc"


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
@pytest.mark.parametrize(
    "subset, good, yes, no",
    [
        ("factcc", 311, 274, 37),
        ("polytope", 634, 42, 592),
        ("summeval", 100, 63, 37),
        ("xsumfaith", 485, 50, 435),
    ],
)
def test_summac_real_data(subset, good, yes, no):
    name = f"summac_benchmark_{subset}_consistency_classification_v1"
    assert TASKS.get(name).eval_only
    counts, labels = count(name)
    assert counts == {"good": good}
    assert labels == {"Yes": yes, "No": no}
