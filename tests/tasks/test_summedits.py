import pytest
from realdata import outcomes

from flame.data.task import BadRow
from flame.tasks.summedits import summedits_row


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"doc": "Sales rose 5%.", "summary": "Sales rose 5%.", "label": 1, "edit_types": []}, "Yes"),
        ({"doc": "Sales rose 5%.", "summary": "Sales fell 5%.", "label": 0, "edit_types": ["antonym"]}, "No"),
        ({"doc": "Sales rose 5%.", "summary": "Sales rose.", "label": "1"}, "Yes"),
        ({"doc": "Sales rose 5%.", "summary": "Sales rose.", "label": 3}, BadRow),
        ({"doc": "Sales rose 5%.", "summary": "Sales rose."}, BadRow),
        ({"doc": "", "summary": "Sales rose.", "label": 1}, BadRow),
    ],
)
def test_summedits_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            summedits_row(record, domain="news")
        return
    row = summedits_row(record, domain="news")
    assert row.answer == expected
    assert row.inputs == {"document": record["doc"], "summary": record["summary"]}
    assert row.metadata["subset"] == "news"


@pytest.mark.data
@pytest.mark.parametrize(
    "domain, yes, no",
    [
        ("ectsum", 242, 426),
        ("news", 321, 498),
        ("podcast", 163, 337),
        ("qmsumm", 183, 248),
        ("sales_call", 173, 347),
        ("sales_email", 179, 434),
        ("samsum", 242, 422),
        ("scitldr", 145, 321),
    ],
)
def test_summedits_real_data(domain, yes, no):
    o = outcomes(f"summedits_{domain}_consistency_classification_v1")
    assert o.counts == {"good": yes + no}
    assert o.labels == {"Yes": yes, "No": no}
