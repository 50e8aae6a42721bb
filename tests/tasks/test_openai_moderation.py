"""openai_moderation: one Yes/No task per category; a missing label is Unlabeled, never "No"."""

from __future__ import annotations

from collections import Counter

import pytest
from realdata import outcomes

from flame.data.task import BadRow, Unlabeled, get_task
from flame.tasks.openai_moderation import CATEGORIES, moderation_row

TEXT = "That person will die a horrible death at my hands."


@pytest.mark.parametrize(
    ("record", "key", "expected"),
    [
        ({"prompt": TEXT, "V": 1, "H": 0}, "V", "Yes"),
        ({"prompt": TEXT, "V": 1, "H": 0}, "H", "No"),
        ({"prompt": "  some text  ", "S3": 0}, "S3", "No"),
        ({"prompt": TEXT, "V": 1}, "H", Unlabeled),  # category not annotated for this text
        ({"prompt": TEXT, "H": None}, "H", Unlabeled),
        ({"prompt": TEXT, "H": 2}, "H", BadRow),
        ({"prompt": TEXT, "H": "yes"}, "H", BadRow),
        ({"prompt": TEXT, "H": True}, "H", BadRow),
        ({"prompt": "   ", "H": 1}, "H", BadRow),
        ({"H": 1}, "H", BadRow),
    ],
)
def test_moderation_row(record, key, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            moderation_row(record, key=key)
    else:
        row = moderation_row(record, key=key)
        assert row.answer == expected
        assert row.inputs == {"text": record["prompt"].strip()}


def test_task_names_and_labels():
    names = {f"openai_moderation_{aspect}_classification_v1" for aspect, _, _ in CATEGORIES.values()}
    assert len(names) == 8
    for name in names:
        task = get_task(name)
        assert task.labels == ("Yes", "No")
        assert task.capability == "safety"
        assert not task.eval_only
        assert task.permissive


# (good rows, Unlabeled, Yes) per category, observed in samples-1680.jsonl.gz (1,680 records, no bad rows).
EXPECTED = {
    "sexual": (984, 696, 237),
    "hate": (771, 909, 162),
    "violence": (1450, 230, 94),
    "harassment": (1444, 236, 76),
    "self_harm": (1447, 233, 51),
    "sexual_minors": (994, 686, 85),
    "hate_threatening": (761, 919, 41),
    "violence_graphic": (1447, 233, 24),
}


@pytest.mark.data
def test_real_file_counts():
    for aspect, (good, unlabeled, yes) in EXPECTED.items():
        o = outcomes(f"openai_moderation_{aspect}_classification_v1")
        assert o.counts == {"good": good, "unlabeled": unlabeled}, aspect
        assert o.labels == Counter(Yes=yes, No=good - yes), aspect
