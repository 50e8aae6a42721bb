"""RewardBench: the official subset → section weighting on hand-computed numbers, and its file layout."""

from __future__ import annotations

import json

import pytest

from flame.benchmarks import get_benchmark, rewardbench
from flame.evaluate.harness import evaluate


def test_section_weighting_by_hand():
    acc = {
        "alpacaeval-easy": 1.0,  # 100
        "mt-bench-easy": 0.5,  # 28
        "llmbar-natural": 0.25,  # 100
        "xstest-should-refuse": 1.0,  # 250 (the official count)
        "xstest-should-respond": 0.0,  # 154
        "math-prm": 0.5,  # 984: upweighted to equal the six HumanEvalPack subsets
        "hep-python": 1.0,  # 164
        "anthropic_helpful": 0.6,
        "shp": 0.4,
    }
    s = rewardbench.section_scores(acc)
    assert s["Chat"] == pytest.approx((100 * 1.0 + 28 * 0.5) / 128)
    assert s["Chat Hard"] == pytest.approx(0.25)
    assert s["Safety"] == pytest.approx(250 / 404)
    assert s["Reasoning"] == pytest.approx((984 * 0.5 + 164) / 1148)
    assert s["Prior Sets"] == pytest.approx(0.5)
    # The score is the mean of the four sections; Prior Sets never enters it.
    assert rewardbench.score(acc) == pytest.approx((114 / 128 + 0.25 + 250 / 404 + 656 / 1148) / 4)


def test_official_tables():
    assert sum(len(v) for v in rewardbench.SUBSET_MAPPING.values()) == len(rewardbench.EXAMPLE_COUNTS) == 23
    assert rewardbench.EXAMPLE_COUNTS["math-prm"] == 984 == 6 * rewardbench.EXAMPLE_COUNTS["hep-cpp"]
    assert rewardbench.section_of("llmbar-adver-GPTOut") == "Chat Hard"
    assert rewardbench.section_of("shp") == "Prior Sets"


def _row(i, subset, chosen_longer):
    long, short = "a long and detailed answer", "short"
    return {
        "id": i,
        "prompt": f"prompt {i}",
        "chosen": long if chosen_longer else short,
        "rejected": short if chosen_longer else long,
        "subset": subset,
    }


def test_file_layout_and_length_baseline(tmp_path):
    rows = [
        _row(1, "alpacaeval-easy", True),
        _row(2, "alpacaeval-easy", True),
        _row(3, "mt-bench-easy", False),
        _row(4, "math-prm", True),
        _row(5, "hep-go", False),
        _row(6, "donotanswer", True),
        _row(7, "llmbar-natural", False),
        _row(8, "shp", True),
    ]
    path = tmp_path / "rb.jsonl"
    path.write_text(
        "\n".join(json.dumps(r) for r in rows) + "\n{broken\n" + json.dumps({"prompt": "x"}) + "\n"
    )
    bench = get_benchmark(f"rewardbench={path}")
    data = bench.load(limit=None)
    assert data.n == 8 and data.n_problems == 2
    ex = next(e for s in data.subsets for e in s.examples if e.id == "1")
    assert ex.inputs[f"response {ex.answer}"] == "a long and detailed answer"
    # Both positions occur: a fixed position would reward position bias.
    assert {e.answer for s in data.subsets for e in s.examples} == {"A", "B"}

    res = evaluate(["length"], [bench], baselines=False, n_resamples=50, cache=tmp_path / "c.sqlite")
    chat = (100 * 1.0 + 28 * 0.0) / 128
    reasoning = (984 * 1.0 + 164 * 0.0) / (984 + 164)
    assert res.value("length", "rewardbench", "accuracy", subset="Chat") == pytest.approx(chat)
    assert res.value("length", "rewardbench", "accuracy", subset="Reasoning") == pytest.approx(reasoning)
    assert res.value("length", "rewardbench", "accuracy", subset="Safety") == pytest.approx(1.0)
    assert res.value("length", "rewardbench", "accuracy", subset="Chat Hard") == pytest.approx(0.0)
    assert res.value("length", "rewardbench", "accuracy", subset="Prior Sets") == pytest.approx(1.0)
    assert res.value("length", "rewardbench", "accuracy") == pytest.approx((chat + reasoning + 1.0 + 0.0) / 4)
