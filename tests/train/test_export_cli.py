"""`flame export` and the CLI handlers, through argparse."""

from __future__ import annotations

import argparse
import json

import pytest
import train_toys as toys
from test_recipe import tiny_config


def run_cli(argv: list[str]) -> int:
    from flame.errors import run_command
    from flame.train.cli import register

    parser = argparse.ArgumentParser(prog="flame")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_command(args.func, args)  # the error policy of `flame` itself


def write_config(tmp_path, tiny_model, **changes):
    import yaml

    from flame.train.config import to_dict

    cfg = to_dict(tiny_config(tiny_model, tmp_path / "run", **changes))
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_cli_train_resume_and_export(toy_registry, tiny_model, tmp_path, capsys):
    from transformers import AutoModelForCausalLM

    config = write_config(tmp_path, tiny_model)
    assert run_cli(["train", str(config), "train.steps=2", "--no-progress"]) == 0
    assert "run:" in capsys.readouterr().out
    assert run_cli(["train", str(config), "train.steps=3", "--resume", "--no-progress"]) == 0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["steps"] == 3
    assert run_cli(["export", str(tmp_path / "run"), "--out", str(tmp_path / "hf")]) == 0
    AutoModelForCausalLM.from_pretrained(tmp_path / "hf")
    assert (tmp_path / "hf" / "tokenizer.json").is_file()


def test_cli_reports_config_errors_in_one_line(toy_registry, tiny_model, tmp_path, capsys):
    config = write_config(tmp_path, tiny_model)
    assert run_cli(["train", str(config), "train.stepz=2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flame: error:") and "train.stepz; did you mean train.steps" in err
    assert run_cli(["train", str(config), "data.mixture=flame_v9"]) == 2
    assert "unknown mixture 'flame_v9'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing was started


def test_export_of_a_killed_run_uses_its_newest_checkpoint(toy_registry, tiny_model, tmp_path):
    import shutil

    from safetensors.torch import load_file

    from flame.train.export import export_run
    from flame.train.recipe import train

    train(tiny_config(tiny_model, tmp_path / "run", train={"steps": 3}))
    final = load_file(str(tmp_path / "run" / "final" / "model.safetensors"))
    shutil.rmtree(tmp_path / "run" / "final")  # as if killed after the last checkpoint
    export_run(tmp_path / "run", tmp_path / "hf")
    exported = load_file(str(tmp_path / "hf" / "model.safetensors"))
    assert all((exported[k] == final[k]).all() for k in final)


def test_export_merges_a_lora_adapter_on_request(toy_registry, tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    from flame.train.export import export_run
    from flame.train.recipe import train

    lora = {"base": str(tiny_model), "dtype": "fp32", "lora": {"enabled": True, "r": 4, "alpha": 8}}
    train(tiny_config(tiny_model, tmp_path / "run", model=lora, train={"steps": 2, "merge_lora": False}))
    export_run(tmp_path / "run", tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    export_run(tmp_path / "run", tmp_path / "merged", merge_lora=True)
    assert (tmp_path / "merged" / "config.json").is_file()
    AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    with pytest.raises(Exception, match="not empty"):
        export_run(tmp_path / "run", tmp_path / "merged")


def test_the_run_rates_through_run_spec(toy_registry, tiny_model, tmp_path):
    rater_mod = pytest.importorskip("flame.raters")
    from flame.data.collection import load_examples
    from flame.train.recipe import train

    train(tiny_config(tiny_model, tmp_path / "run", train={"steps": 1}))
    rater = rater_mod.load_rater(f"run:{tmp_path / 'run'}", dtype="fp32")
    examples = load_examples(next(iter(toys.PAIRWISE)), "dev")[:2]
    judgments = rater.judge(examples)
    assert all(abs(sum(j.probs.values()) - 1) < 1e-6 for j in judgments)
