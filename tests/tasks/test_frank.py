import pytest
from realdata import outcomes

from flame.data.task import BadRow
from flame.tasks.frank import frank_row

DOC = "The singer performed the song in Tokyo."


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"document": DOC, "claim": "The singer performed in Tokyo.", "label": 1, "origin": "xsum"}, "Yes"),
        ({"document": DOC, "claim": "it\\'s a hit in Osaka.", "label": 0, "origin": "cnndm"}, "No"),
        ({"document": DOC, "claim": "x", "label": "2"}, BadRow),
        ({"document": DOC, "claim": "x"}, BadRow),
        ({"document": "", "claim": "x", "label": 1}, BadRow),
    ],
)
def test_frank_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            frank_row(record)
        return
    row = frank_row(record)
    assert row.answer == expected
    assert "\\" not in row.inputs["summary"]
    assert row.metadata["subset"] == record["origin"]


@pytest.mark.data
def test_frank_real_data():
    o = outcomes("frank_consistency_classification_v1")
    assert o.counts == {"good": 671}
    assert o.labels == {"Yes": 223, "No": 448}
