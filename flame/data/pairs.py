"""Pairs from pointwise ratings: two rated responses to one prompt make a human preference (issue 17, item 4).

A pointwise task rates one response per row. Where two or more rows share their prompt (every CONTEXT field
but the judged one, which is the last), the higher-rated response is the human-preferred one of a pair.
``derive_pairs`` is the pure function; ``DerivedPairs`` is the source of a registered ``…_derived_pairs_v1``
task (``flame/tasks/derived_pairs.py``): it reads the pointwise task's *built* rows, so a pair is made of
exactly the rows the source task stores, with their ids and splits, and yields one record per pair.

The rules, each with its reason:

* **Within one split and one source group.** Rows are grouped by (split, group, prompt); a pair keeps its
  rows' split (``Row.split``), so pairs come only from training rows for training and from dev rows for dev.
* **Preference by the task's label**, the point on its rating scale (the answer the pointwise task trains
  on), not the raw mean: the same rule as ``codegen_conala_pairwise_v1`` (grades binned, equal bins not
  paired). A 0.3 difference between two means of three raters is mostly noise; one point on the scale is not.
* **Equal labels are ties, and skipped**: the pairwise training tasks here answer A or B (no tie label), so a
  tie would need a label space no other training pair has. Ties are counted (``PairStats``).
* **Identical responses** (the same normalised text) are one response: copies with one label collapse into
  one, copies whose labels disagree are dropped (the raters contradict themselves on the same text).
* **A cap per prompt**: every pair of a prompt with up to four responses (six pairs); beyond that a seeded
  sample of ``max(6, n)`` of its pairs, so that each response is in about two pairs and a segment with 70
  translations does not outweigh ten prompts of four.
* **Both orders**: which response is A is a stable hash of the pair's text (``put_first``, as every pairwise
  task here), so about half the answers are A and the same on every machine.

Decontamination is the source's: a pair is removed from training when either of its two rows is
(``derived_exclusions``, applied by ``flame.data.hygiene.training_exclusions``).
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame.data.preprocess import normalize_text, put_first, stable_int_hash
from flame.data.sources import Record
from flame.data.task import Row, Task

ALL_PAIRS_UP_TO = 4  # responses per prompt: every pair of up to four responses (six pairs) is kept
PAIR_SEED = 17  # the seed of the per-prompt sample (with the prompt's text): fixed, so the pairs never move
PAIR_KINDS = ("prompts", "pairs", "ties", "capped", "identical", "conflicting")


def max_pairs(n: int) -> int:
    """Pairs kept for a prompt with ``n`` distinct responses: all of C(n, 2) up to four responses, else
    max(6, n), about two pairs per response."""
    all_pairs = n * (n - 1) // 2
    return all_pairs if n <= ALL_PAIRS_UP_TO else max(ALL_PAIRS_UP_TO * (ALL_PAIRS_UP_TO - 1) // 2, n)


@dataclass(frozen=True)
class RatedRow:
    """One stored row of a pointwise task: its id, split and group hash, CONTEXT fields and label."""

    id: str
    split: str
    group: str
    inputs: dict[str, str]
    answer: str
    score: float | None = None


@dataclass(frozen=True)
class Pair:
    """One derived pairwise row: CONTEXT fields (the prompt, then ``response A``/``response B``), the answer,
    the split of both its rows and the ids of the rows it came from (A's first)."""

    id: str
    split: str
    group: str
    inputs: dict[str, str]
    answer: str
    metadata: dict[str, Any]


@dataclass
class PairStats:
    """Counts per split: ``prompts`` with two or more distinct responses, ``pairs`` kept, ``ties`` (equal
    labels, skipped), ``capped`` (ordered pairs beyond the per-prompt cap), ``identical`` (copies of a response
    collapsed into one) and ``conflicting`` (copies with different labels, dropped)."""

    counts: dict[str, Counter] = field(default_factory=dict)

    def add(self, split: str, kind: str, n: int = 1) -> None:
        self.counts.setdefault(split, Counter())[kind] += n

    def total(self, kind: str) -> int:
        return sum(c[kind] for c in self.counts.values())

    def by_split(self, kind: str, splits: Iterable[str] = ("train", "dev", "test")) -> dict[str, int]:
        return {s: self.counts.get(s, Counter())[kind] for s in splits}


def _distinct_responses(rows: list[RatedRow], judged: str, stats: PairStats) -> list[RatedRow]:
    """One row per normalised response text, in stored order; a text whose copies disagree is dropped."""
    by_text: dict[str, list[RatedRow]] = {}
    for r in rows:
        by_text.setdefault(normalize_text(r.inputs[judged]), []).append(r)
    out = []
    for copies in by_text.values():
        if len({r.answer for r in copies}) > 1:
            stats.add(copies[0].split, "conflicting", len(copies))
            continue
        stats.add(copies[0].split, "identical", len(copies) - 1)
        out.append(copies[0])
    return out


def _pair(prompt: dict[str, str], judged: str, best: RatedRow, other: RatedRow, rank: dict[str, int]) -> Pair:
    key = "\x00".join([*prompt.values(), best.inputs[judged], other.inputs[judged]])
    first, second, answer = (best, other, "A") if put_first(key) else (other, best, "B")
    return Pair(
        id=f"{first.id}&{second.id}",
        split=best.split,
        group=best.group,
        inputs={**prompt, "response A": first.inputs[judged], "response B": second.inputs[judged]},
        answer=answer,
        metadata={
            "source_ids": [first.id, second.id],
            "source_labels": [first.answer, second.answer],
            "source_scores": [first.score, second.score],
            "margin": rank[best.answer] - rank[other.answer],
        },
    )


def derive_pairs(rows: Iterable[RatedRow], labels: tuple[str, ...]) -> tuple[list[Pair], PairStats]:
    """Pairs of differently rated responses to one prompt, and the counts of what was not paired.

    ``labels`` is the source task's rating scale, worst first (``score_labels(1, 5)``): the later label is
    preferred. Pure and deterministic: prompts in stored order, pairs in combination order, the per-prompt
    sample seeded by the prompt's text.
    """
    rank = {label: i for i, label in enumerate(labels)}
    groups: dict[tuple, list[RatedRow]] = {}
    for r in rows:
        if r.answer not in rank:
            raise ValueError(f"{r.id}: label {r.answer!r} is not on the scale {labels}")
        *context, _judged = r.inputs
        if not context:
            raise ValueError(f"{r.id}: a row needs a prompt field before the judged one to be paired")
        key = (r.split, r.group, tuple(context), tuple(normalize_text(r.inputs[k]) for k in context))
        groups.setdefault(key, []).append(r)
    stats = PairStats()
    pairs: list[Pair] = []
    for key, members in groups.items():
        split = key[0]
        judged = list(members[0].inputs)[-1]
        distinct = _distinct_responses(members, judged, stats)
        if len(distinct) < 2:
            continue
        stats.add(split, "prompts")
        prompt = {k: members[0].inputs[k] for k in key[2]}
        ordered = []
        for a, b in itertools.combinations(distinct, 2):
            if a.answer == b.answer:
                stats.add(split, "ties")
                continue
            ordered.append((a, b) if rank[a.answer] > rank[b.answer] else (b, a))
        keep = max_pairs(len(distinct))
        if len(ordered) > keep:
            rng = random.Random(stable_int_hash("\x00".join(key[3]) + "\x00" + key[1], seed=PAIR_SEED))
            chosen = sorted(rng.sample(range(len(ordered)), keep))
            stats.add(split, "capped", len(ordered) - keep)
            ordered = [ordered[i] for i in chosen]
        for best, other in ordered:
            pairs.append(_pair(prompt, judged, best, other, rank))
            stats.add(split, "pairs")
    return pairs, stats


# ------------------------------------------------------------------------------ the built source rows

ROW_COLUMNS = ("id", "split", "group", "inputs", "targets", "metadata")


def rated_rows(task: Task, root: Path | None = None) -> list[RatedRow]:
    """A pointwise task's stored rows (built first when needed), whole columns at once."""
    from flame.data.collection import load_task_dataset

    columns = load_task_dataset(task, root).select_columns(list(ROW_COLUMNS)).to_dict()
    out = []
    for rid, split, group, inputs, targets, metadata in zip(*(columns[c] for c in ROW_COLUMNS), strict=True):
        score = json.loads(metadata).get("score")
        out.append(
            RatedRow(
                id=rid,
                split=split,
                group=group,
                inputs=json.loads(inputs),
                answer=json.loads(targets)["answer"],
                score=float(score) if isinstance(score, int | float) else None,
            )
        )
    return out


def source_pairs(task: Task, root: Path | None = None) -> tuple[list[Pair], PairStats]:
    """``derive_pairs`` over a pointwise task's stored rows. Refuses an evaluation-only task."""
    if task.eval_only:
        raise ValueError(f"{task.name} is an evaluation-only benchmark: no pairs are derived from it")
    if task.task_type != "pointwise" or not task.labels:
        raise ValueError(f"{task.name} is a {task.task_type} task: pairs come from pointwise ratings")
    return derive_pairs(rated_rows(task, root), task.labels)


@dataclass(frozen=True)
class DerivedPairs:
    """The source of a derived pair task: one record per pair of ``task``'s stored rows."""

    task: Task

    def files(self, root: Path) -> list[Path]:
        return self.task.source.files(root)

    def records(self, root: Path) -> Iterator[Record]:
        pairs, _ = source_pairs(self.task, root)
        for p in pairs:
            yield Record(
                p.id,
                {
                    "inputs": p.inputs,
                    "answer": p.answer,
                    "split": p.split,
                    "group": p.group,
                    "metadata": p.metadata,
                },
            )


def pair_row(record: dict[str, Any]) -> Row:
    """A derived pair record as a row: it keeps its source rows' split (``Row.split``) and group."""
    return Row(
        inputs=dict(record["inputs"]),
        answer=record["answer"],
        metadata=dict(record["metadata"]),
        group=record["group"],
        split=record["split"],
    )


def derived_exclusions(task: Task, removed: set[str]) -> set[str]:
    """Ids of a derived task's pairs that use a source row removed from training (``removed``: the source
    task's excluded ids): a pair is kept out exactly when one of its rows is."""
    if not removed:
        return set()
    from flame.data.collection import load_task_dataset

    columns = load_task_dataset(task).select_columns(["id", "metadata"]).to_dict()
    return {
        pid
        for pid, metadata in zip(columns["id"], columns["metadata"], strict=True)
        if removed.intersection(json.loads(metadata)["source_ids"])
    }


def derived_stats(task: Task, root: Path | None = None) -> dict[str, Any]:
    """What `flame tasks stats` shows for a derived task: its source and the counts per split."""
    from flame.data.task import load_all_tasks

    _, stats = source_pairs(load_all_tasks().get(task.derived_from), root)
    return {"task": task.name, "source": task.derived_from, **{k: stats.by_split(k) for k in PAIR_KINDS}}
