"""results.json: typed metric entries, their stable JSON shape, files written before ``kind``, and the
readers that take the JSON as it is (the Table-1 summary the demo prints)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from flame.benchmarks import Benchmark, file_benchmark, resolve
from flame.data.files import write_benchmark_file
from flame.evaluate.harness import evaluate
from flame.evaluate.report import summary_rows
from flame.evaluate.results import ALL, MetricEntry, Results
from flame.evaluate.summary import summary_table


def test_an_entry_round_trips_with_nan_as_null():
    e = MetricEntry("length", "pairs", ALL, "accuracy", 0.5, math.nan, math.nan, 3)
    d = e.to_dict()
    assert list(d) == ["rater", "benchmark", "subset", "metric", "value", "ci_low", "ci_high", "n", "kind"]
    back = MetricEntry.from_dict(json.loads(json.dumps({**d, "ci_low": None, "ci_high": None})))
    assert back.value == 0.5 and math.isnan(back.ci_low) and back.kind == "benchmark"


def _pairs(path, n, longer="A"):
    rows = [
        {"id": str(i), "prompt": f"p{i}", "response_a": "aa" * (i + 1), "response_b": "b", "label": longer}
        for i in range(n)
    ]
    return write_benchmark_file(path, rows)


@pytest.fixture
def grouped(tmp_path):
    """Two pairwise files put in one suite group, so the run holds a group mean too."""
    a = replace(file_benchmark(_pairs(tmp_path / "right.jsonl", 4)), group="pairwise mean")
    b = replace(file_benchmark(_pairs(tmp_path / "wrong.jsonl", 6, "B")), group="pairwise mean")
    out = tmp_path / "run"
    res = evaluate(["length"], [a, b], out=out, n_resamples=20, baselines=False, report=False)
    return res, out


def test_group_entries_and_the_demo_summary_read_the_saved_json(grouped):
    res, out = grouped
    kinds = {(m.benchmark, m.subset): m.kind for m in res.metrics if m.metric == "accuracy"}
    assert kinds == {
        ("right", ALL): "benchmark",
        ("wrong", ALL): "benchmark",
        ("pairwise mean", ALL): "group",
    }
    assert res.value("length", "pairwise mean", "accuracy") == pytest.approx(0.5)  # (1 + 0) / 2
    # flame/demo.py prints summary_table over the JSON as saved.
    table = summary_table(json.loads((out / "results.json").read_text()))
    assert "| rater | right | wrong | pairwise mean |" in table
    assert "| length | 1.00" in table


def test_a_results_file_written_before_kind_still_loads(grouped):
    _, out = grouped
    d = json.loads((out / "results.json").read_text())
    for m in d["metrics"]:
        del m["kind"]
    for b in d["benchmarks"]:
        del b["sections"], b["cap"], b["scored_whole"]
    (out / "results.json").write_text(json.dumps(d))
    old = Results.load(out)
    assert {m.kind for m in old.metrics if m.benchmark == "pairwise mean"} == {"group"}
    assert [r["label"] for r in summary_rows(old)] == ["right", "wrong", "pairwise mean"]


def test_resolve_tells_benchmark_names_from_files(tmp_path):
    path = _pairs(tmp_path / "p.jsonl", 2)
    rb = tmp_path / "rb.jsonl"
    rb.write_text(json.dumps({"prompt": "p", "chosen": "c", "rejected": "r", "subset": "hep-go"}) + "\n")
    first, second, third = resolve([str(path), f"rewardbench={rb}", path])
    assert isinstance(first, Benchmark) and first.name == "p" and first.aggregate is None  # a file: pooled
    assert second.name == "rewardbench" and second.load().n == 1
    assert third.name == "p_2"  # the same file twice: two runs of it, told apart
