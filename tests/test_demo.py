"""The demo's pure parts: settings, the time plan, and when a training run counts as done."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import yaml

from flame import demo


def test_settings_default_fast_and_limit():
    s = demo.settings({})
    assert (s.out, s.limit, s.bias_limit) == (Path("out/demo"), demo.LIMIT, demo.BIAS_LIMIT)
    assert demo.settings({"FLAME_DEMO_LIMIT": "8"}).limit == 8
    fast = demo.settings({"FLAME_DEMO_FAST": "1"})
    assert fast.out == Path("out/demo_fast") and fast.limit == demo.FAST_LIMIT
    assert "train.steps=2" in fast.mini_overrides and "eval.every=-1" in fast.mini_overrides
    assert demo.settings({"FLAME_DEMO_FAST": "0"}).out == Path("out/demo")
    config, overrides = s.rm()
    assert config.name == "flame_rm.yaml" and config.is_file()
    assert overrides[:2] == ["run_dir=out/demo/runs/flame_mini_rm", "model.base=run:out/demo/runs/flame_mini"]
    config, overrides = s.opt_rm()
    assert config.name == "flame_rm.yaml"
    assert overrides[:3] == [
        "run_dir=out/demo/runs/flame_mini_opt_rm",
        "model.base=run:out/demo/runs/flame_mini",
        "data.mixture=out/demo/runs/tailpatch_mini/mixture.json",
    ]
    config, overrides = s.tailpatch()
    assert config.name == "tailpatch_mini.yaml" and config.is_file()
    assert overrides[:2] == [
        "run_dir=out/demo/runs/tailpatch_mini",
        "model.base=run:out/demo/runs/flame_mini",
    ]
    assert list(s.raters().values()) == [
        "FLAMe-mini",
        "FLAMe-mini-RM",
        "FLAMe-mini-Opt-RM",
        "SmolLM2 (zero-shot)",
        "jury (FLAMe-mini, SmolLM2, length, random)",
        "length",
        "random",
    ]
    assert s.jury_spec == "jury:run:out/demo/runs/flame_mini|smollm2|length|random"
    assert list(s.pair_raters().values()) == ["FLAMe-mini", "length", "random"]


def test_judgment_counts_follow_the_heldout_tasks():
    # 4 pairwise tasks judged in both orders, 9 other tasks once; faireval has only 66 rows.
    assert demo.eval_judgments(48) == 4 * 48 * 2 + 9 * 48
    assert demo.eval_judgments(100) == (100 + 100 + 100 + 66) * 2 + 100 * 8 + 100
    assert demo.bias_judgments(24, 2) == 4 * 24 * 3
    # Every pair: mtbench_human 200, pandalm 993, llmeval2 200, faireval 66, in both orders.
    assert demo.pair_judgments(None) == 2 * (200 + 993 + 200 + 66)
    assert demo.pair_judgments(2) == 2 * 4 * 2


def test_train_minutes_is_bounded_by_max_minutes():
    rate = demo.TRAIN_EXAMPLES_PER_S["causal"]
    assert demo.train_minutes(1200, None, 0) == demo.START_MIN + 1200 / rate / 60
    assert demo.train_minutes(10**6, 23, 0) == demo.START_MIN + 23
    # The encoder judge trains several times more examples per minute.
    assert demo.train_minutes(1200, None, 0, "encoder") < demo.train_minutes(1200, None, 0, "causal")


def test_format_plan():
    text = demo.format_plan([("build", 0.2, True), ("train", 14.6, False)])
    assert text == "plan: build ~<1 min (cached), train ~15 min, total ~15 min"


def test_run_state(tmp_path):
    expected = demo.expected_config(*demo.settings({}).mini())
    run = tmp_path / "run"
    assert demo.run_state(run, expected) == "new"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(expected))
    assert demo.run_state(run, expected) == "restart"  # started, no checkpoint yet
    ckpt = run / "checkpoints" / "step-25"
    ckpt.mkdir(parents=True)
    (ckpt / "state.json").write_text("{}")
    assert demo.run_state(run, expected) == "resume"
    (run / "final").mkdir()
    (run / "final" / "config.json").write_text("{}")
    (run / "run.json").write_text(json.dumps({"finished": True}))
    assert demo.run_state(run, expected) == "done"
    other = {**expected, "train": {**expected["train"], "steps": 7}}
    assert demo.run_state(run, other) == "stale"
    # A base model written after this run started: the run is stale (FLAMe-mini retrained under FLAMe-mini-RM).
    base = tmp_path / "base_final"
    base.mkdir()
    os.utime(run / "config.yaml", (1, 1))
    assert demo.run_state(run, expected, base) == "stale"


def test_plan_with_nothing_on_disk(tmp_path):
    s = replace(demo.settings({}), out=tmp_path / "demo")
    stages = demo.plan(s)
    assert [label for label, _, _ in stages] == [
        "build",
        "train FLAMe-mini",
        "train FLAMe-mini-RM",
        "tail-patch",
        "train FLAMe-mini-Opt-RM",
        "eval (4 models and a jury)",
        "eval every pair",
        "bias",
    ]
    assert not any(cached for label, _, cached in stages if label != "build")
    eval_minutes = stages[5][1]
    # At least zero-shot SmolLM2's judgments; the three trained judges add their own.
    assert eval_minutes > demo.judging_minutes(demo.eval_judgments(s.limit))


def test_stage_commands(monkeypatch):
    calls = []
    monkeypatch.setattr(demo, "flame", lambda *argv: calls.append(list(argv)))
    fast = demo.settings({"FLAME_DEMO_FAST": "1"})
    demo.eval_stage(fast)
    demo.pairs_stage(fast)
    demo.bias_stage(fast)
    eval_argv, pairs_argv, mini_bias, zero_shot_bias = calls
    assert eval_argv[:2] == ["eval", "--rater"] and eval_argv[-2:] == ["--out", "out/demo_fast/eval"]
    assert [eval_argv[i + 1] for i, a in enumerate(eval_argv) if a == "--rater"] == list(fast.raters())
    assert "--swap" in eval_argv and eval_argv[eval_argv.index("--max-length") + 1] == "256"
    assert [pairs_argv[i + 1] for i, a in enumerate(pairs_argv) if a == "--rater"] == list(fast.pair_raters())
    benches = [pairs_argv[i + 1] for i, a in enumerate(pairs_argv) if a == "--benchmark"]
    assert benches == ["mtbench_human", "pandalm", "llmeval2", "faireval"]
    assert pairs_argv[pairs_argv.index("--limit") + 1] == str(demo.FAST_LIMIT) and "--swap" in pairs_argv
    full = demo.settings({})
    demo.pairs_stage(full)
    assert "--full" in calls[-1] and "--limit" not in calls[-1]
    assert mini_bias[:3] == ["bias", "--rater", "run:out/demo_fast/runs/flame_mini"]
    assert mini_bias.count("--probe") == 2 and zero_shot_bias[2] == "smollm2"


def test_tailpatch_state(tmp_path):
    s = replace(demo.settings({}), out=tmp_path / "demo")
    expected = demo.expected_tailpatch_config(*s.tailpatch())
    run, base = s.tailpatch_dir, tmp_path / "base_final"
    assert demo.tailpatch_state(run, expected, base) == "new"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(expected))
    assert demo.tailpatch_state(run, expected, base) == "resume"  # tasks patched so far are kept
    (run / demo.OPT_RM_MIXTURE).write_text("{}")
    os.utime(run / "config.yaml", (1, 1))
    assert demo.tailpatch_state(run, expected, base) == "done"
    assert demo.tailpatch_state(run, {**expected, "mixture_name": "other"}, base) == "stale"
    base.mkdir()  # FLAMe-mini retrained after the tail-patch began
    assert demo.tailpatch_state(run, expected, base) == "stale"


def test_tailpatch_stage_command(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(demo, "flame", lambda *argv: calls.append(list(argv)))
    fast = replace(demo.settings({"FLAME_DEMO_FAST": "1"}), out=tmp_path / "demo_fast")
    demo.tailpatch_stage(fast)
    (argv,) = calls
    assert argv[0] == "tailpatch" and argv[1].endswith("tailpatch_mini.yaml")
    assert f"model.base=run:{fast.mini_dir}" in argv and "train.steps=1" in argv
