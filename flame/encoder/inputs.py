"""Examples → the encoder judge's token rows, and micro-batches → the tensors `EncoderJudge.forward` reads.

A pairwise example with responses A and B becomes two rows, each the FLAMe text with *one* response (the
field renamed ``response``): the same instructions and context, so the reward head compares like with like,
and neither row knows whether its response was shown first. Every other example is one row: its whole FLAMe
text. Long rows lose the middle of their longest CONTEXT field (`flame.truncation.fit_example`), as in
the causal raters.

Each row also carries its CONTEXT fields tokenized one by one (at most ``FIELD_TOKENS`` each, the middle
cut), for the judge's field-similarity features, and its grounding features (`grounding`): how much of its
claim is found word for word in its source field, read over the whole fields, uncut.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from flame.format import SEPARATOR, render_context, render_input
from flame.truncation import fit_example
from flame.types import Example, TaskType

PAIR_SLOTS = {"A": -2, "B": -3, "tie": -4}  # see EncoderJudge.forward
PAD_SLOT = -1
IGNORE = -100
FIELD_TOKENS = 128
N_GROUNDING = 4  # word, word-pair and name/number coverage, has a source (see `grounding`)
# CONTEXT field names that hold the text a claim must be grounded in (lower case).
SOURCE_FIELDS = frozenset(
    {"document", "article", "evidence", "knowledge", "reference", "reference answers", "source", "passage"}
)


# How much of the FLAMe INSTRUCTIONS block an encoder row carries (saved with the judge, which reads rows
# as it was trained on them). "title": the title alone, which says what is judged ("Is the summary
# factually consistent with the article?"); the description's 60-100 tokens are the same in every row of a
# task, cost a third of a 256-token row, and weigh in a mean-pooled row as much as the text judged.
INSTRUCTIONS = ("full", "title")

# How the judge embeds a row's CONTEXT fields for its field-similarity features (saved with the judge).
# "alone": each field tokenized and encoded by itself (at most FIELD_TOKENS), as the sentence encoder was
# pretrained; "spans": each field's own tokens pooled out of the row's states, so the row is the only
# encoder pass (the fields alone cost about as much encoder time as the rows: EXPERIMENTS.md E16).
FIELD_MODES = ("alone", "spans")


def row_text(ex: Example, instructions: str = "full") -> str:
    """The text of one encoder row: the FLAMe input (`flame.format`), or with the title alone."""
    if instructions == "full":
        return render_input(ex)
    if instructions != "title":
        raise ValueError(f"instructions {instructions!r}: choose one of {INSTRUCTIONS}")
    return f"INSTRUCTIONS:\ntitle: {ex.title.strip()}" + SEPARATOR + render_context(ex)


def is_reward_pair(ex: Example) -> bool:
    """Pairwise with ``response A``/``response B`` fields and labels among A, B, tie: scored per response."""
    return (
        ex.task_type == TaskType.PAIRWISE
        and "response A" in ex.inputs
        and "response B" in ex.inputs
        and ex.labels is not None
        and {"A", "B"} <= set(ex.labels) <= set(PAIR_SLOTS)
    )


def one_response(ex: Example, which: str) -> Example:
    """The example with only response ``which`` ("A" or "B"), in the place response A had, named ``response``."""
    inputs: dict[str, str] = {}
    for key, value in ex.inputs.items():
        if key == "response A":
            inputs["response"] = ex.inputs[f"response {which}"]
        elif key != "response B":
            inputs[key] = value
    return dataclasses.replace(ex, inputs=inputs)


def label_text(label: str) -> str:
    """A label row is the label alone ("Yes", "4"): pooled over its own tokens, "Yes" and "No" start 3x
    further apart than "answer: Yes" and "answer: No", whose shared tokens dominate the mean (E6 → E7)."""
    return label


@dataclass
class EncodedJudgment:
    """One example's rows (1, or 2 for a reward pair), its label space and the human label's index."""

    task: str
    rows: list[list[int]]
    labels: tuple[str, ...]
    label_rows: list[list[int]]  # tokenized label_text of each label (unused for reward pairs)
    target: int
    pair: bool
    truncated: bool = False
    fields: list[list[list[int]]] = dataclasses.field(default_factory=list)  # per row: each field's ids
    spans: list[list[tuple[int, int]]] = dataclasses.field(default_factory=list)  # per row: field token spans
    grounding: list[list[float]] = dataclasses.field(default_factory=list)  # per row: `grounding(...)`
    weight: float = 1.0  # loss weight (data.balance_labels)
    n_target: int = 1  # one judgment: the recipe's loss normaliser counts examples

    @property
    def n_tokens(self) -> int:
        return sum(len(r) for r in self.rows)


@dataclass
class FittedRow:
    """One row's ids within the token budget, whether it was cut, the (possibly cut) example they render,
    and each id's character offsets in ``row_text`` of that example (for `field_spans`)."""

    ids: list[int]
    truncated: bool
    example: Example
    offsets: list[tuple[int, int]]


