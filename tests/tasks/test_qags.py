import pytest
from realdata import outcomes

from flame.data.task import BadRow
from flame.tasks.qags import qags_row

ART = "Police said three armed men robbed a van in Glasgow."


@pytest.mark.parametrize(
    "record, answer, score",
    [
        ({"source": ART, "system_output": "A van was robbed.", "scores": {"consistency": 1.0}}, "Yes", 1.0),
        ({"source": ART, "system_output": "A bank was robbed.", "scores": {"consistency": 0.0}}, "No", 0.0),
        ({"source": ART, "system_output": "A. B. C.", "scores": {"consistency": 2 / 3}}, "No", 2 / 3),
        ({"source": ART, "system_output": "A.", "scores": "{'consistency': 1.0}"}, "Yes", 1.0),
        ({"source": ART, "system_output": "A.", "scores": {"consistency": "high"}}, BadRow, None),
        ({"source": ART, "system_output": "A.", "scores": {"consistency": 1.5}}, BadRow, None),
        ({"source": ART, "system_output": "A.", "scores": {}}, BadRow, None),
        ({"source": "", "system_output": "A.", "scores": {"consistency": 1.0}}, BadRow, None),
    ],
)
def test_qags_row(record, answer, score):
    if isinstance(answer, type):
        with pytest.raises(answer):
            qags_row(record, subset="cnndm")
        return
    row = qags_row(record, subset="cnndm")
    assert row.answer == answer
    assert row.metadata["score"] == pytest.approx(score)
    assert list(row.inputs) == ["article", "summary"]


@pytest.mark.data
@pytest.mark.parametrize("subset, yes, no", [("cnndm", 113, 122), ("xsum", 116, 123)])
def test_qags_real_data(subset, yes, no):
    o = outcomes(f"qags_{subset}_consistency_classification_v1")
    assert o.counts == {"good": yes + no}
    assert o.labels == {"Yes": yes, "No": no}
