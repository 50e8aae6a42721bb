"""`flame eval --fail-below` and `flame bias --fail-above`: exit 3 exactly when a gate fails, 2 on a bad gate.

The data is built so that every figure is known: answer A is long and always the better one, so the length
rater is always right (accuracy 1), moves onto the padded worse answer on every pair of the length probe
(rate 1) and on no pair of the order or bandwagon probes (rate 0).
"""

from __future__ import annotations

import argparse
import json

import pytest

from flame.cli import main
from flame.data.files import write_benchmark_file
from flame.evaluate.gates import Gate, check, parse_gate

LONG = "a long and careful answer " * 12


@pytest.fixture
def bench(tmp_path):
    rows = [
        {
            "id": str(i),
            "prompt": f"question {i}",
            "response_a": LONG + str(i),
            "response_b": f"no {i}",
            "label": "A",
        }
        for i in range(12)
    ]
    return write_benchmark_file(tmp_path / "pairs.jsonl", rows)


def _eval(tmp_path, bench, *gates, rater="length"):
    argv = ["eval", "--rater", rater, "--file", str(bench), "--out", str(tmp_path / "run")]
    argv += ["--cache", str(tmp_path / "c.sqlite"), "--resamples", "20", "--quiet"]
    return main([*argv, *(x for g in gates for x in ("--fail-below", g))])


def _bias(tmp_path, bench, *gates, probes=("order", "length", "bandwagon")):
    argv = ["bias", "--rater", "length", "--file", str(bench), "--out", str(tmp_path / "bias")]
    argv += ["--cache", str(tmp_path / "c.sqlite"), "--resamples", "20"]
    argv += [x for p in probes for x in ("--probe", p)]
    return main([*argv, *(x for g in gates for x in ("--fail-above", g))])


@pytest.mark.parametrize(
    "text, gate",
    [
        ("pairs=0.5", Gate("pairs", 0.5)),
        ("length@pairs=0.75", Gate("pairs", 0.75, "length")),
        ("openai:model=x@all=1e-1", Gate("all", 0.1, "openai:model=x")),
    ],
)
def test_parse_gate(text, gate):
    assert parse_gate(text) == gate


@pytest.mark.parametrize("text", ["pairs", "pairs=", "pairs=high", "=0.5", "length@=0.5", "pairs=nan"])
def test_parse_gate_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_gate(text)


def test_check_direction_and_equality():
    values = {("j", "b"): 0.5}
    assert check([Gate("b", 0.5)], values, ["j"], ["b"], direction="below", what="benchmark") == []
    assert check([Gate("b", 0.5)], values, ["j"], ["b"], direction="above", what="probe") == []
    (line,) = check([Gate("b", 0.6)], values, ["j"], ["b"], direction="below", what="benchmark")
    assert line == "gate failed: j on benchmark b: 0.500 is below 0.6 (b=0.6)"
    (line,) = check([Gate("b", 0.4)], values, ["j"], ["b"], direction="above", what="probe")
    assert "0.500 is above 0.4" in line
    (line,) = check([Gate("b", 0.1)], {}, ["j"], ["b"], direction="below", what="benchmark")
    assert "undefined" in line


def test_eval_gates_exit_3_exactly_when_one_fails(tmp_path, bench, capsys):
    assert _eval(tmp_path, bench) == 0
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    acc = {
        m["rater"]: m["value"] for m in res["metrics"] if m["metric"] == "accuracy" and m["subset"] == "all"
    }
    assert acc["length"] == 1.0 and acc["random"] < 0.99  # the random baseline would fail the gates below
    capsys.readouterr()
    assert _eval(tmp_path, bench, "pairs=1.0") == 0  # equal passes
    assert _eval(tmp_path, bench, "all=0.99", "length@pairs=0.5") == 0  # the added baseline is not gated
    assert capsys.readouterr().err == ""
    assert _eval(tmp_path, bench, "pairs=0.5", "length@all=1.01") == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["flame: gate failed: length on benchmark pairs: 1.000 is below 1.01 (length@all=1.01)"]


def test_eval_gate_on_a_named_baseline_is_a_usage_error(tmp_path, bench, capsys):
    assert _eval(tmp_path, bench, "random@pairs=0.1") == 2
    assert "not a --rater rater" in capsys.readouterr().err
    assert _eval(tmp_path, bench, "nosuch=0.1") == 2
    assert "no benchmark 'nosuch'" in capsys.readouterr().err


@pytest.mark.parametrize("gate", ["pairs", "pairs=x"])
def test_eval_bad_gate_syntax_exits_2(tmp_path, bench, gate):
    with pytest.raises(SystemExit) as e:
        _eval(tmp_path, bench, gate)
    assert e.value.code == 2


def test_bias_gates_exit_3_exactly_when_one_fails(tmp_path, bench, capsys):
    assert _bias(tmp_path, bench) == 0
    rows = json.loads((tmp_path / "bias" / "bias.json").read_text())["rows"]
    rate = {(r["rater"], r["probe"]): r["value"] for r in rows}
    assert rate[("length", "length")] == 1.0 and rate[("length", "order")] == 0.0
    assert rate[("length", "bandwagon")] == 0.0 and rate[("random", "order")] > 0.1
    capsys.readouterr()
    assert _bias(tmp_path, bench, "order=0.0", "bandwagon=0.0", "length=1.0") == 0
    assert _bias(tmp_path, bench, "length@order=0.05") == 0  # random's flip rate is not gated
    assert capsys.readouterr().err.count("gate failed") == 0
    assert _bias(tmp_path, bench, "all=0.5") == 3
    err = [line for line in capsys.readouterr().err.splitlines() if "gate failed" in line]
    assert err == ["flame: gate failed: length on probe length: 1.000 is above 0.5 (all=0.5)"]


@pytest.mark.parametrize("gate", ["lenght=0.1", "length", "length=lots"])
def test_bias_bad_gate_exits_2(tmp_path, bench, gate):
    with pytest.raises(SystemExit) as e:
        _bias(tmp_path, bench, gate)
    assert e.value.code == 2


def test_bias_gate_on_a_probe_not_run_is_a_usage_error(tmp_path, bench, capsys):
    assert _bias(tmp_path, bench, "injection=0.5", probes=("order",)) == 2
    assert "no probe 'injection'" in capsys.readouterr().err
