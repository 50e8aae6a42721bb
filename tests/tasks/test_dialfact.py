import pytest
from realdata import outcomes

from flame.data.task import BadRow
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


@pytest.mark.data
def test_dialfact_real_data():
    o = outcomes("dialfact_verification_classification_v1")
    assert o.counts == {"good": 300}
    assert o.labels == {"Supported": 99, "Refuted": 103, "Not enough information": 98}
