"""One CLI error policy (flame.errors.run_command): a known error is one line and exit 2, anything else keeps
its traceback; no subcommand rewords errors itself."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import flame.cli
from flame.benchmarks import EmptyBenchmarkError
from flame.cli import main
from flame.data.files import BenchmarkFileError
from flame.data.paths import DataRootError
from flame.demo import StageError
from flame.errors import CliError, FlameError, UsageError
from flame.evaluate.contamination import ContaminationError
from flame.raters.base import RaterError, UnknownOptionError
from flame.registry import UnknownNameError
from flame.serve.app import SettingsError
from flame.serve.security import BindError
from flame.train.config import ConfigError
from flame.train.recipe import TrainingError

ROOT = Path(__file__).resolve().parents[2]

# Each known error with the builtin base it had before FlameError, which callers may still catch.
KNOWN = [
    (CliError, Exception),
    (UsageError, ValueError),
    (RaterError, RuntimeError),
    (UnknownOptionError, TypeError),
    (ConfigError, ValueError),
    (TrainingError, RuntimeError),
    (DataRootError, FileNotFoundError),
    (UnknownNameError, KeyError),
    (BenchmarkFileError, FileNotFoundError),
    (EmptyBenchmarkError, ValueError),
    (ContaminationError, RuntimeError),
    (BindError, ValueError),
    (SettingsError, ValueError),
    (StageError, RuntimeError),
]


@pytest.mark.parametrize("cls, builtin", KNOWN, ids=[c.__name__ for c, _ in KNOWN])
def test_every_known_error_is_a_flame_error_and_keeps_its_builtin_base(cls, builtin):
    assert issubclass(cls, FlameError) and issubclass(cls, builtin)


@pytest.mark.parametrize("cls", [c for c, _ in KNOWN], ids=[c.__name__ for c, _ in KNOWN])
def test_a_known_error_from_any_layer_is_one_line_and_exit_2(cls, monkeypatch, capsys):
    def handler(args):
        raise cls("the thing named is not there")

    monkeypatch.setattr(flame.cli, "cmd_mixtures_list", handler)
    assert main(["mixtures", "list"]) == 2
    assert capsys.readouterr().err == "flame: error: the thing named is not there\n"


@pytest.mark.parametrize("exc", [ZeroDivisionError, ValueError, TypeError, KeyError, RuntimeError])
def test_an_unexpected_exception_propagates(exc, monkeypatch, capsys):
    # A ValueError is a bug unless it is a FlameError: one line would hide where it came from.
    def handler(args):
        raise exc("a bug")

    monkeypatch.setattr(flame.cli, "cmd_mixtures_list", handler)
    with pytest.raises(exc, match="a bug"):
        main(["mixtures", "list"])
    assert "flame: error" not in capsys.readouterr().err


def test_an_unexpected_exception_prints_its_traceback():
    code = (
        "import sys, flame.cli as c\n"
        "c.cmd_mixtures_list = lambda args: 1 / 0\n"
        "sys.exit(c.main(['mixtures', 'list']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr and "<lambda>" in done.stderr
    assert "flame: error" not in done.stderr


def test_ctrl_c_is_exit_130(monkeypatch, capsys):
    def handler(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(flame.cli, "cmd_mixtures_list", handler)
    assert main(["mixtures", "list"]) == 130
    assert capsys.readouterr().err == "flame: interrupted\n"


def test_an_unexpected_value_error_in_eval_is_not_reworded(monkeypatch, tmp_path):
    # `flame eval` once turned every ValueError into one line, bugs included.
    import flame.evaluate.harness

    def evaluate(*args, **kwargs):
        raise ValueError("an index went wrong")

    monkeypatch.setattr(flame.evaluate.harness, "evaluate", evaluate)
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"prompt": "p", "response_a": "a", "response_b": "bb", "label": "B"}) + "\n")
    with pytest.raises(ValueError, match="an index went wrong"):
        main(["eval", "--rater", "length", "--file", str(bench), "--out", str(tmp_path / "out")])


# ---------------------------------------------------------------------- real errors, through each layer


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("flame: error: ") and "Traceback" not in err, err
    return err


def test_eval_with_nothing_to_evaluate(tmp_path, capsys):
    assert main(["eval", "--rater", "length", "--out", str(tmp_path)]) == 2
    assert "name what to evaluate" in _one_line_error(capsys)


def test_bias_on_a_pointwise_file(tmp_path, capsys):
    bench = tmp_path / "p.jsonl"
    bench.write_text(json.dumps({"prompt": "p", "response": "r", "score": 3, "scale": [1, 5]}) + "\n")
    assert main(["bias", "--rater", "length", "--file", str(bench), "--cache", str(tmp_path / "c.db")]) == 2
    assert "bias probes need a pairwise benchmark" in _one_line_error(capsys)


def test_cache_with_an_unknown_rater(tmp_path, capsys):
    assert main(["cache", "info", "--rater", "gpt5", "--cache", str(tmp_path / "c.db")]) == 2
    assert "unknown rater spec 'gpt5'" in _one_line_error(capsys)


def test_rate_standalone_entry_point_follows_the_same_policy(tmp_path, capsys):
    from flame.raters.cli import main as raters_main

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert raters_main(["rate", "--rater", "fake", "--input", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "has no usable rows" in _one_line_error(capsys)


def test_serve_refuses_an_open_bind(monkeypatch, capsys):
    monkeypatch.delenv("FLAME_API_KEYS", raising=False)
    assert main(["serve", "--rater", "fake", "--host", "0.0.0.0"]) == 2
    assert "refusing to bind 0.0.0.0" in _one_line_error(capsys)


def test_train_with_a_missing_config_file(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nowhere.yaml")]) == 2
    assert "nowhere.yaml" in _one_line_error(capsys)


# ---------------------------------------------------------------------- no subcommand rewords errors


def _cli_modules() -> list[Path]:
    return sorted([ROOT / "flame" / "cli.py", *(ROOT / "flame").glob("*/cli.py")])


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"<bare except>"}
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {n.id if isinstance(n, ast.Name) else ast.unparse(n) for n in nodes}


def test_no_cli_module_turns_broad_errors_into_messages():
    broad = {"<bare except>", "BaseException", "Exception", "ValueError", "TypeError", "RuntimeError"}
    found = []
    for path in _cli_modules():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ExceptHandler) and _caught_names(node) & broad:
                found.append(
                    f"{path.relative_to(ROOT)}:{node.lineno}: except {', '.join(_caught_names(node))}"
                )
    assert len(_cli_modules()) >= 5
    assert not found, "catch a FlameError subclass instead (or let flame.errors.run_command print it):\n" + (
        "\n".join(found)
    )


def test_no_cli_module_prints_its_own_error_lines():
    # One place formats `flame: error: ...`: flame/errors.py.
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in _cli_modules()
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if "error: " in line and "print(" in line
    ]
    assert not offenders
