"""evouna_qa_eval: one record (question) -> one Yes/No row per judged model answer."""

from __future__ import annotations

from collections import Counter

import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.evouna_qa_eval import MODELS, evouna_rows


def _record(**kw):
    rec = {
        "question": "who got the first nobel prize in physics",
        "golden_answer": "Wilhelm Conrad Röntgen/Röntgen",
    }
    for model in MODELS:
        rec[f"answer_{model}"] = "Wilhelm Röntgen"
        rec[f"judge_{model}"] = True
    rec["improper"] = False
    rec.update(kw)
    return rec


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_record(), ["Yes"] * 5),
        (_record(judge_fid=False, answer_fid="Albert Einstein"), ["No", "Yes", "Yes", "Yes", "Yes"]),
        # an unjudged answer (None in NQ, "nan" in TQ) is skipped, the others are kept
        (_record(judge_newbing=None, answer_newbing=None), ["Yes"] * 4),
        (_record(judge_gpt4="nan"), ["Yes"] * 4),
        # an empty answer judged incorrect is a legitimate bad answer
        (_record(answer_newbing="", judge_newbing=False), ["Yes"] * 4 + ["No"]),
        (_record(**{f"judge_{m}": None for m in MODELS}), Unlabeled),
        (_record(**{f"judge_{m}": "nan" for m in MODELS}), Unlabeled),
        (_record(improper=True), Unlabeled),  # the authors rejected the question / gold answer
        (_record(answer_newbing="", judge_newbing=True), BadRow),  # answer text lost
        (_record(answer_fid=None, judge_fid=False), BadRow),
        (_record(judge_gpt35="yes"), BadRow),
        (_record(question=""), BadRow),
        (_record(golden_answer=None), BadRow),
    ],
)
def test_evouna_rows(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            evouna_rows(record)
        return
    rows = evouna_rows(record)
    assert [r.answer for r in rows] == expected
    for row in rows:
        assert list(row.inputs) == ["question", "reference answers", "response"]
        assert row.inputs["reference answers"] == record["golden_answer"]
        assert row.inputs["response"] == (record[f"answer_{row.metadata['subset']}"] or "").strip()
        assert row.metadata["subset"] in MODELS


# (records ok, rows, Yes, Unlabeled records, BadRow records), observed in the files.
EXPECTED = {
    "evouna_qa_eval_nq_correctness_classification_v1": (3017, 15084, 11044, 590, 3),
    "evouna_qa_eval_tq_correctness_classification_v1": (1938, 9690, 8221, 62, 0),
}


@pytest.mark.data
def test_real_file_counts():
    for name, (ok, n_rows, yes, unlabeled, bad) in EXPECTED.items():
        o = outcomes(name)
        assert (o.good_records, o.unlabeled, o.bad, o.bad_records) == (ok, unlabeled, bad, 0), name
        assert o.labels == Counter(Yes=yes, No=n_rows - yes), name
        subsets = Counter(row.metadata["subset"] for row in o.rows)
        assert set(subsets) == set(MODELS), name
        assert min(subsets.values()) >= ok - 1, name  # every model answered (almost) every question
