"""Ad-hoc judgments: one builder per task type turns a request into the `Example` every path renders.

Every judgment that no registered task describes (the Python API's ``compare``/``score``/``classify``,
benchmark-file rows, ``/v1/judge`` items, rerank candidates, RewardBench and LLM-AggreFact rows) is built
here, with one default instruction per type. Why one place: the same pair must render to the same text on
every path, so it gets the same cache entry and the same probabilities (prometheus-eval's one prompt builder
for absolute and relative grading). ``criterion`` replaces the default evaluation description (a rubric);
the answer-format sentence is always appended, so the rater knows its label space. An optional ``reference``
(a reference answer, as MT-Bench, Prometheus and JudgeLM graders use) becomes the CONTEXT field
``reference answer`` after the prompt and before the response(s), and one sentence before the answer-format
sentence says it is there; without a reference the text is exactly what it was before references existed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flame.types import (
    PAIRWISE_LABELS,
    PAIRWISE_LABELS_WITH_TIE,
    Example,
    TaskType,
    check_labels,
    score_labels,
)

PAIRWISE_TITLE = "Which response is better?"
PAIRWISE_DESCRIPTION = (
    "In this task, you will be shown a prompt and two responses, Response A and Response B. Decide which "
    "response better follows the prompt: which one is more helpful, accurate and harmless."
)
POINTWISE_TITLE = "How good is the response?"
POINTWISE_DESCRIPTION = (
    "In this task, you will be shown a prompt and a response to it. Rate how well the response follows "
    "the prompt: how helpful, accurate and harmless it is."
)
CLASSIFICATION_TITLE = "Which label applies?"
# The CONTEXT field of a reference answer. Why after the prompt and before the responses: the judge reads the
# question, then what a correct answer says, then the answers to compare against it (MT-Bench's reference-guided
# grading order); and both orders of a pair still share everything before the first response.
REFERENCE_FIELD = "reference answer"
REFERENCE_SENTENCE = "A reference answer is given; use it to judge correctness."
# An integer scale with more points than this (0-100 sliders) is mapped onto 1-5: a closed label space
# of 101 labels is neither what a rater is trained on nor scorable in one step.
MAX_SCALE_POINTS = 11
RESCALED_POINTS = 5


def pairwise_answer_sentence(with_tie: bool) -> str:
    tie = ", or 'tie' if they are equally good" if with_tie else ""
    return f"Answer 'A' if Response A is better, 'B' if Response B is better{tie}."


def pointwise_answer_sentence(labels: tuple[str, ...]) -> str:
    return f"Answer with an integer from {labels[0]} (worst) to {labels[-1]} (best)."


def description(
    criterion: str | None, default: str, answer_sentence: str, with_reference: bool = False
) -> str:
    """The evaluation description: the criterion (or the default), the reference sentence when a reference
    is shown, then the answer-format sentence."""
    reference = f" {REFERENCE_SENTENCE}" if with_reference else ""
    return f"{(criterion or default).strip()}{reference} {answer_sentence}"


def context_fields(prompt: str, reference: str | None, responses: Mapping[str, str]) -> dict[str, str]:
    """The CONTEXT fields: the prompt, the reference answer when there is one, then the responses."""
    inputs = {"prompt": prompt}
    if reference is not None:
        if not reference.strip():
            raise ValueError("the reference answer is empty: leave it out instead")
        inputs[REFERENCE_FIELD] = reference
    inputs.update(responses)
    return inputs


def scale_labels(low: float, high: float) -> tuple[tuple[str, ...], bool]:
    """The label space of a rating scale, and whether scores are rescaled onto 1..5."""
    if low >= high:
        raise ValueError(f"empty scale [{low:g}, {high:g}]")
    if float(low).is_integer() and float(high).is_integer() and high - low + 1 <= MAX_SCALE_POINTS:
        return score_labels(int(low), int(high)), False
    return score_labels(1, RESCALED_POINTS), True


def pairwise_example(
    prompt: str,
    response_a: str,
    response_b: str,
    *,
    criterion: str | None = None,
    allow_tie: bool = False,
    reference: str | None = None,
    title: str | None = None,
    label: str | None = None,
    task: str = "adhoc",
    id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Example:
    """Which response is better? Labels A, B (and tie when ``allow_tie``); ``reference``: a reference answer."""
    metadata = dict(metadata or {})
    if criterion is not None:
        metadata["criterion"] = criterion
    return Example(
        task=task,
        task_type=TaskType.PAIRWISE,
        title=title or PAIRWISE_TITLE,
        description=description(
            criterion, PAIRWISE_DESCRIPTION, pairwise_answer_sentence(allow_tie), reference is not None
        ),
        inputs=context_fields(prompt, reference, {"response A": response_a, "response B": response_b}),
        targets={"answer": label} if label is not None else {},
        labels=PAIRWISE_LABELS_WITH_TIE if allow_tie else PAIRWISE_LABELS,
        id=id,
        metadata=metadata,
    )


def pointwise_example(
    prompt: str,
    response: str,
    labels: Sequence[str],
    *,
    criterion: str | None = None,
    reference: str | None = None,
    title: str | None = None,
    label: str | None = None,
    task: str = "adhoc",
    id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Example:
    """How good is one response, on the integer label space ``labels`` (see `scale_labels`)?
    ``reference``: a reference answer."""
    labels = tuple(labels)
    metadata = dict(metadata or {})
    if criterion is not None:
        metadata["criterion"] = criterion
    return Example(
        task=task,
        task_type=TaskType.POINTWISE,
        title=title or POINTWISE_TITLE,
        description=description(
            criterion, POINTWISE_DESCRIPTION, pointwise_answer_sentence(labels), reference is not None
        ),
        inputs=context_fields(prompt, reference, {"response": response}),
        targets={"answer": label} if label is not None else {},
        labels=labels,
        id=id,
        metadata=metadata,
    )


def classification_example(
    fields: Mapping[str, str],
    labels: Sequence[str],
    instruction: str,
    *,
    title: str | None = None,
    label: str | None = None,
    task: str = "adhoc",
    id: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Example:
    """Which of ``labels`` applies to the CONTEXT ``fields``, following ``instruction``?"""
    return Example(
        task=task,
        task_type=TaskType.CLASSIFICATION,
        title=title or CLASSIFICATION_TITLE,
        description=instruction.strip(),
        inputs=dict(fields),
        targets={"answer": label} if label is not None else {},
        labels=check_labels(list(labels)),
        id=id,
        metadata=dict(metadata or {}),
    )
