"""The one text-to-text record (`Example`) and what a rater returns for it (`Judgment`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TaskType(StrEnum):
    PAIRWISE = "pairwise"
    POINTWISE = "pointwise"
    CLASSIFICATION = "classification"
    # The paper's "open-ended" tasks: the target is free text (e.g. an explanation), not a label.
    GENERATIVE = "generative"


CAPABILITIES = ("general_quality", "factuality", "safety", "coding", "math", "instruction_tuning")

PAIRWISE_LABELS = ("A", "B")
PAIRWISE_LABELS_WITH_TIE = ("A", "B", "tie")
YES_NO = ("Yes", "No")


# One rule for every label space a user sends (file rows, /v1/judge items, guided_choice): a closed label space
# is scored in one batched pass over its labels, so it is capped; an empty or repeated label would make two
# answers indistinguishable (P = 0.5 for ["A", "A"]).
MAX_LABELS = 100


def check_labels(labels: Any, *, name: str = "labels") -> tuple[str, ...]:
    """A user's label space, checked: a list of 2 to ``MAX_LABELS`` texts, each non-empty after stripping,
    all different (case-sensitive). Raises ``ValueError`` with a one-line reason."""
    if not isinstance(labels, list | tuple) or len(labels) < 2:
        raise ValueError(f"{name} must be a list of at least two label names")
    if len(labels) > MAX_LABELS:
        raise ValueError(f"{name} holds {len(labels)} labels, over the limit of {MAX_LABELS}")
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            raise ValueError(f"{name}[{i}] is {type(label).__name__}, not text")
        if not label.strip():
            raise ValueError(f"{name}[{i}] is empty")
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ValueError(f"{name} repeat the label {label!r}")
        seen.add(label)
    return tuple(labels)


def score_labels(low: int, high: int) -> tuple[str, ...]:
    """The closed label space of an integer rating scale: ``score_labels(1, 5) == ("1", ..., "5")``."""
    if low >= high:
        raise ValueError(f"empty rating scale [{low}, {high}]")
    return tuple(str(v) for v in range(low, high + 1))


@dataclass(frozen=True)
class Example:
    """One human judgment in FLAMe's unified format.

    ``inputs`` keeps the CONTEXT fields in order (a dict preserves insertion order);
    ``targets`` holds the EVALUATION fields, the human judgment (``{"answer": "B"}``).
    ``title`` and ``description`` are the task's INSTRUCTIONS, carried on the example so that a
    benchmark file's per-row ``criterion`` can replace the description.
    """

    task: str
    task_type: TaskType
    title: str
    description: str
    inputs: dict[str, str]
    targets: dict[str, str]
    labels: tuple[str, ...] | None = None
    output_fields: tuple[str, ...] = ("answer",)
    id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "task_type", TaskType(self.task_type))
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "output_fields", tuple(self.output_fields))
        answer = self.targets.get("answer")
        if self.labels is not None and answer is not None and answer not in self.labels:
            raise ValueError(
                f"{self.task}/{self.id}: answer {answer!r} is not in the label space {self.labels}"
            )

    @property
    def answer(self) -> str | None:
        return self.targets.get("answer")

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "task_type": str(self.task_type),
            "title": self.title,
            "description": self.description,
            "inputs": dict(self.inputs),
            "targets": dict(self.targets),
            "labels": list(self.labels) if self.labels is not None else None,
            "output_fields": list(self.output_fields),
            "id": self.id,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Example:
        return cls(
            task=d["task"],
            task_type=TaskType(d["task_type"]),
            title=d["title"],
            description=d["description"],
            inputs=dict(d["inputs"]),
            targets=dict(d["targets"]),
            labels=tuple(d["labels"]) if d.get("labels") is not None else None,
            output_fields=tuple(d.get("output_fields") or ("answer",)),
            id=str(d.get("id", "")),
            metadata=dict(d.get("metadata") or {}),
        )


@dataclass
class Judgment:
    """What a rater returns for one example.

    ``probs`` maps every label of a closed label space to its probability (they sum to 1);
    ``raw`` is the generated text where the rater generated; a malformed answer sets
    ``parse_failure`` and leaves ``fields`` without an answer, never a silent default.
    """

    fields: dict[str, str] = field(default_factory=dict)
    probs: dict[str, float] | None = None
    raw: str | None = None
    parse_failure: bool = False
    expected_score: float | None = None
    truncated: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def prediction(self) -> str | None:
        return self.fields.get("answer")

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": dict(self.fields),
            "prediction": self.prediction,
            "probs": dict(self.probs) if self.probs is not None else None,
            "raw": self.raw,
            "parse_failure": self.parse_failure,
            "expected_score": self.expected_score,
            "truncated": self.truncated,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Judgment:
        return cls(
            fields=dict(d.get("fields") or {}),
            probs=dict(d["probs"]) if d.get("probs") is not None else None,
            raw=d.get("raw"),
            parse_failure=bool(d.get("parse_failure", False)),
            expected_score=d.get("expected_score"),
            truncated=bool(d.get("truncated", False)),
            metadata=dict(d.get("metadata") or {}),
        )
