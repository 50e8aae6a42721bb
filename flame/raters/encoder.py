"""A trained encoder judge (`flame.encoder`) as a rater: ``run:RUN_DIR`` of a ``model.base: minilm`` run.

It gives a probability for every label of every closed label space. Pairwise judgments are made one
response at a time, so the two presentation orders give the same answer (position consistency 1 by
construction). It cannot write text: generative examples come back as parse failures that say so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flame.raters.base import BaseRater, RaterError, judgment_from_probs
from flame.types import Example, Judgment


class EncoderRater(BaseRater):
    """``max_length``: tokens per row (a pairwise example has one row per response), capped at the row length
    the judge was trained at and at the model's positions (MiniLM: 512).
    ``dtype``: ``auto`` (bf16 autocast where the CPU or GPU has native bf16), ``autocast`` or ``fp32``;
    the scoring heads always run in fp32."""

    def __init__(
        self,
        spec: str,
        model_path: str | Path,
        *,
        weights_id: str = "",
        max_length: int = 512,
        batch_size: int = 16,
        dtype: str = "auto",
        threads: int | None = None,
        max_new_tokens: int | None = None,  # accepted like every model rater; an encoder generates nothing
        **options: Any,
    ):
        super().__init__(**options)
        import torch

        from flame.families import FAMILIES
        from flame.raters.hf import bf16_supported

        self.spec = spec
        self.model_path = str(model_path)
        self._weights_id = weights_id
        if threads:
            torch.set_num_threads(threads)
        self.family = FAMILIES.get("encoder")  # loads, and scores labels, as training does
        try:
            self.model, self.tokenizer = self.family.load(str(model_path))
            self.model.eval()
        except (OSError, ValueError) as e:
            raise RaterError(f"{spec}: cannot load an encoder judge from {model_path}: {e}") from e
        # Rows no longer than the model's positions, nor than the rows it was trained on: on dev data E6
        # judged pairs at 0.644 with its own 256-token rows and 0.565 when given 512 (EXPERIMENTS.md).
        limits = [getattr(self.model.config, "max_position_embeddings", max_length), self.model.row_length]
        self.max_length = min([max_length, *[n for n in limits if n]])
        self.batch_size = batch_size
        if dtype == "auto":
            dtype = "autocast" if bf16_supported() else "fp32"
        if dtype == "bf16":
            dtype = "autocast"  # bf16 weights would also put the heads in bf16; autocast keeps them fp32
        if dtype not in ("autocast", "fp32"):
            raise ValueError(f"dtype must be auto, bf16, autocast or fp32, not {dtype!r}")
        self.dtype = dtype
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)

    def weights_id(self) -> str:
        return self._weights_id

    def scoring_options(self) -> dict[str, Any]:
        return {**super().scoring_options(), "max_length": self.max_length, "dtype": self.dtype}

    def _autocast(self):
        import torch

        if self.dtype == "autocast":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def reward_scores(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """r(x) of each (prompt, response): the reward head's score of the row a pairwise judgment of the
        prompt reads for that response, so that P(A better than B) = σ(r(A) − r(B)) (before a tie label).
        Rows are scored raw (the fitted label biases shift labels, not rewards); used by ``POST /get_reward``."""
        import torch

        from flame.adhoc import pairwise_example
        from flame.encoder.inputs import collate, encode

        # A pair of the response with itself: its two rows are the same, and its A logit is r(x).
        # Rows as the judge was trained on them (its INSTRUCTIONS block and field mode).
        options = {"instructions": self.model.instructions, "fields": self.model.fields}
        encoded = [
            encode(pairwise_example(p, r, r), self.tokenizer, self.max_length, **options) for p, r in pairs
        ]
        order = sorted(range(len(encoded)), key=lambda i: encoded[i].n_tokens)
        out = [0.0] * len(encoded)
        pad_id = self.tokenizer.pad_token_id or 0
        with torch.inference_mode(), self._autocast():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                tensors = {
                    k: v.to(self.device) for k, v in collate([encoded[i] for i in idx], pad_id).items()
                }
                logits = self.model(**tensors).float()[:, 0].cpu()
                for row, i in enumerate(idx):
                    out[i] = float(logits[row])
        return out

    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        out: list[Judgment | None] = [None] * len(examples)
        scored = [i for i, ex in enumerate(examples) if ex.labels is not None]
        if scored:
            results = self.family.label_probs(
                self.model,
                self.tokenizer,
                [examples[i] for i in scored],
                max_length=self.max_length,
                batch_size=self.batch_size,
                autocast=self._autocast,
            )
            for i, (probs, truncated) in zip(scored, results, strict=True):
                j = judgment_from_probs(examples[i], probs, self.seed)
                j.truncated = truncated
                out[i] = j
        for i, ex in enumerate(examples):
            if ex.labels is None:
                out[i] = Judgment(fields={}, parse_failure=True)
                out[i].metadata["parse_error"] = (
                    "an encoder judge scores closed label spaces; it cannot write text"
                )
        return out  # type: ignore[return-value]
