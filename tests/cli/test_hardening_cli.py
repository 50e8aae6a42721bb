"""Issue 14, the command line: bad flags fail at parse time, empty inputs and vanished judgments are one-line
errors, the cache's counters are shown, and a closed pipe is not a traceback."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flame.cli import build_parser, main
from flame.cliargs import RangedType
from flame.raters import load_rater
from flame.raters.base import RaterError
from flame.raters.baselines import FakeRater
from flame.raters.cache import JudgmentCache
from flame.raters.runner import rate
from flame.types import Example, TaskType


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(subcommand path, action) for every option of every (nested) subparser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))
        else:
            yield path, action


def _numeric(action: argparse.Action) -> bool:
    if action.type in (int, float):
        return True
    default = action.default
    return (
        action.type is None
        and action.nargs != 0
        and isinstance(default, int | float)
        and not isinstance(default, bool)
    )


def test_every_numeric_flag_of_every_subcommand_declares_a_range():
    actions = list(_walk(build_parser()))
    unranged = [f"flame {' '.join(p)} {'/'.join(a.option_strings)}" for p, a in actions if _numeric(a)]
    assert not unranged, f"numeric options without a RangedType: {unranged}"
    ranged = [a for _, a in actions if isinstance(a.type, RangedType)]
    assert len(ranged) >= 25  # the walk reached the subcommands (rate, eval, train, serve ...)


BAD_FLAGS = [
    ["rate", "--rater", "fake", "--input", "x.jsonl", "--out", "o.jsonl", "--batch-size", "0"],
    ["rate", "--rater", "fake", "--input", "x.jsonl", "--out", "o.jsonl", "--batch-size", "-1"],
    ["rate", "--rater", "fake", "--input", "x.jsonl", "--out", "o.jsonl", "--limit", "-1"],
    ["rate", "--rater", "fake", "--input", "x.jsonl", "--out", "o.jsonl", "--format", "bogus"],
    ["rate", "--rater", "fake", "--input", "x.jsonl", "--out", "o.jsonl", "--max-length", "2"],
    ["rate", "--rater", "fake", "--input", "x.jsonl", "--out", "o.jsonl", "--concurrency", "0"],
    ["eval", "--rater", "fake", "--file", "x.jsonl", "--out", "o", "--resamples", "0"],
    ["eval", "--rater", "fake", "--file", "x.jsonl", "--out", "o", "--limit", "0"],
    ["eval", "--rater", "fake", "--file", "x.jsonl", "--out", "o", "--seed", "-3"],
    ["bias", "--rater", "fake", "--limit", "nan"],
    ["rerank", "--rater", "fake", "--limit", "1e3"],
    ["tasks", "show", "x", "--n", "0"],
    ["mixtures", "show", "x", "--samples", "-5"],
    ["data", "export", "m", "--out", "o", "--n", "0"],
    ["tailpatch", "c.yaml", "--workers", "0"],
    ["calibrate", "run", "--rows", "0"],
    ["serve", "--max-batch", "0"],
    ["serve", "--max-batch", "-1"],
    ["serve", "--port", "70000"],
]


@pytest.mark.parametrize("argv", BAD_FLAGS, ids=[" ".join(a[:1] + a[-2:]) for a in BAD_FLAGS])
def test_bad_numeric_flag_is_an_argparse_error(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err


def _pair(i: int) -> Example:
    return Example(
        task="t/pairs",
        task_type=TaskType.PAIRWISE,
        title="Which response is better?",
        description="Pick the better response.",
        inputs={"prompt": f"question {i}", "response A": "yes " * i, "response B": "no"},
        targets={"answer": "A"},
        labels=("A", "B"),
        id=f"p{i}",
    )


@pytest.mark.parametrize("content", ["", "\n\n", "{not json\n[1, 2]\n"], ids=["empty", "blank", "all-bad"])
def test_rate_on_a_file_without_usable_rows_exits_2(tmp_path, capsys, content):
    src = tmp_path / "in.jsonl"
    src.write_text(content)
    out = tmp_path / "out.jsonl"
    rc = main(
        ["rate", "--rater", "fake", "--input", str(src), "--out", str(out), "--cache", str(tmp_path / "c")]
    )
    assert rc == 2
    assert f"{src} has no usable rows" in capsys.readouterr().err
    assert not out.exists()


def test_demo_limit_is_checked_like_a_flag(capsys):
    from flame.demo import run, settings

    with pytest.raises(ValueError, match="FLAME_DEMO_LIMIT=0"):
        settings({"FLAME_DEMO_LIMIT": "0"})
    assert settings({"FLAME_DEMO_LIMIT": "7"}).limit == 7
    assert run({"FLAME_DEMO_LIMIT": "ten"}) == 2
    assert "FLAME_DEMO_LIMIT=ten" in capsys.readouterr().err


class _ClearingRater(FakeRater):
    """A fake rater that empties the judgment cache during its calls (`flame cache clear` in another shell)."""

    def __init__(self, db_path: Path, clear_on_calls: set[int] | None, **kw):
        super().__init__(**kw)
        self.db_path, self.clear_on_calls, self.calls = db_path, clear_on_calls, 0

    def judge(self, examples):
        self.calls += 1
        if self.clear_on_calls is None or self.calls in self.clear_on_calls:
            other = JudgmentCache(self.db_path)
            other.clear()
            other.close()
        return super().judge(examples)


def test_cache_cleared_during_rate_rejudges_what_vanished(tmp_path):
    db = tmp_path / "c.sqlite"
    exs = [_pair(i) for i in range(10)]
    expected = rate(exs, load_rater("fake"), cache=tmp_path / "clean.sqlite", batch_size=3, progress=False)
    rater = _ClearingRater(db, {3})  # the 3rd of 4 batches clears what the first two stored
    out = tmp_path / "out.jsonl"
    result = rate(exs, rater, cache=db, batch_size=3, out=out, progress=False)
    assert result.n_judged > len(exs)  # the vanished ones were judged again
    assert [r["probs"] for r in result.rows] == [r["probs"] for r in expected.rows]
    assert len(out.read_text().splitlines()) == len(exs)


def test_cache_cleared_again_and_again_is_a_rerun_message_and_no_output(tmp_path, capsys):
    db = tmp_path / "c.sqlite"
    out = tmp_path / "out.jsonl"
    with pytest.raises(RaterError, match="rerun the same command"):
        rate([_pair(i) for i in range(4)], _ClearingRater(db, None), cache=db, batch_size=2, out=out)
    assert not out.exists()


def test_cache_info_shows_the_inserted_and_duplicate_counters(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": f"r{i}", "prompt": f"q{i}", "response_a": "a", "response_b": "bb", "label": "A"}
        for i in range(5)
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cache = str(tmp_path / "c.sqlite")
    for _ in range(2):  # the second run judges nothing: the counters must not move
        assert (
            main(
                [
                    "rate",
                    "--rater",
                    "fake",
                    "--input",
                    str(src),
                    "--out",
                    str(tmp_path / "o"),
                    "--cache",
                    cache,
                    "--no-progress",
                ]
            )
            == 0
        )
    capsys.readouterr()
    assert main(["cache", "info", "--cache", cache]) == 0
    assert "inserted: 5, duplicates: 0" in capsys.readouterr().out


def test_cache_info_into_a_closed_pipe_is_not_a_traceback(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head`) is gone before flame writes a byte
    try:
        done = subprocess.run(
            [sys.executable, "-m", "flame.cli", "cache", "info", "--cache", str(tmp_path / "c.sqlite")],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == 1
