"""Local Hugging Face models as raters: the packaged SmolLM2, any HF folder or hub id, `flame train` runs.

Closed label spaces are scored, not sampled: each label's continuation ``" " + label`` after
`render_label_prefix` gets its summed token log-probability, and a softmax over labels gives the
probabilities. Labels whose tokens share a common prefix (SmolLM2 writes " 4" as " " + "4") move that
prefix into the prompt (its log-prob is the same for every label, so it cancels in the softmax); when
every label is then one token, an example costs one prompt row and only the last position's logits.
Generation (greedy, bounded) is used for generative tasks and for ``--explain``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flame.format import render_input, render_label_prefix, render_prompt
from flame.raters.base import BaseRater, RaterError, judgment_from_probs, judgment_from_text, softmax
from flame.types import Example, Judgment

TRUNCATION_MARKER = " … "


def bf16_supported() -> bool:
    """True where bf16 matmuls are native (AVX512-BF16 / AMX on CPU, any recent GPU)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _common_prefix(seqs: list[list[int]]) -> list[int]:
    out = []
    for toks in zip(*seqs, strict=False):
        if all(t == toks[0] for t in toks):
            out.append(toks[0])
        else:
            break
    return out


@dataclasses.dataclass
class _Row:
    """One forward-pass row and the (position, token, label index) log-probs to read from it."""

    example: int
    ids: list[int]
    reads: list[tuple[int, int, int]]


def fp32_output_head(model):
    """(backbone, an fp32 copy of the output projection), or None where the logits are not a plain linear map
    of the backbone's last hidden state (no separate head, or a head with a bias)."""
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


