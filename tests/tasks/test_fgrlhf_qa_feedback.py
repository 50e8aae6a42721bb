import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.fgrlhf_qa_feedback import PAIRS, qa_feedback_rows, render_passages

PASSAGES = [
    ["Bloom (album)", "Bloom (album)\n\nBloom is an album.", "It came out in 2018."],
    ["Troye", "A singer."],
]


def rec(**kw):
    base = {
        "question": "When does Bloom come out?",
        "passages": PASSAGES,
        "gold": "In 2018.",
        "prediction 1": "p1",
        "prediction 2": "p2",
        "prediction 3": "p3",
        "prediction 4": "",
        "feedback": {},
        "preference": [1, 2, 0, 1, 2, 0],
    }
    base.update(kw)
    return base


def test_render_passages_drops_repeated_title():
    assert render_passages(PASSAGES) == (
        "Passage 1 (Bloom (album)): Bloom is an album. It came out in 2018.\n\nPassage 2 (Troye): A singer."
    )


def test_qa_feedback_rows():
    rows = qa_feedback_rows(rec())
    assert len(rows) == 6
    # expected winner of each comparison, by prediction text (None = tie)
    expected = ["p1", "p3", None, "p2", "", None]
    for row, (i, j), winner in zip(rows, PAIRS, expected, strict=True):
        assert list(row.inputs) == ["question", "passages", "response A", "response B"]
        assert row.metadata["pair"] == f"{i}v{j}"
        shown = {row.inputs["response A"], row.inputs["response B"]}
        assert shown == {f"p{i}" if i < 4 else "", f"p{j}" if j < 4 else ""}
        if winner is None:
            assert row.answer == "tie"
        else:
            assert row.inputs["response " + row.answer] == winner
    assert qa_feedback_rows(rec()) == rows  # stable order


@pytest.mark.parametrize(
    "record, error",
    [
        (rec(preference=None), Unlabeled),
        (rec(preference=[1, 2, 0]), BadRow),
        (rec(preference=[1, 2, 0, 1, 2, 3]), BadRow),
        (rec(preference=[1, 2, 0, 1, 2, True]), BadRow),
        (rec(passages=[]), BadRow),
        (rec(passages=[["title only"]]), BadRow),
        (rec(question=""), BadRow),
        (rec(**{"prediction 2": None}), BadRow),
    ],
)
def test_qa_feedback_errors(record, error):
    with pytest.raises(error):
        qa_feedback_rows(record)


@pytest.mark.data
def test_fgrlhf_real_data():
    o = outcomes("fgrlhf_qa_feedback_preference_pairwise_v1")
    # 2 records have no passages. The stored order favours the first answer 60/40; the shown order is balanced.
    assert o.tally == (2988, 2, 0, 0)
    assert o.labels == {"A": 1312, "B": 1300, "tie": 376}