def _fit(ex: Example, tokenizer, max_length: int, instructions: str, offsets: bool = False) -> FittedRow:
    """``offsets``: also the ids' character offsets (`field_spans`; a fast tokenizer's), from the same call."""

    # Whole texts are tokenized to measure them before they are cut: longer than the model's limit on
    # purpose, so the tokenizer's warning about it (verbose) is noise.
    def tokenized(e: Example, with_offsets: bool = offsets):
        return tokenizer(row_text(e, instructions), return_offsets_mapping=with_offsets, verbose=False)

    def row(enc, truncated: bool, e: Example) -> FittedRow:
        ids = list(enc.input_ids)
        if len(ids) > max_length:  # the instructions alone are over budget: keep the start, the closing token
            ids, truncated = ids[: max_length - 1] + ids[-1:], True
        return FittedRow(ids, truncated, e, list(enc["offset_mapping"]) if offsets else [])

    enc = tokenized(ex)
    if len(enc.input_ids) <= max_length:  # most rows: tokenized once
        return row(enc, False, ex)
    ex, truncated = fit_example(ex, tokenizer, lambda e: len(tokenized(e, False).input_ids), max_length)
    return row(tokenized(ex), truncated, ex)


def field_spans(row: FittedRow, instructions: str) -> list[tuple[int, int]]:
    """[start, end) token positions of each CONTEXT field's value in the row, clipped to its first
    ``len(row.ids) - 1`` tokens (the last is the closing token); a field cut away entirely gets an empty
    span (0, 0) and adds no field pair."""
    ex = row.example
    text = row_text(ex, instructions)
    pos = text.index(render_context(ex))
    out = []
    for key, value in ex.inputs.items():
        line = f"{key}: "
        pos = text.index(line, pos) + len(line)
        first, last = pos, pos + len(str(value).strip())
        pos = last
        tokens = [i for i, (a, b) in enumerate(row.offsets) if b > a and a < last and b > first]
        start, end = (tokens[0], min(tokens[-1] + 1, len(row.ids) - 1)) if tokens else (0, 0)
        out.append((start, end) if start < end else (0, 0))
    return out


