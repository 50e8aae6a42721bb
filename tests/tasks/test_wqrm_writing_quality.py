import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.wqrm_writing_quality import build_prompt, wqrm_rows

MOST, SECOND, LEAST = (
    "Most Preferred Writing Option",
    "Second Favorite Writing Option",
    "Least Preferred Writing Option",
)


def rank(first_draft, random_cot, best_cot):
    return {"first_draft": first_draft, "random_cot": random_cot, "best_cot": best_cot}


def rec(annotations, **kw):
    base = {
        "instruction": {"id": 1, "voice": "first person", "plot": "A girl finds a dog.", "word_count": 200},
        "first_draft": {"candidate": "draft", "wqrm_score": "5.0"},
        "random_cot": {"candidate": "random edit", "wqrm_score": "6.0"},
        "best_cot": {"candidate": "best edit", "wqrm_score": "7.0"},
        "genre": "fiction",
        "llm": "gpt",
        "annotations": annotations,
    }
    base.update(kw)
    return base


def preferences(rows):
    """{(preferred text, other text)} of the rows."""
    out = set()
    for row in rows:
        other = "B" if row.answer == "A" else "A"
        out.add((row.inputs["response " + row.answer], row.inputs["response " + other]))
    return out


def test_build_prompt():
    assert build_prompt(rec([])) == (
        "Write a fiction paragraph in the first person voice of about 200 words with the following content: "
        "A girl finds a dog."
    )
    marketing = rec([], instruction={"plot": "gpt_marketing_air_fryer"}, genre="marketing")
    assert build_prompt(marketing) == "Write marketing copy for a product: air fryer."


def test_wqrm_rows_unanimous():
    rows = wqrm_rows(rec([rank(LEAST, SECOND, MOST)] * 3))
    assert preferences(rows) == {
        ("best edit", "draft"),
        ("best edit", "random edit"),
        ("random edit", "draft"),
    }
    assert all(r.metadata["agreement"] == "3/3" and r.metadata["subset"] == "fiction" for r in rows)
    assert all(list(r.inputs) == ["prompt", "response A", "response B"] for r in rows)


def test_wqrm_rows_majority():
    rows = wqrm_rows(rec([rank(LEAST, SECOND, MOST), rank(SECOND, LEAST, MOST), rank(MOST, LEAST, SECOND)]))
    # best > draft 2/3; best > random 3/3; random vs draft: draft wins 2/3.
    assert preferences(rows) == {
        ("best edit", "draft"),
        ("best edit", "random edit"),
        ("draft", "random edit"),
    }


def test_wqrm_rows_two_annotators_disagreeing_pair_left_out():
    rows = wqrm_rows(rec([rank(LEAST, SECOND, MOST), rank(SECOND, LEAST, MOST)]))
    assert preferences(rows) == {("best edit", "draft"), ("best edit", "random edit")}


@pytest.mark.parametrize(
    "record, error",
    [
        (rec([rank(LEAST, SECOND, MOST), rank(MOST, SECOND, LEAST)]), Unlabeled),  # opposite rankings
        (rec([]), Unlabeled),
        (rec(None), Unlabeled),
        (rec([rank(MOST, MOST, LEAST)]), BadRow),
        (rec([{"first_draft": MOST, "best_cot": LEAST}]), BadRow),
        (rec([rank("Great", SECOND, LEAST)]), BadRow),
        (rec([rank(LEAST, SECOND, MOST)], best_cot=None), BadRow),
        (rec([rank(LEAST, SECOND, MOST)], instruction={"plot": ""}), BadRow),
        (rec([rank(LEAST, SECOND, MOST)], instruction="write"), BadRow),
    ],
)
def test_wqrm_rows_errors(record, error):
    with pytest.raises(error):
        wqrm_rows(record)


@pytest.mark.data
def test_wqrm_real_data():
    o = outcomes("wqrm_writing_quality_preference_pairwise_v1")
    # 101 records x 3 pairs: 2 records (two annotators with opposite rankings) are Unlabeled and 27 more
    # pairs have no majority.
    assert o.tally == (270, 0, 2, 0)
    assert o.labels == {"A": 125, "B": 145}
    assert {r.metadata["subset"] for r in o.rows} == {"fiction", "nonfiction", "marketing"}
