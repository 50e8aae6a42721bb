import pytest
from realdata import outcomes

from flame.data.task import BadRow
from flame.tasks.begin_dialogue_attribution import begin_row

K = "Crayola shifted its focus to art products, beginning with chalk."


def rec(**kw):
    base = {"model_name": "t5", "data_source": "wow", "knowledge": K, "message": "Why that name?"}
    return {**base, "response": "crayola began with chalk", "begin_label": "Fully attributable", **kw}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec(), "Fully attributable"),
        (rec(begin_label="Not fully attributable"), "Not fully attributable"),
        (rec(begin_label="Generic", response="that sounds fun"), "Generic"),
        (rec(begin_label="Hallucination"), BadRow),
        (rec(begin_label=""), BadRow),
        (rec(knowledge=""), BadRow),
    ],
)
def test_begin_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            begin_row(record)
        return
    row = begin_row(record)
    assert row.answer == expected
    assert list(row.inputs) == ["knowledge", "conversation", "response"]
    assert row.metadata["subset"] == "wow"


def test_begin_opening_turn_has_no_conversation():
    assert list(begin_row(rec(message="")).inputs) == ["knowledge", "response"]


@pytest.mark.data
def test_begin_real_data():
    o = outcomes("begin_dialogue_attribution_attribution_classification_v1")
    assert o.counts == {"good": 4836}
    assert o.labels == {"Fully attributable": 1705, "Not fully attributable": 3044, "Generic": 87}
