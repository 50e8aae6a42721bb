"""`FLAME_DEMO_FAST=1 python -m flame.demo`: the whole main job, tiny, from a foreign working directory;
then once more, which must take the trained models from the first run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RATERS = [
    "FLAMe-mini",
    "FLAMe-mini-RM",
    "FLAMe-mini-Opt-RM",
    "SmolLM2 (zero-shot)",
    "jury (FLAMe-mini, SmolLM2, length, random)",
    "length",
    "random",
]


def tables(markdown: str) -> list[list[str]]:
    """The Markdown tables of a text, each as its header and rows (the |---| line left out)."""
    found, current = [], []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def run_demo(cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if k != "FLAME_DEMO_LIMIT"}
    env["FLAME_DEMO_FAST"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "flame.demo"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done, time.monotonic() - start


@pytest.mark.model
@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(3600)  # 14 minutes for both runs on 2 cores shared with another job
def test_fast_demo_end_to_end_then_cached(tmp_path):
    from flame.data.paths import DataRootError, data_root

    try:
        data_root()
    except DataRootError as e:
        pytest.skip(str(e))

    first, first_s = run_demo(tmp_path)
    out = tmp_path / "out" / "demo_fast"
    assert first.stdout.startswith("plan: build ~")
    assert "$ flame train" in first.stdout and "$ flame tailpatch" in first.stdout
    assert (out / "runs" / "tailpatch_mini" / "mixture.json").is_file()
    assert (out / "eval" / "report.html").is_file()
    assert (out / "bias" / "bias.md").is_file() and (out / "bias_smollm2" / "bias.md").is_file()

    summary = (out / "summary.md").read_text()
    table, paired, pairs, pairs_paired = tables(summary)
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header[0] == "rater" and "pairwise mean" in header and "factual-consistency mean" in header
    assert [row.split("|")[1].strip() for row in table[1:]] == RATERS
    assert [row.split("|")[1].strip() for row in paired[1:]] == RATERS[1:]  # FLAMe-mini minus each other
    assert "pairwise mean" in paired[0] and "factual-consistency mean" in paired[0]
    assert [row.split("|")[1].strip() for row in pairs[1:]] == ["FLAMe-mini", "length", "random"]
    assert [row.split("|")[1].strip() for row in pairs_paired[1:]] == ["length", "random"]
    assert (out / "eval_pairs" / "report.html").is_file()
    assert "n per column:" in summary and "distinct training rows" in summary
    assert summary in first.stdout  # printed at the end too

    second, second_s = run_demo(tmp_path)
    assert "FLAMe-mini: cached, skipping training" in second.stdout
    assert "FLAMe-mini-RM: cached, skipping training" in second.stdout
    assert "tail-patch: cached, skipping" in second.stdout
    assert "FLAMe-mini-Opt-RM: cached, skipping training" in second.stdout
    assert "$ flame train" not in second.stdout and "$ flame tailpatch" not in second.stdout
    assert second_s < first_s
    shutil.rmtree(out / "runs")  # weights and checkpoints; pytest keeps its last 3 temp dirs
