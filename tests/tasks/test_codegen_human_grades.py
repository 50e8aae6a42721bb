import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.codegen_human_grades import (
    conala_pairwise_rows,
    conala_pointwise_rows,
    hearthstone_pointwise_rows,
)


def conala(**kw):
    base = {
        "intent": "reverse list `a`",
        "snippet": ["a[::-1]"],
        "baseline": "a.sort()",
        "tranx-annot": "reversed(a)",
        "best-tranx": "a[::-1]",
        "best-tranx-rerank": "a[::-1]",
        "codex": "",
        "grade-baseline": 0,
        "grade-tranx-annot": 3,
        "grade-snippet": {"grader1": 4, "grader2": 3, "grader3": 4, "grader4": 3},
        "grade-best-tranx": 4,
        "grade-best-tranx-rerank": 3,
        "grade-codex": 0,
    }
    base.update(kw)
    return base


def hs(**kw):
    base = {"snippet": ["class A(MinionCard): pass"], "gcnn": "class A: pass", "nl2code": "", "grade-gcnn": 2}
    base["grade-nl2code"] = 0
    base.update(kw)
    return base


def test_conala_pointwise_rows():
    rows = conala_pointwise_rows(conala())
    systems = [r.metadata["system"] for r in rows]
    assert systems == ["reference", "baseline", "tranx-annot", "best-tranx", "best-tranx-rerank", "codex"]
    assert [r.answer for r in rows] == ["4", "0", "3", "4", "3", "0"]  # reference mean 3.5 rounds half up
    assert rows[0].metadata["score"] == 3.5
    assert rows[0].inputs == {"intent": "reverse list `a`", "code": "a[::-1]"}
    assert rows[5].inputs["code"] == ""  # an empty snippet is kept


def test_conala_reference_with_alternatives():
    rows = conala_pointwise_rows(conala(snippet=["a[::-1]", "list(reversed(a))"]))
    assert rows[0].inputs["code"] == "a[::-1]\nlist(reversed(a))"


@pytest.mark.parametrize(
    "record, error",
    [
        (conala(**{"grade-codex": 5}), BadRow),
        (conala(**{"grade-codex": "good"}), BadRow),
        (conala(**{"grade-snippet": {"grader1": -1}}), BadRow),
        (conala(**{"grade-codex": None}), Unlabeled),
        (conala(**{"grade-snippet": {}}), Unlabeled),
        (conala(intent=" "), BadRow),
        (conala(snippet=[]), BadRow),
        (conala(snippet=None), BadRow),
        (conala(codex=None), BadRow),
    ],
)
def test_conala_pointwise_errors(record, error):
    with pytest.raises(error):
        conala_pointwise_rows(record)


def test_hearthstone_rows():
    rows = hearthstone_pointwise_rows(hs())
    assert [(r.metadata["system"], r.answer) for r in rows] == [("gcnn", "2"), ("nl2code", "0")]
    assert rows[0].inputs == {"reference code": "class A(MinionCard): pass", "code": "class A: pass"}
    with pytest.raises(BadRow):
        hearthstone_pointwise_rows(hs(**{"grade-gcnn": 4.5}))


def test_conala_pairwise_rows():
    rows = conala_pairwise_rows(conala())
    pairs = {(r.metadata["preferred"], r.metadata["other"]) for r in rows}
    # labels: reference 4, baseline 0, tranx-annot 3, best-tranx 4, rerank 3, codex 0. Equal grades and
    # identical code (reference = best-tranx = rerank text) give no pair.
    assert pairs == {
        ("reference", "baseline"),
        ("reference", "tranx-annot"),
        ("reference", "codex"),
        ("tranx-annot", "baseline"),
        ("best-tranx", "baseline"),
        ("best-tranx", "tranx-annot"),
        ("best-tranx", "codex"),
        ("best-tranx-rerank", "baseline"),
        ("best-tranx-rerank", "codex"),
        ("tranx-annot", "codex"),
    }
    for r in rows:
        assert list(r.inputs) == ["intent", "response A", "response B"]
        assert r.metadata["preferred_grade"] > r.metadata["other_grade"]
    assert {r.answer for r in rows} == {"A", "B"}


def test_conala_pairwise_unlabeled_when_all_equal():
    flat = {f"grade-{s}": 2 for s in ("baseline", "tranx-annot", "best-tranx", "best-tranx-rerank", "codex")}
    with pytest.raises(Unlabeled):
        conala_pairwise_rows(conala(**flat, **{"grade-snippet": {"g": 2}}))


# task: (good rows, BadRow, Unlabeled, BadRecord), labels
EXPECTED = {
    "codegen_human_grades_conala_usefulness_pointwise_v1": (
        (2832, 0, 0, 0),
        {"0": 1029, "1": 455, "2": 308, "3": 348, "4": 692},
    ),
    "codegen_human_grades_hearthstone_usefulness_pointwise_v1": (
        (132, 0, 0, 0),
        {"1": 14, "2": 53, "3": 27, "4": 38},
    ),
    "codegen_conala_pairwise_v1": ((4909, 0, 1, 0), {"A": 2477, "B": 2432}),
}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_codegen_real_data(name):
    o = outcomes(name)
    assert o.tally == EXPECTED[name][0]
    assert o.labels == EXPECTED[name][1]
