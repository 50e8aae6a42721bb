"""Typed configs: unknown keys and wrong types fail loudly; overrides; every shipped config validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from flame.train.config import (
    ConfigError,
    RunConfig,
    TailpatchConfig,
    apply_overrides,
    check_sizes,
    from_dict,
    load_config,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_are_the_paper_settings():
    cfg = RunConfig()
    assert cfg.optim.lr == 1e-4 and cfg.model.dropout == 0.05 and cfg.data.cap == 2**16
    assert cfg.model.base == "smollm2" and cfg.data.mixture == "flame_v1"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"trian": {}}, "unknown config key trian; did you mean train"),
        ({"train": {"stepz": 3}}, "unknown config key train.stepz; did you mean train.steps"),
        ({"train": {"steps": "ten"}}, "train.steps: expected an integer, got 'ten'"),
        ({"train": {"steps": 2.5}}, "train.steps: expected an integer"),
        ({"train": {"progress": "yes"}}, "train.progress: expected true or false"),
        ({"model": {"dtype": "fp16"}}, "model.dtype: expected one of 'auto' | 'bf16' | 'fp32'"),
        ({"data": {"files": ["a.jsonl", {"a": 2}]}}, "data.files[1]: expected text"),
        ({"model": "smollm2"}, "model: expected a section"),
    ],
)
def test_bad_configs_name_the_key(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_dict(RunConfig, data)


def test_numbers_and_nulls_coerce():
    cfg = from_dict(RunConfig, {"optim": {"lr": 1}, "data": {"mixture": None, "files_rate": 0.2}})
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert cfg.data.mixture is None and cfg.data.files_rate == 0.2


def test_dotted_overrides_parse_yaml_values():
    data = apply_overrides(
        {"train": {"steps": 5}}, ["train.steps=10", "data.files=[a.jsonl, b.jsonl]", "data.mixture=null"]
    )
    assert data == {"train": {"steps": 10}, "data": {"files": ["a.jsonl", "b.jsonl"], "mixture": None}}
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["train.steps"])


def test_load_config_applies_overrides_and_names_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  steps: 3\n")
    assert load_config(path, ["train.batch_size=16", "train.micro_batch_size=4"]).train.batch_size == 16
    with pytest.raises(ConfigError, match=r"c.yaml: unknown config key train.bogus"):
        load_config(path, ["train.bogus=1"])


def test_batch_sizes_must_divide():
    cfg = from_dict(RunConfig, {"train": {"batch_size": 8, "micro_batch_size": 4}})
    assert check_sizes(cfg, world_size=1) == 2 and check_sizes(cfg, world_size=2) == 1
    with pytest.raises(ConfigError, match="not a multiple"):
        check_sizes(cfg, world_size=3)


def _training_configs() -> list[str]:
    """Shipped configs whose opening line runs `flame train` or `flame tailpatch` (others belong to other
    commands and are tested with them)."""
    out = []
    for p in sorted(CONFIGS.glob("*.yaml")):
        first = p.read_text().splitlines()[0]
        if (
            "flame train" in first
            or "flame tailpatch" in first
            or ("accelerate launch" in first and " train " in first)
        ):
            out.append(p.name)
    return out


def test_the_training_configs_are_shipped():
    assert {"flame_mini.yaml", "flame_rm.yaml", "tailpatch.yaml", "flame_gemma2_9b_gpu.yaml"} <= set(
        _training_configs()
    )


@pytest.mark.parametrize("name", _training_configs())
def test_every_shipped_config_loads_and_validates(name):
    from flame.data.mixtures import MIXTURES
    from flame.data.task import load_all_tasks
    from flame.train.recipe import validate

    path = CONFIGS / name
    load_all_tasks()
    if name.startswith("tailpatch"):
        cfg = load_config(path, cls=TailpatchConfig)
        tasks = load_all_tasks()
        assert cfg.candidates in MIXTURES if cfg.candidates else cfg.tasks
        assert all(t in tasks for t in cfg.tasks)
        assert all(t in tasks for ts in cfg.target.categories.values() for t in ts)
        return
    cfg = load_config(path)
    if cfg.data.mixture and cfg.data.mixture not in MIXTURES:
        pytest.skip(f"mixture {cfg.data.mixture} is not registered yet")
    validate(cfg, check_model_path=False)  # model folders and hub ids are checked at train time


@pytest.mark.parametrize("name", sorted(p.name for p in (CONFIGS / "accelerate").glob("*.yaml")))
def test_accelerate_configs_are_valid_yaml(name):
    path = CONFIGS / "accelerate" / name
    assert path.read_text().startswith("# accelerate launch --config_file configs/accelerate/")
    cfg = yaml.safe_load(path.read_text())
    assert cfg["distributed_type"] in {"MULTI_CPU", "MULTI_GPU", "FSDP", "DEEPSPEED"}
    assert cfg["num_processes"] >= 2


def test_unknown_mixture_task_or_model_fails_before_any_work(toy_registry, tmp_path):
    from flame.train.recipe import validate

    with pytest.raises(ConfigError, match="unknown mixture 'toy_mix_v2'; did you mean toy_mix_v1"):
        validate(from_dict(RunConfig, {"data": {"mixture": "toy_mix_v2"}}), check_model_path=False)
    with pytest.raises(ConfigError, match="data.tasks: unknown task"):
        validate(
            from_dict(RunConfig, {"data": {"mixture": None, "tasks": ["nope_v1"]}}), check_model_path=False
        )
    with pytest.raises(ConfigError, match="model.base='no-such-model'"):
        validate(
            from_dict(RunConfig, {"model": {"base": "no-such-model"}, "data": {"mixture": "toy_mix_v1"}})
        )
    with pytest.raises(ConfigError, match="does not exist"):
        validate(
            from_dict(RunConfig, {"data": {"mixture": None, "files": [str(tmp_path / "x.jsonl")]}}),
            check_model_path=False,
        )
