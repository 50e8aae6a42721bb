import pytest
from realdata import outcomes

from flame.data.task import TASKS, BadRow
from flame.tasks.felm import clean_text, response_row, segment_rows

P = "4839+3948-45"


def rec(**kw):
    base = {
        "index": "3",
        "prompt": P,
        "response": "The answer is 8739.",
        "segmented_response": ["The answer is 8739."],
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec(labels=[False]), "No"),
        (rec(labels=[True]), "Yes"),
        (rec(segmented_response=["A.", "B."], labels=[True, False]), "No"),
        (rec(labels=[True], response=float("nan")), BadRow),
        (rec(labels=[]), BadRow),
        (rec(labels=["yes"]), BadRow),
        (rec(labels=[True], prompt=""), BadRow),
    ],
)
def test_response_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            response_row(record, domain="math")
        return
    row = response_row(record, domain="math")
    assert row.answer == expected
    assert row.metadata["subset"] == "math"


@pytest.mark.parametrize(
    "record, expected",
    [
        (rec(segmented_response=["A.", "B."], labels=[True, False]), ["Yes", "No"]),
        (rec(labels=[True]), ["Yes"]),
        (rec(segmented_response=["A.", "B."], labels=[True, False, True, False]), BadRow),
        (rec(segmented_response=["A.", ""], labels=[True, True]), BadRow),
        (rec(labels=[True], response=float("nan")), BadRow),
    ],
)
def test_segment_rows(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            segment_rows(record, domain="wk")
        return
    rows = segment_rows(record, domain="wk")
    assert [r.answer for r in rows] == expected
    assert all(list(r.inputs) == ["prompt", "response", "segment"] for r in rows)
    assert [r.metadata["segment"] for r in rows] == list(range(len(rows)))


def test_clean_text_keeps_latex():
    assert clean_text("Step 1\\nStep 2") == "Step 1\nStep 2"
    assert clean_text("\\frac{1}{2} \\neq 1") == "\\frac{1}{2} \\neq 1"
    assert clean_text("a\n\n\n\n\nb") == "a\n\nb"


@pytest.mark.data
@pytest.mark.parametrize(
    "domain, response, segment",
    [
        ("math", ({"good": 194}, {"Yes": 130, "No": 64}), ({"good": 599}, {"Yes": 474, "No": 125})),
        (
            "reasoning",
            ({"good": 207, "bad": 1}, {"Yes": 160, "No": 47}),
            ({"good": 987, "bad": 8}, {"Yes": 853, "No": 134}),
        ),
        ("science", ({"good": 125}, {"Yes": 87, "No": 38}), ({"good": 683}, {"Yes": 585, "No": 98})),
        (
            "wk",
            ({"good": 183, "bad": 1}, {"Yes": 98, "No": 85}),
            ({"good": 519, "bad": 1}, {"Yes": 371, "No": 148}),
        ),
        (
            "writing_rec",
            ({"good": 136}, {"Yes": 89, "No": 47}),
            ({"good": 1571, "bad": 4}, {"Yes": 1304, "No": 267}),
        ),
    ],
)
def test_felm_real_data(domain, response, segment):
    assert TASKS.get(f"felm_{domain}_response_factuality_classification_v1").capability == (
        "math" if domain == "math" else "factuality"
    )
    o = outcomes(f"felm_{domain}_response_factuality_classification_v1")
    assert (o.counts, o.labels) == response
    o = outcomes(f"felm_{domain}_segment_factuality_classification_v1")
    assert (o.counts, o.labels) == segment
