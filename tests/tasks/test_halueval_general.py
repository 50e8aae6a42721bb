import pytest
from realdata import outcomes

from flame.data.task import BadRow
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


@pytest.mark.data
def test_halueval_real_data():
    o = outcomes("halueval_general_hallucination_classification_v1")
    assert o.counts == {"good": 4507}
    assert o.labels == {"Yes": 815, "No": 3692}
