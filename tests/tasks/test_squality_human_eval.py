"""squality_human_eval: responses joined with their story and question; mean 0-100 ratings mapped onto 1-5."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest
from realdata import outcomes

from flame.data.sources import BadRecord, Record
from flame.data.task import BadRow
from flame.tasks.squality_human_eval import ASPECTS, PASSAGES, RESPONSES, read_squality, squality_row

STORY = "In the region of the Coal Sack Nebula, Captain Steffens stood counting buildings."
QUESTION = "What is the plot of the story?"


def rec(ratings, **kw):
    return {"passage_id": "50827", "story": STORY, "question": QUESTION, "question_number": "1", "system": "bart",
            "response": "Steffens counts buildings.", "ratings": ratings, **kw}  # fmt: skip


@pytest.mark.parametrize(
    ("record", "aspect", "expected"),
    [
        (rec({"correctness-rating": 36.666666666666664}), "correctness", "2"),
        (rec({"overall-rating": 94.66666666666667}), "overall", "5"),
        (rec({"selection-rating": 50.0}), "selection", "3"),
        (rec({"overall-rating": 0}, response=""), "overall", "1"),  # an empty response is a bad response
        (rec({"overall-rating": 20.0}), "selection", BadRow),
        (rec(None), "overall", BadRow),
        (rec({"overall-rating": "bad"}), "overall", BadRow),
        (rec({"overall-rating": 120}), "overall", BadRow),
        (rec({"overall-rating": 50}, story=None), "overall", BadRow),
        (rec({"overall-rating": 50}, question=None), "overall", BadRow),
    ],
)
def test_squality_row(record, aspect, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            squality_row(record, aspect=aspect)
    else:
        row = squality_row(record, aspect=aspect)
        assert row.answer == expected
        assert list(row.inputs) == ["story", "question", "response"]


def test_read_squality_joins_story_and_question(tmp_path):
    (tmp_path / "squality_human_eval").mkdir()
    passages = [{"metadata": {"passage_id": "50827"}, "document": STORY,
                 "questions": [{"question_number": 1, "question_text": QUESTION},
                               {"question_number": 2, "question_text": "Describe the setting."}]}]  # fmt: skip
    entry = {"response": "Steffens counts buildings.", "reviews": [], "overall": {"overall-rating": 20.0}}
    responses = [
        {"passage-id": "50827", "questions": {"0": {"bart": entry, "human": entry}, "1": {"bart": entry}}},
        {"passage-id": "99999", "questions": {"0": {"bart": entry}}},
    ]
    for path, rows in ((PASSAGES, passages), (RESPONSES, responses)):
        (tmp_path / path).write_bytes(gzip.compress("\n".join(json.dumps(r) for r in rows).encode()))
    out = list(read_squality(tmp_path))
    good = [r for r in out if isinstance(r, Record)]
    assert [r.data["question"] for r in good] == [QUESTION, QUESTION, "Describe the setting."]
    assert [r.data["system"] for r in good] == ["bart", "human", "bart"]
    assert all(r.data["story"] == STORY for r in good)
    assert [type(r) for r in out if not isinstance(r, Record)] == [BadRecord]  # passage 99999 is missing


# Observed: 20 passages x 5 questions x 3 systems = 300 responses, no bad or unlabeled rows.
EXPECTED = {
    "correctness": {"1": 15, "2": 73, "3": 92, "4": 30, "5": 90},
    "selection": {"1": 79, "2": 93, "3": 27, "4": 33, "5": 68},
    "overall": {"1": 61, "2": 108, "3": 27, "4": 29, "5": 75},
}


@pytest.mark.data
def test_real_file_counts():
    assert set(EXPECTED) == set(ASPECTS)
    for aspect, expected_labels in EXPECTED.items():
        o = outcomes(f"squality_human_eval_{aspect}_pointwise_v1")
        assert o.task.permissive and not o.task.eval_only
        assert o.counts == {"good": 300}, aspect
        assert o.labels == expected_labels, aspect
        assert Counter(r.metadata["system"] for r in o.rows) == {"bart": 100, "bart-dpr": 100, "human": 100}
