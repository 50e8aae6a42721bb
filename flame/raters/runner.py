"""Rate a list of examples: cache look-up, length-sorted batches, resume, output file, accuracy.

The output file is written at the end, in input order, from the JSON stored in the cache. A job killed
at any point and re-run therefore writes byte for byte the same file as an uninterrupted run: every
committed batch is reused, the batch in flight is judged again, nothing stored is judged twice.

Data parallel: under ``accelerate launch`` (or any launcher that sets RANK/WORLD_SIZE) the batches are
formed once from the global length-sorted order and dealt round robin, so each batch, and so each
judgment, is exactly what one process would have computed. Rank 0 writes the output after a barrier.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame.format import render_input
from flame.raters.base import BaseRater, RaterError
from flame.raters.cache import JudgmentCache, example_key, rater_key
from flame.types import Example, Judgment, TaskType

TIE_LABELS = ("tie",)
REJUDGE_ROUNDS = 3  # a cache cleared again and again while we rate ends in a one-line error


@dataclass
class RateResult:
    judgments: list[Judgment]
    summary: dict[str, Any] | None
    n_cached: int
    n_judged: int
    out: Path | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


def _dist() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _barrier(world: int) -> None:
    """Wait for every rank (torch.distributed from the launcher's env:// variables; gloo on CPU)."""
    if world > 1:
        import torch
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        dist.barrier()


def output_row(ex: Example, j: dict[str, Any]) -> dict[str, Any]:
    """One output line: id, prediction, probs, parse_failure (+ expected_score, fields, orders when present)."""
    row: dict[str, Any] = {
        "id": ex.id,
        "prediction": j.get("prediction"),
        "probs": j.get("probs"),
        "parse_failure": j.get("parse_failure", False),
    }
    if ex.task_type == TaskType.POINTWISE:
        row["expected_score"] = j.get("expected_score")
    if ex.answer is not None:
        row["label"] = ex.answer
    if j.get("truncated"):
        row["truncated"] = True
    extra = {k: v for k, v in (j.get("fields") or {}).items() if k != "answer"}
    if extra:
        row["fields"] = extra
    if j.get("raw") is not None:
        row["raw"] = j["raw"]
    orders = (j.get("metadata") or {}).get("orders")
    if orders:
        row["orders"] = orders
    members = (j.get("metadata") or {}).get("members")
    if members:  # a jury: each member's own answer
        row["members"] = members
    return row


def summarize(examples: Sequence[Example], judgments: Sequence[Judgment | dict]) -> dict[str, Any] | None:
    """Accuracy over labeled rows of a closed label space.

    Rows whose gold label is a tie are excluded from the denominator (and counted). When several labels
    share the top probability (``length`` on equal lengths), the row counts 1/k if the gold label is among
    the k tied labels: P(A) = 0.5 is half right. A parse failure counts as wrong, and is counted.
    """
    n = correct = ties = failures = 0
    for ex, j in zip(examples, judgments, strict=True):
        j = j.to_dict() if isinstance(j, Judgment) else j
        gold = ex.answer
        if gold is None or ex.labels is None:
            continue
        if gold in TIE_LABELS:
            ties += 1
            continue
        n += 1
        probs = j.get("probs")
        if j.get("parse_failure") or not probs:
            failures += int(bool(j.get("parse_failure")))
            correct += float(j.get("prediction") == gold)
            continue
        top = max(probs.values())
        winners = [lab for lab, p in probs.items() if p >= top - 1e-12]
        correct += (1.0 / len(winners)) if gold in winners else 0.0
    if n == 0 and ties == 0:
        return None
    return {
        "accuracy": correct / n if n else float("nan"),
        "n": n,
        "ties_excluded": ties,
        "parse_failures": failures,
    }


def format_summary(s: dict[str, Any]) -> str:
    return (
        f"accuracy: {s['accuracy']:.3f} (n={s['n']}, ties excluded: {s['ties_excluded']}, "
        f"parse failures: {s['parse_failures']})"
    )


def rate(
    examples: Sequence[Example],
    rater: BaseRater,
    *,
    cache: JudgmentCache | str | Path | None = None,
    batch_size: int = 8,
    out: str | Path | None = None,
    progress: bool = True,
) -> RateResult:
    """Judge ``examples`` (re-using the cache), write ``out`` (JSONL, input order) and summarize accuracy."""
    examples = list(examples)
    own_cache = not isinstance(cache, JudgmentCache)
    db = cache if isinstance(cache, JudgmentCache) else JudgmentCache(cache)
    rank, world = _dist()
    bind = getattr(rater, "bind_cache", None)
    if bind is not None:  # a jury stores each member's judgments in the same file, under the member's key
        bind(db.path)
    try:
        identity = rater.cache_identity()
        rkey = rater_key(identity)
        db.register(rkey, identity)
        keys = [example_key(rkey, ex) for ex in examples]
        have = set(db.get_raw(keys))
        first = {}
        for i, k in enumerate(keys):
            if k not in have:
                first.setdefault(k, i)
        # Longest first: the slowest batches start early, and similar lengths share a batch (little padding).
        todo = sorted(first.values(), key=lambda i: (-len(render_input(examples[i])), keys[i]))
        batches = [todo[s : s + batch_size] for s in range(0, len(todo), batch_size)]
        mine = batches[rank::world]
        # Every rank must see the cache before any rank writes to it, or the ranks would deal different batches.
        _barrier(world)
        n_judged = _run_batches(examples, keys, mine, rater, db, rkey, progress and rank == 0, len(have))
        _barrier(world)
        raw = db.get_raw(keys)
        if world == 1:
            # Judgments that vanished while we ran (`flame cache clear` in another shell) are judged again,
            # so the output is whole; with several ranks that would break the dealt batches, so they stop.
            for _ in range(REJUDGE_ROUNDS):
                gone = sorted(_missing_firsts(keys, raw))
                if not gone:
                    break
                redo = [gone[s : s + batch_size] for s in range(0, len(gone), batch_size)]
                n_judged += _run_batches(examples, keys, redo, rater, db, rkey, False, 0)
                raw = db.get_raw(keys)
        missing = [examples[i].id or str(i) for i, k in enumerate(keys) if k not in raw]
        if missing:
            raise RaterError(
                f"{len(missing)} judgments vanished from the cache while rating (was it cleared?), "
                f"e.g. {missing[0]}: rerun the same command; nothing was written to the output"
            )
        stored = [json.loads(raw[k]) for k in keys]
        rows = [output_row(ex, j) for ex, j in zip(examples, stored, strict=True)]
        if out is not None and rank == 0:
            _write_jsonl(Path(out), rows)
        return RateResult(
            judgments=[Judgment.from_dict(j) for j in stored],
            summary=summarize(examples, stored),
            n_cached=len(have),
            n_judged=n_judged,
            out=Path(out) if out else None,
            rows=rows,
        )
    finally:
        if own_cache:
            db.close()


def _missing_firsts(keys: list[str], raw: dict[str, str]) -> set[int]:
    """The first index of every key that has no stored judgment (cached ones included)."""
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k not in raw:
            first.setdefault(k, i)
    return set(first.values())


def _run_batches(examples, keys, batches, rater, db, rkey, show, n_cached) -> int:
    total = sum(len(b) for b in batches)
    judged = 0
    if show and total:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(
            TextColumn(f"rating ({n_cached} cached)"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=_stderr_console(),
        )
    else:
        bar = None
    task = bar.add_task("rate", total=total) if bar else None
    if bar:
        bar.start()
    try:
        for batch in batches:
            js = rater.judge([examples[i] for i in batch])
            db.put_many(rkey, [(keys[i], j) for i, j in zip(batch, js, strict=True)])
            judged += len(batch)
            if bar:
                bar.update(task, advance=len(batch))
    finally:
        if bar:
            bar.stop()
    return judged


def _stderr_console():
    from rich.console import Console

    return Console(file=sys.stderr)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
