"""Where a run's starting weights come from, and how the model is prepared for training.

``model.base`` takes the names every rater spec takes (`flame.raters.models.resolve_model`): ``smollm2``
(the packaged SmolLM2-135M-Instruct), ``minilm`` (the packaged MiniLM-L6 encoder, trained as an encoder
judge: ``flame.encoder``), ``hf:PATH_OR_HUB_ID``, ``run:RUN_DIR`` (the final model of an earlier ``flame
train`` run: FLAMe before its RM stage), and, as configs written before ``hf:`` did, a bare local Hugging
Face folder or an ``org/name`` hub id. The model family (`flame.families`) is picked once, from
``model.kind`` or the folder, and loads, prepares and saves the model.
"""

from __future__ import annotations

from pathlib import Path

from flame.families import FamilyError, ModelFamily, pick_family
from flame.train.config import ConfigError, ModelConfig


def resolve_base_model(name: str) -> str:
    """A local model folder (or a hub id) for a ``model.base`` value; a clear ``ConfigError`` otherwise."""
    from flame.raters.base import RaterError
    from flame.raters.models import resolve_model

    try:
        return resolve_model(name, bare=True).path
    except RaterError as e:  # names the install command, the missing folder or the valid names
        message = str(e).removeprefix(f"{name!r}: ").removeprefix(f"{name}: ")
        raise ConfigError(f"model.base={name!r}: {message}") from None


def check_model(name: str) -> str:
    """Resolve ``model.base`` and read its config: an unknown model fails here, before data or weights."""
    from transformers import AutoConfig

    path = resolve_base_model(name)
    if (Path(path) / "adapter_config.json").is_file() and not (Path(path) / "config.json").is_file():
        return path
    try:
        AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"model.base={name}: cannot read a model config from {path}: {e}") from None
    return path


def model_family(cfg: ModelConfig, path: str) -> ModelFamily:
    """The family ``model.kind`` names, or (``auto``) the one the folder at ``path`` is."""
    return pick_family(path, cfg.kind)


def load_family_model(cfg: ModelConfig, path: str, family: ModelFamily, *, for_training: bool = True):
    """(model, tokenizer) of ``family`` with dropout set and, for training, lower layers frozen and LoRA
    applied per ``cfg``; a setting the family cannot take is a ``ConfigError``."""
    try:
        return family.load(path, cfg, for_training=for_training)
    except FamilyError as e:
        raise ConfigError(str(e)) from None


def load_model(cfg: ModelConfig, path: str | None = None, *, for_training: bool = True):
    """(model, tokenizer, is_seq2seq): the family picked from ``cfg`` and the folder, then its model."""
    path = path or resolve_base_model(cfg.base)
    family = model_family(cfg, path)
    model, tokenizer = load_family_model(cfg, path, family, for_training=for_training)
    return model, tokenizer, family.name == "seq2seq"


def trainable_parameters(model) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
