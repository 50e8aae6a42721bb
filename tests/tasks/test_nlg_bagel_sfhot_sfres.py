"""nlg_bagel_sfhot_sfres: one pointwise task per aspect; median 1-6 ratings rounded half up."""

from __future__ import annotations

from collections import Counter

import pytest
from realdata import outcomes

from flame.data.task import BadRow, get_task
from flame.tasks.nlg_bagel_sfhot_sfres import ASPECTS, nlg_row

MR = "inform(name='X',area=citycentre,food=chinese)"
OUT = "x is a chinese restaurant in the city centre."


def rec(**kw):
    return {"dataset": "SFRES", "system": "WEN", "mr_type": "inform", "mr": MR, "sys_ref": OUT, **kw}


@pytest.mark.parametrize(
    ("record", "aspect", "expected"),
    [
        (rec(informativeness="6"), "informativeness", "6"),
        (rec(naturalness="4.5"), "naturalness", "5"),  # a median of an even number of ratings, half up
        (rec(quality="1"), "quality", "1"),
        (rec(quality="1", sys_ref=""), "quality", "1"),  # an empty output is a bad output
        (rec(), "quality", BadRow),
        (rec(quality=""), "quality", BadRow),
        (rec(quality="NA"), "quality", BadRow),
        (rec(quality="good"), "quality", BadRow),
        (rec(quality="7"), "quality", BadRow),
        (rec(quality="0"), "quality", BadRow),
        (rec(quality="3", mr=" "), "quality", BadRow),
    ],
)
def test_nlg_row(record, aspect, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            nlg_row(record, aspect=aspect)
    else:
        row = nlg_row(record, aspect=aspect)
        assert row.answer == expected
        assert list(row.inputs) == ["meaning representation", "utterance"]
        assert row.metadata["subset"] == "SFRES"
        assert row.metadata["score"] == float(record[aspect])


def test_task_names_and_labels():
    for aspect in ASPECTS:
        task = get_task(f"nlg_bagel_sfhot_sfres_{aspect}_pointwise_v1")
        assert task.labels == ("1", "2", "3", "4", "5", "6")
        assert task.permissive and not task.eval_only


# Observed in emnlp17_bagel_sfhot_sfres_medians.csv (2,460 outputs, no bad or unlabeled rows).
EXPECTED = {
    "informativeness": {"1": 20, "2": 38, "3": 110, "4": 263, "5": 678, "6": 1351},
    "naturalness": {"1": 41, "2": 87, "3": 206, "4": 438, "5": 769, "6": 919},
    "quality": {"1": 45, "2": 130, "3": 261, "4": 503, "5": 846, "6": 675},
}


@pytest.mark.data
def test_real_file_counts():
    for aspect, expected_labels in EXPECTED.items():
        o = outcomes(f"nlg_bagel_sfhot_sfres_{aspect}_pointwise_v1")
        assert o.counts == {"good": 2460}, aspect
        assert o.labels == expected_labels, aspect
        assert Counter(r.metadata["subset"] for r in o.rows) == {"SFRES": 1181, "SFHOT": 875, "BAGEL": 404}
