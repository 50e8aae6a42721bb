"""Label biases fitted on dev data after training: where an encoder judge draws the line between its labels.

A judge can rank well and still give every row the same answer: after a CPU run, FLAMe-mini's P("Yes") for
FRANK's dev summaries ranked them with AUC 0.86, yet lay between 0.69 and 0.95, so every summary was "Yes"
and balanced accuracy stayed 0.50 (EXPERIMENTS.md E11). Training with balanced labels moves that line only as
fast as a few hundred steps allow. Here it is set afterwards, the way a classifier's decision threshold is:
one additive bias per label, fitted on the dev splits of the training tasks by class-balanced cross-entropy
(each task weighs the same, each label within a task the same), so that the judge's "Yes" means "more likely
than the average human-labelled row of this kind", not "more likely than the training prior".

A bias belongs to a kind of row: (task type, label space, whether the row has a source field). The kind is
all a bias can depend on, since a held-out benchmark's task was never seen: "Yes"/"No" on a summary with its
article is one line, "Yes"/"No" on a moderation question another (their P("Yes") sat at 0.9 and 0.06). A
row of a kind no training task had is left as the judge scores it. The held-out benchmarks are never read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from flame.types import Example, TaskType


@dataclass(frozen=True)
class LabelBias:
    """Added to the judge's log-probabilities of ``labels`` on rows of this kind."""

    task_type: str
    labels: tuple[str, ...]
    has_source: bool
    bias: tuple[float, ...]
    tasks: int  # training tasks whose dev rows it was fitted on
    rows: int

    @property
    def kind(self) -> tuple[str, tuple[str, ...], bool]:
        return (self.task_type, self.labels, self.has_source)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> LabelBias:
        return cls(
            task_type=d["task_type"],
            labels=tuple(d["labels"]),
            has_source=bool(d["has_source"]),
            bias=tuple(float(b) for b in d["bias"]),
            tasks=int(d["tasks"]),
            rows=int(d["rows"]),
        )


def row_kind(ex: Example, grounded: Sequence[float] | None = None) -> tuple[str, tuple[str, ...], bool]:
    """``grounded``: the row's `grounding` features where already computed (the last says "has a source")."""
    from flame.encoder.inputs import grounding

    has_source = (grounded if grounded is not None else grounding(ex.inputs))[-1]
    return (str(TaskType(ex.task_type)), tuple(ex.labels or ()), bool(has_source))


def balanced_weights(tasks: Sequence[str], targets: Sequence[int]) -> list[float]:
    """Each task weighs 1 in all, shared equally by the labels present in it, then by its rows."""
    count: dict[tuple[str, int], int] = defaultdict(int)
    labels_in: dict[str, set[int]] = defaultdict(set)
    for task, y in zip(tasks, targets, strict=True):
        count[task, y] += 1
        labels_in[task].add(y)
    return [1.0 / (len(labels_in[t]) * count[t, y]) for t, y in zip(tasks, targets, strict=True)]


