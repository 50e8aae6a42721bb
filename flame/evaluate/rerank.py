"""Best-of-N selection with a rater (the paper re-ranks 10 HumanEval samples by a pairwise round robin).

Input rows: ``prompt``, ``candidates`` (texts) and optional ``grades`` (human scores per candidate).
Two pickers:

* ``pointwise``: rate each candidate on a 1-5 scale; the highest expected score wins;
* ``pairwise``: a round robin over every pair, judged in both orders (A/B then B/A) so position bias
  cancels; a candidate earns P(it is better) per judgment; the most points win.

Exact ties between candidates are broken by a seeded draw. With grades, the evaluation reports the mean
human grade of the picked candidate against a random pick (the mean grade: its expectation) and the
oracle (the best grade), each with a bootstrap CI over items.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flame.adhoc import pairwise_example, pointwise_example
from flame.errors import UsageError
from flame.evaluate.bootstrap import DEFAULT_RESAMPLES, bootstrap, single
from flame.jsonio import read_jsonl
from flame.types import Example, score_labels


@dataclass
class Item:
    id: str
    prompt: str
    candidates: list[str]
    grades: list[float] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ inputs


def load_items(path: str | Path) -> tuple[list[Item], list[str]]:
    """Items from a JSONL file; malformed rows become ``file:line: reason`` problems."""
    path = Path(path)
    items, problems = [], []
    for line in read_jsonl(path):
        try:
            if line.problem is not None:
                raise ValueError(line.problem)
            items.append(row_to_item(line.value, str(line.lineno)))
        except (ValueError, TypeError) as e:
            problems.append(f"{path}:{line.lineno}: {e}")
    return items, problems


def row_to_item(obj: Any, where: str) -> Item:
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object, got {type(obj).__name__}")
    prompt, cands = obj.get("prompt"), obj.get("candidates")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("missing or empty 'prompt'")
    if not isinstance(cands, list) or len(cands) < 2 or not all(isinstance(c, str) for c in cands):
        raise ValueError("'candidates' must be a list of at least two texts")
    grades = obj.get("grades")
    if grades is not None:
        if not isinstance(grades, list) or len(grades) != len(cands):
            raise ValueError("'grades' must list one number per candidate")
        grades = [float(g) for g in grades]
    return Item(str(obj.get("id", where)), prompt, list(cands), grades)


def codegen_items(root: Path) -> list[Item]:
    """CoNaLa intents with the snippets of five systems and their aggregated 0-4 usefulness grades."""
    systems = ("baseline", "tranx-annot", "best-tranx", "best-tranx-rerank", "codex")
    data = json.loads((root / "codegen_human_grades" / "conala-aggregated-grades.json").read_text())
    items = []
    for k, rec in enumerate(data):
        try:
            cands = [str(rec[s]) for s in systems]
            grades = [float(rec[f"grade-{s}"]) for s in systems]
        except (KeyError, TypeError, ValueError):
            continue
        items.append(Item(f"conala-{k}", str(rec["intent"]), cands, grades, {"systems": list(systems)}))
    return items


WQRM_POINTS = {
    "Most Preferred Writing Option": 2.0,
    "Second Favorite Writing Option": 1.0,
    "Least Preferred Writing Option": 0.0,
}


def wqrm_items(root: Path) -> list[Item]:
    """Three rewrites per instruction; each annotator's ranking becomes 2/1/0 points, averaged."""
    data = json.loads((root / "wqrm_writing_quality" / "WQRM_annotations.json").read_text())
    keys = ("first_draft", "random_cot", "best_cot")
    items = []
    for rec in data:
        ins = rec.get("instruction") or {}
        prompt = (
            f"Write a story of about {ins.get('word_count', '')} words in the {ins.get('voice', '')} "
            f"about the following plot: {ins.get('plot', '')}"
            if isinstance(ins, dict)
            else str(ins)
        )
        anns = [a for a in rec.get("annotations") or [] if isinstance(a, dict)]
        # Each candidate is {"candidate": text, ...} in the published file (a plain text is accepted too).
        texts = [rec.get(k).get("candidate") if isinstance(rec.get(k), dict) else rec.get(k) for k in keys]
        if not anns or not all(isinstance(t, str) and t.strip() for t in texts):
            continue
        grades = [float(np.nanmean([WQRM_POINTS.get(a.get(k), np.nan) for a in anns])) for k in keys]
        items.append(Item(f"wqrm-{rec.get('id')}", prompt, texts, grades, {"candidates": list(keys)}))
    return items


