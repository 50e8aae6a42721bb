import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.pandalm_testset import pandalm_row


def rec(votes=(2, 2, 1), **kw):
    base = {
        "idx": 0,
        "motivation_app": "Grammarly",
        "cmp_key": "bloom-7b_llama-7b",
        "instruction": "Make the sentence concise.",
        "input": "If you have any questions at all, please do let me know.",
        "response1": "Any questions? Let me know.",
        "response2": "If you have questions, let me know.",
    }
    base.update({f"annotator{k}": v for k, v in enumerate(votes, start=1)})
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "votes, answer",
    [((2, 2, 1), "B"), ((1, 1, 1), "A"), ((0, 0, 2), "tie"), ((1, 0, 1), "A"), ((None, 2, 2), "B")],
)
def test_pandalm_row_majority(votes, answer):
    row = pandalm_row(rec(votes))
    assert row.answer == answer
    assert row.inputs == {
        "prompt": "Make the sentence concise.\n\nIf you have any questions at all, please do let me know.",
        "response A": "Any questions? Let me know.",
        "response B": "If you have questions, let me know.",
    }
    assert row.metadata["subset"] == "Grammarly"
    assert row.metadata["models"] == "bloom-7b_llama-7b"


def test_pandalm_row_prompt_variants():
    assert pandalm_row(rec(input="")).inputs["prompt"] == "Make the sentence concise."
    # A blank instruction with the whole prompt in `input` (item 466) is kept.
    assert pandalm_row(rec(instruction=" ", input="Truthfulness")).inputs["prompt"] == "Truthfulness"
    # An empty response is a legitimately bad answer.
    assert pandalm_row(rec(response1="")).inputs["response A"] == ""


@pytest.mark.parametrize(
    "record, error",
    [
        (rec((0, 1, 2)), Unlabeled),  # three-way split
        (rec((None, None, None)), Unlabeled),
        (rec((1, 2, None)), Unlabeled),
        (rec((1, 3, 1)), BadRow),
        (rec((1, True, 1)), BadRow),
        (rec(response1=True), BadRow),  # the JSON `true` quirk
        (rec(response2=None), BadRow),
        (rec(instruction="", input=""), BadRow),
        (rec(input=["x"]), BadRow),
    ],
)
def test_pandalm_row_errors(record, error):
    with pytest.raises(error):
        pandalm_row(record)


@pytest.mark.data
def test_pandalm_real_data():
    o = outcomes("pandalm_testset_preference_pairwise_v1")
    assert o.task.eval_only
    # 6 BadRows: responses stored as JSON `true`. No item has a three-way split.
    assert o.tally == (993, 6, 0, 0)
    assert o.labels == {"A": 418, "B": 470, "tie": 105}
