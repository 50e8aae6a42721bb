"""Label biases fitted on dev rows (flame.encoder.calibration): the pure parts, without a model."""

from __future__ import annotations

import math

import pytest

from flame.encoder.calibration import (
    LabelBias,
    apply_bias,
    balanced_weights,
    fit_bias,
    fit_label_biases,
    row_kind,
)
from flame.types import Example, TaskType


def _row(task, answer, source=True):
    inputs = {"document": "the cat sat", "summary": "a cat"} if source else {"text": "hello"}
    return Example(
        task, TaskType.CLASSIFICATION, "Faithful?", "Yes or No.", inputs, {"answer": answer}, ("Yes", "No")
    )


def test_each_task_weighs_the_same_and_each_label_within_it():
    w = balanced_weights(["a", "a", "a", "a", "b"], [0, 0, 0, 1, 1])
    assert w == pytest.approx([1 / 6, 1 / 6, 1 / 6, 1 / 2, 1.0])


def test_the_fitted_bias_undoes_a_shift_toward_one_label():
    # A judge that ranks perfectly but adds 3 to "Yes": every row is "Yes" until the bias moves the line.
    scores = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]
    targets = [1, 1, 1, 0, 0, 0]  # 0 = Yes
    log_probs = [[-math.log1p(math.exp(-(z + 3))), -math.log1p(math.exp(z + 3))] for z in scores]
    assert all(lp[0] > lp[1] for lp in log_probs)
    bias = fit_bias(log_probs, targets, [1.0] * 6)
    assert sum(bias) == pytest.approx(0.0, abs=1e-9)
    shifted = [lp[0] + bias[0] > lp[1] + bias[1] for lp in log_probs]
    assert shifted == [t == 0 for t in targets]  # every row right after the shift
    assert bias[0] - bias[1] < -1.0


def test_biases_are_fitted_per_kind_of_row():
    rows = [_row("s1", a) for a in ("Yes", "No", "No")] + [_row("m1", a, source=False) for a in ("Yes", "No")]
    probs = [{"Yes": 0.9, "No": 0.1}, {"Yes": 0.8, "No": 0.2}, {"Yes": 0.7, "No": 0.3}]
    probs += [{"Yes": 0.2, "No": 0.8}, {"Yes": 0.1, "No": 0.9}]
    biases = {b.has_source: b for b in fit_label_biases(rows, probs)}
    assert set(biases) == {True, False} and biases[True].rows == 3 and biases[False].tasks == 1
    assert biases[True].kind == row_kind(rows[0]) == ("classification", ("Yes", "No"), True)
    # With a source "Yes" was too easy (0.7-0.9): it is pushed down; without one, up.
    assert biases[True].bias[0] < 0 < biases[False].bias[0]
    calibrated = apply_bias(probs[2], biases[True])
    assert calibrated["No"] > calibrated["Yes"] and sum(calibrated.values()) == pytest.approx(1.0)


def test_a_label_bias_round_trips_through_json_and_none_changes_nothing():
    b = LabelBias("classification", ("Yes", "No"), True, (-0.5, 0.5), tasks=3, rows=90)
    assert LabelBias.from_json(b.to_json()) == b
    assert apply_bias({"Yes": 0.6, "No": 0.4}, None) == {"Yes": 0.6, "No": 0.4}