def squality_items(root: Path) -> list[Item]:
    """Per story question: the BART, BART+DPR and human summaries, graded by their mean overall rating."""
    folder = root / "squality_human_eval"
    with gzip.open(folder / "squality_v1-3_txt_test_passages.jsonl.gz", "rt", encoding="utf-8") as f:
        passages = {}
        for line in f:
            p = json.loads(line)
            passages[str(p["metadata"]["passage_id"])] = p
    items = []
    with gzip.open(folder / "squality_human_eval_all-responses.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            passage = passages.get(str(rec["passage-id"]))
            if passage is None:
                continue
            questions = {
                str(q.get("question_number")): q.get("question_text") for q in passage.get("questions") or []
            }
            for qk, systems in rec["questions"].items():
                question = questions.get(str(int(qk) + 1))
                names = sorted(systems)
                try:
                    grades = [float(systems[s]["overall"]["overall-rating"]) for s in names]
                except (KeyError, TypeError, ValueError):
                    continue
                prompt = f"Story:\n{passage['document']}\n\nQuestion: {question}"
                cands = [systems[s]["response"] for s in names]
                items.append(
                    Item(f"squality-{rec['passage-id']}-{qk}", prompt, cands, grades, {"systems": names})
                )
    return items


DATASETS: dict[str, Callable[[Path], list[Item]]] = {
    "codegen_human_grades": codegen_items,
    "wqrm_writing_quality": wqrm_items,
    "squality_human_eval": squality_items,
}


# ------------------------------------------------------------------------------------ picking


def pair_example(item: Item, i: int, j: int) -> Example:
    """Candidate i as Response A against candidate j, with the default pairwise instruction (flame.adhoc)."""
    return pairwise_example(
        item.prompt, item.candidates[i], item.candidates[j], task="rerank/pairwise", id=f"{item.id}:{i}>{j}"
    )


def point_example(item: Item, i: int) -> Example:
    """Candidate i on the default 1-5 scale (flame.adhoc)."""
    return pointwise_example(
        item.prompt, item.candidates[i], score_labels(1, 5), task="rerank/pointwise", id=f"{item.id}:{i}"
    )


def _p_a(j: Any) -> float:
    d = j.to_dict() if hasattr(j, "to_dict") else j
    probs = d.get("probs")
    if probs:
        total = probs.get("A", 0.0) + probs.get("B", 0.0)
        return probs.get("A", 0.0) / total if total else 0.5
    return {"A": 1.0, "B": 0.0}.get(d.get("prediction"), 0.5)  # parse failure: no preference


def _score(j: Any) -> float:
    d = j.to_dict() if hasattr(j, "to_dict") else j
    if d.get("expected_score") is not None:
        return float(d["expected_score"])
    try:
        return float(d.get("prediction"))
    except (TypeError, ValueError):
        return float("-inf")


def argmax_seeded(values: Sequence[float], seed: int, key: str) -> int:
    top = max(values)
    best = [i for i, v in enumerate(values) if v >= top - 1e-12]
    return best[0] if len(best) == 1 else random.Random(f"{seed}:{key}").choice(best)


def round_robin_points(item: Item, judge: Callable[[list[Example]], list]) -> list[float]:
    """Points per candidate: for each ordered pair (both orders), the probability it is the better one."""
    n = len(item.candidates)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    js = judge([pair_example(item, i, j) for i, j in pairs])
    points = [0.0] * n
    for (i, j), jd in zip(pairs, js, strict=True):
        p = _p_a(jd)
        points[i] += p
        points[j] += 1.0 - p
    return points


def pick(
    items: Sequence[Item], judge: Callable[[list[Example]], list], method: str, seed: int = 0
) -> list[dict]:
    """One row per item: the picked index and the per-candidate scores (points or expected ratings)."""
    if method not in ("pointwise", "pairwise"):
        raise ValueError(f"method must be pointwise or pairwise, not {method!r}")
    rows = []
    if method == "pointwise":
        examples = [point_example(it, i) for it in items for i in range(len(it.candidates))]
        js = iter(judge(examples))
        per_item = [[_score(next(js)) for _ in it.candidates] for it in items]
    else:
        per_item = [round_robin_points(it, judge) for it in items]
    for it, scores in zip(items, per_item, strict=True):
        k = argmax_seeded(scores, seed, it.id)
        row = {"id": it.id, "picked": k, "scores": scores}
        if it.grades is not None:
            row |= {"grade": it.grades[k], "random": float(np.mean(it.grades)), "oracle": max(it.grades)}
        rows.append(row)
    return rows


def evaluate_picks(
    rows: Sequence[dict], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Mean human grade of the picks, of a random pick and of the oracle, and picked − random, with CIs."""
    graded = [r for r in rows if "grade" in r]
    if not graded:
        return {}
    cols = {k: np.array([r[k] for r in graded], dtype=float) for k in ("grade", "random", "oracle")}
    cols["gain"] = cols["grade"] - cols["random"]
    out = {"n": len(graded)}
    for k in ("grade", "random", "oracle", "gain"):
        est = bootstrap(
            single(lambda c, k=k: float(np.mean(c[k]))), [cols], n_resamples=n_resamples, seed=seed
        )
        out[k] = {"value": est.value, "ci_low": est.low, "ci_high": est.high}
    return out


def run_rerank(
    rater_spec: str | Any,
    *,
    input: str | Path | None = None,
    dataset: str | None = None,
    method: str = "pairwise",
    out: str | Path | None = None,
    seed: int = 0,
    limit: int | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    cache: Any = None,
    batch_size: int = 8,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from flame.evaluate.harness import rate_examples, resolve_raters
    from flame.evaluate.results import jsonable

    log = log or (lambda m: None)
    problems: list[str] = []
    if (input is None) == (dataset is None):
        raise UsageError("give exactly one of --input FILE.jsonl or --dataset NAME")
    if input is not None:
        items, problems = load_items(input)
        for p in problems[:10]:
            log(f"skipped {p}")
    else:
        from flame.data.paths import data_root

        items = DATASETS[dataset](data_root())
    if limit is not None and limit < len(items):
        keep = sorted(random.Random(seed).sample(range(len(items)), limit))
        items = [items[i] for i in keep]
    if not items:
        raise UsageError("nothing to rerank: no usable rows")
    (rater,) = resolve_raters([rater_spec], baselines=False, options={})
    log(f"{rater.spec}: {method} reranking of {len(items)} items")
    rows = pick(
        items,
        lambda exs: rate_examples(rater, exs, cache=cache, batch_size=batch_size, progress=False),
        method,
        seed,
    )
    summary = {
        "rater": rater.spec,
        "method": method,
        "source": str(input or dataset),
        "items": len(items),
        "malformed_rows": len(problems),
        "evaluation": evaluate_picks(rows, n_resamples, seed),
        "seed": seed,
    }
    ev = summary["evaluation"]
    lines = [f"{rater.spec} {method}: {len(items)} items"]
    if ev:
        for k, label in (
            ("grade", "picked"),
            ("random", "random pick"),
            ("oracle", "oracle"),
            ("gain", "picked − random"),
        ):
            lines.append(
                f"  {label:<16} {ev[k]['value']:.3f} [{ev[k]['ci_low']:.3f}, {ev[k]['ci_high']:.3f}]"
            )
    summary["lines"] = lines
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "picks.jsonl", "w", encoding="utf-8") as f:
            for it, r in zip(items, rows, strict=True):
                f.write(
                    json.dumps(jsonable({**r, "candidate": it.candidates[r["picked"]]}), ensure_ascii=False)
                    + "\n"
                )
        (out / "rerank.json").write_text(json.dumps(jsonable(summary), indent=1))
        lines.append(f"wrote {out / 'picks.jsonl'}, {out / 'rerank.json'}")
    return summary
