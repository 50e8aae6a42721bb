"""`accelerate launch` with two CPU processes writes the same file as one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    accelerate = shutil.which("accelerate") or str(Path(sys.executable).parent / "accelerate")
    if not Path(accelerate).exists():
        pytest.skip("accelerate is not installed")
    rows = [
        {
            "id": f"d{i}",
            "prompt": f"q{i}",
            "response_a": "a" * (i % 9),
            "response_b": "b" * (i % 4),
            "label": "AB"[i % 2],
        }
        for i in range(37)
    ]
    src = tmp_path / "b.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def args(out, db):
        return [
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

    subprocess.run(
        [sys.executable, *args(tmp_path / "one.jsonl", tmp_path / "one.db")],
        env=env,
        check=True,
        capture_output=True,
    )
    two = subprocess.run(
        # --multi_gpu on a CPU-only machine: torchrun-style processes over gloo (--cpu alone runs one process).
        [
            accelerate,
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--main_process_port",  # a free port: the default 29500 may still be held by an earlier run
            str(free_port()),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            *args(tmp_path / "two.jsonl", tmp_path / "two.db"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert two.returncode == 0, two.stderr[-2000:]
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert two.stdout.count("accuracy:") == 1  # only rank 0 reports
    import sqlite3

    with sqlite3.connect(tmp_path / "two.db") as conn:
        assert conn.execute("SELECT inserted, duplicates FROM stats").fetchall() == [(37, 0)]
