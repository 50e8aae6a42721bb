import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.q2_dialogue_consistency import cross_label, q2_row

K = "Gardening is considered by many people to be a relaxing activity."


def rec(labels, **kw):
    base = {
        "knowledge": K,
        "message": "I like gardening.",
        "response": "it is relaxing .",
        "system": "dodeca",
    }
    return {**base, "labels": labels, **kw}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec([{"file": "dodeca_consistent.csv", "consistent": True}]), "Yes"),
        (
            rec(
                [
                    {"file": "dodeca_inconsistent.csv", "consistent": False},
                    {"file": "cross", "consistent": False},
                ]
            ),
            "No",
        ),
        (rec([{"file": "cross_annotation.csv", "consistent": True}]), "Yes"),
        (
            rec(
                [
                    {"file": "dodeca_consistent.csv", "consistent": True},
                    {"file": "cross", "consistent": False},
                ]
            ),
            Unlabeled,
        ),
        (rec([{"file": "cross_annotation.csv", "consistent": "bad:2"}]), BadRow),
        (rec([]), BadRow),
        (rec([{"file": "cross", "consistent": True}], knowledge=""), BadRow),
    ],
)
def test_q2_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            q2_row(record)
        return
    row = q2_row(record)
    assert row.answer == expected
    assert list(row.inputs) == ["knowledge", "conversation", "response"]


def test_cross_label_direction():
    # checked on the files: 1 in cross_annotation.csv marks an inconsistent response
    assert cross_label("0") is True
    assert cross_label("1") is False
    assert cross_label("x") is None


def test_q2_opening_turn_has_no_conversation():
    row = q2_row(rec([{"file": "cross", "consistent": True}], message=""))
    assert list(row.inputs) == ["knowledge", "response"]


@pytest.mark.data
def test_q2_real_data():
    o = outcomes("q2_dialogue_consistency_consistency_classification_v1")
    # 1088 distinct responses; the 600 of the per-label files all agree with cross_annotation
    assert o.counts == {"good": 1088}
    assert o.labels == {"Yes": 628, "No": 460}
