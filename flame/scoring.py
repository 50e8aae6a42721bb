"""Label probabilities of a causal or seq2seq language model: the one scorer of rating, in-training evaluation
and tail-patch.

A closed label space is scored, not sampled: each label's continuation ``" " + label`` after
`render_label_prefix` gets its summed token log-probability, and a softmax over labels gives the probabilities
(the caller's: `flame.raters.hf` makes judgments of them, `flame.train.score` accuracy and mean gold
probability). Labels whose tokens share a common prefix (SmolLM2 writes " 4" as " " + "4") move that prefix
into the prompt (its log-prob is the same for every label, so it cancels in the softmax); when every label is
then one token, an example costs one prompt row and only the last position's logits. Long inputs are cut by
`flame.truncation.fit_ids`, so a truncated row reads the same on every path.

Prefix reuse (causal models): rows that share a long token prefix (every row of a task shares its INSTRUCTIONS
block; both orders of a swapped pair share everything before the first response) get that prefix's key/value
cache computed once, and only the rest of each row is run, batched and length-sorted, attending to it. It is
exact (the same positions, the same keys and values: fp32 probabilities agree to rounding, measured at most
2.2e-6 of P on SmolLM2-135M), so it is not part of any cache key. Rows that share no long prefix keep the
fused-kernel path. On by default on an accelerator only (`LabelScorer`: on CPU it measured slower). Seq2seq
models keep their one path: the encoder attends both ways, so an encoder prefix cannot be computed once for
different continuations.

Imported by the raters and by training alike (training never imports the evaluation package, and the raters
never import training); torch is imported where it is used.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from flame.format import render_input, render_label_prefix
from flame.truncation import Strategy, cut_middle, fit_ids
from flame.types import Example

# Causal batches are padded to a multiple of this width: fewer distinct shapes for oneDNN (and CUDA
# kernels) to prepare.
PAD_MULTIPLE = 16

# The shortest prefix worth a cache: below it the masked attention of the rest costs more than the tokens saved.
MIN_PREFIX = 32


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


def _padded(n: int) -> int:
    return -(-n // PAD_MULTIPLE) * PAD_MULTIPLE


def _common_prefix(seqs: list[list[int]]) -> list[int]:
    out = []
    for toks in zip(*seqs, strict=False):  # labels differ in length; stop at the shortest
        if all(t == toks[0] for t in toks):
            out.append(toks[0])
        else:
            break
    return out


@dataclass
class PrefixGroup:
    """Rows (indices) whose first ``length`` tokens are the same: that prefix is run once for all of them."""

    length: int
    rows: list[int]


def _lcp(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def plan_prefixes(
    seqs: Sequence[list[int]], limits: Sequence[int], min_prefix: int = MIN_PREFIX
) -> list[PrefixGroup]:
    """Groups of two or more sequences sharing a prefix of at least ``min_prefix`` tokens, chosen to save the
    most tokens; a sequence in no group shares nothing worth a cache. ``limits[i]``: the longest prefix
    sequence ``i`` may give away (its first position read must stay outside, in the part that is run).

    One level: in lexicographic order, sequences sharing a prefix are neighbours, and a group of consecutive
    ones shares the shortest neighbour overlap within it (capped by their limits). A dynamic programme over
    that order picks the partition that skips the most tokens: (size - 1) × prefix per group. So a task's rows
    share its INSTRUCTIONS block, unless splitting them by prompt (longer prefixes, smaller groups) saves more.
    """
    order = sorted(range(len(seqs)), key=lambda i: seqs[i])
    n = len(order)
    overlap = [_lcp(seqs[order[k]], seqs[order[k + 1]]) for k in range(n - 1)]
    best = [0] * (n + 1)  # best[j]: tokens saved over the first j sequences in order
    start = list(range(n + 1))  # start[j]: where the last group of that best partition begins
    for j in range(1, n + 1):
        best[j], start[j] = best[j - 1], j - 1  # sequence j-1 alone
        shared = limits[order[j - 1]]
        for i in range(j - 2, -1, -1):  # group order[i:j]
            shared = min(shared, overlap[i], limits[order[i]])
            if shared < min_prefix:
                break
            if best[i] + (j - 1 - i) * shared > best[j]:
                best[j], start[j] = best[i] + (j - 1 - i) * shared, i
    groups = []
    j = n
    while j > 0:
        i = start[j]
        if j - i >= 2:
            members = order[i:j]
            shared = min(min(limits[m] for m in members), *(overlap[k] for k in range(i, j - 1)))
            groups.append(PrefixGroup(shared, sorted(members)))
        j = i
    return groups[::-1]


def label_ids(tokenizer, labels: Sequence[str]) -> tuple[list[int], list[list[int]]]:
    """(the token prefix every label shares, each label's remaining tokens) of ``" " + label``.

    " " + label: see `render_label_prefix` for why the space belongs to the label. A whole label never moves
    into the prompt (it would leave that label nothing to score)."""
    ids = [tokenizer(" " + lab, add_special_tokens=False, verbose=False).input_ids for lab in labels]
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
    ``strategy``: how a long example is shortened (`flame.truncation`). ``prefix_cache``: run shared
    prefixes once (causal models; exact, see the module docstring); None: on an accelerator only. Why not on
    CPU: the rest of a row attends to its prefix through a mask, so SDPA cannot skip the causal half of
    attention as its fused kernel does, and on the rating benchmark (shared prefixes ≈ 13% of the tokens) that
    cost more than it saved: 7 to 18% slower, measured side by side on a 2-core CPU in fp32 (BENCHMARKS.md).
    The fp32 copy of the output head is made on first use and kept: make a new scorer when the weights change
    (training does, per evaluation).
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
        prefix_cache: bool | None = None,
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
        self.prefix_cache = prefix_cache
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._head = None  # (backbone, fp32 output projection), or () for a model without a plain head

    @property
    def device(self):
        return next(self.model.parameters()).device

    def __call__(
        self, examples: Sequence[Example], rationales: Sequence[str | None] | None = None
    ) -> list[Scored]:
        """One `Scored` per example (each with a closed label space), in order. ``rationales``: per example,
        text the judge wrote before its answer (``--explain before``): the labels are scored after it
        (`render_label_prefix`)."""
        import torch

        if not examples:
            return []
        rationales = list(rationales) if rationales is not None else [None] * len(examples)
        with torch.no_grad():
            if self.is_seq2seq:
                return self._seq2seq(list(examples), rationales)
            return self._causal(list(examples), rationales)

    # ------------------------------------------------------------------------------ causal
    def causal_rows(
        self, examples: list[Example], rationales: Sequence[str | None] | None = None
    ) -> tuple[list[_Row], list[bool]]:
        """The forward rows of ``examples`` (one per example when every label is one token after the shared
        prefix, else one per label) and each example's truncated flag."""
        rows: list[_Row] = []
        truncated = []
        for e, ex in enumerate(examples):
            common, rest = label_ids(self.tokenizer, ex.labels)
            budget = self.max_length - len(common) - max(len(t) for t in rest)
            render = functools.partial(render_label_prefix, rationale=rationales[e] if rationales else None)
            _, prefix, tr = fit_ids(ex, self.tokenizer, render, budget, self.strategy)
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

    def _causal(self, examples: list[Example], rationales: list[str | None]) -> list[Scored]:
        rows, truncated = self.causal_rows(examples, rationales)
        totals = [[0.0] * len(ex.labels) for ex in examples]
        for row, values in self._run_rows(rows):
            for (_, _, k), v in zip(row.reads, values, strict=True):
                totals[row.example][k] += v
        return [Scored(t, tr) for t, tr in zip(totals, truncated, strict=True)]

    def _run_rows(self, rows: list[_Row]):
        """Yield each row's requested log-probs: rows sharing a long prefix through its cache
        (`_run_prefixed`), the others through the plain path (`_run_plain`)."""
        groups = []
        if self._reuses_prefixes():
            groups = plan_prefixes([r.ids for r in rows], [min(p for p, _, _ in r.reads) for r in rows])
        grouped = {i for g in groups for i in g.rows}
        yield from self._run_plain([r for i, r in enumerate(rows) if i not in grouped])
        if groups:
            yield from self._run_prefixed(rows, groups)

    def _reuses_prefixes(self) -> bool:
        # A sliding-window model's cache drops old keys; its prefixes are not reused (no such judge here yet).
        config = getattr(self.model, "config", None)
        wanted = self.device.type != "cpu" if self.prefix_cache is None else self.prefix_cache
        return wanted and not getattr(config, "sliding_window", None)

    def _read(self, batch: list[_Row], offsets: list[int], logits_at):
        """Yield (row, its log-probs) of one batch: ``logits_at(keep)`` gives the logits at the (batch-wide)
        positions ``keep``; row ``b``'s position ``p`` is ``p - offsets[b]`` in the batch (its skipped prefix)."""
        import torch

        device = self.device
        positions = sorted(
            {pos - off for r, off in zip(batch, offsets, strict=True) for pos, _, _ in r.reads}
        )
        index = {p: n for n, p in enumerate(positions)}
        keep = torch.tensor(positions, dtype=torch.long, device=device)
        logprobs = torch.log_softmax(logits_at(keep), dim=-1)
        where = [
            (b, index[pos - off], tok)
            for b, (r, off) in enumerate(zip(batch, offsets, strict=True))
            for pos, tok, _ in r.reads
        ]
        b_idx, p_idx, t_idx = (torch.tensor(c, device=device) for c in zip(*where, strict=True))
        values = logprobs[b_idx, p_idx, t_idx].tolist()  # one device→host copy per batch
        n = 0
        for r in batch:
            yield r, values[n : n + len(r.reads)]
            n += len(r.reads)

    def _run_plain(self, rows: list[_Row]):
        """Forward rows in length-sorted, right-padded batches; yield each row's requested log-probs."""
        import torch

        order = sorted(range(len(rows)), key=lambda i: len(rows[i].ids))
        for start in range(0, len(order), self.batch_size):
            batch = [rows[i] for i in order[start : start + self.batch_size]]
            ids = torch.full((len(batch), _padded(max(len(r.ids) for r in batch))), self.pad_id)
            for b, r in enumerate(batch):
                ids[b, : len(r.ids)] = torch.tensor(r.ids)
            # Right padding needs no attention mask: causal attention never looks right, so every real
            # token sees exactly its unpadded prefix at its unpadded position (position ids 0..n-1, the
            # default), and the pad positions after it (never read) cost only their own compute. Without a
            # mask SDPA takes its fused causal kernel, several times faster on 1k-token rows on CPU than the
            # masked path that left padding needs. Only the positions read go through the vocabulary
            # projection (49k columns for SmolLM2).
            ids = ids.to(self.device)
            yield from self._read(batch, [0] * len(batch), lambda keep, ids=ids: self.label_logits(ids, keep))

    def _run_prefixed(self, rows: list[_Row], groups: list[PrefixGroup]):
        """Each group's prefix once, then the rest of its rows attending to that prefix's keys and values.

        Prefixes run like plain rows (right-padded, no mask: the fused kernel); the keys and values at a
        prefix's real positions are exactly what each of its rows would compute there. The rests of all groups'
        rows are then batched together, length-sorted: each row's prefix cache is left-padded to the longest in
        its batch and masked, and its tokens keep their true positions (prefix length onwards), so rows of
        different tasks, pairs and orders share one batch."""
        import torch
        import torch.nn.functional as F
        from transformers import DynamicCache

        device = self.device
        kv: list[list[tuple] | None] = [None] * len(
            groups
        )  # per group, per layer: (keys, values) of its prefix
        by_length = sorted(range(len(groups)), key=lambda g: groups[g].length)
        for start in range(0, len(by_length), self.batch_size):
            batch = by_length[start : start + self.batch_size]
            ids = torch.full((len(batch), _padded(max(groups[g].length for g in batch))), self.pad_id)
            for b, g in enumerate(batch):
                ids[b, : groups[g].length] = torch.tensor(rows[groups[g].rows[0]].ids[: groups[g].length])
            out = self._trunk(input_ids=ids.to(device), use_cache=True)
            cache = out.cache if hasattr(out, "cache") else out.past_key_values
            layers = [(layer.keys, layer.values) for layer in cache.layers]
            for b, g in enumerate(batch):
                n = groups[g].length
                kv[g] = [(k[b : b + 1, :, :n], v[b : b + 1, :, :n]) for k, v in layers]

        items = [(g, i) for g, group in enumerate(groups) for i in group.rows]
        items.sort(key=lambda item: len(rows[item[1]].ids) - groups[item[0]].length)
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            lengths = [groups[g].length for g, _ in batch]
            past = max(lengths)
            width = _padded(max(len(rows[i].ids) - n for (_, i), n in zip(batch, lengths, strict=True)))
            ids = torch.full((len(batch), width), self.pad_id)
            mask = torch.zeros((len(batch), past + width), dtype=torch.long)
            positions = torch.zeros((len(batch), width), dtype=torch.long)
            for b, ((_, i), n) in enumerate(zip(batch, lengths, strict=True)):
                rest = rows[i].ids[n:]
                ids[b, : len(rest)] = torch.tensor(rest)
                mask[b, past - n : past + len(rest)] = 1
                positions[b] = torch.arange(n, n + width)
            cache = DynamicCache(
                ddp_cache_data=[
                    tuple(
                        torch.cat(
                            [
                                F.pad(kv[g][layer][j], (0, 0, past - n, 0))
                                for (g, _), n in zip(batch, lengths, strict=True)
                            ]
                        )
                        for j in (0, 1)
                    )
                    for layer in range(len(kv[batch[0][0]]))
                ]
            )
            inputs = {
                "input_ids": ids.to(device),
                "attention_mask": mask.to(device),
                "position_ids": positions.to(device),
                self._cache_arg(): cache,
                "use_cache": True,
            }
            yield from self._read(
                [rows[i] for _, i in batch],
                lengths,
                lambda keep, inputs=inputs: self.label_logits(keep=keep, **inputs),
            )

    def _cache_arg(self) -> str:
        """The forward's name for a key/value cache: ``cache`` from transformers 5.2x, ``past_key_values`` before."""
        import inspect

        module = self._head[0] if self._fp32_head() else self.model
        return "cache" if "cache" in inspect.signature(module.forward).parameters else "past_key_values"

    def _fp32_head(self):
        if self._head is None:
            # Once per scorer: 113 MB for SmolLM2's 49k × 576.
            self._head = fp32_output_head(self.model) or ()
        return self._head

    def _trunk(self, **inputs):
        """The model's forward for its key/value cache only: the backbone where there is one (no logits)."""
        if self._fp32_head():
            return self._head[0](**inputs)
        return self.model(**inputs, logits_to_keep=1)

    def label_logits(self, input_ids=None, keep=None, **inputs):
        """fp32 logits at positions ``keep`` of right-padded ``input_ids`` (``inputs``: a prefix cache, its mask
        and positions). The vocabulary projection runs in fp32 on the last hidden state: in bf16 the logits
        themselves are rounded (steps of 1/16 around 10), which ties or flips labels whose logits differ by
        less, and a fine-tuned judge's margins often do (measured: 33 distinct P(A) values over 112 pairs, many
        exact 0.5 ties, before this)."""
        inputs = {"input_ids": input_ids, "use_cache": False, **inputs}
        if not self._fp32_head():
            try:
                return self.model(**inputs, logits_to_keep=keep).logits.float()
            except TypeError:  # models without logits_to_keep
                return self.model(**inputs).logits[:, keep].float()
        backbone, weight = self._head
        hidden = backbone(**inputs).last_hidden_state[:, keep]
        return project_fp32(self.model, hidden, weight)

    # ----------------------------------------------------------------------------- seq2seq
    def _seq2seq(self, examples: list[Example], rationales: list[str | None]) -> list[Scored]:
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
                # A rationale is decoder-side text, like the answer after it.
                prefix = render_label_prefix(ex, rationale=rationales[start + e])
                head_text = prefix[len(render_input(ex)) :].lstrip()
                head = self.tokenizer(head_text, add_special_tokens=False, verbose=False).input_ids
                for k, lab in enumerate(ex.labels):
                    enc_rows.append(enc)
                    dec_rows.append(
                        (head, self.tokenizer(" " + lab, add_special_tokens=False, verbose=False).input_ids)
                    )
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


@contextlib.contextmanager
def no_progress_bars():
    """transformers' per-load and per-save bars ("Loading weights", "Writing model shards"): one per local
    load or save, noise in a rater's or a training run's output (hub downloads outside this keep theirs)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()
