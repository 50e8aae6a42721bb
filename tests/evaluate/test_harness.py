"""The harness end to end on literal benchmark files with the length/random baselines and tiny raters."""

from __future__ import annotations

import argparse
import json

import pytest
from eval_helpers import KeywordRater

import flame
import flame.evaluate
from flame.benchmarks import EmptyBenchmarkError
from flame.data.files import write_benchmark_file
from flame.evaluate.harness import Results, evaluate
from flame.raters.baselines import FakeRater

ROWS = [
    {
        "id": "1",
        "prompt": "p1",
        "response_a": "a much longer answer",
        "response_b": "short",
        "label": "A",
    },  # length: right
    {
        "id": "2",
        "prompt": "p2",
        "response_a": "a much longer answer",
        "response_b": "short",
        "label": "B",
    },  # wrong
    {
        "id": "3",
        "prompt": "p3",
        "response_a": "same",
        "response_b": "size",
        "label": "B",
    },  # equal: half right
    {
        "id": "4",
        "prompt": "p4",
        "response_a": "a much longer answer",
        "response_b": "x",
        "label": "tie",
    },  # excluded
]


@pytest.fixture
def bench(tmp_path):
    return write_benchmark_file(
        tmp_path / "pairs.jsonl", [*ROWS, "{not json", {"prompt": "p5", "response_a": "x"}]
    )


def test_length_accuracy_by_hand_and_files(tmp_path, bench):
    out = tmp_path / "run"
    res = evaluate([], [bench], out=out, n_resamples=200, cache=tmp_path / "c.sqlite")
    assert res.rater_specs() == ["length", "random"]
    entry = res.get("length", "pairs", "accuracy")
    assert entry.value == pytest.approx(1.5 / 3) and entry.n == 3 and entry.kind == "benchmark"
    assert entry.ci_low <= entry.value <= entry.ci_high
    counts = {c["rater"]: c for c in res.counts}
    assert counts["length"]["ties_excluded"] == 1
    d = json.loads((out / "results.json").read_text())
    assert set(d["metrics"][0]) == {
        "rater", "benchmark", "subset", "metric", "value", "ci_low", "ci_high", "n", "kind"
    }  # fmt: skip
    assert d["config"]["seed"] == 0 and d["environment"]["versions"]["flame"] == flame.__version__
    assert d["benchmarks"][0]["malformed_rows"] == 2 and d["benchmarks"][0]["n"] == 4
    assert any(":5:" in p or ":6:" in p for p in d["benchmarks"][0]["problems"])
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 8 and {p["rater"] for p in preds} == {"length", "random"}
    md = (out / "report.md").read_text()
    assert "0.500 [" in md and "2 rows" in md
    assert (out / "report.html").exists() and (out / "plots" / "summary.png").stat().st_size > 1000
    again = Results.load(out)
    assert again.value("length", "pairs", "accuracy") == pytest.approx(0.5)
    assert again.metrics == res.metrics  # typed entries survive the round trip through results.json


def test_flame_evaluate_is_callable_and_takes_rater_objects(tmp_path, bench):
    res = flame.evaluate.evaluate([KeywordRater()], [bench], n_resamples=50, baselines=False)
    assert res.value("keyword", "pairs", "accuracy") == pytest.approx(1 / 3)  # always A: right on row 1
    res2 = flame.evaluate([KeywordRater()], [str(bench)], n_resamples=50, baselines=False)
    assert res2.metrics == res.metrics


def test_swap_reports_consistency(tmp_path, bench):
    res = evaluate(["fake"], [bench], swap=True, n_resamples=50, baselines=False, cache=tmp_path / "c.sqlite")
    assert res.get("fake", "pairs", "consistency") is not None
    assert res.get("fake", "pairs", "ece") is not None  # fake gives soft probabilities


class Flaky(FakeRater):
    """The fake rater that dies on its second batch (same cache identity as `fake`)."""

    def _judge_batch(self, examples):
        if self.n_judged >= 2:
            raise RuntimeError("boom")
        return super()._judge_batch(examples)


def test_a_rater_failing_mid_run_resumes_from_the_cache(tmp_path):
    rows = [
        {"id": str(i), "prompt": f"p{i}", "response_a": "a" * i, "response_b": "b", "label": "A"}
        for i in range(1, 7)
    ]
    path = write_benchmark_file(tmp_path / "six.jsonl", rows)
    cache = tmp_path / "c.sqlite"
    with pytest.raises(RuntimeError, match="boom"):
        evaluate([Flaky()], [path], batch_size=2, cache=cache, baselines=False, n_resamples=10)
    fresh = FakeRater()
    res = evaluate([fresh], [path], batch_size=2, cache=cache, baselines=False, n_resamples=10)
    assert fresh.n_judged == 4  # the first batch came from the cache
    assert res.get("fake", "six", "accuracy").n == 6


def test_empty_benchmark_is_a_clear_error(tmp_path):
    path = write_benchmark_file(tmp_path / "bad.jsonl", ["{oops", {"prompt": "p"}])
    with pytest.raises(EmptyBenchmarkError, match="no usable rows"):
        evaluate([], [path])


def _cli(argv):
    from flame.errors import run_command
    from flame.evaluate.cli import register

    parser = argparse.ArgumentParser(prog="flame")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_command(args.func, args)  # the error policy of `flame` itself


def test_cli_eval_report_and_bias(tmp_path, bench, capsys):
    out = tmp_path / "cli"
    cache = str(tmp_path / "c.sqlite")
    assert (
        _cli(
            [
                "eval",
                "--rater",
                "length",
                "--file",
                str(bench),
                "--out",
                str(out),
                "--resamples",
                "50",
                "--cache",
                cache,
                "--quiet",
            ]
        )
        == 0
    )
    assert "pairs" in capsys.readouterr().out
    (out / "report.md").unlink()
    assert _cli(["report", str(out)]) == 0
    assert (out / "report.md").exists()
    assert _cli(["report", str(out), str(out), "--out", str(tmp_path / "cmp")]) == 0
    assert "cli/length" in (tmp_path / "cmp" / "report.md").read_text()
    bias_out = tmp_path / "bias"
    assert (
        _cli(
            [
                "bias",
                "--rater",
                "length",
                "--file",
                str(bench),
                "--out",
                str(bias_out),
                "--resamples",
                "50",
                "--cache",
                cache,
            ]
        )
        == 0
    )
    rows = json.loads((bias_out / "bias.json").read_text())["rows"]
    assert {r["probe"] for r in rows} == {
        "order",
        "length",
        "compassion",
        "bandwagon",
        "attention",
        "egocentric",
        "authority",
        "injection",
    }
    assert {r["rater"] for r in rows} == {"length", "random"}
    assert (bias_out / "plots" / "bias.png").exists()
