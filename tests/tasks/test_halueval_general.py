from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.halueval_general import halueval_row


@pytest.mark.parametrize(
    "record, expected",
    [
        (
            {
                "ID": "1",
                "user_query": "List common words.",
                "chatgpt_response": "the, a",
                "hallucination": "no",
            },
            "No",
        ),
        ({"user_query": "Who wrote Hamlet?", "chatgpt_response": "Dickens.", "hallucination": "yes"}, "Yes"),
        ({"user_query": "Who wrote Hamlet?", "chatgpt_response": "", "hallucination": "no"}, "No"),
        (
            {"user_query": "Who wrote Hamlet?", "chatgpt_response": "Dickens.", "hallucination": "maybe"},
            BadRow,
        ),
        ({"user_query": "Who wrote Hamlet?", "chatgpt_response": "Dickens."}, BadRow),
        ({"user_query": "", "chatgpt_response": "Dickens.", "hallucination": "yes"}, BadRow),
    ],
)
def test_halueval_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            halueval_row(record)
        return
    row = halueval_row(record)
    assert row.answer == expected
    assert list(row.inputs) == ["prompt", "response"]


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
def test_halueval_real_data():
    counts, labels = count("halueval_general_hallucination_classification_v1")
    assert counts == {"good": 4507}
    assert labels == {"Yes": 815, "No": 3692}
