"""The rater protocol and the base every rater builds on.

A rater turns rendered `Example`s into `Judgment`s. Concrete raters implement one method,
``_judge_batch`` (one presentation order, a list in, a list out); this base adds position-swap for
pairwise examples and the embedding API: ``compare``, ``score``, ``classify`` and ``judge``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from flame.adhoc import classification_example, pairwise_example, pointwise_example, scale_labels
from flame.errors import FlameError
from flame.format import parse_evaluation
from flame.types import Example, Judgment, TaskType


class RaterError(FlameError, RuntimeError):
    """A rater could not judge (unreachable endpoint, missing model package ...): one clear message."""


EXPLAIN_MODES = ("before", "after")


def explain_mode(value: Any) -> str | None:
    """An ``explain`` option as a mode: ``"before"`` (a rationale, then the answer scored after it),
    ``"after"`` (the answer, then an explanation of it) or None (no text). ``True`` means ``"before"``, the
    order generative judges (Prometheus, JudgeLM) are used in; ``False`` and None mean no explanation."""
    if value is None or value is False:
        return None
    if value is True:
        return "before"
    if isinstance(value, str) and value.strip().lower() in EXPLAIN_MODES:
        return value.strip().lower()
    raise RaterError(f"explain must be one of {', '.join(EXPLAIN_MODES)} (or true/false), not {value!r}")


class UnknownOptionError(RaterError, TypeError):
    """A rater spec given an option its rater does not take (``--max-length`` for the length baseline).
    A ``TypeError`` too, as for a call with an unexpected keyword."""


@runtime_checkable
class Rater(Protocol):
    spec: str

    def judge(self, examples: Sequence[Example]) -> list[Judgment]: ...

    def cache_identity(self) -> dict[str, Any]: ...


# ------------------------------------------------------------------------------------ helpers


def stable_hash(*parts: Any) -> str:
    """sha256 over a canonical JSON of ``parts``: the same inputs give the same key in every process."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    # surrogatepass: a lone surrogate that reached the Python API still gets a key (valid text is unchanged).
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def expected_score(probs: dict[str, float]) -> float | None:
    """Probability-weighted mean of a numeric label space (pointwise ratings); None when labels are not numbers."""
    try:
        return sum(float(label) * p for label, p in probs.items())
    except ValueError:
        return None


def tie_break(labels: Sequence[str], seed: int, ex: Example) -> str:
    """A seeded, per-example choice among exactly tied labels (the same in every process and batch)."""
    h = int(stable_hash("tie", seed, ex.id, ex.inputs)[:8], 16)
    return labels[h % len(labels)]


def judgment_from_probs(ex: Example, probs: dict[str, float], seed: int = 0, **extra: Any) -> Judgment:
    """The closed-label-space judgment: prediction = argmax, exact ties broken by a seeded choice."""
    top = max(probs.values())
    winners = [lab for lab, p in probs.items() if p >= top - 1e-12]
    prediction = winners[0] if len(winners) == 1 else tie_break(winners, seed, ex)
    j = Judgment(fields={"answer": prediction}, probs=probs, **extra)
    if len(winners) > 1:
        j.metadata["tied_labels"] = winners
    if ex.task_type == TaskType.POINTWISE:
        j.expected_score = expected_score(probs)
    return j


def judgment_from_text(ex: Example, text: str, probs: dict[str, float] | None = None) -> Judgment:
    """Parse generated text with the project's one parser; a closed label space gets probs (one-hot if none given)."""
    parsed = parse_evaluation(text, ex.output_fields, ex.labels)
    j = Judgment(fields=dict(parsed.fields), raw=text, parse_failure=not parsed.ok)
    if not parsed.ok:
        j.metadata["parse_error"] = parsed.failure
        return j
    if ex.labels is not None:
        if probs is None:
            probs = {lab: float(lab == parsed.fields["answer"]) for lab in ex.labels}
            j.metadata["probs_source"] = "parsed"
        j.probs = probs
        if ex.task_type == TaskType.POINTWISE:
            j.expected_score = expected_score(probs)
    return j


def _api_id(*parts: Any, reference: str | None) -> str:
    # A reference joins the id only when given, so the ids (and tie breaks) of calls without one stay as they were.
    return stable_hash(*parts, *([reference] if reference is not None else []))[:16]


# ------------------------------------------------------------------------------ position swap


