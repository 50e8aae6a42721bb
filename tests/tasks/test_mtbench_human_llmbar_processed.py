from collections import Counter

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import BadRecord
from flame.data.task import BadRow, Unlabeled, get_task

NAME = "mtbench_human_llmbar_processed_preference_pairwise_v1"


def rec(**kw):
    base = {"input": "Name a prime number.", "output_1": "4", "output_2": "7", "label": 2}
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "record, answer",
    [(rec(), "B"), (rec(label=1), "A"), (rec(label="2"), "B"), (rec(output_1=""), "B")],
)
def test_row(record, answer):
    row = get_task(NAME).to_row(record)
    assert row.answer == answer
    # The processed file's own output_1/output_2 order is kept.
    assert row.inputs == {
        "prompt": "Name a prime number.",
        "response A": record["output_1"],
        "response B": "7",
    }


@pytest.mark.parametrize(
    "record, error",
    [
        (rec(label=None), Unlabeled),
        (rec(label=0), BadRow),
        (rec(label=3), BadRow),
        (rec(label=True), BadRow),
        (rec(input="  "), BadRow),
        (rec(output_2=None), BadRow),
    ],
)
def test_row_errors(record, error):
    with pytest.raises(error):
        get_task(NAME).to_row(record)


@pytest.mark.data
def test_real_data():
    try:
        root = data_root()
    except DataRootError as e:
        pytest.skip(str(e))
    task = get_task(NAME)
    assert task.eval_only
    counts, labels = Counter(), Counter()
    for record in task.source.records(root):
        if isinstance(record, BadRecord):
            counts["badrecord"] += 1
            continue
        try:
            row = task.to_row(record.data)
        except BadRow:
            counts["bad"] += 1
            continue
        except Unlabeled:
            counts["unlabeled"] += 1
            continue
        task.make_example(row, record.location)
        counts["good"] += 1
        labels[row.answer] += 1
    assert (counts["good"], counts["bad"], counts["unlabeled"], counts["badrecord"]) == (200, 0, 0, 0)
    assert dict(labels) == {"A": 101, "B": 99}
