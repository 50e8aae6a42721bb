"""Model families: the text-to-text LM and the encoder judge, each behind one interface.

A family is picked once, by name (``model.kind``) or from the model folder, and then used through
`ModelFamily` alone: the recipe encodes, collates, takes losses, scores labels and saves through it, and the
raters pick their rater class by what it can do (``generates``). Nothing else asks which family a model is.

    causal    a Hugging Face causal LM (SmolLM2, Llama, ...): loss on the EVALUATION target (`flame.families.lm`)
    seq2seq   an encoder-decoder LM (T5, BART): the same text, the target on the decoder side
    encoder   a bidirectional encoder with scoring heads, the encoder judge (`flame.encoder`)

``model.kind: auto`` reads the folder: a saved encoder judge or a BERT-like encoder folder is ``encoder``, a
config with ``is_encoder_decoder`` is ``seq2seq``, anything else ``causal``. This module imports no torch;
each family imports its own heavy dependencies where used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from flame.registry import Registry
from flame.types import Example

__all__ = [
    "DROPOUT_FIELDS",
    "FAMILIES",
    "FamilyError",
    "ModelFamily",
    "family_of",
    "freeze_lower_layers",
    "pick_family",
    "set_dropout",
]


class FamilyError(ValueError):
    """A model setting this family or model cannot take (LoRA on an encoder judge, more frozen layers than
    the model has); the recipe reports it as a config error."""


@runtime_checkable
class ModelFamily(Protocol):
    """What the recipe and the raters need of a model family.

    ``encode`` turns an Example into one training item (``.task``, ``.n_tokens``, ``.n_target``, ``.rows``,
    ``.weight``); ``collate`` pads a micro-batch of them into tensors; ``losses`` gives [examples, tokens]
    losses whose sum over the last axis is each example's loss; ``label_probs`` gives, per example with a
    closed label space, ({label: probability}, truncated).
    """

    name: str  # "causal", "seq2seq" or "encoder": the values of model.kind
    generates: bool  # writes text (generative tasks, explanations); False: scores closed label spaces only
    fits_label_biases: bool  # eval.calibrate applies (flame.encoder.calibration)
    ddp_unused_parameters: bool  # a batch may leave some parameters out of the loss (DDP must allow it)

    def claims(self, path: str) -> bool: ...

    def load(self, path: str, cfg: Any = None, *, for_training: bool = False) -> tuple[Any, Any]: ...

    def encode(
        self,
        ex: Example,
        tokenizer,
        max_length: int,
        loss_on: str = "target",
        instructions: str = "full",
        fields: str = "alone",
    ) -> Any: ...

    def collate(self, batch: list, pad_id: int) -> dict: ...

    def losses(self, model, tensors: dict) -> Any: ...

    def label_probs(
        self,
        model,
        tokenizer,
        examples: Sequence[Example],
        *,
        max_length: int,
        batch_size: int = 8,
        autocast: Callable | None = None,
    ) -> list[tuple[dict[str, float], bool]]: ...

    def param_groups(self, model, head_lr_scale: float) -> list[dict[str, Any]]: ...

    def save(
        self, model, tokenizer, folder: Path, *, merge_lora: bool = True, row_length: int | None = None
    ): ...

    def fit_label_biases(self, model, tokenizer, tasks: Sequence[str] | None, **kw) -> list: ...


FAMILIES: Registry[ModelFamily] = Registry("model family")


def pick_family(path: str | Path, kind: str = "auto") -> ModelFamily:
    """The family of the model at ``path`` (a folder or a hub id): ``kind`` names it, or ``auto`` asks each
    family in turn (the encoder judge first: it claims only encoder folders; the causal LM claims the rest)."""
    if kind != "auto":
        return FAMILIES.get(kind)
    order = (FAMILIES.get("encoder"), FAMILIES.get("seq2seq"), FAMILIES.get("causal"))
    return next(f for f in order if f.claims(str(path)))


def family_of(model) -> ModelFamily:
    """The family of a loaded model (a DDP, compile or PEFT wrapper is looked through)."""
    from flame.families.judge import ENCODER
    from flame.families.lm import CAUSAL, SEQ2SEQ

    if ENCODER.owns(model):
        return ENCODER
    config = getattr(getattr(model, "module", model), "config", None)
    return SEQ2SEQ if getattr(config, "is_encoder_decoder", False) else CAUSAL


# ------------------------------------------------------------------------------------------ shared helpers

# Every dropout knob a Hugging Face config may carry; the paper trains with dropout 0.05 everywhere.
DROPOUT_FIELDS = (
    "dropout",
    "attention_dropout",
    "hidden_dropout",
    "activation_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "dropout_rate",
)


def set_dropout(hf_config, p: float) -> None:
    """Set every float dropout field ``hf_config`` has to ``p``."""
    for name in DROPOUT_FIELDS:
        if isinstance(getattr(hf_config, name, None), float):
            setattr(hf_config, name, p)


def layer_list(model):
    """The transformer blocks: the longest ``nn.ModuleList`` in the model (decoder layers for causal LMs)."""
    import torch

    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    if not lists:
        raise FamilyError("model.freeze_layers: this model has no list of layers to freeze")
    return max(lists, key=len)


def freeze_lower_layers(model, n: int) -> None:
    """Freeze the input embeddings and the lowest ``n`` blocks.

    Why this is the CPU speed knob: backward costs twice the forward, and autograd stops at the lowest
    parameter that needs a gradient, so freezing the lower half removes about a third of a step. With
    tied embeddings (SmolLM2) the output head is the same tensor and stays frozen as well.
    """
    layers = layer_list(model)
    if n > len(layers):
        raise FamilyError(f"model.freeze_layers={n}, but the model has {len(layers)} layers")
    model.get_input_embeddings().requires_grad_(False)
    for layer in layers[:n]:
        layer.requires_grad_(False)


def _register() -> None:
    # At the end: the family modules import the helpers above.
    from flame.families.judge import ENCODER
    from flame.families.lm import CAUSAL, SEQ2SEQ

    for family in (CAUSAL, SEQ2SEQ, ENCODER):
        FAMILIES.add(family.name, family)


_register()
