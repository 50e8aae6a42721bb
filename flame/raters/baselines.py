"""Reference raters with no model: ``length``, ``random`` and the deterministic ``fake`` used by tests.

They answer every task type so that every evaluation runs end to end without a model, and their
accuracies can be computed by hand.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Sequence

from flame.format import render_input
from flame.raters.base import BaseRater, judgment_from_probs, stable_hash
from flame.types import Example, Judgment, TaskType


def _uniform(labels: Sequence[str]) -> dict[str, float]:
    return {lab: 1.0 / len(labels) for lab in labels}


def _generative(ex: Example, text: str) -> Judgment:
    return Judgment(fields={"answer": text}, raw=f"answer: {text}")


class LengthRater(BaseRater):
    """More characters wins (pairwise) or is better (pointwise).

    Pairwise: the longer response gets P = 1; equal lengths give P(A) = P(B) = 0.5 (a tie label, when the
    space has one, gets 0: "longer wins" never predicts a tie), and 0.5 counts as half right.
    Pointwise: the response length maps onto the scale through ``1 - exp(-chars / 1000)`` (a fixed,
    monotone squash: longer is better, with no dependence on other rows). Classification: uniform.
    """

    spec = "length"

    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        return [self._one(ex) for ex in examples]

    def _one(self, ex: Example) -> Judgment:
        if ex.labels is None:
            return _generative(ex, "")
        probs = {lab: 0.0 for lab in ex.labels}
        if ex.task_type == TaskType.PAIRWISE and "response A" in ex.inputs and "response B" in ex.inputs:
            la, lb = len(ex.inputs["response A"]), len(ex.inputs["response B"])
            if la > lb:
                probs["A"] = 1.0
            elif lb > la:
                probs["B"] = 1.0
            else:
                probs["A"] = probs["B"] = 0.5
        elif ex.task_type == TaskType.POINTWISE:
            response = ex.inputs.get("response", list(ex.inputs.values())[-1] if ex.inputs else "")
            frac = 1.0 - math.exp(-len(response) / 1000.0)
            idx = min(int(frac * len(ex.labels)), len(ex.labels) - 1)
            probs[ex.labels[idx]] = 1.0
        else:
            probs = _uniform(ex.labels)
        return judgment_from_probs(ex, probs, self.seed)


class RandomRater(BaseRater):
    """A seeded coin: each example gets a uniformly drawn label (probability 1 on it).

    The draw depends only on (seed, rendered input), never on batch order or process count.
    """

    spec = "random"

    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        out = []
        for ex in examples:
            rng = random.Random(stable_hash("random", self.seed, render_input(ex), ex.labels))
            if ex.labels is None:
                out.append(_generative(ex, str(rng.random())))
                continue
            choice = rng.choice(ex.labels)
            out.append(judgment_from_probs(ex, {lab: float(lab == choice) for lab in ex.labels}, self.seed))
        return out


class FakeRater(BaseRater):
    """Deterministic, soft and fast: label probabilities from a hash of the rendered input.

    For tests: ``FLAME_TEST_DELAY`` (seconds) sleeps once per batch so that a test can kill a job mid-way.
    """

    spec = "fake"

    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        delay = float(os.environ.get("FLAME_TEST_DELAY", "0") or 0)
        if delay:
            time.sleep(delay)
        out = []
        for ex in examples:
            h = stable_hash("fake", render_input(ex), ex.labels)
            if ex.labels is None:
                out.append(_generative(ex, f"fake-{h[:8]}"))
                continue
            # One byte of a hash per label; a label space longer than one digest (32 labels) hashes on.
            digest = h + "".join(stable_hash(h, k) for k in range(1, 1 + len(ex.labels) // 32))
            weights = [1.0 + int(digest[2 * i : 2 * i + 2], 16) for i in range(len(ex.labels))]
            total = sum(weights)
            out.append(
                judgment_from_probs(
                    ex, {lab: w / total for lab, w in zip(ex.labels, weights, strict=True)}, self.seed
                )
            )
        return out
