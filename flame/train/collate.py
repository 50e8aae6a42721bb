"""Examples → token ids with a loss mask on the EVALUATION target, and micro-batches → tensors.

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

from dataclasses import dataclass

from flame.format import SEPARATOR, render_input, render_target
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


def padding_waste(batches: list[list[Encoded]]) -> tuple[int, int]:
    """(padded slots, total slots) of micro-batches padded to their longest row."""
    pad = total = 0
    for batch in batches:
        rows = [r for e in batch for r in e.rows]
        width = max(len(r) for r in rows)
        total += width * len(rows)
        pad += sum(width - len(r) for r in rows)
        if getattr(batch[0], "decoder_ids", None) is not None:
            dwidth = max(len(e.decoder_ids) for e in batch)
            total += dwidth * len(batch)
            pad += sum(dwidth - len(e.decoder_ids) for e in batch)
    return pad, total


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
