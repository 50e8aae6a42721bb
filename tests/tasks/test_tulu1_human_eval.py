import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.tulu1_human_eval import acceptability_rows, preference_row


def rec(**kw):
    base = {
        "prompt": "Fix the grammar: I has a cat.",
        "model_a": "tulu_65B",
        "model_b": "chatgpt",
        "completion_a": "I have a cat.",
        "completion_b": "I has a cat.",
        "completion_a_is_acceptable": "yes",
        "completion_b_is_acceptable": "no",
        "preference": "a-is-better",
        "evaluator": "yo",
        "instance_id": "user_oriented_task_2",
    }
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "preference, answer, strength",
    [
        ("a-is-better", "A", "clear"),
        ("a-is-slightly-better", "A", "slight"),
        ("tie", "tie", "tie"),
        ("b-is-slightly-better", "B", "slight"),
        ("B-is-better", "B", "clear"),
    ],
)
def test_preference_row(preference, answer, strength):
    row = preference_row(rec(preference=preference))
    assert row.answer == answer
    assert row.metadata["strength"] == strength
    # The data's own a/b order is kept.
    assert row.inputs == {
        "prompt": "Fix the grammar: I has a cat.",
        "response A": "I have a cat.",
        "response B": "I has a cat.",
    }
    assert (row.metadata["model_a"], row.metadata["model_b"]) == ("tulu_65B", "chatgpt")


def test_preference_row_keeps_empty_completion():
    assert preference_row(rec(completion_b="")).inputs["response B"] == ""


@pytest.mark.parametrize(
    "record, error",
    [
        (rec(preference=""), Unlabeled),
        (rec(preference=None), Unlabeled),
        (rec(preference="a-is-much-better"), BadRow),
        (rec(prompt="  "), BadRow),
        (rec(completion_a=None), BadRow),
    ],
)
def test_preference_row_errors(record, error):
    with pytest.raises(error):
        preference_row(record)


def test_acceptability_rows():
    rows = acceptability_rows(rec())
    assert [r.answer for r in rows] == ["Yes", "No"]
    assert [r.inputs["response"] for r in rows] == ["I have a cat.", "I has a cat."]
    assert all(list(r.inputs) == ["prompt", "response"] for r in rows)
    assert [r.metadata["subset"] for r in rows] == ["tulu_65B", "chatgpt"]


@pytest.mark.parametrize(
    "record, error",
    [
        (rec(completion_b_is_acceptable=""), Unlabeled),
        (rec(completion_a_is_acceptable="maybe"), BadRow),
        (rec(prompt=""), BadRow),
    ],
)
def test_acceptability_rows_errors(record, error):
    with pytest.raises(error):
        acceptability_rows(record)


# task: (good rows, BadRow, Unlabeled, BadRecord), labels
EXPECTED = {
    # Line 191 holds a literal U+FFFD at the end of a degenerate emoji run: valid UTF-8, so it is kept.
    "tulu1_human_eval_preference_pairwise_v1": ((1150, 0, 0, 0), {"A": 423, "B": 351, "tie": 376}),
    "tulu1_human_eval_acceptability_classification_v1": ((2300, 0, 0, 0), {"Yes": 1818, "No": 482}),
}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tulu1_real_data(name):
    o = outcomes(name)
    assert o.tally == EXPECTED[name][0]
    assert o.labels == EXPECTED[name][1]
