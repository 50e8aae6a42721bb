from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import Record
from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.qags import qags_row

ART = "Police said three armed men robbed a van in Glasgow."


@pytest.mark.parametrize(
    "record, answer, score",
    [
        ({"source": ART, "system_output": "A van was robbed.", "scores": {"consistency": 1.0}}, "Yes", 1.0),
        ({"source": ART, "system_output": "A bank was robbed.", "scores": {"consistency": 0.0}}, "No", 0.0),
        ({"source": ART, "system_output": "A. B. C.", "scores": {"consistency": 2 / 3}}, "No", 2 / 3),
        ({"source": ART, "system_output": "A.", "scores": "{'consistency': 1.0}"}, "Yes", 1.0),
        ({"source": ART, "system_output": "A.", "scores": {"consistency": "high"}}, BadRow, None),
        ({"source": ART, "system_output": "A.", "scores": {"consistency": 1.5}}, BadRow, None),
        ({"source": ART, "system_output": "A.", "scores": {}}, BadRow, None),
        ({"source": "", "system_output": "A.", "scores": {"consistency": 1.0}}, BadRow, None),
    ],
)
def test_qags_row(record, answer, score):
    if isinstance(answer, type):
        with pytest.raises(answer):
            qags_row(record, subset="cnndm")
        return
    row = qags_row(record, subset="cnndm")
    assert row.answer == answer
    assert row.metadata["score"] == pytest.approx(score)
    assert list(row.inputs) == ["article", "summary"]


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
@pytest.mark.parametrize("subset, yes, no", [("cnndm", 113, 122), ("xsum", 116, 123)])
def test_qags_real_data(subset, yes, no):
    counts, labels = count(f"qags_{subset}_consistency_classification_v1")
    assert counts == {"good": yes + no}
    assert labels == {"Yes": yes, "No": no}