class HFRater(BaseRater):
    """A causal or seq2seq HF model (loaded with ``from_pretrained``) scoring FLAMe prompts.

    ``max_length``: the token budget of prompt + label; longer inputs lose the middle of their longest
    CONTEXT field and are flagged ``truncated``. ``dtype``: ``auto`` (bf16 where the hardware
    supports it, else fp32), ``bf16`` (bf16 weights), ``autocast`` (fp32 weights, bf16 autocast) or ``fp32``. ``threads``: torch intra-op threads.
    """

    def __init__(
        self,
        spec: str,
        model_path: str | Path,
        *,
        weights_id: str = "",
        max_length: int = 1024,
        batch_size: int = 8,
        dtype: str = "auto",
        threads: int | None = None,
        max_new_tokens: int = 64,
        local_files_only: bool = True,
        **options: Any,
    ):
        super().__init__(**options)
        self.spec = spec
        self.model_path = str(model_path)
        self._weights_id = weights_id
        self.max_length = max_length
        self._head_fp32 = None  # (backbone, fp32 output projection), made on first use (_label_logits)
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        if threads:
            import torch

            torch.set_num_threads(threads)
        self._load(local_files_only)
        if dtype == "auto":
            dtype = "bf16" if bf16_supported() else "fp32"
        if dtype not in ("bf16", "autocast", "fp32"):
            raise ValueError(f"dtype must be auto, bf16, autocast or fp32, not {dtype!r}")
        self.dtype = dtype
        if dtype == "bf16":
            # bf16 weights rather than fp32 weights under autocast: the same bf16 matmuls without
            # re-casting every weight on every forward (about 15% faster here on 8 × 512-token rows).
            import torch

            self.model.to(torch.bfloat16)

    # ------------------------------------------------------------------------------ loading
    def _load(self, local_files_only: bool) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        path = self.model_path
        kw = {"local_files_only": local_files_only}
        try:
            if (
                Path(path).is_dir()
                and (Path(path) / "adapter_config.json").is_file()
                and not (Path(path) / "config.json").is_file()
            ):
                self.model = self._load_adapter(path)
                self.tokenizer = AutoTokenizer.from_pretrained(path, **kw)
            else:
                config = AutoConfig.from_pretrained(path, **kw)
                self.is_seq2seq = bool(getattr(config, "is_encoder_decoder", False))
                cls = AutoModelForSeq2SeqLM if self.is_seq2seq else AutoModelForCausalLM
                self.tokenizer = AutoTokenizer.from_pretrained(path, **kw)
                self.model = cls.from_pretrained(path, dtype=torch.float32, **kw)
        except OSError as e:
            raise RaterError(f"{self.spec}: cannot load a model from {path}: {e}") from e
        self.is_seq2seq = bool(getattr(self.model.config, "is_encoder_decoder", False))
        self.model.eval()
        self.device = self._device()
        self.model.to(self.device)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    @staticmethod
    def _load_adapter(path: str):
        from peft import AutoPeftModelForCausalLM

        return AutoPeftModelForCausalLM.from_pretrained(path).merge_and_unload()

    @staticmethod
    def _device():
        import torch

        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local % torch.cuda.device_count())
        return torch.device("cpu")

    def weights_id(self) -> str:
        return self._weights_id

    def scoring_options(self) -> dict[str, Any]:
        # dtype is part of the key: bf16 and fp32 agree on predictions but not on the last digits.
        return {
            **super().scoring_options(),
            "max_length": self.max_length,
            "dtype": self.dtype,
            "head": "fp32",  # label logits projected in fp32 (see _label_logits)
            "max_new_tokens": self.max_new_tokens if self.explain else None,
        }

    # ------------------------------------------------------------------------------- helpers
    def _encode(self, text: str, special: bool = True) -> list[int]:
        return self.tokenizer(text, add_special_tokens=special).input_ids

    def _autocast(self):
        import contextlib

        import torch

        if self.dtype == "autocast":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def fit(self, ex: Example, render, budget: int) -> tuple[Example, list[int], bool]:
        """Tokenize ``render(ex)`` within ``budget`` tokens.

        Why the middle of the longest CONTEXT field: the instruction says what to judge and the end of the
        prompt holds the answer slot, so both must survive; a long article or response keeps its opening
        and its ending, which is where most of the evidence (and the conclusion) sits.
        """
        ids = self._encode(render(ex))
        if len(ids) <= budget:
            return ex, ids, False
        marker = len(self._encode(TRUNCATION_MARKER, special=False))
        for _ in range(2 * max(1, len(ex.inputs))):
            excess = len(ids) - budget
            if excess <= 0 or not ex.inputs:
                break
            key = max(ex.inputs, key=lambda k: len(ex.inputs[k]))
            value_ids = self._encode(ex.inputs[key], special=False)
            keep = max(0, len(value_ids) - excess - marker - 2)
            head, tail = keep - keep // 2, keep // 2
            text = self.tokenizer.decode(value_ids[:head]) + TRUNCATION_MARKER
            if tail:
                text += self.tokenizer.decode(value_ids[len(value_ids) - tail :])
            if len(text) >= len(ex.inputs[key]):  # nothing left to trim in this field
                text = TRUNCATION_MARKER.strip()
            ex = dataclasses.replace(ex, inputs={**ex.inputs, key: text})
            ids = self._encode(render(ex))
            if len(ids) <= budget:
                return ex, ids, True
        # The instruction alone is over budget: keep the end, where the answer slot is.
        return ex, ids[-budget:], True

    # ------------------------------------------------------------------------------ judging
    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        import torch

        out: list[Judgment | None] = [None] * len(examples)
        scored = [i for i, ex in enumerate(examples) if ex.labels is not None]
        generative = [i for i, ex in enumerate(examples) if ex.labels is None]
        with torch.inference_mode(), self._autocast():
            if scored:
                scorer = self._score_seq2seq if self.is_seq2seq else self._score_causal
                for i, j in zip(scored, scorer([examples[i] for i in scored]), strict=False):
                    out[i] = j
            if self.explain and scored:
                self._add_explanations([examples[i] for i in scored], [out[i] for i in scored])
            if generative:
                texts, truncs = self._generate([examples[i] for i in generative], render_prompt)
                for i, text, tr in zip(generative, texts, truncs, strict=False):
                    out[i] = judgment_from_text(examples[i], text)
                    out[i].truncated = tr
        return out

    def _label_ids(self, ex: Example) -> tuple[list[int], list[list[int]]]:
        # " " + label: see render_label_prefix for why the space belongs to the label.
        ids = [self._encode(" " + lab, special=False) for lab in ex.labels]
        common = _common_prefix(ids)
        if len(common) == min(len(t) for t in ids):  # never move a whole label into the prompt
            common = common[:-1]
        return common, [t[len(common) :] for t in ids]

    def _score_causal(self, examples: list[Example]) -> list[Judgment]:
        rows: list[_Row] = []
        truncated = []
        for e, ex in enumerate(examples):
            common, rest = self._label_ids(ex)
            budget = self.max_length - len(common) - max(len(t) for t in rest)
            _, prefix, tr = self.fit(ex, render_label_prefix, budget)
            truncated.append(tr)
            prefix = prefix + common
            last = len(prefix) - 1
            if all(len(t) == 1 for t in rest):
                # One row: every label's log-prob is read at the last prompt position.
                rows.append(_Row(e, prefix, [(last, t[0], k) for k, t in enumerate(rest)]))
            else:
                for k, t in enumerate(rest):
                    rows.append(_Row(e, prefix + t[:-1], [(last + n, tok, k) for n, tok in enumerate(t)]))
        totals = [[0.0] * len(ex.labels) for ex in examples]
        for row, values in self._run_rows(rows):
            for (_, _, k), v in zip(row.reads, values, strict=False):
                totals[row.example][k] += v
        out = []
        for ex, logits, tr in zip(examples, totals, truncated, strict=False):
            probs = dict(zip(ex.labels, softmax(logits), strict=False))
            j = judgment_from_probs(ex, probs, self.seed, truncated=tr)
            j.metadata["logprobs"] = dict(zip(ex.labels, logits, strict=False))
            out.append(j)
        return out

    def _run_rows(self, rows: list[_Row]):
        """Forward rows in length-sorted, right-padded batches; yield each row's requested log-probs."""
        import torch

        order = sorted(range(len(rows)), key=lambda i: len(rows[i].ids))
        for start in range(0, len(order), self.batch_size):
            batch = [rows[i] for i in order[start : start + self.batch_size]]
            # Widths rounded up to a multiple of 16: fewer distinct shapes for oneDNN to prepare kernels for.
            width = -(-max(len(r.ids) for r in batch) // 16) * 16
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            for b, r in enumerate(batch):
                ids[b, : len(r.ids)] = torch.tensor(r.ids)
            # Right padding needs no attention mask: causal attention never looks right, so every real
            # token sees exactly its unpadded prefix at its unpadded position, and the pad positions
            # (never read) cost only their own compute. Without a mask SDPA takes its fused causal
            # kernel, several times faster here on 1k-token rows than the masked path.
            # Only the positions we read go through the vocabulary projection (49k columns for SmolLM2).
            positions = sorted({pos for r in batch for pos, _, _ in r.reads})
            index = {p: n for n, p in enumerate(positions)}
            keep = torch.tensor(positions, dtype=torch.long, device=self.device)
            ids = ids.to(self.device)
            logprobs = torch.log_softmax(self._label_logits(ids, keep), dim=-1)
            for b, r in enumerate(batch):
                yield r, [logprobs[b, index[pos], tok].item() for pos, tok, _ in r.reads]

    def _label_logits(self, ids, keep):
        """fp32 logits at positions ``keep``. The vocabulary projection runs in fp32 on the last hidden
        state: in bf16 the logits themselves are rounded (steps of 1/16 around 10), which ties or flips
        labels whose logits differ by less, and a fine-tuned judge's margins often do (measured: 33
        distinct P(A) values over 112 pairs, many exact 0.5 ties, before this)."""
        if self._head_fp32 is None:
            # Once: 113 MB for SmolLM2's 49k × 576. () marks a model without a plain head (no fp32 path).
            self._head_fp32 = fp32_output_head(self.model) or ()
        if not self._head_fp32:
            try:
                return self.model(input_ids=ids, logits_to_keep=keep).logits.float()
            except TypeError:  # models without logits_to_keep
                return self.model(input_ids=ids).logits[:, keep].float()
        backbone, weight = self._head_fp32
        return project_fp32(self.model, backbone(input_ids=ids).last_hidden_state[:, keep], weight)

    def _score_seq2seq(self, examples: list[Example]) -> list[Judgment]:
        import torch

        out = []
        for start in range(0, len(examples), max(1, self.batch_size // 2)):
            chunk = examples[start : start + max(1, self.batch_size // 2)]
            enc_rows, dec_rows, owners, truncs = [], [], [], []
            for e, ex in enumerate(chunk):
                _, enc, tr = self.fit(ex, render_input, self.max_length)
                truncs.append(tr)
                head = self._encode(render_label_prefix(ex)[len(render_input(ex)) :].lstrip(), special=False)
                for k, lab in enumerate(ex.labels):
                    lab_ids = self._encode(" " + lab, special=False)
                    enc_rows.append(enc)
                    dec_rows.append((head, lab_ids))
                    owners.append((e, k))
            width = max(len(r) for r in enc_rows)
            dwidth = max(len(h) + len(t) for h, t in dec_rows)
            ids = torch.full((len(enc_rows), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            labels = torch.full((len(enc_rows), dwidth), -100, dtype=torch.long)
            for b, (r, (h, t)) in enumerate(zip(enc_rows, dec_rows, strict=False)):
                ids[b, : len(r)] = torch.tensor(r)
                mask[b, : len(r)] = 1
                labels[b, : len(h) + len(t)] = torch.tensor(h + t)
            logits = self.model(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                labels=labels.to(self.device),
            ).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            totals = [[0.0] * len(ex.labels) for ex in chunk]
            for b, ((e, k), (h, t)) in enumerate(zip(owners, dec_rows, strict=False)):
                for n, tok in enumerate(t):
                    totals[e][k] += logprobs[b, len(h) + n, tok].item()
            for ex, logits_, tr in zip(chunk, totals, truncs, strict=False):
                j = judgment_from_probs(
                    ex, dict(zip(ex.labels, softmax(logits_), strict=False)), self.seed, truncated=tr
                )
                j.metadata["logprobs"] = dict(zip(ex.labels, logits_, strict=False))
                out.append(j)
        return out

    def _generate(self, examples: list[Example], render, suffixes: list[str] | None = None):
        """Greedy, bounded generation, left-padded batches; returns (texts, truncated flags)."""
        import torch

        texts: list[str] = [""] * len(examples)
        truncs: list[bool] = [False] * len(examples)
        prompts = []
        for i, ex in enumerate(examples):
            suffix = suffixes[i] if suffixes else ""
            budget = max(8, self.max_length - self.max_new_tokens - len(self._encode(suffix, special=False)))
            _, ids, tr = self.fit(ex, render, budget)
            prompts.append(ids + (self._encode(suffix, special=False) if suffix else []))
            truncs[i] = tr
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(prompts[i]) for i in idx)
            if self.is_seq2seq:
                ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for b, i in enumerate(idx):
                    ids[b, : len(prompts[i])] = torch.tensor(prompts[i])
                    mask[b, : len(prompts[i])] = 1
            else:  # left padding so that every row continues from its own last token
                ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for b, i in enumerate(idx):
                    ids[b, width - len(prompts[i]) :] = torch.tensor(prompts[i])
                    mask[b, width - len(prompts[i]) :] = 1
            gen = self.model.generate(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=self.pad_id,
            )
            new = gen if self.is_seq2seq else gen[:, width:]
            for b, i in enumerate(idx):
                texts[i] = self.tokenizer.decode(new[b], skip_special_tokens=True)
        return texts, truncs

    def _add_explanations(self, examples: list[Example], judgments: list[Judgment]) -> None:
        """``--explain``: continue ``answer: <prediction>`` and parse the rest of the EVALUATION block."""
        need = [
            (ex, j) for ex, j in zip(examples, judgments, strict=False) if "explanation" in ex.output_fields
        ]
        if not need:
            need = [
                (dataclasses.replace(ex, output_fields=(*ex.output_fields, "explanation")), j)
                for ex, j in zip(examples, judgments, strict=False)
            ]
        suffixes = [f" {j.prediction}\nexplanation:" for _, j in need]
        texts, _ = self._generate([ex for ex, _ in need], render_label_prefix, suffixes)
        for (_, j), text in zip(need, texts, strict=False):
            j.raw = f"answer: {j.prediction}\nexplanation:{text}"
            j.fields["explanation"] = text.strip().split("\n\n")[0].strip()
