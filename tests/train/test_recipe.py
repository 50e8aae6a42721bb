"""The recipe end to end on a tiny random Llama: run directory, resume, export, RM stage, NaN, errors."""

from __future__ import annotations

import json

import pytest
import train_toys as toys

from flame.train.config import ConfigError, RunConfig, from_dict


def tiny_config(tiny_model, run_dir, **sections) -> RunConfig:
    data = {
        "run_dir": str(run_dir),
        "model": {"base": str(tiny_model), "dtype": "fp32", "dropout": 0.0},
        "data": {"mixture": toys.TOY_MIXTURE, "max_length": 128, "decontaminate": False, "bucket_batches": 2},
        "optim": {"lr": 1e-3, "warmup_steps": 2},
        "train": {"steps": 6, "batch_size": 4, "micro_batch_size": 2, "save_every": 3, "progress": False},
        "eval": {"every": -1},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return from_dict(RunConfig, data)


def test_train_writes_the_run_directory(toy_registry, tiny_model, tmp_path):
    from flame.train.recipe import train

    cfg = tiny_config(
        tiny_model, tmp_path / "run", eval={"every": 3, "held_in": [toys.CLASSIFICATION], "n": 4}
    )
    result = train(cfg)
    run = tmp_path / "run"
    assert (run / "config.yaml").is_file()
    info = json.loads((run / "run.json").read_text())
    assert info["steps"] == 6 and info["finished"] and info["mixture"] == toys.TOY_MIXTURE
    assert sorted(info["tasks"]) == sorted([*toys.PAIRWISE, toys.CLASSIFICATION])
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [x for x in lines if "loss" in x]
    assert [x["step"] for x in steps] == [1, 2, 3, 4, 5, 6]
    assert all(x["examples_per_s"] > 0 and x["tokens_per_s"] > 0 and x["loss_by_task"] for x in steps)
    evals = [x for x in lines if "eval" in x]
    assert [x["step"] for x in evals] == [3, 6]
    assert (run / "final" / "config.json").is_file() and (run / "final" / "model.safetensors").is_file()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-3", "step-6"]
    assert result.step == 6


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.slow
def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(toy_registry, tiny_model, tmp_path):
    from flame.train.recipe import train

    dropout = {"base": str(tiny_model), "dtype": "fp32", "dropout": 0.1}  # RNG state must resume too
    train(tiny_config(tiny_model, tmp_path / "full", model=dropout))
    # "Killed" after step 3: a run of 3 steps leaves the same checkpoint, then --resume continues to 6.
    train(tiny_config(tiny_model, tmp_path / "split", model=dropout, train={"steps": 3}))
    (tmp_path / "split" / "checkpoints" / ".step-9.tmp").mkdir()  # a half-written checkpoint is ignored
    train(tiny_config(tiny_model, tmp_path / "split", model=dropout), resume=True)
    full, split = _weights(tmp_path / "full" / "final"), _weights(tmp_path / "split" / "final")
    assert full.keys() == split.keys()
    for k in full:
        assert (full[k] - split[k]).abs().max() < 1e-6, k
    losses = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    resumed = [json.loads(x) for x in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in resumed] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(losses, resumed, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)


def test_a_second_run_into_the_same_directory_needs_resume(toy_registry, tiny_model, tmp_path):
    from flame.train.recipe import train

    train(tiny_config(tiny_model, tmp_path / "run", train={"steps": 1}))
    with pytest.raises(ConfigError, match="--resume"):
        train(tiny_config(tiny_model, tmp_path / "run", train={"steps": 1}))


def test_rm_stage_continues_from_a_flame_run_with_the_shipped_config(toy_registry, tiny_model, tmp_path):
    from pathlib import Path

    from flame.train.config import load_config
    from flame.train.recipe import train

    flame_run = tmp_path / "flame"
    train(tiny_config(tiny_model, flame_run, train={"steps": 2}))
    config = Path(__file__).resolve().parents[2] / "configs" / "flame_rm.yaml"
    overrides = [
        f"run_dir={tmp_path / 'rm'}",
        f"model.base=run:{flame_run}",
        f"data.mixture={toys.TOY_RM_MIXTURE}",
        "data.decontaminate=false",
        "data.max_length=128",
        "model.freeze_layers=1",
        "model.dtype=fp32",
        "train.steps=3",
        "train.batch_size=4",
        "train.micro_batch_size=4",
        "train.progress=false",
        "eval.held_out=[]",
        f"eval.held_in=[{next(iter(toys.PAIRWISE))}]",
        "eval.n=4",
    ]
    # The shipped config is FLAMe-mini-RM's (an encoder judge): on a text-to-text base its label-bias fit
    # (eval.calibrate) fails loudly before any training, and the stage runs once it is switched off.
    with pytest.raises(ValueError, match="eval.calibrate"):
        train(load_config(config, overrides))
    assert not (tmp_path / "rm" / "final").exists()
    result = train(load_config(config, [*overrides, "eval.calibrate=0"]))
    info = json.loads((tmp_path / "rm" / "run.json").read_text())
    assert info["base_model"] == f"run:{flame_run}" and info["base_path"] == str(flame_run / "final")
    assert sorted(info["tasks"]) == sorted(toys.PAIRWISE)  # the balanced pairwise mix only
    before, after = _weights(flame_run / "final"), _weights(tmp_path / "rm" / "final")
    changed = [k for k in after if not (after[k] == before[k]).all()]
    assert changed and all("layers.1." in k or "norm" in k for k in changed)  # layer 0 and embeddings frozen
    assert any("eval" in m for m in result.metrics)


def test_nan_loss_stops_with_the_step_and_the_tasks(toy_registry, tiny_model, tmp_path, monkeypatch):
    import flame.families.lm as lm
    from flame.train.recipe import TrainingError, train

    real = lm.token_losses

    def poisoned(model, tensors, is_seq2seq):
        losses, mask = real(model, tensors, is_seq2seq)
        return losses * float("nan"), mask

    monkeypatch.setattr(lm, "token_losses", poisoned)  # what the causal LM family's losses call
    with pytest.raises(TrainingError, match=r"loss is nan at step 1; the batch held tasks \['toy_"):
        train(tiny_config(tiny_model, tmp_path / "run"))
    assert not list((tmp_path / "run" / "checkpoints").iterdir())


@pytest.mark.slow
def test_lora_run_saves_merged_weights_or_an_adapter(toy_registry, tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    from flame.train.recipe import train

    lora = {"base": str(tiny_model), "dtype": "fp32", "lora": {"enabled": True, "r": 4, "alpha": 8}}
    train(tiny_config(tiny_model, tmp_path / "merged", model=lora, train={"steps": 2}))
    merged = tmp_path / "merged" / "final"
    assert (merged / "config.json").is_file() and not (merged / "adapter_config.json").exists()
    AutoModelForCausalLM.from_pretrained(merged)
    train(tiny_config(tiny_model, tmp_path / "adapter", model=lora, train={"steps": 2, "merge_lora": False}))
    adapter = tmp_path / "adapter" / "final"
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        tiny_model
    )


def test_train_on_a_benchmark_file_alone(tiny_model, tmp_path, monkeypatch):
    from flame.data.files import write_benchmark_file
    from flame.train.recipe import train

    rows = [{"prompt": f"q{i}", "response_a": "good", "response_b": "bad", "label": "A"} for i in range(12)]
    path = write_benchmark_file(tmp_path / "mine.jsonl", rows)
    result = train(
        tiny_config(
            tiny_model, tmp_path / "run", data={"mixture": None, "files": [str(path)]}, train={"steps": 2}
        )
    )
    assert json.loads((tmp_path / "run" / "run.json").read_text())["tasks"] == ["file:mine"]
    assert result.step == 2


def test_time_limit_stops_cleanly_with_a_checkpoint_and_a_final_model(toy_registry, tiny_model, tmp_path):
    from flame.train.recipe import train

    result = train(tiny_config(tiny_model, tmp_path / "run", train={"max_minutes": 1e-9, "threads": "auto"}))
    assert result.step == 1
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["steps"] == 1 and info["stopped_by_time_limit"] and info["threads"] >= 1
    assert (tmp_path / "run" / "checkpoints" / "step-1" / "state.json").is_file()
    assert (tmp_path / "run" / "final" / "model.safetensors").is_file()


def test_seq2seq_models_train_on_the_target(toy_registry, tokenizer_dir, tmp_path):
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    from flame.train.recipe import train

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = T5Config(
        vocab_size=len(tok),
        d_model=16,
        d_kv=4,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    folder = tmp_path / "t5"
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    result = train(
        tiny_config(
            folder, tmp_path / "run", model={"base": str(folder), "kind": "seq2seq"}, train={"steps": 2}
        )
    )
    assert result.step == 2
    losses = [m["loss"] for m in result.metrics if "loss" in m]
    assert all(0 < v < 20 for v in losses)
    assert json.loads((tmp_path / "run" / "final" / "config.json").read_text())["is_encoder_decoder"]


def test_label_balancing_and_pair_swapping_train_on_the_toy_mixture(toy_registry, tiny_model, tmp_path):
    from flame.train.data import build_training_data
    from flame.train.recipe import train

    cfg = tiny_config(
        tiny_model,
        tmp_path / "run",
        data={"balance_labels": True, "swap_pairs": True},
        train={"steps": 2, "save_every": 0},
    )
    data = build_training_data(cfg.data, progress=False)
    weights = data.label_weights[toys.CLASSIFICATION]
    assert len(weights) >= 2 and set(data.label_weights) == {toys.CLASSIFICATION}
    assert train(cfg).step == 2
