"""Local Hugging Face models as raters: the packaged SmolLM2, any HF folder or hub id, `flame train` runs.

Closed label spaces are scored, not sampled, by `flame.scoring.LabelScorer` (the scorer in-training
evaluation and tail-patch use too): summed log-probabilities of ``" " + label`` after `render_label_prefix`,
a softmax over labels. Long inputs are cut by `flame.truncation` (the middle of the longest CONTEXT field).
Generation (greedy, bounded by ``max_new_tokens``) is used for generative tasks and for ``--explain``:
``before`` writes a rationale first (``explanation:``) and scores the labels after it; ``after`` scores the
labels, then continues ``answer: <prediction>`` with an explanation.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flame.format import (
    RATIONALE_FIELD,
    explain_after,
    explain_first,
    normalize_label,
    render_label_prefix,
    render_prompt,
    split_rationale,
)
from flame.raters.base import BaseRater, RaterError, judgment_from_probs, judgment_from_text, softmax
from flame.scoring import LabelScorer, no_progress_bars
from flame.truncation import Strategy, fit_ids
from flame.types import Example, Judgment


def bf16_supported() -> bool:
    """True where bf16 matmuls are native (AVX512-BF16 / AMX on CPU, any recent GPU)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class HFRater(BaseRater):
    """A causal or seq2seq HF model (loaded with ``from_pretrained``) scoring FLAMe prompts.

    ``max_length``: the token budget of prompt + label; longer inputs lose the middle of their longest
    CONTEXT field and are flagged ``truncated``. ``dtype``: ``auto`` (bf16 where the hardware
    supports it, else fp32), ``bf16`` (bf16 weights), ``autocast`` (fp32 weights, bf16 autocast) or ``fp32``.
    ``threads``: torch intra-op threads. ``prefix_cache``: run prefixes shared by rows once (`flame.scoring`;
    None: on an accelerator, off on CPU, where it measured slower).
    """

    # How long inputs are shortened (`flame.truncation`): the rule training uses too. A class attribute, not an
    # option, until a second strategy exists (an option would then join `scoring_options`, the cache key).
    truncation: Strategy | str = "middle"  # a name in flame.truncation.STRATEGIES, or a strategy
    explains = True

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
        prefix_cache: bool | None = None,
        **options: Any,
    ):
        super().__init__(**options)
        self.spec = spec
        self.model_path = str(model_path)
        self._weights_id = weights_id
        self.max_length = max_length
        self._label_scorer: LabelScorer | None = None  # made on first use (_scorer)
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        # Not in `scoring_options`: prefix reuse is exact (flame.scoring), so it shares the judgment cache.
        self.prefix_cache = prefix_cache
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
            with no_progress_bars():
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

    def with_explain(self, mode):
        self._scorer()  # made before the copy, so that both share it (and its fp32 head)
        return super().with_explain(mode)

    # ------------------------------------------------------------------------------- helpers
    def _encode(self, text: str, special: bool = True) -> list[int]:
        return self.tokenizer(text, add_special_tokens=special, verbose=False).input_ids

    def _autocast(self):
        import torch

        if self.dtype == "autocast":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def fit(self, ex: Example, render, budget: int) -> tuple[Example, list[int], bool]:
        """Tokenize ``render(ex)`` within ``budget`` tokens (`flame.truncation.fit_ids`, this rater's strategy)."""
        return fit_ids(ex, self.tokenizer, render, budget, self.truncation)

    # ------------------------------------------------------------------------------ judging
    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        import torch

        out: list[Judgment | None] = [None] * len(examples)
        scored = [i for i, ex in enumerate(examples) if ex.labels is not None]
        generative = [i for i, ex in enumerate(examples) if ex.labels is None]
        with torch.inference_mode(), self._autocast():
            if scored:
                score = self._rationale_first if self.explain == "before" else self._score
                for i, j in zip(scored, score([examples[i] for i in scored]), strict=True):
                    out[i] = j
            if self.explain == "after" and scored:
                self._add_explanations([examples[i] for i in scored], [out[i] for i in scored])
            if generative:
                texts, truncs = self._generate([examples[i] for i in generative], render_prompt)
                for i, text, tr in zip(generative, texts, truncs, strict=False):
                    out[i] = judgment_from_text(examples[i], text)
                    out[i].truncated = tr
        return out

    def _scorer(self) -> LabelScorer:
        # Made on first use, after the dtype conversion: the scorer's fp32 head copies the weights in use.
        if self._label_scorer is None:
            self._label_scorer = LabelScorer(
                self.model,
                self.tokenizer,
                max_length=self.max_length,
                batch_size=self.batch_size,
                is_seq2seq=self.is_seq2seq,
                strategy=self.truncation,
                prefix_cache=self.prefix_cache,
            )
        return self._label_scorer

    def _score(
        self, examples: list[Example], rationales: list[str] | None = None, asked: list[Example] | None = None
    ) -> list[Judgment]:
        """Judgments from label probabilities; ``asked`` (the examples as the judge saw them, rationale field
        first) are scored after their ``rationales`` where given."""
        out = []
        for ex, scored in zip(examples, self._scorer()(asked or examples, rationales), strict=True):
            probs = dict(zip(ex.labels, softmax(scored.logprobs), strict=True))
            j = judgment_from_probs(ex, probs, self.seed, truncated=scored.truncated)
            j.metadata["logprobs"] = dict(zip(ex.labels, scored.logprobs, strict=True))
            out.append(j)
        return out

    def _rationale_first(self, examples: list[Example]) -> list[Judgment]:
        """``--explain before``: write ``explanation:`` (greedy, at most ``max_new_tokens``), then score the
        labels after it, so the rationale can inform the answer. One generation per example, no resampling:
        the scored labels always give an answer; an ``answer:`` line the judge wrote itself is kept in
        ``metadata["generated_answer"]`` (None where it wrote none or one outside the label space)."""
        asked = [explain_first(ex) for ex in examples]
        texts, truncs = self._generate(asked, render_prompt, [f"{RATIONALE_FIELD}:"] * len(asked))
        split = [split_rationale(t) for t in texts]
        out = self._score(examples, [r for r, _ in split], asked)
        for ex, j, text, (rationale, answer), tr in zip(examples, out, texts, split, truncs, strict=True):
            j.fields[RATIONALE_FIELD] = rationale
            j.raw = f"{RATIONALE_FIELD}:{text}"
            j.truncated = j.truncated or tr
            j.metadata["explain"] = "before"
            j.metadata["generated_answer"] = normalize_label(answer, ex.labels) if answer else None
        return out

    def _label_logits(self, ids, keep):
        """fp32 logits at positions ``keep`` of right-padded ``ids`` (`LabelScorer.label_logits`)."""
        return self._scorer().label_logits(ids, keep)

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
        """``--explain after``: continue ``answer: <prediction>`` and parse the rest of the EVALUATION block."""
        need = [
            (ex, j) for ex, j in zip(examples, judgments, strict=False) if RATIONALE_FIELD in ex.output_fields
        ]
        if not need:
            need = [(explain_after(ex), j) for ex, j in zip(examples, judgments, strict=False)]
        suffixes = [f" {j.prediction}\n{RATIONALE_FIELD}:" for _, j in need]
        texts, _ = self._generate([ex for ex, _ in need], render_label_prefix, suffixes)
        for (_, j), text in zip(need, texts, strict=False):
            j.raw = f"answer: {j.prediction}\n{RATIONALE_FIELD}:{text}"
            j.fields[RATIONALE_FIELD] = text.strip().split("\n\n")[0].strip()
            j.metadata["explain"] = "after"
