import pytest
from realdata import outcomes

from flame.data.task import TASKS, BadRow
from flame.tasks.wice import wice_row

EV = ["Media Play News is a trade publication.", "Thomas K. Arnold is its publisher."]


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"claim": "Arnold publishes Media Play News.", "evidence": EV, "label": "supported"}, "Supported"),
        (
            {"claim": "C", "evidence": EV, "label": "partially_supported", "_file": "claim_test.jsonl.gz"},
            "Partially supported",
        ),
        ({"claim": "C", "evidence": EV, "label": "not_supported"}, "Not supported"),
        ({"claim": "C", "evidence": EV, "label": "refuted"}, BadRow),
        ({"claim": "C", "evidence": [], "label": "supported"}, BadRow),
        ({"claim": "C", "evidence": "one string", "label": "supported"}, BadRow),
        ({"claim": "", "evidence": EV, "label": "supported"}, BadRow),
    ],
)
def test_wice_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            wice_row(record)
        return
    row = wice_row(record)
    assert row.answer == expected
    assert list(row.inputs) == ["claim", "evidence"]
    assert row.inputs["evidence"] == "\n".join(EV)


@pytest.mark.data
def test_wice_real_data():
    assert TASKS.get("wice_support_classification_v1").eval_only
    o = outcomes("wice_support_classification_v1")
    assert o.counts == {"good": 707}
    assert o.labels == {"Supported": 226, "Partially supported": 406, "Not supported": 75}
