"""Label scoring of the model being trained: periodic evaluation and the tail-patch target metric.

The same rule as the raters (``flame.raters.hf``): each label is scored as ``" " + label`` after
``render_label_prefix(ex)``, summed token log-probs, softmax over the closed label space. Kept here, on an
in-memory model, so that training never imports the evaluation package.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

from flame.format import render_label_prefix
from flame.train.collate import fit_example
from flame.types import Example


@dataclass
class _Row:
    example: int
    ids: list[int]
    reads: list[tuple[int, int, int]]  # (positions before the end, token, label index)


def _common_prefix(seqs: list[list[int]]) -> list[int]:
    out = []
    for toks in zip(*seqs, strict=False):  # labels differ in length; stop at the shortest
        if all(t == toks[0] for t in toks):
            out.append(toks[0])
        else:
            break
    return out


def _fp32_logits(model, head, ids, mask, positions, keep: int):
    """The last ``keep`` positions' logits, the vocabulary projection in fp32 through ``head``
    (`flame.raters.hf.fp32_output_head`, as the raters do): under bf16 autocast the logits themselves are
    rounded in steps of 1/16 around 10, which tied a fine-tuned judge's labels and quantised tail-patch deltas."""
    if head is None:
        return model(
            input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep, use_cache=False
        ).logits.float()
    from flame.raters.hf import project_fp32

    backbone, weight = head
    hidden = backbone(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False)
    return project_fp32(model, hidden.last_hidden_state[:, -keep:], weight)


def is_encoder_judge(model) -> bool:
    from flame.encoder.model import EncoderJudge

    return isinstance(getattr(model, "module", model), EncoderJudge)


def label_probs(
    model,
    tokenizer,
    examples: list[Example],
    *,
    max_length: int = 512,
    batch_size: int = 8,
    is_seq2seq: bool = False,
    autocast=None,
) -> list[dict[str, float]]:
    """{label: probability} for every example with a closed label space."""
    import contextlib

    import torch

    from flame.raters.hf import fp32_output_head

    if is_encoder_judge(model):
        from flame.encoder.inputs import label_probs as judge_probs

        scored = judge_probs(
            getattr(model, "module", model),
            tokenizer,
            examples,
            max_length=max_length,
            batch_size=batch_size,
            autocast=autocast,
        )
        return [probs for probs, _ in scored]
    if is_seq2seq:
        raise NotImplementedError("label scoring of seq2seq models during training (score with a rater)")
    autocast = autocast or contextlib.nullcontext
    device = next(model.parameters()).device
    rows: list[_Row] = []
    for e, ex in enumerate(examples):
        label_ids = [tokenizer(" " + lab, add_special_tokens=False).input_ids for lab in ex.labels]
        common = _common_prefix(label_ids)
        if len(common) == min(len(t) for t in label_ids):
            common = common[:-1]  # never move a whole label into the prompt
        rest = [t[len(common) :] for t in label_ids]
        budget = max_length - len(common) - max(len(t) for t in rest)
        ex, _ = fit_example(ex, tokenizer, lambda x: len(tokenizer(render_label_prefix(x)).input_ids), budget)
        prefix = tokenizer(render_label_prefix(ex)).input_ids[-budget:] + common
        if all(len(t) == 1 for t in rest):
            rows.append(_Row(e, prefix, [(0, t[0], k) for k, t in enumerate(rest)]))
        else:
            for k, t in enumerate(rest):
                ids = prefix + t[:-1]
                rows.append(_Row(e, ids, [(len(t) - 1 - n, tok, k) for n, tok in enumerate(t)]))
    totals = [[0.0] * len(ex.labels) for ex in examples]
    head = fp32_output_head(model)  # converted once per call, not per batch
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    order = sorted(range(len(rows)), key=lambda i: len(rows[i].ids))
    was_training = model.training
    model.eval()
    with torch.no_grad(), autocast():
        for start in range(0, len(order), batch_size):
            batch = [rows[i] for i in order[start : start + batch_size]]
            width = max(len(r.ids) for r in batch)
            keep = 1 + max(back for r in batch for back, _, _ in r.reads)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for b, r in enumerate(batch):
                ids[b, width - len(r.ids) :] = torch.tensor(r.ids)
                mask[b, width - len(r.ids) :] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = _fp32_logits(model, head, ids.to(device), mask.to(device), positions.to(device), keep)
            logprobs = torch.log_softmax(logits, dim=-1)
            for b, r in enumerate(batch):
                for back, tok, k in r.reads:
                    totals[r.example][k] += logprobs[b, keep - 1 - back, tok].item()
    model.train(was_training)
    out = []
    for ex, logits_ in zip(examples, totals, strict=True):
        top = max(logits_)
        exp = [math.exp(v - top) for v in logits_]
        s = sum(exp)
        out.append({lab: v / s for lab, v in zip(ex.labels, exp, strict=True)})
    return out


def score_sets(model, tokenizer, sets: dict[str, list[Example]], **kw) -> dict[str, dict[str, float]]:
    """{set name: {"accuracy", "prob", "n"}}: argmax accuracy and the mean probability of the human label."""
    out = {}
    for name, examples in sets.items():
        examples = [e for e in examples if e.labels is not None and e.answer is not None]
        if not examples:
            continue
        probs = label_probs(model, tokenizer, examples, **kw)
        correct = [max(p, key=p.get) == e.answer for p, e in zip(probs, examples, strict=True)]
        gold = [p[e.answer] for p, e in zip(probs, examples, strict=True)]
        out[name] = {
            "accuracy": sum(correct) / len(correct),
            "prob": sum(gold) / len(gold),
            "n": len(examples),
        }
    return out


def sample_spread(pools: dict[str, list[Example]], n: int, seed: int = 0) -> list[Example]:
    """``n`` examples spread evenly over several tasks (round-robin over seeded shuffles)."""
    rng = random.Random(seed)
    shuffled = {t: rng.sample(v, len(v)) for t, v in sorted(pools.items())}
    out: list[Example] = []
    cursor: dict[str, int] = defaultdict(int)
    while len(out) < n and any(cursor[t] < len(v) for t, v in shuffled.items()):
        for t, v in shuffled.items():
            if cursor[t] < len(v) and len(out) < n:
                out.append(v[cursor[t]])
                cursor[t] += 1
    return out
