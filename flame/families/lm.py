"""The text-to-text LM family (causal and seq2seq): examples → token ids with a loss mask on the EVALUATION
target, micro-batches → tensors, per-token losses, label scoring and saving.

Causal models read ``render_input + "\\n\\n" + render_target`` tokenized *as one string* and learn only the
target tokens (plus EOS). Why one string: the raters score ``render_label_prefix(ex)`` + ``" " + label``
with the prefix tokenized whole, so tokenizing input and target separately would train on token
boundaries the model never sees at rating time (BPE merges "\\n\\n" differently before a letter).
Character offsets say which tokens belong to the target.

Batches are **left**-padded with explicit position ids: every row then ends at the same position, so the
target tokens sit in the last few positions of every row and the output head runs only there
(``logits_to_keep``). On a 49K-token vocabulary that skips ~20% of the forward FLOPs and the
[batch × length × vocab] logits tensor that a full-sequence loss materialises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flame.families import FamilyError, freeze_lower_layers, layer_list, set_dropout
from flame.format import SEPARATOR, render_input, render_target
from flame.scoring import no_progress_bars
from flame.truncation import fit_example, fit_ids
from flame.types import Example

IGNORE = -100


@dataclass
class Encoded:
    """One tokenized example. Causal: ``input_ids`` ends with its ``n_target`` loss tokens.
    Seq2seq: ``input_ids`` is the encoder input, ``decoder_ids`` the target and ``n_target`` its loss tokens
    (the last ones)."""

    task: str
    input_ids: list[int]
    n_target: int
    decoder_ids: list[int] | None = None
    truncated: bool = False
    weight: float = 1.0  # loss weight (data.balance_labels)

    @property
    def n_tokens(self) -> int:
        return len(self.input_ids) + len(self.decoder_ids or ())

    @property
    def rows(self) -> list[list[int]]:
        """The encoder-side rows padded together in a micro-batch (an encoder judge's pair has two)."""
        return [self.input_ids]


def _answer_offset(target: str) -> int:
    """Where the answer value starts in the target text (its leading space included: " A")."""
    i = target.find("answer:")
    return i + len("answer:") if i >= 0 else 0


def _encode_offsets(tokenizer, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    enc = tokenizer(text, return_offsets_mapping=True)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def encode_causal(ex: Example, tokenizer, max_length: int, loss_on: str = "target") -> Encoded:
    """Token ids of input + target (+ EOS) within ``max_length``; the loss covers the target only."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []

    def length_of(e: Example) -> int:
        return len(tokenizer(render_input(e) + SEPARATOR + render_target(e)).input_ids) + len(eos)

    ex, truncated = fit_example(ex, tokenizer, length_of, max_length)
    prompt = render_input(ex) + SEPARATOR
    target = render_target(ex)
    ids, offsets = _encode_offsets(tokenizer, prompt + target)
    start = len(prompt) + (_answer_offset(target) if loss_on == "answer" else 0)
    # A token belongs to the target when it ends after the boundary (one that straddles it counts).
    n_target = sum(1 for s, e in offsets if e > start and e > s) + len(eos)
    ids = ids + eos
    if len(ids) > max_length:  # instructions alone over budget: keep the end, where the target is
        ids = ids[-max_length:]
        truncated = True
    return Encoded(ex.task, ids, min(max(n_target, 1), len(ids) - 1), truncated=truncated)


def encode_seq2seq(ex: Example, tokenizer, max_length: int, loss_on: str = "target") -> Encoded:
    # The encoder input is fitted exactly as the seq2seq rater fits it (flame.scoring).
    ex, enc, truncated = fit_ids(ex, tokenizer, render_input, max_length)
    target = render_target(ex)
    dec, offsets = _encode_offsets(tokenizer, target)  # T5-style tokenizers append EOS themselves
    start = _answer_offset(target) if loss_on == "answer" else 0
    n_target = sum(1 for s, e in offsets if e > start or e == s)
    return Encoded(ex.task, enc, max(1, n_target), decoder_ids=dec, truncated=truncated)


def collate_causal(batch: list[Encoded], pad_id: int):
    """Left-padded tensors; ``labels`` is [rows × K] for the last K positions (K = longest target).

    The logits at kept position j (of K+1 kept) predict the token at kept position j+1, so the model is
    called with ``logits_to_keep=K+1`` and the last logit is dropped.
    """
    import torch

    width = max(len(e.input_ids) for e in batch)
    k = max(e.n_target for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), k), IGNORE, dtype=torch.long)
    for b, e in enumerate(batch):
        n = len(e.input_ids)
        ids[b, width - n :] = torch.tensor(e.input_ids)
        mask[b, width - n :] = 1
        labels[b, k - e.n_target :] = torch.tensor(e.input_ids[n - e.n_target :])
    # Positions count real tokens only, so a left-padded row sees the positions it would see unpadded.
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "labels": labels}


def collate_seq2seq(batch: list[Encoded], pad_id: int):
    import torch

    width = max(len(e.input_ids) for e in batch)
    dwidth = max(len(e.decoder_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    decoder = torch.full((len(batch), dwidth), IGNORE, dtype=torch.long)
    labels = torch.full((len(batch), dwidth), IGNORE, dtype=torch.long)
    for b, e in enumerate(batch):
        ids[b, : len(e.input_ids)] = torch.tensor(e.input_ids)
        mask[b, : len(e.input_ids)] = 1
        d = len(e.decoder_ids)
        decoder[b, :d] = torch.tensor(e.decoder_ids)
        labels[b, d - e.n_target : d] = torch.tensor(e.decoder_ids[d - e.n_target :])
    # The model shifts `labels` right to make decoder inputs; pass the full target so the decoder sees the
    # whole EVALUATION block even where the loss skips it.
    return {"input_ids": ids, "attention_mask": mask, "decoder_labels": decoder, "labels": labels}


def token_losses(model, tensors, is_seq2seq: bool):
    """Per-token cross-entropy [rows × K] (0 where ignored) and the mask of loss tokens."""
    import torch
    import torch.nn.functional as F

    labels = tensors["labels"]
    if is_seq2seq:
        out = model(
            input_ids=tensors["input_ids"],
            attention_mask=tensors["attention_mask"],
            labels=tensors["decoder_labels"],  # shifted right (IGNORE → pad) into decoder inputs
        )
        logits = out.logits
    else:
        k = labels.shape[1]
        out = model(
            input_ids=tensors["input_ids"],
            attention_mask=tensors["attention_mask"],
            position_ids=tensors["position_ids"],
            logits_to_keep=k + 1,
            use_cache=False,
        )
        logits = out.logits[:, :-1]
    mask = labels != IGNORE
    losses = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), labels.clamp(min=0).reshape(-1), reduction="none"
    ).view(labels.shape)
    return torch.where(mask, losses, torch.zeros_like(losses)), mask


# ------------------------------------------------------------------------------------------ the family


def is_adapter_folder(path: str | Path) -> bool:
    """A LoRA adapter saved alone (``train.merge_lora=false``): adapter_config.json and no config.json."""
    path = Path(path)
    return (path / "adapter_config.json").is_file() and not (path / "config.json").is_file()


def is_encoder_decoder(path: str) -> bool:
    """Whether the model config at ``path`` (a folder or a hub id) is an encoder-decoder's. An adapter alone
    is loaded as a causal LM (``AutoPeftModelForCausalLM``)."""
    if is_adapter_folder(path):
        return False
    config = Path(path) / "config.json"
    if config.is_file():
        saved = json.loads(config.read_text())
        if "is_encoder_decoder" in saved:  # written when it differs from the default (False)
            return bool(saved["is_encoder_decoder"])
    from transformers import AutoConfig  # the model class's default, as loading will see it

    return bool(getattr(AutoConfig.from_pretrained(path), "is_encoder_decoder", False))


def _softmax(logits: Sequence[float]) -> list[float]:
    import math

    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    return [e / sum(exps) for e in exps]


@dataclass(frozen=True)
class TextToText:
    """A Hugging Face language model reading the FLAMe text and writing (or scoring) its EVALUATION block:
    a causal LM (``seq2seq=False``) or an encoder-decoder (``seq2seq=True``)."""

    seq2seq: bool
    generates: bool = True
    fits_label_biases: bool = False
    ddp_unused_parameters: bool = False

    @property
    def name(self) -> str:
        return "seq2seq" if self.seq2seq else "causal"

    def claims(self, path: str) -> bool:
        return not self.seq2seq or is_encoder_decoder(path)

    # -- loading and saving
    def load(self, path: str, cfg: Any = None, *, for_training: bool = False) -> tuple[Any, Any]:
        """(model, tokenizer) in fp32. ``cfg`` (a `flame.train.config.ModelConfig`, or None for the model as
        saved) sets dropout; with ``for_training`` also frozen layers, gradient checkpointing and LoRA."""
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        if cfg is not None and getattr(cfg, "instructions", "auto") == "title":
            raise FamilyError(
                "model.instructions: title is an encoder judge's option; a text-to-text model reads the whole "
                "FLAMe format (set it to auto)"
            )
        if cfg is not None and getattr(cfg, "fields", "auto") == "spans":
            raise FamilyError(
                "model.fields: spans is an encoder judge's option; a text-to-text model has no field "
                "features (set it to auto)"
            )
        if is_adapter_folder(path):
            from peft import AutoPeftModelForCausalLM

            # An adapter-only run (train.merge_lora=false): merge it into its base to continue from it.
            model = AutoPeftModelForCausalLM.from_pretrained(path).merge_and_unload()
            if cfg is not None:
                set_dropout(model.config, cfg.dropout)
        else:
            hf_config = AutoConfig.from_pretrained(path)
            if cfg is not None:
                set_dropout(hf_config, cfg.dropout)
            cls = AutoModelForSeq2SeqLM if self.seq2seq else AutoModelForCausalLM
            with no_progress_bars():
                model = cls.from_pretrained(path, config=hf_config, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if for_training and cfg is not None:
            model = self._prepare_for_training(model, cfg)
        return model, tokenizer

    def _prepare_for_training(self, model, cfg: Any):
        if cfg.freeze_layers:
            freeze_lower_layers(model, cfg.freeze_layers)
        if cfg.gradient_checkpointing:
            # Non-reentrant checkpointing works with frozen embeddings (no input that requires grad).
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.config.use_cache = False
        if not cfg.lora.enabled:
            return model
        from peft import LoraConfig, TaskType, get_peft_model

        targets = cfg.lora.target_modules
        lora = LoraConfig(
            r=cfg.lora.r,
            lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.dropout,
            target_modules="all-linear" if targets == ["all-linear"] else targets,
            task_type=TaskType.SEQ_2_SEQ_LM if self.seq2seq else TaskType.CAUSAL_LM,
        )
        frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
        model = get_peft_model(model, lora)
        if frozen:  # LoRA adapters of frozen layers stay frozen too: backward still stops at layer N
            for layer in layer_list(model)[: cfg.freeze_layers]:
                layer.requires_grad_(False)
        return model

    def save(self, model, tokenizer, folder: Path, *, merge_lora: bool = True, row_length: int | None = None):
        """A plain Hugging Face folder. A PEFT model is merged into full weights (``merge_lora``) or saved as an
        adapter whose adapter_config.json names its base folder. ``row_length`` is for encoder judges."""
        if hasattr(model, "peft_config") and merge_lora:
            model = model.merge_and_unload()
        if hasattr(model, "_orig_mod"):  # torch.compile wrapper
            model = model._orig_mod
        with no_progress_bars():
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
    ) -> Encoded:
        # ``instructions`` and ``fields`` are the encoder judges' options (refused at load): a text-to-text
        # model reads the FLAMe format whole.
        return (encode_seq2seq if self.seq2seq else encode_causal)(ex, tokenizer, max_length, loss_on)

    def collate(self, batch: list[Encoded], pad_id: int) -> dict:
        return (collate_seq2seq if self.seq2seq else collate_causal)(batch, pad_id)

    def losses(self, model, tensors: dict):
        return token_losses(model, tensors, self.seq2seq)[0]

    def param_groups(self, model, head_lr_scale: float) -> list[dict[str, Any]]:
        """One group: a language model's output head is its (often tied) embedding, not a separate head."""
        return [{"params": [p for p in model.parameters() if p.requires_grad], "lr_scale": 1.0}]

    # -- scoring
    def label_probs(
        self,
        model,
        tokenizer,
        examples: Sequence[Example],
        *,
        max_length: int,
        batch_size: int = 8,
        autocast: Callable | None = None,
    ) -> list[tuple[dict[str, float], bool]]:
        """Scored by `flame.scoring.LabelScorer`, the rater's scorer: the same rows, truncation and fp32 head,
        so an in-training score equals what `flame eval` gives the saved model."""
        import contextlib

        from flame.scoring import LabelScorer

        # A new scorer per call: its fp32 head copy is of the weights as they are now.
        scorer = LabelScorer(
            model, tokenizer, max_length=max_length, batch_size=batch_size, is_seq2seq=self.seq2seq
        )
        was_training = model.training
        model.eval()
        try:
            with (autocast or contextlib.nullcontext)():
                scored = scorer(list(examples))
        finally:
            model.train(was_training)
        return [
            (dict(zip(ex.labels, _softmax(s.logprobs), strict=True)), s.truncated)
            for ex, s in zip(examples, scored, strict=True)
        ]

    def fit_label_biases(self, model, tokenizer, tasks, **kw) -> list:
        raise FamilyError("label biases are fitted for encoder judges; this is a text-to-text model")


CAUSAL = TextToText(seq2seq=False)
SEQ2SEQ = TextToText(seq2seq=True)