def field_ids(value: str, tokenizer, budget: int = FIELD_TOKENS) -> list[int]:
    """One field alone, special tokens included, its middle cut to fit ``budget``: a conversation keeps its
    last turn and an article its lead."""
    ids = tokenizer(value, add_special_tokens=False, verbose=False).input_ids
    room = budget - 2
    if len(ids) > room:
        ids = ids[: room - room // 2] + ids[len(ids) - room // 2 :]
    # BERT-like encoders open with [CLS] and close with [SEP] (RoBERTa: <s> … </s>).
    return [tokenizer.cls_token_id, *ids, tokenizer.sep_token_id]


_WORD = re.compile(r"\w+")
# Words too common to say anything about grounding; everything else counts.
_STOPWORD_TEXT = (
    "a an the of to in on at by for with from as and or but not no is are was were be been being has have had "
    "do does did it its this that these those he she they we you i his her their our your him them us me my "
    "will would can could should may might must shall there here than then so if into over about"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _coverage(claim: list[str], source: set) -> float:
    return sum(w in source for w in claim) / len(claim) if claim else 1.0


def grounding(inputs: dict[str, str]) -> list[float]:
    """How much of a row's claim is found in its source, over the whole fields: the share of the claim's
    content words, of its word pairs, and of its names and numbers (capitalised or digit words) found in the
    source; then 1 (the row has a source). The source is every field named like one (``SOURCE_FIELDS``:
    document, article, evidence, knowledge, reference answers, ...), the claim the last other field (summary,
    claim, response). Zeros for a row without both.

    Why: the judge reads 256-token rows, and a 1,000-token article loses most of its middle there, where the
    support for (or the contradiction of) a summary usually is. Word coverage of the whole article separates
    consistent from inconsistent summaries on dev data (AUC 0.78–0.90 on FRANK and QAGS, EXPERIMENTS.md E8)
    and costs no model time. Only a source counts: coverage of an answer in its question (TruthfulQA, FELM)
    says nothing about the answer, and training on such rows pulled the features' weights to zero (E9).
    """
    sources = [v for k, v in inputs.items() if k.lower() in SOURCE_FIELDS]
    claims = [v for k, v in inputs.items() if k.lower() not in SOURCE_FIELDS]
    if not sources or not claims:
        return [0.0] * N_GROUNDING
    claim = _WORD.findall(claims[-1])
    source = [w.lower() for f in sources for w in _WORD.findall(f)]
    vocabulary = set(source)
    lower = [w.lower() for w in claim]
    names = [w.lower() for w in claim if w[0].isupper() or w[0].isdigit()]
    return [
        _coverage([w for w in lower if w not in _STOPWORDS], vocabulary),
        _coverage(list(pairwise(lower)), set(pairwise(source))),
        _coverage(names, vocabulary),
        1.0,
    ]


def encode(
    ex: Example,
    tokenizer,
    max_length: int,
    loss_on: str | None = None,
    instructions: str = "full",
    fields: str = "alone",
) -> EncodedJudgment:
    """``loss_on`` is accepted for the recipe's uniform call and ignored: a judge's loss is its label.
    ``instructions``: see `INSTRUCTIONS`; ``fields``: see `FIELD_MODES`."""
    if ex.labels is None:
        raise ValueError(
            f"{ex.task}: the encoder judge scores closed label spaces; this task is generative (free text)"
        )
    if fields not in FIELD_MODES:
        raise ValueError(f"fields {fields!r}: choose one of {FIELD_MODES}")
    target = ex.labels.index(ex.answer) if ex.answer is not None else IGNORE
    pair = is_reward_pair(ex)
    rows = [one_response(ex, w) for w in "AB"] if pair else [ex]
    fitted = [_fit(r, tokenizer, max_length, instructions, offsets=fields == "spans") for r in rows]
    if fields == "spans":
        field_lists: list[list[list[int]]] = [[] for _ in rows]
        spans = [field_spans(f, instructions) for f in fitted]
    else:
        field_lists = [[field_ids(v, tokenizer) for v in r.inputs.values()] for r in rows]
        spans = []
    label_rows = (
        [] if pair else [list(tokenizer(label_text(lab), verbose=False).input_ids) for lab in ex.labels]
    )
    return EncodedJudgment(
        ex.task,
        [f.ids for f in fitted],
        ex.labels,
        label_rows,
        target,
        pair=pair,
        truncated=any(f.truncated for f in fitted),
        fields=field_lists,
        spans=spans,
        grounding=[grounding(r.inputs) for r in rows],
    )


def _pad(rows: list[list[int]], pad_id: int):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


def collate(batch: list[EncodedJudgment], pad_id: int) -> dict:
    """Right-padded rows, the distinct labels' rows, and per example: its rows and its labels' slots."""
    import torch

    rows: list[list[int]] = []
    row_a: list[int] = []
    row_b: list[int] = []
    table: dict[tuple[int, ...], int] = {}
    slots: list[list[int]] = []
    for e in batch:
        row_a.append(len(rows))
        rows.append(e.rows[0])
        if e.pair:
            row_b.append(len(rows))
            rows.append(e.rows[1])
            slots.append([PAIR_SLOTS[lab] for lab in e.labels])
        else:
            row_b.append(-1)
            slots.append([table.setdefault(tuple(r), len(table)) for r in e.label_rows])
    # Each distinct field once (a pair's shared prompt is embedded once), and every pair of fields per row.
    # With spans, each field is a (row, start, end) of the row's own states, used where it is not empty.
    field_table: dict[tuple[int, ...], int] = {}
    span_table: list[tuple[int, int, int]] = []
    pair_i: list[int] = []
    pair_j: list[int] = []
    pair_row: list[int] = []
    row = 0
    for e in batch:
        for k, fields in enumerate(e.fields or [[] for _ in e.rows]):
            if e.spans:
                index = []
                for start, end in e.spans[k]:
                    if end > start:
                        index.append(len(span_table))
                        span_table.append((row, start, end))
            else:
                index = [field_table.setdefault(tuple(f), len(field_table)) for f in fields]
            for a in range(len(index)):
                for b in range(a + 1, len(index)):
                    pair_i.append(index[a])
                    pair_j.append(index[b])
                    pair_row.append(row)
            row += 1
    width = max(len(s) for s in slots)
    slot = torch.tensor([s + [PAD_SLOT] * (width - len(s)) for s in slots], dtype=torch.long)
    input_ids, attention_mask = _pad(rows, pad_id)
    if table:
        label_ids, label_mask = _pad([list(r) for r in table], pad_id)
        # Pool a label row over the label's own tokens, not its [CLS] and [SEP] (the first and last).
        label_pool = label_mask.clone()
        label_pool[:, 0] = 0
        label_pool[torch.arange(len(table)), label_mask.sum(1) - 1] = 0
    else:
        label_ids = label_mask = label_pool = torch.zeros((0, 1), dtype=torch.long)
    if pair_row and field_table:
        field_ids_, field_mask = _pad([list(f) for f in field_table], pad_id)
    else:
        field_ids_ = field_mask = torch.zeros((0, 1), dtype=torch.long)
    spans = torch.tensor(span_table, dtype=torch.long).reshape(-1, 3)
    return {
        "span_row": spans[:, 0],
        "span_start": spans[:, 1],
        "span_end": spans[:, 2],
        "grounding": torch.tensor([g for e in batch for g in e.grounding], dtype=torch.float32),
        "field_ids": field_ids_,
        "field_mask": field_mask,
        "pair_i": torch.tensor(pair_i, dtype=torch.long),
        "pair_j": torch.tensor(pair_j, dtype=torch.long),
        "pair_row": torch.tensor(pair_row, dtype=torch.long),
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "label_ids": label_ids,
        "label_mask": label_mask,
        "label_pool": label_pool,
        "row_a": torch.tensor(row_a, dtype=torch.long),
        "row_b": torch.tensor(row_b, dtype=torch.long),
        "slot": slot,
        "target": torch.tensor([e.target for e in batch], dtype=torch.long),
    }


def label_probs(
    model,
    tokenizer,
    examples: list[Example],
    *,
    max_length: int,
    batch_size: int = 16,
    autocast: Callable | None = None,
) -> list[tuple[dict[str, float], bool]]:
    """(label → probability, truncated) for each example, in order; batches are formed by length. The
    judge's fitted label biases (`flame.encoder.calibration`) are applied where a row's kind has one."""
    from flame.encoder.calibration import apply_bias, row_kind

    # Rows as the judge was trained on them.
    instructions, fields = getattr(model, "instructions", "full"), getattr(model, "fields", "alone")
    encoded = [encode(ex, tokenizer, max_length, instructions=instructions, fields=fields) for ex in examples]
    probs = encoded_probs(
        model, encoded, pad_id=tokenizer.pad_token_id or 0, batch_size=batch_size, autocast=autocast
    )
    calibration = bool(getattr(model, "calibration", None))
    out = []
    for ex, e, p in zip(examples, encoded, probs, strict=True):
        raw = dict(zip(e.labels, p, strict=True))
        if calibration and not e.pair:
            raw = apply_bias(raw, model.bias_for(row_kind(ex, e.grounding[0])))
        out.append((raw, e.truncated))
    return out


def encoded_probs(
    model, encoded: list, *, pad_id: int, batch_size: int = 16, autocast: Callable | None = None
) -> list[list[float]]:
    """The label probabilities of each already encoded example (over its ``labels``, in order), in batches
    formed by length, with no label biases; the model's train/eval mode is restored after."""
    import contextlib

    import torch

    order = sorted(range(len(encoded)), key=lambda i: encoded[i].n_tokens)
    out: list[list[float] | None] = [None] * len(encoded)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast() if autocast else contextlib.nullcontext():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                tensors = {k: v.to(device) for k, v in collate([encoded[i] for i in idx], pad_id).items()}
                probs = torch.softmax(model(**tensors).float(), dim=-1).cpu()
                for row, i in enumerate(idx):
                    out[i] = [float(probs[row, k]) for k in range(len(encoded[i].labels))]
    finally:
        model.train(was_training)
    return out  # type: ignore[return-value]