def can_swap(ex: Example) -> bool:
    return (
        ex.task_type == TaskType.PAIRWISE
        and "response A" in ex.inputs
        and "response B" in ex.inputs
        and ex.labels is not None
        and {"A", "B"} <= set(ex.labels)
    )


_SWAP = {"A": "B", "B": "A"}


def swap_example(ex: Example) -> Example:
    """The same pair with the responses exchanged; the label maps A↔B (a tie stays a tie)."""
    inputs = {}
    for k, v in ex.inputs.items():
        if k == "response A":
            inputs[k] = ex.inputs["response B"]
        elif k == "response B":
            inputs[k] = ex.inputs["response A"]
        else:
            inputs[k] = v
    targets = dict(ex.targets)
    if "answer" in targets:
        targets["answer"] = _SWAP.get(targets["answer"], targets["answer"])
    return Example(
        task=ex.task,
        task_type=ex.task_type,
        title=ex.title,
        description=ex.description,
        inputs=inputs,
        targets=targets,
        labels=ex.labels,
        output_fields=ex.output_fields,
        id=ex.id,
        metadata=dict(ex.metadata),
    )


def _unswap_probs(probs: dict[str, float]) -> dict[str, float]:
    return {lab: probs.get(_SWAP.get(lab, lab), 0.0) for lab in probs}


def combine_orders(ex: Example, ab: Judgment, ba: Judgment, seed: int) -> Judgment:
    """Average the two presentation orders: P(A) = (P_AB(A) + P_BA(B)) / 2, each label likewise.

    Both single-order judgments (BA mapped back to the original labels) are kept in
    ``metadata["orders"]``: position-consistency metrics need them.
    """
    ba_probs = _unswap_probs(ba.probs) if ba.probs is not None else None
    ba_pred = _SWAP.get(ba.prediction, ba.prediction) if ba.prediction is not None else None
    orders = {
        "AB": {"prediction": ab.prediction, "probs": ab.probs, "parse_failure": ab.parse_failure},
        "BA": {"prediction": ba_pred, "probs": ba_probs, "parse_failure": ba.parse_failure},
    }
    for name, single in (("AB", ab), ("BA", ba)):
        if single.raw is not None:
            orders[name]["raw"] = single.raw
    usable = [p for p in (ab.probs, ba_probs) if p is not None]
    if not usable:
        j = Judgment(fields={}, raw=ab.raw, parse_failure=True)
    else:
        probs = {lab: sum(p[lab] for p in usable) / len(usable) for lab in ex.labels}
        j = judgment_from_probs(ex, probs, seed)
        j.parse_failure = ab.parse_failure or ba.parse_failure
        # Generated fields (an explanation) argue for one order's answer: keep the AB order's only when
        # that answer is the averaged one; both orders' texts stay in metadata["orders"].
        if ab.prediction == j.prediction:
            j.fields.update({k: v for k, v in ab.fields.items() if k != "answer"})
            j.raw = ab.raw
    j.truncated = ab.truncated or ba.truncated
    j.metadata["orders"] = orders
    j.metadata["swap"] = True
    return j


# ----------------------------------------------------------------------------------- the base


