"""`flame export RUN_DIR --out DIR [--merge-lora]`: a plain Hugging Face model folder from a run.

The folder loads with ``transformers`` ``from_pretrained``, with vLLM, and as ``--rater hf:DIR``. The source
is the run's ``final/`` folder, or, for a run that was killed before it finished, its newest checkpoint
(the base model plus the checkpoint's weights).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from flame.train.config import ConfigError, RunConfig, from_dict, read_yaml


def _is_adapter(folder: Path) -> bool:
    return (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file()


def export_run(run_dir: str | Path, out: str | Path, *, merge_lora: bool = False) -> Path:
    """Write ``out`` (through a temporary sibling, then a rename); returns it."""
    run_dir, out = Path(run_dir), Path(out)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is not a run directory")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    final = run_dir / "final"
    if (final / "config.json").is_file():
        shutil.copytree(final, tmp)
    elif _is_adapter(final):
        if merge_lora:
            from peft import AutoPeftModelForCausalLM
            from transformers import AutoTokenizer

            model = AutoPeftModelForCausalLM.from_pretrained(str(final)).merge_and_unload()
            model.save_pretrained(tmp)
            AutoTokenizer.from_pretrained(str(final)).save_pretrained(tmp)
        else:
            shutil.copytree(final, tmp)
    else:
        _export_checkpoint(run_dir, tmp, merge_lora)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def _export_checkpoint(run_dir: Path, tmp: Path, merge_lora: bool) -> None:
    """Rebuild the model of an unfinished run from its config and newest checkpoint."""
    from safetensors.torch import load_file

    from flame.train.base import load_model
    from flame.train.recipe import latest_checkpoint, save_hf_folder

    ckpt = latest_checkpoint(run_dir)
    if ckpt is None or not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{run_dir} has neither final/ nor a complete checkpoint")
    config = from_dict(RunConfig, read_yaml(run_dir / "config.yaml"))
    info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    model, tokenizer, _ = load_model(config.model, info.get("base_path"))
    state = load_file(str(ckpt / "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Tied output weights are stored once (safetensors refuses shared tensors); anything else is an error.
    missing = [k for k in missing if "lm_head" not in k]
    if missing or unexpected:
        raise ConfigError(
            f"{ckpt}: checkpoint does not match the model (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    save_hf_folder(model, tokenizer, tmp, merge_lora=merge_lora or config.train.merge_lora)
