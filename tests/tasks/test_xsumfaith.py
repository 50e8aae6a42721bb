from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.xsumfaith import factuality_row, faithfulness_row

DOC = "McIlroy carded a 67 to move to 15 under par."
SUM = "rory mcilroy\\'s 67 put him at 15 under."


def rec(workers, document=DOC):
    return {"bbcid": "1", "system": "BERTS2S", "summary": SUM, "document": document, "workers": workers}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec({"wid_0": "yes", "wid_1": "yes", "wid_2": "no"}), "Yes"),
        (rec({"wid_0": "no", "wid_1": "no", "wid_2": "yes"}), "No"),
        (rec({"wid_0": "NULL", "wid_1": "no", "wid_2": "no"}), "No"),
        (rec({"wid_0": "NULL", "wid_1": "NULL", "wid_2": "NULL"}), Unlabeled),
        (rec({"wid_0": "yes", "wid_1": "no"}), Unlabeled),
        (rec({"wid_0": "maybe", "wid_1": "no", "wid_2": "no"}), BadRow),
        (rec({"wid_0": "no", "wid_1": "no", "wid_2": "no"}, document=None), BadRow),
        (rec({}), BadRow),
    ],
)
def test_factuality_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            factuality_row(record)
        return
    row = factuality_row(record)
    assert row.answer == expected
    assert row.inputs == {"article": DOC, "summary": "rory mcilroy's 67 put him at 15 under."}


@pytest.mark.parametrize(
    "workers, expected",
    [
        ({"wid_0": False, "wid_1": False, "wid_2": True}, "Yes"),
        ({"wid_0": True, "wid_1": True, "wid_2": False}, "No"),
        ({"wid_0": False, "wid_1": False, "wid_2": False}, "Yes"),
        ({"wid_0": True, "wid_1": False}, Unlabeled),
    ],
)
def test_faithfulness_row(workers, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            faithfulness_row(rec(workers))
        return
    assert faithfulness_row(rec(workers)).answer == expected


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
def test_xsumfaith_factuality_real_data():
    assert TASKS.get("xsumfaith_factuality_classification_v1").eval_only
    counts, labels = count("xsumfaith_factuality_classification_v1")
    # 1869 summaries: 52 of articles without text, 11 all-NULL + 1 split vote unlabeled
    assert counts == {"good": 1805, "bad": 52, "unlabeled": 12}
    assert labels == {"Yes": 177, "No": 1628}


@pytest.mark.data
def test_xsumfaith_faithfulness_real_data():
    assert TASKS.get("xsumfaith_faithfulness_classification_v1").eval_only
    counts, labels = count("xsumfaith_faithfulness_classification_v1")
    assert counts == {"good": 2425, "bad": 74, "unlabeled": 1}
    assert labels == {"Yes": 246, "No": 2179}
