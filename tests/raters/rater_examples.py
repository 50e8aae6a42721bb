"""Literal examples for the rater tests (built directly, no data files)."""

from __future__ import annotations

from flame.types import Example, TaskType


def pair(
    i: int, a: str, b: str, label: str | None = "A", tie: bool = False, prompt: str = "Say hi."
) -> Example:
    return Example(
        task="test/pairs",
        task_type=TaskType.PAIRWISE,
        title="Which response is better?",
        description="Pick the better response. Answer 'A' or 'B'.",
        inputs={"prompt": prompt, "response A": a, "response B": b},
        targets={"answer": label} if label else {},
        labels=("A", "B", "tie") if tie else ("A", "B"),
        id=f"p{i}",
    )


def point(i: int, response: str, score: str | None = "3") -> Example:
    return Example(
        task="test/points",
        task_type=TaskType.POINTWISE,
        title="How good is the response?",
        description="Rate the response from 1 to 5.",
        inputs={"prompt": "Explain rain.", "response": response},
        targets={"answer": score} if score else {},
        labels=("1", "2", "3", "4", "5"),
        id=f"s{i}",
    )


def nli(i: int, premise: str, hypothesis: str, label: str = "entailment") -> Example:
    return Example(
        task="test/nli",
        task_type=TaskType.CLASSIFICATION,
        title="Does the premise entail the hypothesis?",
        description="Answer entailment, neutral or contradiction.",
        inputs={"premise": premise, "hypothesis": hypothesis},
        targets={"answer": label},
        labels=("entailment", "neutral", "contradiction"),
        id=f"n{i}",
    )