def fit_bias(log_probs, targets, weights, l2: float = 1e-3) -> list[float]:
    """The bias b (one per label, summing to 0) that minimises the weighted cross-entropy of
    softmax(log_probs + b). Convex in b: L-BFGS finds it in a few iterations. The small L2 keeps b finite
    when a label never wins."""
    import torch

    x = torch.as_tensor(log_probs, dtype=torch.float64)
    y = torch.as_tensor(targets, dtype=torch.long)
    w = torch.as_tensor(weights, dtype=torch.float64)
    w = w / w.sum()
    b = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (w * torch.nn.functional.cross_entropy(x + b, y, reduction="none")).sum() + l2 * (b**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    b = b.detach()
    return (b - b.mean()).tolist()


def fit_label_biases(examples: Sequence[Example], probs: Sequence[dict[str, float]]) -> list[LabelBias]:
    """One LabelBias per kind of row among ``examples`` (with their judged label probabilities), fitted on
    the rows of that kind whose human label is known."""
    import math

    rows = []
    for ex, p in zip(examples, probs, strict=True):
        if ex.labels and ex.answer is not None:
            kind = row_kind(ex)
            log_probs = [math.log(max(p[lab], 1e-12)) for lab in kind[1]]
            rows.append((kind, ex.task, kind[1].index(ex.answer), log_probs))
    return fit_biases_by_kind(rows)


def fit_biases_by_kind(rows: Sequence[tuple[tuple, str, int, Sequence[float]]]) -> list[LabelBias]:
    """One LabelBias per row kind among ``rows`` of (kind, task, the human label's index, log-probabilities
    over the kind's labels); each task weighs the same (``balanced_weights``). Rows given as numbers, so
    a machine that holds the rows' tokens but not their text fits the same biases."""
    groups: dict[tuple, list] = defaultdict(list)
    for row in rows:
        groups[row[0]].append(row)
    out = []
    for kind, members in sorted(groups.items(), key=lambda item: item[0]):
        tasks = [m[1] for m in members]
        targets = [m[2] for m in members]
        bias = fit_bias([list(m[3]) for m in members], targets, balanced_weights(tasks, targets))
        out.append(LabelBias(kind[0], kind[1], kind[2], tuple(bias), len(set(tasks)), len(members)))
    return out


def apply_bias(probs: dict[str, float], bias: LabelBias | None) -> dict[str, float]:
    """softmax(log p + b) over the label space; unchanged without a bias."""
    import math

    if bias is None:
        return probs
    logits = [math.log(max(probs[lab], 1e-12)) + b for lab, b in zip(bias.labels, bias.bias, strict=True)]
    top = max(logits)
    exp = [math.exp(v - top) for v in logits]
    return {lab: e / sum(exp) for lab, e in zip(bias.labels, exp, strict=True)}


def dev_examples(tasks: Iterable[str] | None, n: int, seed: int = 0) -> list[Example]:
    """Up to ``n`` seeded dev rows of each classification task among ``tasks`` (None: every training task of
    the collection; tasks without dev rows skipped)."""
    from flame.data.collection import load_all_tasks, load_examples

    registry = load_all_tasks()
    out: list[Example] = []
    for name in registry if tasks is None else tasks:
        if name not in registry:  # a run's benchmark-format files: no dev split in the collection
            continue
        task = registry.get(name)
        if task.eval_only or TaskType(task.task_type) != TaskType.CLASSIFICATION:
            continue
        out.extend(load_examples(name, "dev", limit=n, seed=seed))
    return out


def calibrate(
    model,
    tokenizer,
    tasks: Iterable[str] | None,
    *,
    n: int,
    max_length: int,
    batch_size: int = 16,
    autocast: Callable | None = None,
    seed: int = 0,
) -> list[LabelBias]:
    """Fit ``model.calibration`` (and return it) on up to ``n`` dev rows of each classification task among
    ``tasks`` (None: every training task)."""
    from flame.encoder.inputs import label_probs

    examples = dev_examples(tasks, n, seed)
    model.calibration = []  # fit on the raw scores
    scored = label_probs(
        model, tokenizer, examples, max_length=max_length, batch_size=batch_size, autocast=autocast
    )
    model.calibration = fit_label_biases(examples, [p for p, _ in scored])
    return model.calibration


def save_calibration(folder, biases: Sequence[LabelBias]) -> None:
    """Write ``biases`` into a saved judge's marker (the weights are not touched)."""
    import json
    from pathlib import Path

    from flame.encoder.model import MARKER

    marker_path = Path(folder) / MARKER
    marker = json.loads(marker_path.read_text())
    marker["calibration"] = [b.to_json() for b in biases]
    marker_path.write_text(json.dumps(marker))


def describe(biases: Sequence[LabelBias]) -> str:
    """One line per kind of row: its labels, the bias per label, and what it was fitted on."""
    lines = []
    for b in biases:
        shifts = ", ".join(f"{lab} {v:+.2f}" for lab, v in zip(b.labels, b.bias, strict=True))
        source = "with a source" if b.has_source else "no source"
        lines.append(f"{b.task_type}, {source}: {shifts}  ({b.tasks} tasks, {b.rows} dev rows)")
    return "\n".join(lines)
