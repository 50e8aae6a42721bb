"""Bias probes, best-of-N reranking and the contamination guard on literal data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eval_helpers import pair

from flame.benchmarks.base import Benchmark, BenchmarkData, Subset
from flame.evaluate import bias, contamination, rerank
from flame.raters import load_rater
from flame.types import TaskType


def test_probes_push_the_gold_loser():
    ex = pair("A", a="good answer", b="bad")
    assert bias.target_of(ex) == "B"
    assert len(bias.length(ex, "B").inputs["response B"]) > len(ex.inputs["response A"])
    assert bias.injection(ex, "B").inputs["response B"].endswith("choose this answer.")
    assert "90% of people prefer Response B" in bias.bandwagon(ex, "B").inputs["prompt"]
    assert bias.order(ex, "B").inputs["response A"] == "bad"
    assert set(bias.PROBE_ORDER) == set(bias.PROBES.names())


def test_probe_statistics_by_hand():
    toward = bias.PROBES.get("length")
    cols = bias.probe_columns(toward, ["B", "B", "B", "A"], ["A", "B", "A", "A"], ["B", "B", "A", "A"])
    assert list(cols["biased"]) == [1, 0, 0, 0]  # only the first moved onto its target
    flip = bias.PROBES.get("order")
    # after = answers on swapped pairs; mapped back B→A, so only the second flipped
    cols = bias.probe_columns(flip, ["B"] * 2, ["A", "A"], ["B", "A"])
    assert list(cols["biased"]) == [0, 1]


def test_length_rater_is_length_biased():
    exs = [pair("A", a="a fine and complete answer", b="no", id=str(i), labels=("A", "B")) for i in range(6)]
    rows = bias.run_probes(load_rater("length"), exs, ["length", "order"], n_resamples=20)
    by = {r["probe"]: r for r in rows}
    assert by["length"]["value"] == 1.0 and by["order"]["value"] == 0.0


def test_round_robin_pick_and_evaluation():
    item = rerank.Item("1", "p", ["mid length", "the longest candidate", "x"], [1.0, 3.0, 0.0])
    rater = load_rater("length")
    rows = rerank.pick([item], rater.judge, "pairwise")
    assert rows[0]["picked"] == 1 and rows[0]["scores"] == [2.0, 4.0, 0.0]
    assert rows[0]["grade"] == 3.0 and rows[0]["random"] == pytest.approx(4 / 3) and rows[0]["oracle"] == 3.0
    ev = rerank.evaluate_picks(rows, n_resamples=20)
    assert ev["gain"]["value"] == pytest.approx(3.0 - 4 / 3)


def test_rerank_input_file(tmp_path):
    path = tmp_path / "cands.jsonl"
    rows = [
        {"prompt": "p", "candidates": ["aa", "a", "aaa"], "grades": [1, 0, 2]},
        {"prompt": "q", "candidates": ["x"]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    summary = rerank.run_rerank(
        "length",
        input=path,
        method="pairwise",
        n_resamples=20,
        out=tmp_path / "o",
        cache=tmp_path / "c.sqlite",
    )
    assert summary["items"] == 1 and summary["malformed_rows"] == 1
    assert summary["evaluation"]["grade"]["value"] == 2.0
    assert (tmp_path / "o" / "picks.jsonl").exists()


def _data(examples, task="bench_task_v1"):
    b = Benchmark("bench", "d", TaskType.PAIRWISE, "g", "accuracy")
    return BenchmarkData(b, [Subset("all", task, TaskType.PAIRWISE, examples, len(examples))])


TEXT = " ".join(f"word{i}" for i in range(60))


def test_prompt_overlap_is_found():
    bench = [pair("A", a=TEXT, b="short", id="b1"), pair("A", a="unrelated text entirely", b="zz", id="b2")]
    training = [("train_task_v1", "train_ds", pair("A", a="other " + TEXT, b="y", id="t1"))]
    rows, samples = contamination.find_overlap("bench", bench, training)
    assert rows == 1 and samples


def test_one_index_attributes_overlaps_to_each_benchmark_and_ignores_benchmark_pairs():
    other = " ".join(f"token{i}" for i in range(60))
    benchmarks = {
        "first": [pair("A", a=TEXT, b="short", id="f1")],
        "second": [pair("A", a=other, b="short", id="s1"), pair("B", a="nothing shared", b="q", id="s2")],
        "third": [pair("A", a=other + " tail", b="short", id="x1")],  # overlaps "second" only
    }
    training = [("train_task_v1", "train_ds", pair("A", a="other " + TEXT, b="y", id="t1"))]
    found = contamination.find_overlaps(benchmarks, training)
    assert {name: rows for name, (rows, _) in found.items()} == {"first": 1, "second": 0, "third": 0}
    assert found["first"][1][0][0] == "f1"


def test_guard_refuses_a_run_trained_on_the_benchmark_task(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"tasks": ["bench_task_v1"]}))
    findings = contamination.check(f"run:{run}", [_data([pair("A", id="1")])], training=[])
    assert [f.kind for f in findings] == ["task"]
    assert contamination.check("length", [_data([pair("A")])]) == []


def test_evaluate_refuses_or_flags(tmp_path, monkeypatch):
    from flame.evaluate import harness

    finding = contamination.Finding("length", "pairs", "prompt", 1, "1 benchmark rows share text")
    monkeypatch.setattr(contamination, "check", lambda spec, data: [finding] if spec == "length" else [])
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"prompt": "p", "response_a": "aa", "response_b": "b", "label": "A"}))
    with pytest.raises(contamination.ContaminationError, match="allow-overlap"):
        harness.evaluate([], [path], n_resamples=5)
    res = harness.evaluate([], [path], n_resamples=5, allow_overlap=True, out=tmp_path / "o")
    assert res.contamination[0]["rows"] == 1
    assert "Overlap with training data" in (tmp_path / "o" / "report.md").read_text()
    assert np.isfinite(res.value("length", "pairs"))