class BaseRater:
    """What every rater shares. Subclasses set ``spec`` and implement ``_judge_batch``.

    ``swap``: judge each pairwise example in both orders and average (see `combine_orders`).
    ``seed``: breaks exact ties (and drives the random rater).
    """

    spec: str = "base"
    # Whether this rater writes text, so that ``explain`` means something to it (`cannot_explain`).
    explains: bool = False

    def __init__(
        self, *, swap: bool = False, seed: int = 0, explain: bool | str | None = False, **options: Any
    ):
        if options:
            raise UnknownOptionError(f"{type(self).__name__}: unknown options {sorted(options)}")
        self.swap = swap
        self.seed = seed
        self.explain = explain_mode(explain)  # "before", "after" or None
        self.n_judged = 0  # examples (single orders) this rater has judged; the resume test reads it

    # -- what subclasses provide
    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        raise NotImplementedError

    def weights_id(self) -> str:
        """Identifies the weights (a hash), so a changed model never reuses cached judgments."""
        return ""

    # -- the cache key part that belongs to the rater
    def cache_identity(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "weights": self.weights_id(),
            "options": self.scoring_options(),
        }

    def scoring_options(self) -> dict[str, Any]:
        # No explanation and "after" keep the values (False, True) the key had before "before" existed, so
        # judgments cached then stay valid; "before" gets a key of its own.
        explain = {None: False, "after": True}.get(self.explain, self.explain)
        return {"swap": self.swap, "seed": self.seed, "explain": explain}

    # -- explanations
    def cannot_explain(self) -> list[str]:
        """Specs of the raters here asked to explain that cannot (no text generation): `load_rater` says so
        in one line and turns their ``explain`` off, so the flag is never ignored in silence."""
        return [self.spec] if self.explain and not self.explains else []

    def drop_explain(self) -> None:
        """Turn ``explain`` off where it cannot be honoured (this rater; a jury's members)."""
        if not self.explains:
            self.explain = None

    def with_explain(self, mode: bool | str | None) -> BaseRater:
        """This rater with another explain mode, sharing its model (a shallow copy; itself when the mode is
        the same). The service judges a request's ``explain`` option with it."""
        mode = explain_mode(mode)
        if mode == self.explain:
            return self
        if mode and not self.explains:
            raise RaterError(f"rater {self.spec} cannot explain (it writes no text)")
        other = copy.copy(self)
        other.explain = mode
        return other

    # -- batched judging
    def judge(self, examples: Sequence[Example]) -> list[Judgment]:
        examples = list(examples)
        if not self.swap:
            out = self._judge_batch(examples)
            self.n_judged += len(examples)
            return out
        swappable = [i for i, ex in enumerate(examples) if can_swap(ex)]
        extra = [swap_example(examples[i]) for i in swappable]
        out = self._judge_batch(examples + extra)
        self.n_judged += len(examples) + len(extra)
        result = out[: len(examples)]
        for k, i in enumerate(swappable):
            result[i] = combine_orders(examples[i], out[i], out[len(examples) + k], self.seed)
        return result

    # -- the embedding API: the same builders as benchmark-file rows and /v1/judge items (flame.adhoc), so the
    # same pair renders to the same text, hits the same cache entry and gets the same probabilities.
    def compare(
        self,
        prompt: str,
        response_a: str,
        response_b: str,
        *,
        criterion: str | None = None,
        allow_tie: bool = False,
        instruction: str | None = None,
        reference: str | None = None,
    ) -> Judgment:
        """Which response is better? ``probs["A"]`` is the calibrated P(A).

        ``criterion`` (or its older name ``instruction``) replaces the default evaluation instruction; the
        answer-format sentence is still appended. ``reference``: a reference answer, shown to the judge
        between the prompt and the responses."""
        ex = pairwise_example(
            prompt,
            response_a,
            response_b,
            criterion=criterion or instruction,
            allow_tie=allow_tie,
            reference=reference,
            task="api/compare",
            id=_api_id(prompt, response_a, response_b, reference=reference),
        )
        return self.judge([ex])[0]

    def score(
        self,
        prompt: str,
        response: str,
        scale: tuple[float, float] = (1, 5),
        *,
        criterion: str | None = None,
        instruction: str | None = None,
        reference: str | None = None,
    ) -> Judgment:
        """Rate one response on a scale; ``expected_score`` is the probability-weighted rating.

        An integer scale of up to 11 points is the label space itself; a wider or fractional one (0-100) is
        judged on 1-5, as benchmark files and ``/v1/judge`` do (`flame.adhoc.scale_labels`). ``reference``: a
        reference answer, shown to the judge between the prompt and the response."""
        low, high = scale
        labels, _ = scale_labels(low, high)
        ex = pointwise_example(
            prompt,
            response,
            labels,
            criterion=criterion or instruction,
            reference=reference,
            task="api/score",
            id=_api_id(prompt, response, list(scale), reference=reference),
            metadata={"scale": [low, high]},
        )
        return self.judge([ex])[0]

    def classify(self, fields: dict[str, str], labels: Sequence[str], instruction: str) -> Judgment:
        """Put CONTEXT ``fields`` into one of ``labels`` following ``instruction``."""
        ex = classification_example(
            fields,
            labels,
            instruction,
            task="api/classify",
            id=stable_hash(fields, list(labels), instruction)[:16],
        )
        return self.judge([ex])[0]

    def close(self) -> None:
        """Release resources (HTTP clients); a no-op for most raters."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"
