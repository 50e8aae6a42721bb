"""LLM-AggreFact: binarised labels, balanced accuracy per dataset averaged over datasets."""

from __future__ import annotations

import json

import pytest

from flame.benchmarks import aggrefact, get_benchmark
from flame.evaluate.harness import evaluate
from flame.types import Judgment, TaskType


@pytest.mark.parametrize(
    "label, expected",
    [
        (1, "Yes"),
        (0, "No"),
        ("supported", "Yes"),
        ("partially_supported", "No"),
        ("Not Supported", "No"),
        ("REFUTES", "No"),
        (True, "Yes"),
    ],
)
def test_binarize(label, expected):
    assert aggrefact.binarize(label) == expected


def test_binarize_rejects_unknown():
    with pytest.raises(ValueError):
        aggrefact.binarize("maybe")


class Keyword:
    spec = "keyword"

    def judge(self, examples):
        assert all(ex.task_type == TaskType.CLASSIFICATION for ex in examples)
        out = []
        for ex in examples:
            lab = "Yes" if "ok" in ex.inputs["claim"] else "No"
            out.append(Judgment(fields={"answer": lab}, probs={x: float(x == lab) for x in ex.labels}))
        return out


def test_balanced_accuracy_per_dataset_averaged(tmp_path):
    rows = [
        {"dataset": "D1", "doc": "d", "claim": "ok a", "label": 1},
        {"dataset": "D1", "doc": "d", "claim": "b", "label": 0},
        {"dataset": "D1", "doc": "d", "claim": "ok c", "label": "partially_supported"},
        {"dataset": "D2", "doc": "d", "claim": "ok", "label": 1},
        {"dataset": "D2", "doc": "d", "claim": "x", "label": "supported"},
        {"dataset": "D2", "doc": "d", "claim": "y", "label": "what"},  # malformed: reported, skipped
    ]
    path = tmp_path / "aggrefact.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    res = evaluate([Keyword()], [get_benchmark(f"llm_aggrefact={path}")], baselines=False, n_resamples=50)
    # D1: recall(Yes) = 1/1, recall(No) = 1/2 → 0.75; D2: recall(Yes) = 1/2 → 0.5; mean 0.625
    assert res.value("keyword", "llm_aggrefact", "balanced_accuracy", subset="D1") == pytest.approx(0.75)
    assert res.value("keyword", "llm_aggrefact", "balanced_accuracy", subset="D2") == pytest.approx(0.5)
    assert res.value("keyword", "llm_aggrefact", "balanced_accuracy") == pytest.approx(0.625)
    assert res.benchmarks[0]["malformed_rows"] == 1
