"""topicalchat_usr: one pointwise task per USR quality, each on its own scale."""

from __future__ import annotations

import pytest
from realdata import outcomes

from flame.data.task import BadRow, get_task
from flame.tasks.topicalchat_usr import ASPECTS, usr_row

HISTORY = "have you heard of studio ghibli ? \n i do n't think i have . \n\n"
FACT = "studio ghibli is a japanese animation studio ."
RESPONSE = "they made spirited away , a great film !"


def rec(scores, **kw):
    return {"source": HISTORY, "context": FACT, "system_output": RESPONSE, "system_id": "Argmax Decoding",
            "scores": scores, **kw}  # fmt: skip


def row(record, aspect):
    low, high, _ = ASPECTS[aspect]
    return usr_row(record, aspect=aspect, low=low, high=high)


@pytest.mark.parametrize(
    ("record", "aspect", "expected"),
    [
        (rec({"understandability": 0.6666666667}), "understandability", "1"),
        (rec({"understandability": 0.3333333333}), "understandability", "0"),
        (rec({"naturalness": 2.3333333333}), "naturalness", "2"),
        (rec({"coherence": 2.6666666667}), "coherence", "3"),
        (rec({"groundedness": 0.0}, context="_nofact\n"), "groundedness", "0"),
        (rec({"overall": 4.6666666667}), "overall", "5"),
        (rec({"overall": 1.0}, system_output=""), "overall", "1"),  # an empty response is a bad response
        (rec({"overall": 3.0}, source=" \n \n"), "overall", BadRow),
        (rec({"naturalness": 3.0}), "overall", BadRow),
        (rec({"overall": None}), "overall", BadRow),
        (rec({"overall": "high"}), "overall", BadRow),
        (rec({"naturalness": 4.0}), "naturalness", BadRow),
        (rec({"understandability": 1.5}), "understandability", BadRow),
        ({"source": HISTORY, "context": FACT, "system_output": RESPONSE}, "overall", BadRow),
    ],
)
def test_usr_row(record, aspect, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            row(record, aspect)
    else:
        r = row(record, aspect)
        assert r.answer == expected
        assert list(r.inputs) == ["conversation", "fact", "response"]
        assert r.inputs["conversation"] == "have you heard of studio ghibli ?\ni do n't think i have ."


def test_no_fact_is_spelled_out():
    r = row(rec({"groundedness": 1.0}, context="_nofact\n"), "groundedness")
    assert r.inputs["fact"] == "(no fact was given)"


def test_task_names_and_labels():
    for aspect, (low, high, _) in ASPECTS.items():
        task = get_task(f"topicalchat_usr_{aspect}_pointwise_v1")
        assert task.labels == tuple(str(v) for v in range(low, high + 1))
        assert not task.permissive and not task.eval_only


# Observed in usr_topical_chat.json (360 responses, no bad or unlabeled rows).
EXPECTED = {
    "understandability": {"0": 118, "1": 242},
    "naturalness": {"1": 53, "2": 147, "3": 160},
    "coherence": {"1": 64, "2": 144, "3": 152},
    "engagingness": {"1": 73, "2": 157, "3": 130},
    "groundedness": {"0": 155, "1": 205},
    "overall": {"1": 40, "2": 88, "3": 84, "4": 69, "5": 79},
}


@pytest.mark.data
def test_real_file_counts():
    for aspect, expected_labels in EXPECTED.items():
        o = outcomes(f"topicalchat_usr_{aspect}_pointwise_v1")
        assert o.counts == {"good": 360}, aspect
        assert o.labels == expected_labels, aspect
