"""The encoder judge family: a bidirectional encoder with scoring heads (`flame.encoder`).

It reads the same FLAMe text and scores every label of a closed label space; it writes no text. Its items,
batches and losses come from `flame.encoder.inputs` and `flame.encoder.model`; this module is the
`flame.families.ModelFamily` face of them, the only place that asks whether a folder or a model is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flame.families import FamilyError, freeze_lower_layers, set_dropout
from flame.types import Example


@dataclass(frozen=True)
class EncoderJudgeFamily:
    name: str = "encoder"
    generates: bool = False
    fits_label_biases: bool = True
    # A batch without ties or without label rows leaves those heads out of the loss.
    ddp_unused_parameters: bool = True

    def claims(self, path: str) -> bool:
        """A saved encoder judge (heads included), or a BERT-like encoder folder to put fresh heads on."""
        from flame.encoder.model import is_encoder_folder, is_plain_encoder

        return is_encoder_folder(path) or is_plain_encoder(path)

    def is_saved_judge(self, path: str | Path) -> bool:
        """A saved judge (heads and fitted label biases), not a plain encoder to train from."""
        from flame.encoder.model import is_encoder_folder

        return is_encoder_folder(path)

    def owns(self, model) -> bool:
        """Whether a loaded model is an encoder judge (a DDP wrapper is looked through)."""
        from flame.encoder.model import EncoderJudge

        return isinstance(getattr(model, "module", model), EncoderJudge)

    # -- loading and saving
    def load(self, path: str, cfg: Any = None, *, for_training: bool = False) -> tuple[Any, Any]:
        """(judge, tokenizer): a saved judge, or fresh heads on a plain encoder folder. ``cfg`` (a
        `flame.train.config.ModelConfig`) sets dropout and, with ``for_training``, the frozen layers."""
        from transformers import AutoConfig, AutoTokenizer

        from flame.encoder.model import load_encoder_judge

        if cfg is not None and cfg.lora.enabled:
            raise FamilyError(
                "model.lora: an encoder judge is small enough to train fully; set lora.enabled: false"
            )
        config = AutoConfig.from_pretrained(path)
        if cfg is not None:
            set_dropout(config, cfg.dropout)
        model = load_encoder_judge(path, config=config)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if for_training and cfg is not None and cfg.freeze_layers:
            freeze_lower_layers(model, cfg.freeze_layers)
        if for_training and cfg is not None and cfg.instructions != "auto":
            model.instructions = cfg.instructions
        if for_training and cfg is not None and cfg.fields != "auto":
            model.fields = cfg.fields
        return model, tokenizer

    def save(self, model, tokenizer, folder: Path, *, merge_lora: bool = True, row_length: int | None = None):
        """The encoder's HF folder plus the heads and the marker; ``row_length``: the tokens per row it was
        trained at (its raters read no longer rows)."""
        if row_length is not None:
            model.row_length = row_length
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    # -- training
    def encode(
        self,
        ex: Example,
        tokenizer,
        max_length: int,
        loss_on: str = "target",
        instructions: str = "full",
        fields: str = "alone",
    ):
        from flame.encoder.inputs import encode

        return encode(ex, tokenizer, max_length, loss_on, instructions, fields)

    def collate(self, batch: list, pad_id: int) -> dict:
        from flame.encoder.inputs import collate

        return collate(batch, pad_id)

    def losses(self, model, tensors: dict):
        from flame.encoder.model import judge_losses

        return judge_losses(model, tensors)

    def param_groups(self, model, head_lr_scale: float) -> list[dict[str, Any]]:
        """The encoder, and the heads at ``head_lr_scale`` times the learning rate (fresh heads learn faster)."""
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if head_lr_scale == 1.0:
            return [{"params": [p for _, p in named], "lr_scale": 1.0}]
        return [
            {"params": [p for n, p in named if n.startswith("backbone.")], "lr_scale": 1.0},
            {"params": [p for n, p in named if not n.startswith("backbone.")], "lr_scale": head_lr_scale},
        ]

    # -- scoring
    def label_probs(
        self,
        model,
        tokenizer,
        examples: Sequence[Example],
        *,
        max_length: int,
        batch_size: int = 16,
        autocast: Callable | None = None,
    ) -> list[tuple[dict[str, float], bool]]:
        """Scored by the judge's own heads, its fitted label biases applied (`flame.encoder.inputs`)."""
        from flame.encoder.inputs import label_probs

        return label_probs(
            getattr(model, "module", model),
            tokenizer,
            list(examples),
            max_length=max_length,
            batch_size=batch_size,
            autocast=autocast,
        )

    def fit_label_biases(self, model, tokenizer, tasks, **kw):
        """Fit the judge's label biases on dev rows of ``tasks`` (`flame.encoder.calibration.calibrate`)."""
        from flame.encoder.calibration import calibrate

        return calibrate(model, tokenizer, tasks, **kw)


ENCODER = EncoderJudgeFamily()
