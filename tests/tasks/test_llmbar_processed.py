"""The three LLMBar-processed preference sets (FairEval, LLMEval2, MT-Bench human): one record format."""

import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled, get_task

# task: (good rows, BadRow, Unlabeled, BadRecord), labels
EXPECTED = {
    "faireval_llmbar_processed_preference_pairwise_v1": ((66, 0, 0, 0), {"A": 41, "B": 25}),
    "llmeval2_llmbar_processed_preference_pairwise_v1": ((200, 0, 0, 0), {"A": 92, "B": 108}),
    "mtbench_human_llmbar_processed_preference_pairwise_v1": ((200, 0, 0, 0), {"A": 101, "B": 99}),
}
NAMES = list(EXPECTED)


def rec(**kw):
    base = {"input": "Name a prime number.", "output_1": "4", "output_2": "7", "label": 2}
    base.update(kw)
    return base


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "record, answer",
    [(rec(), "B"), (rec(label=1), "A"), (rec(label="2"), "B"), (rec(output_1=""), "B")],
)
def test_row(name, record, answer):
    row = get_task(name).to_row(record)
    assert row.answer == answer
    # The processed file's own output_1/output_2 order is kept.
    assert row.inputs == {
        "prompt": "Name a prime number.",
        "response A": record["output_1"],
        "response B": "7",
    }


@pytest.mark.parametrize("name", NAMES)
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
def test_row_errors(name, record, error):
    with pytest.raises(error):
        get_task(name).to_row(record)


@pytest.mark.data
@pytest.mark.parametrize("name", NAMES)
def test_real_data(name):
    o = outcomes(name)
    assert o.task.eval_only
    assert o.tally == EXPECTED[name][0]
    assert o.labels == EXPECTED[name][1]
