import pytest
from realdata import outcomes

from flame.data.task import TASKS, BadRow
from flame.tasks.summac_benchmark import summac_row

DOC = "The council approved the new park on Monday."


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"document": DOC, "claim": "The council approved a park.", "label": 1}, "Yes"),
        ({"document": DOC, "claim": "The council rejected a park.", "label": 0, "model_name": "M11"}, "No"),
        ({"document": DOC, "claim": "A park.", "label": "1"}, "Yes"),
        ({"document": DOC, "claim": "A park.", "label": 2}, BadRow),
        ({"document": DOC, "claim": "A park."}, BadRow),
        ({"document": "  ", "claim": "A park.", "label": 1}, BadRow),
        ({"document": DOC, "label": 1}, BadRow),
    ],
)
def test_summac_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            summac_row(record, subset="factcc")
        return
    row = summac_row(record, subset="factcc")
    assert row.answer == expected
    assert list(row.inputs) == ["document", "summary"]
    assert row.metadata["subset"] == "factcc"


@pytest.mark.data
@pytest.mark.parametrize(
    "subset, good, yes, no",
    [
        ("factcc", 311, 274, 37),
        ("polytope", 634, 42, 592),
        ("summeval", 100, 63, 37),
        ("xsumfaith", 485, 50, 435),
    ],
)
def test_summac_real_data(subset, good, yes, no):
    name = f"summac_benchmark_{subset}_consistency_classification_v1"
    assert TASKS.get(name).eval_only
    o = outcomes(name)
    assert o.counts == {"good": good}
    assert o.labels == {"Yes": yes, "No": no}
