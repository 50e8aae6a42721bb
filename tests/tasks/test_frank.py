from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.frank import frank_row

DOC = "The singer performed the song in Tokyo."


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"document": DOC, "claim": "The singer performed in Tokyo.", "label": 1, "origin": "xsum"}, "Yes"),
        ({"document": DOC, "claim": "it\\'s a hit in Osaka.", "label": 0, "origin": "cnndm"}, "No"),
        ({"document": DOC, "claim": "x", "label": "2"}, BadRow),
        ({"document": DOC, "claim": "x"}, BadRow),
        ({"document": "", "claim": "x", "label": 1}, BadRow),
    ],
)
def test_frank_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            frank_row(record)
        return
    row = frank_row(record)
    assert row.answer == expected
    assert "\\" not in row.inputs["summary"]
    assert row.metadata["subset"] == record["origin"]


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
def test_frank_real_data():
    counts, labels = count("frank_consistency_classification_v1")
    assert counts == {"good": 671}
    assert labels == {"Yes": 223, "No": 448}
