"""Label probabilities of a causal or seq2seq language model: the one scorer of rating, in-training evaluation
and tail-patch.

A closed label space is scored, not sampled: each label's continuation ``" " + label`` after
`render_label_prefix` gets its summed token log-probability, and a softmax over labels gives the probabilities
(the caller's: `flame.raters.hf` makes judgments of them, `flame.train.score` accuracy and mean gold
probability). Labels whose tokens share a common prefix (SmolLM2 writes " 4" as " " + "4") move that prefix
into the prompt (its log-prob is the same for every label, so it cancels in the softmax); when every label is
then one token, an example costs one prompt row and only the last position's logits. Long inputs are cut by
`flame.truncation.fit_ids`, so a truncated row reads the same on every path.

Imported by the raters and by training alike (training never imports the evaluation package, and the raters
never import training); torch is imported where it is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flame.format import render_input, render_label_prefix
from flame.truncation import Strategy, cut_middle, fit_ids
from flame.types import Example

# Causal batches are padded to a multiple of this width: fewer distinct shapes for oneDNN (and CUDA
# kernels) to prepare.
PAD_MULTIPLE = 16


@dataclass
class Scored:
    """One example's summed log P(" " + label | prompt), in ``example.labels`` order, and whether its
    input was truncated to fit."""

    logprobs: list[float]
    truncated: bool


@dataclass
class _Row:
    """One forward-pass row and the (position, token, label index) log-probs to read from it."""

    example: int
    ids: list[int]
    reads: list[tuple[int, int, int]]


def _common_prefix(seqs: list[list[int]]) -> list[int]:
    out = []
    for toks in zip(*seqs, strict=False):  # labels differ in length; stop at the shortest
        if all(t == toks[0] for t in toks):
            out.append(toks[0])
        else:
            break
    return out


def label_ids(tokenizer, labels: Sequence[str]) -> tuple[list[int], list[list[int]]]:
    """(the token prefix every label shares, each label's remaining tokens) of ``" " + label``.

    " " + label: see `render_label_prefix` for why the space belongs to the label. A whole label never moves
    into the prompt (it would leave that label nothing to score)."""
    ids = [tokenizer(" " + lab, add_special_tokens=False).input_ids for lab in labels]
    common = _common_prefix(ids)
    if len(common) == min(len(t) for t in ids):
        common = common[:-1]
    return common, [t[len(common) :] for t in ids]


def fp32_output_head(model):
    """(backbone, an fp32 copy of the output projection), or None where the logits are not a plain linear map
    of the backbone's last hidden state (no separate head, or a head with a bias). A PEFT model is read through
    its base model (its LoRA layers stay in the backbone's forward)."""
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    backbone = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if head is None or backbone is None or getattr(head, "bias", None) is not None:
        return None
    return backbone, head.weight.detach().float()


def project_fp32(model, hidden, head_fp32):
    """Logits of ``hidden`` through the fp32 head, outside autocast (and Gemma 2's soft cap where set)."""
    import torch

    with torch.autocast(hidden.device.type, enabled=False):
        logits = hidden.float() @ head_fp32.T
    cap = getattr(model.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits


class LabelScorer:
    """Scores closed label spaces with ``model`` (in eval mode; the caller sets it and any autocast).

    ``max_length``: the token budget of prompt + label (causal) or of the encoder input (seq2seq).
    ``strategy``: how a long example is shortened (`flame.truncation`). The fp32 copy of the output head is
    made on first use and kept: make a new scorer when the weights change (training does, per evaluation).
    """

    def __init__(
        self,
        model,
        tokenizer,
        *,
        max_length: int = 1024,
        batch_size: int = 8,
        is_seq2seq: bool | None = None,
        strategy: Strategy | str = cut_middle,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = max(1, batch_size)
        config = getattr(getattr(model, "module", model), "config", None)
        self.is_seq2seq = (
            bool(getattr(config, "is_encoder_decoder", False)) if is_seq2seq is None else is_seq2seq
        )
        self.strategy = strategy
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._head = None  # (backbone, fp32 output projection), or () for a model without a plain head

    @property
    def device(self):
        return next(self.model.parameters()).device

    def __call__(self, examples: Sequence[Example]) -> list[Scored]:
        """One `Scored` per example (each with a closed label space), in order."""
        import torch

        if not examples:
            return []
        with torch.no_grad():
            return self._seq2seq(list(examples)) if self.is_seq2seq else self._causal(list(examples))

    # ------------------------------------------------------------------------------ causal
    def causal_rows(self, examples: list[Example]) -> tuple[list[_Row], list[bool]]:
        """The forward rows of ``examples`` (one per example when every label is one token after the shared
        prefix, else one per label) and each example's truncated flag."""
        rows: list[_Row] = []
        truncated = []
        for e, ex in enumerate(examples):
            common, rest = label_ids(self.tokenizer, ex.labels)
            budget = self.max_length - len(common) - max(len(t) for t in rest)
            _, prefix, tr = fit_ids(ex, self.tokenizer, render_label_prefix, budget, self.strategy)
            truncated.append(tr)
            prefix = prefix + common
            last = len(prefix) - 1
            if all(len(t) == 1 for t in rest):
                # One row: every label's log-prob is read at the last prompt position.
                rows.append(_Row(e, prefix, [(last, t[0], k) for k, t in enumerate(rest)]))
            else:
                for k, t in enumerate(rest):
                    rows.append(_Row(e, prefix + t[:-1], [(last + n, tok, k) for n, tok in enumerate(t)]))
        return rows, truncated

    def _causal(self, examples: list[Example]) -> list[Scored]:
        rows, truncated = self.causal_rows(examples)
        totals = [[0.0] * len(ex.labels) for ex in examples]
        for row, values in self._run_rows(rows):
            for (_, _, k), v in zip(row.reads, values, strict=True):
                totals[row.example][k] += v
        return [Scored(t, tr) for t, tr in zip(totals, truncated, strict=True)]

    def _run_rows(self, rows: list[_Row]):
        """Forward rows in length-sorted, right-padded batches; yield each row's requested log-probs."""
        import torch

        order = sorted(range(len(rows)), key=lambda i: len(rows[i].ids))
        device = self.device
        for start in range(0, len(order), self.batch_size):
            batch = [rows[i] for i in order[start : start + self.batch_size]]
            width = -(-max(len(r.ids) for r in batch) // PAD_MULTIPLE) * PAD_MULTIPLE
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            for b, r in enumerate(batch):
                ids[b, : len(r.ids)] = torch.tensor(r.ids)
            # Right padding needs no attention mask: causal attention never looks right, so every real
            # token sees exactly its unpadded prefix at its unpadded position (position ids 0..n-1, the
            # default), and the pad positions after it (never read) cost only their own compute. Without a
            # mask SDPA takes its fused causal kernel, several times faster on 1k-token rows on CPU than the
            # masked path that left padding needs. Only the positions read go through the vocabulary
            # projection (49k columns for SmolLM2).
            positions = sorted({pos for r in batch for pos, _, _ in r.reads})
            index = {p: n for n, p in enumerate(positions)}
            keep = torch.tensor(positions, dtype=torch.long, device=device)
            logprobs = torch.log_softmax(self.label_logits(ids.to(device), keep), dim=-1)
            where = [(b, index[pos], tok) for b, r in enumerate(batch) for pos, tok, _ in r.reads]
            b_idx, p_idx, t_idx = (torch.tensor(c, device=device) for c in zip(*where, strict=True))
            values = logprobs[b_idx, p_idx, t_idx].tolist()  # one device→host copy per batch
            n = 0
            for r in batch:
                yield r, values[n : n + len(r.reads)]
                n += len(r.reads)

    def label_logits(self, ids, keep):
        """fp32 logits at positions ``keep`` of right-padded ``ids``. The vocabulary projection runs in fp32 on
        the last hidden state: in bf16 the logits themselves are rounded (steps of 1/16 around 10), which ties
        or flips labels whose logits differ by less, and a fine-tuned judge's margins often do (measured: 33
        distinct P(A) values over 112 pairs, many exact 0.5 ties, before this)."""
        if self._head is None:
            # Once per scorer: 113 MB for SmolLM2's 49k × 576.
            self._head = fp32_output_head(self.model) or ()
        if not self._head:
            try:
                return self.model(input_ids=ids, logits_to_keep=keep, use_cache=False).logits.float()
            except TypeError:  # models without logits_to_keep
                return self.model(input_ids=ids, use_cache=False).logits[:, keep].float()
        backbone, weight = self._head
        hidden = backbone(input_ids=ids, use_cache=False).last_hidden_state[:, keep]
        return project_fp32(self.model, hidden, weight)

    # ----------------------------------------------------------------------------- seq2seq
    def _seq2seq(self, examples: list[Example]) -> list[Scored]:
        """Encoder input = `render_input` (its budget is ``max_length``: the label is on the decoder side);
        decoder = the rest of `render_label_prefix` ("EVALUATION:\\nanswer:") then ``" " + label``, one row per
        label. Encoder rows are right-padded *with* a mask: the encoder attends both ways."""
        import torch

        out = []
        step = max(1, self.batch_size // 2)
        device = self.device
        for start in range(0, len(examples), step):
            chunk = examples[start : start + step]
            enc_rows, dec_rows, owners, truncs = [], [], [], []
            for e, ex in enumerate(chunk):
                _, enc, tr = fit_ids(ex, self.tokenizer, render_input, self.max_length, self.strategy)
                truncs.append(tr)
                head_text = render_label_prefix(ex)[len(render_input(ex)) :].lstrip()
                head = self.tokenizer(head_text, add_special_tokens=False).input_ids
                for k, lab in enumerate(ex.labels):
                    enc_rows.append(enc)
                    dec_rows.append((head, self.tokenizer(" " + lab, add_special_tokens=False).input_ids))
                    owners.append((e, k))
            width = max(len(r) for r in enc_rows)
            dwidth = max(len(h) + len(t) for h, t in dec_rows)
            ids = torch.full((len(enc_rows), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            labels = torch.full((len(enc_rows), dwidth), -100, dtype=torch.long)
            for b, (r, (h, t)) in enumerate(zip(enc_rows, dec_rows, strict=True)):
                ids[b, : len(r)] = torch.tensor(r)
                mask[b, : len(r)] = 1
                labels[b, : len(h) + len(t)] = torch.tensor(h + t)
            # `labels` makes the decoder inputs (shifted right, -100 read as padding); the loss is not used.
            logits = self.model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                labels=labels.to(device),
                use_cache=False,
            ).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            where = [(b, len(h) + n, tok) for b, (h, t) in enumerate(dec_rows) for n, tok in enumerate(t)]
            b_idx, p_idx, t_idx = (torch.tensor(c, device=device) for c in zip(*where, strict=True))
            values = iter(logprobs[b_idx, p_idx, t_idx].tolist())
            totals = [[0.0] * len(ex.labels) for ex in chunk]
            for (e, k), (_, t) in zip(owners, dec_rows, strict=True):
                for _ in t:
                    totals[e][k] += next(values)
            out += [Scored(t, tr) for t, tr in zip(totals, truncs, strict=True)]
        return out
