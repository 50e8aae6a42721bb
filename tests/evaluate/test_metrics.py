"""Metrics on literal judgments, against numbers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from eval_helpers import judged, label_ex, pair

from flame.evaluate import metrics as M
from flame.evaluate.bootstrap import bootstrap, mean_over, single
from flame.types import TaskType

# gold A, B, tie, A; the rater says A, A, A and an exact A/B tie
EXAMPLES = [pair("A", id="1"), pair("B", id="2"), pair("tie", id="3"), pair("A", id="4")]
JUDGMENTS = [
    judged({"A": 1.0, "B": 0.0, "tie": 0.0}),
    judged({"A": 1.0, "B": 0.0, "tie": 0.0}),
    judged({"A": 1.0, "B": 0.0, "tie": 0.0}),
    judged({"A": 0.5, "B": 0.5, "tie": 0.0}, prediction="B"),
]


@pytest.mark.parametrize(
    "gold, probs, prediction, parse_failure, expected",
    [
        ("A", {"A": 0.9, "B": 0.1}, "A", False, 1.0),
        ("B", {"A": 0.9, "B": 0.1}, "A", False, 0.0),
        ("A", {"A": 0.5, "B": 0.5}, "B", False, 0.5),  # a tie between the top labels is half right
        ("A", None, "A", False, 1.0),
        ("A", None, None, True, 0.0),  # a parse failure is wrong (and counted elsewhere)
    ],
)
def test_credit(gold, probs, prediction, parse_failure, expected):
    assert M.credit(gold, probs, prediction, parse_failure) == expected


def test_pairwise_accuracy_excludes_and_counts_gold_ties():
    c = M.pairwise_columns(EXAMPLES, JUDGMENTS, ties="exclude")
    assert M.accuracy(c) == pytest.approx((1 + 0 + 0.5) / 3)
    assert M.metric_n(c, "credit") == 3
    assert np.nansum(c["gold_tie"]) == 1


def test_pairwise_accuracy_with_ties_included():
    c = M.pairwise_columns(EXAMPLES, JUDGMENTS, ties="include")
    assert M.accuracy(c) == pytest.approx((1 + 0 + 0 + 0.5) / 4)


def test_consistency_uses_the_single_orders():
    def swapped(ab, ba, pf=False):
        return judged(
            {"A": 0.5, "B": 0.5},
            prediction="A",
            metadata={
                "orders": {
                    "AB": {"prediction": ab, "parse_failure": False},
                    "BA": {"prediction": ba, "parse_failure": pf},
                }
            },
        )

    js = [swapped("A", "A"), swapped("A", "B"), swapped("B", "B"), swapped("A", "A", pf=True)]
    exs = [pair("A", id=str(i), labels=("A", "B")) for i in range(4)]
    c = M.pairwise_columns(exs, js)
    assert M.consistency(c) == pytest.approx(2 / 3)  # the parse failure is left out
    assert M.metric_n(c, "consistent") == 3


def test_classification_metrics():
    exs = [label_ex(g, id=str(i)) for i, g in enumerate(["Yes", "Yes", "Yes", "No"])]
    js = [
        judged({"Yes": 1.0, "No": 0.0}),
        judged({"Yes": 0.0, "No": 1.0}),
        judged({"Yes": 1.0, "No": 0.0}),
        judged({"Yes": 0.0, "No": 1.0}),
    ]
    c = M.classification_columns(exs, js, ("Yes", "No"))
    assert M.classification_accuracy(c) == pytest.approx(0.75)
    assert M.balanced_accuracy(c) == pytest.approx((2 / 3 + 1) / 2)
    # F1(Yes) = 2·2/(2·2+0+1) = 0.8; F1(No) = 2·1/(2·1+1+0) = 2/3
    assert M.macro_f1(c) == pytest.approx((0.8 + 2 / 3) / 2)


def test_binarised_labels_sum_probabilities():
    labels = ("Supported", "Partially supported", "Not supported")
    exs = [
        label_ex("Partially supported", labels=labels, id="1"),
        label_ex("Supported", labels=labels, id="2"),
    ]
    # 0.4 supported vs 0.35 + 0.25 = 0.6 not supported: "No", although "Supported" is the argmax
    js = [judged({"Supported": 0.4, "Partially supported": 0.35, "Not supported": 0.25})] * 2
    binary = {"Supported": "Yes", "Partially supported": "No", "Not supported": "No"}
    c = M.classification_columns(exs, js, ("Yes", "No"), binarize=binary)
    assert list(c["gold"]) == [1, 0] and list(c["pred"]) == [1, 1]
    assert M.balanced_accuracy(c) == pytest.approx(0.5)


def test_pointwise_correlations():
    exs = [
        label_ex(str(g), labels=("1", "2", "3", "4", "5"), id=str(g), task_type=TaskType.POINTWISE)
        for g in (1, 2, 3, 4)
    ]
    js = [judged({"1": 1.0}, prediction=str(p), expected_score=float(p)) for p in (1, 3, 2, 4)]
    c = M.pointwise_columns(exs, js)
    assert M.spearman(c) == pytest.approx(1 - 6 * 2 / (4 * 15))  # 0.8
    assert M.pearson(c) == pytest.approx(0.8)
    assert M.kendall(c) == pytest.approx((5 - 1) / 6)
    assert M.within_one(c) == 1.0


def test_pointwise_uses_the_raw_score_and_drops_parse_failures():
    exs = [
        label_ex("2", labels=("1", "2", "3"), id=str(k), task_type=TaskType.POINTWISE, score=s)
        for k, s in enumerate([1.67, 2.33, 3.0])
    ]
    js = [
        judged({"1": 1.0}, prediction="1", expected_score=1.0),
        judged(None, parse_failure=True),
        judged({"3": 1.0}, prediction="3", expected_score=3.0),
    ]
    c = M.pointwise_columns(exs, js)
    assert list(c["gold"]) == [1.67, 2.33, 3.0]
    assert M.metric_n(c, "pred") == 2
    assert M.pearson(c) == pytest.approx(1.0)


def test_constant_prediction_gives_nan_correlation():
    exs = [
        label_ex(str(g), labels=("1", "2", "3"), id=str(g), task_type=TaskType.POINTWISE) for g in (1, 2, 3)
    ]
    js = [judged({"2": 1.0}, prediction="2", expected_score=2.0)] * 3
    assert math.isnan(M.spearman(M.pointwise_columns(exs, js)))


def test_calibration_numbers():
    assert M.expected_calibration_error(
        np.array([0.9, 0.9, 0.6, 0.6]), np.array([1, 0, 1, 1])
    ) == pytest.approx(0.4)
    assert M.brier_score(np.array([[0.9, 0.1], [0.5, 0.5]]), np.array([0, 1])) == pytest.approx(
        (0.02 + 0.5) / 2
    )


def test_bootstrap_is_seeded_and_brackets_the_value():
    c = {"credit": np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0])}
    a = bootstrap(single(M.accuracy), [c], n_resamples=300, seed=3)
    b = bootstrap(single(M.accuracy), [c], n_resamples=300, seed=3)
    assert a == b
    assert a.value == 0.75 and a.low <= 0.75 <= a.high and a.low < a.high


def test_stratified_mean_keeps_strata_apart():
    s1, s2 = {"credit": np.ones(5)}, {"credit": np.zeros(50)}
    est = bootstrap(mean_over(M.accuracy), [s1, s2], n_resamples=100)
    assert (est.value, est.low, est.high) == (0.5, 0.5, 0.5)  # each subset keeps its own rows
