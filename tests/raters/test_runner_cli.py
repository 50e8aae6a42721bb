"""`flame rate` through its entry point: accuracies by hand, the cache, and kill -9 then resume."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rater_examples import pair, point

from flame.format import render_input
from flame.raters import load_rater
from flame.raters.base import stable_hash
from flame.raters.cache import JudgmentCache, rater_key
from flame.raters.cli import main
from flame.raters.runner import rate, summarize

ROWS = [
    {"id": "r1", "prompt": "q1", "response_a": "aaaa", "response_b": "b", "label": "A"},  # longer A: right
    {"id": "r2", "prompt": "q2", "response_a": "a", "response_b": "bbb", "label": "A"},  # longer B: wrong
    {"id": "r3", "prompt": "q3", "response_a": "xx", "response_b": "yy", "label": "B"},  # equal: half right
    {"id": "r4", "prompt": "q4", "response_a": "xxx", "response_b": "y", "label": "tie"},  # excluded
    {"id": "r5", "prompt": "q5", "response_a": "abc", "response_b": "abcdef", "label": "B"},  # right
    {
        "id": "r6",
        "prompt": "q6",
        "response_a": "",
        "response_b": "no",
        "label": "B",
    },  # empty A: judged, right
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_length_accuracy_by_hand(tmp_path, capsys):
    src = write_jsonl(tmp_path / "b.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "rate",
                "--rater",
                "length",
                "--input",
                str(src),
                "--out",
                str(out),
                "--cache",
                str(tmp_path / "c.db"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == "accuracy: 0.700 (n=5, ties excluded: 1, parse failures: 0)"
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in ROWS]
    assert rows[0] == {
        "id": "r1",
        "prediction": "A",
        "probs": {"A": 1.0, "B": 0.0, "tie": 0.0},
        "parse_failure": False,
        "label": "A",
    }
    assert rows[2]["probs"]["A"] == 0.5
    assert all(abs(sum(r["probs"].values()) - 1) < 1e-9 for r in rows)


def test_random_accuracy_by_hand(tmp_path, capsys):
    rows = [
        {"id": f"x{i}", "prompt": f"q{i}", "response_a": "a" * i, "response_b": "b", "label": "AB"[i % 2]}
        for i in range(30)
    ]
    src = write_jsonl(tmp_path / "b.jsonl", rows)
    out = tmp_path / "out.jsonl"
    main(
        [
            "rate",
            "--rater",
            "random",
            "--seed",
            "3",
            "--input",
            str(src),
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "c.db"),
            "--no-progress",
        ]
    )
    from flame.data.files import load_benchmark_file

    exs = load_benchmark_file(src).examples
    # The same draw, written out independently: a coin per (seed, rendered input).
    picks = [
        random.Random(stable_hash("random", 3, render_input(ex), ex.labels)).choice(ex.labels) for ex in exs
    ]
    hand = sum(p == ex.answer for p, ex in zip(picks, exs, strict=False)) / len(exs)
    assert (
        capsys.readouterr().out.strip() == f"accuracy: {hand:.3f} (n=30, ties excluded: 0, parse failures: 0)"
    )
    assert [r["prediction"] for r in read_jsonl(out)] == picks


def test_limit_and_pointwise_expected_score(tmp_path):
    rows = [
        {"id": f"s{i}", "prompt": "p", "response": "r" * (500 * i), "score": 3, "scale": [1, 5]}
        for i in range(5)
    ]
    src = write_jsonl(tmp_path / "p.jsonl", rows)
    out = tmp_path / "o.jsonl"
    main(
        [
            "rate",
            "--rater",
            "length",
            "--input",
            str(src),
            "--out",
            str(out),
            "--limit",
            "3",
            "--cache",
            str(tmp_path / "c.db"),
            "--no-progress",
        ]
    )
    got = read_jsonl(out)
    assert len(got) == 3 and all("expected_score" in r for r in got)


def test_cache_is_reused_and_cleared(tmp_path, capsys):
    exs = [pair(i, "a" * i, "bb") for i in range(10)]
    db = tmp_path / "c.db"
    first = rate(exs, load_rater("fake"), cache=db, batch_size=3, progress=False)
    again = rate(exs + exs[:2], load_rater("fake"), cache=db, batch_size=3, progress=False)
    assert first.n_judged == 10 and again.n_judged == 0 and again.n_cached == 10
    assert [j.probs for j in again.judgments[:10]] == [j.probs for j in first.judgments]
    swapped = rate(exs, load_rater("fake", swap=True), cache=db, batch_size=3, progress=False)
    assert swapped.n_judged == 10  # other scoring options: another key
    main(["cache", "info", "--cache", str(db)])
    assert "judgments: 20" in capsys.readouterr().out
    main(["cache", "clear", "--rater", "fake", "--cache", str(db)])
    assert "removed 10" in capsys.readouterr().out


def test_summary_counts_parse_failures_and_ties():
    exs = [
        pair(0, "a", "b", "A", tie=True),
        pair(1, "a", "b", "tie", tie=True),
        pair(2, "a", "b", "B", tie=True),
    ]
    js = [
        {"prediction": "A", "probs": {"A": 0.9, "B": 0.1, "tie": 0}},
        {"prediction": "A"},
        {"parse_failure": True},
    ]
    assert summarize(exs, js) == {"accuracy": 0.5, "n": 2, "ties_excluded": 1, "parse_failures": 1}
    assert summarize([point(0, "r", None)], [{"prediction": "3"}]) is None


def _rate_cmd(src, out, db):
    return [
        sys.executable,
        "-m",
        "flame.raters.cli",
        "rate",
        "--rater",
        "fake",
        "--input",
        str(src),
        "--out",
        str(out),
        "--cache",
        str(db),
        "--batch-size",
        "4",
        "--no-progress",
    ]


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_same_file(tmp_path):
    rows = [
        {
            "id": f"k{i}",
            "prompt": f"question {i}",
            "response_a": "a" * (i % 7),
            "response_b": "b" * (i % 5),
            "label": "AB"[i % 2],
        }
        for i in range(40)
    ]
    src = write_jsonl(tmp_path / "b.jsonl", rows)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    # The reference: one uninterrupted run.
    subprocess.run(
        _rate_cmd(src, tmp_path / "ref.jsonl", tmp_path / "ref.db"), env=env, check=True, capture_output=True
    )
    # A slow run (0.3 s per batch of 4), killed with SIGKILL after a few batches are committed.
    db, out = tmp_path / "job.db", tmp_path / "job.jsonl"
    proc = subprocess.Popen(
        _rate_cmd(src, out, db),
        env={**env, "FLAME_TEST_DELAY": "0.3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while _count(db) < 12 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _count(db)
    assert 12 <= done < 40 and not out.exists()
    subprocess.run(_rate_cmd(src, out, db), env=env, check=True, capture_output=True)
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    cache = JudgmentCache(db)
    stats = cache.stats(rater_key(load_rater("fake").cache_identity()))
    assert stats["inserted"] == 40 and stats["duplicates"] == 0 and stats["judgments"] == 40


def test_cli_unknown_rater_is_one_clear_error(tmp_path, capsys):
    src = write_jsonl(tmp_path / "b.jsonl", ROWS)
    code = main(["rate", "--rater", "gpt5", "--input", str(src), "--out", str(tmp_path / "o.jsonl")])
    err = capsys.readouterr().err
    assert (
        code == 2
        and err.startswith("flame: error: unknown rater spec 'gpt5'")
        and "openai:MODEL@BASE_URL" in err
    )
    assert "Traceback" not in err
