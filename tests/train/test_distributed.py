"""The same recipe under `accelerate launch` with 2 CPU processes (gloo DDP): same loss curve as 1 process
with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_recipe import tiny_config

from flame.train.config import to_dict

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_processes_match_one_process(toy_registry, tiny_model, tmp_path):
    from flame.train.recipe import train

    changes = {"train": {"steps": 4, "batch_size": 8, "micro_batch_size": 4, "save_every": 2}}
    one = tiny_config(tiny_model, tmp_path / "one", **changes)  # 2 micro-batches accumulated
    train(one)
    two = tiny_config(tiny_model, tmp_path / "two", **changes)  # 1 micro-batch on each process
    cfg_path = tmp_path / "two.json"
    cfg_path.write_text(json.dumps(to_dict(two)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(ROOT / "configs" / "accelerate" / "cpu_2proc.yaml"),
        "--main_process_port",
        str(29500 + os.getpid() % 500),
        str(Path(__file__).parent / "ddp_driver.py"),
        str(cfg_path),
    ]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((tmp_path / "two" / "run.json").read_text())
    assert info["processes"] == 2 and info["gradient_accumulation"] == 1
    a = [json.loads(x) for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in a] == [x["step"] for x in b] == [1, 2, 3, 4]
    for x, y in zip(a, b, strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-4)
        assert x["loss_by_task"] == pytest.approx(y["loss_by_task"], rel=1e-4)
    from safetensors.torch import load_file

    wa = load_file(str(tmp_path / "one" / "final" / "model.safetensors"))
    wb = load_file(str(tmp_path / "two" / "final" / "model.safetensors"))
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-4
