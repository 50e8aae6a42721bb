"""ttcw_creative_writing: one Yes/No task per Torrance test (majority verdict) and one generative task whose
target is an expert's explanation; New Yorker stories are URL-only in the release (BadRow)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled
from flame.tasks.ttcw_creative_writing import (
    MAJORITY,
    STORIES,
    TESTS,
    TTCW_TESTS,
    read_verdicts,
    ttcw_explanation_row,
    ttcw_row,
)

STORY = "The lights buzzed as Laura blinked awake.\n\nShe was in a private room at Saint Joseph's hospital."
QUESTION = "Does the end of the story feel natural and earned, as opposed to arbitrary or abrupt?"
URL = "https://www.newyorker.com/magazine/2023/05/15/maintenance-hvidovre-fiction-olga-ravn"


def rec(**kw):
    return {"story_id": "0_Claude", "ttcw_idx": 1, "binary_verdict": "No", "story": STORY, "question": QUESTION,
            "test_category": "Narrative Ending", **kw}  # fmt: skip


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (rec(), "No"),
        (rec(binary_verdict="Yes"), "Yes"),
        (rec(binary_verdict="yes"), "Yes"),
        (rec(binary_verdict=None), Unlabeled),
        (rec(binary_verdict=""), Unlabeled),
        (rec(binary_verdict="Maybe"), BadRow),
        (rec(story=URL, story_id="0_NewYorker"), BadRow),
        (rec(story=None), BadRow),
        (rec(story="   "), BadRow),
    ],
)
def test_ttcw_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            ttcw_row(record)
    else:
        row = ttcw_row(record)
        assert row.answer == expected
        assert row.inputs == {"story": STORY}
        assert row.metadata["author"] == "Claude"
        assert row.metadata["subset"] == "Narrative Ending"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (rec(explanation="The ending seemed arbitrary.", expert_idx=9), "The ending seemed arbitrary."),
        (rec(explanation="  "), BadRow),
        (rec(), BadRow),
        (rec(explanation="Fine.", question=None), BadRow),
        (rec(explanation="Fine.", binary_verdict=None), Unlabeled),
        (rec(explanation="Fine.", story=URL), BadRow),
    ],
)
def test_ttcw_explanation_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            ttcw_explanation_row(record)
    else:
        row = ttcw_explanation_row(record)
        assert row.answer == expected
        assert row.inputs == {"story": STORY, "question": QUESTION, "verdict": "No"}
        assert row.metadata["expert"] == "9"


def test_read_verdicts_attaches_story_and_question(tmp_path):
    (tmp_path / "ttcw_creative_writing").mkdir()
    (tmp_path / STORIES).write_text(json.dumps([{"story_id": "0_Claude", "content": STORY}]))
    (tmp_path / TESTS).write_text(
        json.dumps([{"ttcw_idx": 1, "category": "Narrative Ending", "question": QUESTION}])
    )
    (tmp_path / MAJORITY).write_text(
        json.dumps(
            [
                {"story_id": "0_Claude", "ttcw_idx": 1, "binary_verdict": "No"},
                {"story_id": "0_Claude", "ttcw_idx": 2, "binary_verdict": "Yes"},
                {"story_id": "9_GPT4", "ttcw_idx": 1, "binary_verdict": "Yes"},
            ]
        )
    )
    out = list(read_verdicts(tmp_path, MAJORITY, ttcw_idx=1))
    assert [r.data["story_id"] for r in out] == ["0_Claude", "9_GPT4"]
    assert out[0].data["story"] == STORY and out[0].data["question"] == QUESTION
    assert out[1].data["story"] is None  # story missing from the stories file
    with pytest.raises(BadRow):
        ttcw_row(out[1].data)
    assert len(list(read_verdicts(tmp_path, MAJORITY))) == 3


# Majority verdicts per test observed (36 LLM-written stories each; the 12 New Yorker ones are BadRow).
EXPECTED = {
    "narrative_ending": {"No": 32, "Yes": 4},
    "understandability_and_coherence": {"No": 25, "Yes": 11},
    "scene_vs_summary": {"No": 23, "Yes": 13},
    "narrative_pacing": {"No": 20, "Yes": 16},
    "language_proficiency_and_literary_devices": {"No": 34, "Yes": 2},
    "emotional_flexibility": {"No": 32, "Yes": 4},
    "structural_flexibility": {"No": 33, "Yes": 3},
    "perspective_and_voice_flexibility": {"No": 34, "Yes": 2},
    "originality_in_thought": {"No": 32, "Yes": 4},
    "originality_in_form_and_structure": {"No": 36},
    "originality_in_theme_and_content": {"No": 34, "Yes": 2},
    "rhetorical_complexity": {"No": 35, "Yes": 1},
    "world_building_and_setting": {"No": 23, "Yes": 13},
    "character_development": {"No": 36},
}


@pytest.mark.data
def test_real_file_counts():
    assert {slug for slug, *_ in TTCW_TESTS.values()} == set(EXPECTED)
    for slug, expected_labels in EXPECTED.items():
        o = outcomes(f"ttcw_creative_writing_{slug}_classification_v1")
        assert o.counts == {"good": 36, "bad": 12}, slug
        assert o.labels == expected_labels, slug
    o = outcomes("ttcw_creative_writing_explanation_generative_v1")
    assert o.counts == {"good": 1512, "bad": 504}  # 3 experts x 14 tests x 48 stories; 12 stories URL-only
    assert Counter(r.inputs["verdict"] for r in o.rows) == {"No": 1177, "Yes": 335}
