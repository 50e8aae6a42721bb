from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.dialfact import dialfact_row

EVID = [
    [
        "Cheerleading",
        "https://en.wikipedia.org/wiki/Cheerleading",
        "ESPN broadcast a competition in 1997.",
        "0",
    ]
]
CTX = ["Hi! I was a cheerleader.", "Cheerleading is fun.", "When did it start?"]


def rec(**kw):
    base = {"context_id": "588___9", "id": "588___9--0", "context": CTX, "response": "ESPN aired it in 1997."}
    return {**base, "evidence_list": EVID, "response_label": "SUPPORTS", **kw}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec(), "Supported"),
        (rec(response_label="REFUTES"), "Refuted"),
        (rec(response_label="NOT ENOUGH INFO"), "Not enough information"),
        (rec(response_label="Supported"), BadRow),
        (rec(evidence_list=[]), BadRow),
        (rec(evidence_list=[["only a title"]]), BadRow),
        (rec(context="not a list"), BadRow),
        (rec(response=""), BadRow),
    ],
)
def test_dialfact_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            dialfact_row(record)
        return
    row = dialfact_row(record)
    assert row.answer == expected
    assert row.group == "588___9"
    assert row.inputs["conversation"].splitlines() == [
        "B: Hi! I was a cheerleader.",
        "A: Cheerleading is fun.",
        "B: When did it start?",
    ]
    assert row.inputs["evidence"] == "Cheerleading: ESPN broadcast a competition in 1997."
    assert row.inputs["response"] == "A: ESPN aired it in 1997."


def test_dialfact_opening_response_has_no_conversation():
    row = dialfact_row(rec(context=[]))
    assert list(row.inputs) == ["evidence", "response"]


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
def test_dialfact_real_data():
    counts, labels = count("dialfact_verification_classification_v1")
    assert counts == {"good": 300}
    assert labels == {"Supported": 99, "Refuted": 103, "Not enough information": 98}
