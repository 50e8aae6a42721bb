"""Metrics as pure functions over per-example columns (numpy arrays), one row per judged example.

Every metric takes the columns of one subset and returns one number, so the same function serves the
point estimate and each bootstrap resample (``flame.evaluate.bootstrap``). Columns are built once per
(rater, subset) by ``pairwise_columns`` / ``classification_columns`` / ``pointwise_columns``; a value
that does not apply to a row is NaN (a gold tie under ``ties="exclude"``, a parse failure in a
correlation), and every metric says how many rows it used (``metric_n``).

Why these rules:

* A rater whose top probability is shared by k labels (``length`` on equal lengths: P(A) = P(B) = 0.5)
  earns 1/k when the gold label is among them: half right, not a coin flip drawn in silence.
* A parse failure is wrong in accuracy-type metrics and is *counted*; it is dropped from correlations
  (there is no number to correlate) and counted there too.
* Gold ties in pairwise data (PandaLM has them) are excluded from accuracy and counted by default
  (``ties="exclude"``); ``ties="include"`` keeps them, and then only a predicted tie is right.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from flame.types import Example, Judgment, TaskType

TIE = "tie"
TIE_POLICIES = ("exclude", "include")

Columns = dict[str, np.ndarray]


# ------------------------------------------------------------------------- per-example pieces


def top_labels(probs: dict[str, float] | None, prediction: str | None) -> list[str]:
    """The labels that share the top probability (the prediction alone when there are no probs)."""
    if probs:
        top = max(probs.values())
        return [lab for lab, p in probs.items() if p >= top - 1e-12]
    return [prediction] if prediction is not None else []


def credit(gold: str, probs: dict[str, float] | None, prediction: str | None, parse_failure: bool) -> float:
    """1 for a right answer, 1/k when gold is among k tied top labels, 0 otherwise (and on parse failure)."""
    if parse_failure and not probs:
        return 0.0
    winners = top_labels(probs, prediction)
    return 1.0 / len(winners) if gold in winners else 0.0


def _judgment_dict(j: Judgment | dict[str, Any]) -> dict[str, Any]:
    return j.to_dict() if isinstance(j, Judgment) else j


# --------------------------------------------------------------------------------- columns


def pairwise_columns(
    examples: Sequence[Example], judgments: Sequence[Judgment | dict], ties: str = "exclude"
) -> Columns:
    """credit (NaN where excluded), gold_tie (1/0), parse_failure, consistent (NaN without both orders),
    p_gold (probability on the gold label, NaN without probs or for excluded rows)."""
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, not {ties!r}")
    n = len(examples)
    cols = {k: np.full(n, np.nan) for k in ("credit", "gold_tie", "parse_failure", "consistent")}
    for i, (ex, j) in enumerate(zip(examples, judgments, strict=True)):
        j = _judgment_dict(j)
        gold = ex.answer
        cols["parse_failure"][i] = float(bool(j.get("parse_failure")))
        orders = (j.get("metadata") or {}).get("orders")
        if orders and "AB" in orders and "BA" in orders:
            ab, ba = orders["AB"], orders["BA"]
            # Consistency is measured on the two single-order outputs, before averaging; a parse
            # failure in either order leaves the row out (it is counted as a parse failure).
            if not ab.get("parse_failure") and not ba.get("parse_failure") and ab.get("prediction"):
                cols["consistent"][i] = float(ab.get("prediction") == ba.get("prediction"))
        if gold is None:
            continue
        cols["gold_tie"][i] = float(gold == TIE)
        if gold == TIE and ties == "exclude":
            continue
        cols["credit"][i] = credit(gold, j.get("probs"), j.get("prediction"), bool(j.get("parse_failure")))
    return cols


def classification_columns(
    examples: Sequence[Example],
    judgments: Sequence[Judgment | dict],
    labels: Sequence[str],
    binarize: dict[str, str] | None = None,
) -> Columns:
    """gold / pred as indices into ``labels`` (pred -1 on a parse failure), credit and parse_failure.

    ``binarize`` maps the task's labels onto ``labels`` (WiCE: Supported → Yes, partially/not → No); the
    predicted class is then the argmax of the *summed* probabilities of each binary side, so a rater
    torn between "partially" and "not supported" still says "not supported" (LLM-AggreFact's reading).
    """
    index = {lab: k for k, lab in enumerate(labels)}
    n = len(examples)
    gold = np.full(n, -1, dtype=np.int64)
    pred = np.full(n, -1, dtype=np.int64)
    pf = np.zeros(n)
    cr = np.full(n, np.nan)
    for i, (ex, j) in enumerate(zip(examples, judgments, strict=True)):
        j = _judgment_dict(j)
        pf[i] = float(bool(j.get("parse_failure")))
        g = ex.answer
        probs = j.get("probs")
        prediction = j.get("prediction")
        if binarize:
            g = binarize.get(g, g) if g is not None else None
            if probs:
                summed: dict[str, float] = {}
                for lab, p in probs.items():
                    summed[binarize.get(lab, lab)] = summed.get(binarize.get(lab, lab), 0.0) + p
                probs = summed
            if prediction is not None:
                prediction = binarize.get(prediction, prediction)
        if g is None or g not in index:
            continue
        gold[i] = index[g]
        winners = top_labels(probs, prediction) if not (pf[i] and not probs) else []
        # The predicted index: the rater's own prediction when it is among the top labels (its seeded
        # tie-break), otherwise the first top label.
        choice = prediction if prediction in winners else (winners[0] if winners else None)
        pred[i] = index.get(choice, -1) if choice is not None else -1
        cr[i] = (1.0 / len(winners)) if g in winners else 0.0
    return {"gold": gold, "pred": pred, "credit": cr, "parse_failure": pf}


def _as_float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def pointwise_columns(examples: Sequence[Example], judgments: Sequence[Judgment | dict]) -> Columns:
    """gold (the raw human score when the example keeps one in metadata["score"], else the label),
    gold_label, pred (the rater's expected score, else its label), pred_label, parse_failure."""
    n = len(examples)
    cols = {k: np.full(n, np.nan) for k in ("gold", "gold_label", "pred", "pred_label", "parse_failure")}
    for i, (ex, j) in enumerate(zip(examples, judgments, strict=True)):
        j = _judgment_dict(j)
        cols["parse_failure"][i] = float(bool(j.get("parse_failure")))
        if ex.answer is None:
            continue
        cols["gold_label"][i] = _as_float(ex.answer)
        score = ex.metadata.get("score")
        cols["gold"][i] = _as_float(score) if score is not None else _as_float(ex.answer)
        if j.get("parse_failure") and not j.get("probs"):
            continue
        expected = j.get("expected_score")
        cols["pred_label"][i] = _as_float(j.get("prediction"))
        cols["pred"][i] = _as_float(expected) if expected is not None else cols["pred_label"][i]
    return cols


# ---------------------------------------------------------------------------------- metrics


def mean_of(column: str) -> Callable[[Columns], float]:
    def fn(c: Columns) -> float:
        x = c[column]
        x = x[~np.isnan(x)]
        return float(x.mean()) if len(x) else math.nan

    fn.__name__ = f"mean_{column}"
    return fn


def accuracy(c: Columns) -> float:
    """Mean credit over scored rows (pairwise and classification)."""
    return mean_of("credit")(c)


def consistency(c: Columns) -> float:
    """Position-swap consistency: the two single orders name the same answer."""
    return mean_of("consistent")(c)


def _scored(c: Columns) -> tuple[np.ndarray, np.ndarray]:
    keep = c["gold"] >= 0
    return c["gold"][keep], c["pred"][keep]


def balanced_accuracy(c: Columns) -> float:
    """Mean per-class recall over the gold classes present (a parse failure is a miss)."""
    gold, pred = _scored(c)
    if not len(gold):
        return math.nan
    recalls = [float(np.mean(pred[gold == k] == k)) for k in np.unique(gold)]
    return float(np.mean(recalls))


def macro_f1(c: Columns) -> float:
    """Unweighted mean F1 over the labels present in gold or predictions (sklearn's default set)."""
    gold, pred = _scored(c)
    if not len(gold):
        return math.nan
    classes = np.union1d(np.unique(gold), np.unique(pred[pred >= 0]))
    f1s = []
    for k in classes:
        tp = float(np.sum((pred == k) & (gold == k)))
        fp = float(np.sum((pred == k) & (gold != k)))
        fn = float(np.sum((pred != k) & (gold == k)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 0.0)
    return float(np.mean(f1s))


def classification_accuracy(c: Columns) -> float:
    gold, _ = _scored(c)
    if not len(gold):
        return math.nan
    cr = c["credit"][c["gold"] >= 0]
    return float(np.mean(cr))


def _pairs(c: Columns, x: str = "gold", y: str = "pred") -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isnan(c[x]) & ~np.isnan(c[y])
    return c[x][keep], c[y][keep]


def _rank(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank), as Spearman needs."""
    from scipy.stats import rankdata

    return rankdata(x)


def pearson(c: Columns) -> float:
    x, y = _pairs(c)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan  # undefined for a constant column (a rater that always says 3)
    return float(np.corrcoef(x, y)[0, 1])


def spearman(c: Columns) -> float:
    x, y = _pairs(c)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(np.corrcoef(_rank(x), _rank(y))[0, 1])


def kendall(c: Columns) -> float:
    """Kendall's tau-b (ties in either column handled), as scipy computes it."""
    x, y = _pairs(c)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    from scipy.stats import kendalltau

    return float(kendalltau(x, y).statistic)


def within_one(c: Columns) -> float:
    """Share of rows whose predicted label is within ±1 point of the gold label."""
    x, y = _pairs(c, "gold_label", "pred_label")
    return float(np.mean(np.abs(x - y) <= 1.0 + 1e-9)) if len(x) else math.nan


# ------------------------------------------------------------------ which metrics, how many rows

# Metric name → (function, the column whose non-NaN rows it uses). Ordered: the first is the default
# headline figure of its task type.
METRICS: dict[str, dict[str, tuple[Callable[[Columns], float], str]]] = {
    TaskType.PAIRWISE: {
        "accuracy": (accuracy, "credit"),
        "consistency": (consistency, "consistent"),
    },
    TaskType.CLASSIFICATION: {
        "accuracy": (classification_accuracy, "gold"),
        "balanced_accuracy": (balanced_accuracy, "gold"),
        "macro_f1": (macro_f1, "gold"),
    },
    TaskType.POINTWISE: {
        "spearman": (spearman, "pred"),
        "pearson": (pearson, "pred"),
        "kendall": (kendall, "pred"),
        "within_1": (within_one, "pred_label"),
    },
}


def metric_n(c: Columns, column: str) -> int:
    """Rows a metric uses: non-NaN (float columns) or scored (index columns, >= 0)."""
    x = c[column]
    if x.dtype.kind in "iu":
        return int(np.sum(x >= 0))
    if column in ("pred", "pred_label"):
        gold = c["gold"] if column == "pred" else c["gold_label"]
        return int(np.sum(~np.isnan(x) & ~np.isnan(gold)))
    return int(np.sum(~np.isnan(x)))


# -------------------------------------------------------------------------------- calibration


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE with equal-width confidence bins: sum over bins of (bin share) × |accuracy − confidence|.

    A confidence of exactly 1.0 falls into the last bin; 0 falls into the first.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if not len(confidence):
        return math.nan
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.mean() * abs(correct[m].mean() - confidence[m].mean())
    return float(total)


def brier_score(probs: np.ndarray, gold_index: np.ndarray) -> float:
    """Multi-class Brier score: mean over rows of sum over labels (p − 1[label = gold])²."""
    probs = np.asarray(probs, dtype=float)
    if not len(probs):
        return math.nan
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(probs)), np.asarray(gold_index)] = 1.0
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    """Per bin: lower edge, count, mean confidence and accuracy (for the reliability diagram)."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = bins == b
        out.append(
            {
                "low": b / n_bins,
                "count": int(m.sum()),
                "confidence": float(confidence[m].mean()) if m.any() else math.nan,
                "accuracy": float(correct[m].mean()) if m.any() else math.nan,
            }
        )
    return out
