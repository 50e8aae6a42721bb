from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.summedits import summedits_row


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"doc": "Sales rose 5%.", "summary": "Sales rose 5%.", "label": 1, "edit_types": []}, "Yes"),
        ({"doc": "Sales rose 5%.", "summary": "Sales fell 5%.", "label": 0, "edit_types": ["antonym"]}, "No"),
        ({"doc": "Sales rose 5%.", "summary": "Sales rose.", "label": "1"}, "Yes"),
        ({"doc": "Sales rose 5%.", "summary": "Sales rose.", "label": 3}, BadRow),
        ({"doc": "Sales rose 5%.", "summary": "Sales rose."}, BadRow),
        ({"doc": "", "summary": "Sales rose.", "label": 1}, BadRow),
    ],
)
def test_summedits_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            summedits_row(record, domain="news")
        return
    row = summedits_row(record, domain="news")
    assert row.answer == expected
    assert row.inputs == {"document": record["doc"], "summary": record["summary"]}
    assert row.metadata["subset"] == "news"


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
    "domain, yes, no",
    [
        ("ectsum", 242, 426),
        ("news", 321, 498),
        ("podcast", 163, 337),
        ("qmsumm", 183, 248),
        ("sales_call", 173, 347),
        ("sales_email", 179, 434),
        ("samsum", 242, 422),
        ("scitldr", 145, 321),
    ],
)
def test_summedits_real_data(domain, yes, no):
    counts, labels = count(f"summedits_{domain}_consistency_classification_v1")
    assert counts == {"good": yes + no}
    assert labels == {"Yes": yes, "No": no}
