"""Literal examples and tiny raters for the evaluation tests."""

from __future__ import annotations

from flame.types import Example, Judgment, TaskType


def pair(answer: str | None, a: str = "a", b: str = "b", id: str = "1", labels=("A", "B", "tie")) -> Example:
    return Example(
        task="t",
        task_type=TaskType.PAIRWISE,
        title="Which is better?",
        description="Answer A or B.",
        inputs={"prompt": "p", "response A": a, "response B": b},
        targets={"answer": answer} if answer is not None else {},
        labels=labels,
        id=id,
    )


def label_ex(
    answer: str, labels=("Yes", "No"), id: str = "1", task_type=TaskType.CLASSIFICATION, **metadata
) -> Example:
    return Example(
        task="t",
        task_type=task_type,
        title="t",
        description="d",
        inputs={"text": f"x{id}"},
        targets={"answer": answer},
        labels=labels,
        id=id,
        metadata=metadata,
    )


def judged(probs: dict[str, float] | None = None, prediction: str | None = None, **kw) -> Judgment:
    if prediction is None and probs:
        prediction = max(probs, key=probs.get)
    return Judgment(fields={"answer": prediction} if prediction else {}, probs=probs, **kw)


class KeywordRater:
    """A protocol-only rater (no cache identity): "Yes" when the claim holds "ok", else "No"; pairwise: A."""

    spec = "keyword"

    def __init__(self):
        self.calls = 0

    def judge(self, examples):
        self.calls += len(examples)
        out = []
        for ex in examples:
            if ex.task_type == TaskType.PAIRWISE:
                out.append(
                    Judgment(fields={"answer": "A"}, probs={lab: float(lab == "A") for lab in ex.labels})
                )
                continue
            yes = "ok" in ex.inputs.get("claim", "")
            lab = "Yes" if yes else "No"
            out.append(Judgment(fields={"answer": lab}, probs={x: float(x == lab) for x in ex.labels}))
        return out
