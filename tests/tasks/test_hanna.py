"""hanna: one pointwise task per criterion; the rater mean is rounded half up to 1-5."""

from __future__ import annotations

import pytest
from realdata import outcomes

from flame.data.task import BadRow, get_task
from flame.tasks.hanna import CRITERIA, hanna_row

PROMPT = "When you die the afterlife is an arena where you face every insect you killed."
STORY = "Willy stood in the arena. A million ants stared back at him."


@pytest.mark.parametrize(
    ("record", "criterion", "expected"),
    [
        ({"prompt": PROMPT, "story": STORY, "Coherence": 3.6666666667}, "Coherence", "4"),
        ({"prompt": PROMPT, "story": STORY, "Coherence": 2.5}, "Coherence", "3"),  # half up
        ({"prompt": PROMPT, "story": STORY, "Surprise": 1.0}, "Surprise", "1"),
        ({"prompt": PROMPT, "story": STORY, "Relevance": "5"}, "Relevance", "5"),
        ({"prompt": PROMPT, "story": "", "Empathy": 1.0}, "Empathy", "1"),  # an empty story is a bad story
        ({"prompt": PROMPT, "story": STORY}, "Coherence", BadRow),
        ({"prompt": PROMPT, "story": STORY, "Coherence": None}, "Coherence", BadRow),
        ({"prompt": PROMPT, "story": STORY, "Coherence": "n/a"}, "Coherence", BadRow),
        ({"prompt": PROMPT, "story": STORY, "Coherence": 5.5}, "Coherence", BadRow),
        ({"prompt": PROMPT, "story": STORY, "Coherence": 0.0}, "Coherence", BadRow),
        ({"prompt": "  ", "story": STORY, "Coherence": 3.0}, "Coherence", BadRow),
        ({"story": STORY, "Coherence": 3.0}, "Coherence", BadRow),
    ],
)
def test_hanna_row(record, criterion, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            hanna_row(record, criterion=criterion)
    else:
        row = hanna_row(record, criterion=criterion)
        assert row.answer == expected
        assert list(row.inputs) == ["prompt", "story"]
        assert row.metadata["score"] == float(record[criterion])


def test_task_names_and_labels():
    for criterion in CRITERIA:
        task = get_task(f"hanna_{criterion.lower()}_pointwise_v1")
        assert task.labels == ("1", "2", "3", "4", "5")
        assert task.permissive and not task.eval_only


# Label distribution per criterion observed in hanna_avg.jsonl.gz (1,056 stories, no bad or unlabeled rows).
EXPECTED = {
    "relevance": {"1": 141, "2": 355, "3": 375, "4": 141, "5": 44},
    "coherence": {"1": 16, "2": 170, "3": 559, "4": 248, "5": 63},
    "empathy": {"1": 133, "2": 541, "3": 330, "4": 46, "5": 6},
    "surprise": {"1": 169, "2": 629, "3": 206, "4": 50, "5": 2},
    "engagement": {"1": 66, "2": 400, "3": 427, "4": 145, "5": 18},
    "complexity": {"1": 108, "2": 477, "3": 372, "4": 85, "5": 14},
}


@pytest.mark.data
def test_real_file_counts():
    for criterion, expected_labels in EXPECTED.items():
        o = outcomes(f"hanna_{criterion}_pointwise_v1")
        assert o.counts == {"good": 1056}, criterion
        assert o.labels == expected_labels, criterion
