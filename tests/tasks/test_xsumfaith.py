import pytest
from realdata import outcomes

from flame.data.task import TASKS, BadRow, Unlabeled
from flame.tasks.xsumfaith import factuality_row, faithfulness_row

DOC = "McIlroy carded a 67 to move to 15 under par."
SUM = "rory mcilroy\\'s 67 put him at 15 under."


def rec(workers, document=DOC):
    return {"bbcid": "1", "system": "BERTS2S", "summary": SUM, "document": document, "workers": workers}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec({"wid_0": "yes", "wid_1": "yes", "wid_2": "no"}), "Yes"),
        (rec({"wid_0": "no", "wid_1": "no", "wid_2": "yes"}), "No"),
        (rec({"wid_0": "NULL", "wid_1": "no", "wid_2": "no"}), "No"),
        (rec({"wid_0": "NULL", "wid_1": "NULL", "wid_2": "NULL"}), Unlabeled),
        (rec({"wid_0": "yes", "wid_1": "no"}), Unlabeled),
        (rec({"wid_0": "maybe", "wid_1": "no", "wid_2": "no"}), BadRow),
        (rec({"wid_0": "no", "wid_1": "no", "wid_2": "no"}, document=None), BadRow),
        (rec({}), BadRow),
    ],
)
def test_factuality_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            factuality_row(record)
        return
    row = factuality_row(record)
    assert row.answer == expected
    assert row.inputs == {"article": DOC, "summary": "rory mcilroy's 67 put him at 15 under."}


@pytest.mark.parametrize(
    "workers, expected",
    [
        ({"wid_0": False, "wid_1": False, "wid_2": True}, "Yes"),
        ({"wid_0": True, "wid_1": True, "wid_2": False}, "No"),
        ({"wid_0": False, "wid_1": False, "wid_2": False}, "Yes"),
        ({"wid_0": True, "wid_1": False}, Unlabeled),
    ],
)
def test_faithfulness_row(workers, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            faithfulness_row(rec(workers))
        return
    assert faithfulness_row(rec(workers)).answer == expected


@pytest.mark.data
def test_xsumfaith_factuality_real_data():
    assert TASKS.get("xsumfaith_factuality_classification_v1").eval_only
    o = outcomes("xsumfaith_factuality_classification_v1")
    # 1869 summaries: 52 of articles without text, 11 all-NULL + 1 split vote unlabeled
    assert o.counts == {"good": 1805, "bad": 52, "unlabeled": 12}
    assert o.labels == {"Yes": 177, "No": 1628}


@pytest.mark.data
def test_xsumfaith_faithfulness_real_data():
    assert TASKS.get("xsumfaith_faithfulness_classification_v1").eval_only
    o = outcomes("xsumfaith_faithfulness_classification_v1")
    assert o.counts == {"good": 2425, "bad": 74, "unlabeled": 1}
    assert o.labels == {"Yes": 246, "No": 2179}
