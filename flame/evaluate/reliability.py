"""Calibration of raters that give probabilities: expected calibration error, Brier score, reliability bins.

Only raters whose probabilities are soft count: ``length`` and ``random`` put probability 1 (or an exact
1/k tie) on their answer, and an ECE of a 0/1 rater says nothing that accuracy does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flame.evaluate.metrics import TIE, _judgment_dict
from flame.types import Example, Judgment


def gives_probabilities(judgments: Sequence[Judgment | dict]) -> bool:
    """True when some judgment's top probability is soft: not 1 and not an exact split 1/m between m
    tied labels (``length`` on equal lengths puts 0.5 on A and B: a tie, not a probability)."""
    for j in judgments:
        probs = _judgment_dict(j).get("probs")
        if not probs:
            continue
        top = max(probs.values())
        if all(abs(top - 1.0 / m) > 1e-6 for m in range(1, len(probs) + 1)):
            return True
    return False


def calibration_columns(
    examples: Sequence[Example],
    judgments: Sequence[Judgment | dict],
    binarize: dict[str, str] | None = None,
    ties: str = "exclude",
) -> dict[str, np.ndarray]:
    """confidence (top probability), correct (1 when the top label is gold), brier (per-row sum of
    squared errors over the label space). Rows without probabilities or gold are left out."""
    conf, correct, brier = [], [], []
    for ex, j in zip(examples, judgments, strict=True):
        j = _judgment_dict(j)
        probs, gold = j.get("probs"), ex.answer
        if not probs or gold is None or (gold == TIE and ties == "exclude"):
            continue
        if binarize:
            merged: dict[str, float] = {}
            for lab, p in probs.items():
                merged[binarize.get(lab, lab)] = merged.get(binarize.get(lab, lab), 0.0) + p
            probs, gold = merged, binarize.get(gold, gold)
        if gold not in probs:
            continue
        top = max(probs.values())
        winners = [lab for lab, p in probs.items() if p >= top - 1e-12]
        conf.append(top)
        correct.append((1.0 / len(winners)) if gold in winners else 0.0)
        brier.append(sum((p - float(lab == gold)) ** 2 for lab, p in probs.items()))
    return {"confidence": np.array(conf), "correct": np.array(correct), "brier": np.array(brier)}


def ece_metric(c: dict[str, np.ndarray]) -> float:
    from flame.evaluate.metrics import expected_calibration_error

    return expected_calibration_error(c["confidence"], c["correct"])


def brier_metric(c: dict[str, np.ndarray]) -> float:
    return float(np.mean(c["brier"])) if len(c["brier"]) else float("nan")
