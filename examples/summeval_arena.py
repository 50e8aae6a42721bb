"""SummEval's 16 systems ranked by a judge's pairwise verdicts, against their ranking by expert scores.

    .venv/bin/python examples/summeval_arena.py --rater length --out runs/summeval_arena
    .venv/bin/python examples/summeval_arena.py --rater smollm2 --aspect relevance --articles 30 \\
        --max-pairs-per-prompt 20 --out runs/summeval_arena_smollm2

Each of SummEval's 100 CNN/DM articles has one summary per system (``summary_id`` S0..S15) and three experts'
1-5 scores per aspect, averaged. The articles become `flame arena` rows (prompt: the article; responses: the
16 summaries), judged pairwise in both orders; the judge's Bradley–Terry strengths are compared with the
systems' mean expert score by Kendall's tau, with a bootstrap 95% CI that resamples articles (the same draw
for the judge's fit and the human means, so the interval holds both sources of noise).

SummEval is held out: this writes a final table (``summeval_tau.md``, ``summeval_tau.json``) and is never
used to choose a recipe.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from flame.cliargs import NON_NEGATIVE_INT, POSITIVE_INT
from flame.data.paths import data_root
from flame.data.sources import Record
from flame.data.task import get_task, load_all_tasks
from flame.evaluate import bradley_terry as bt
from flame.evaluate.arena import run_arena
from flame.raters import load_rater
from flame.tasks.summeval import ASPECTS

PROMPT = "Summarize the following news article.\n\n{article}"


def arena_rows(aspect: str, articles: int | None) -> tuple[list[dict], dict[str, dict[str, float]]]:
    """Arena rows (one per article) and the expert score of each (article, system), from the registered task."""
    load_all_tasks()
    task = get_task(f"summeval_{aspect}_pointwise_v1")
    by_article: dict[str, dict] = {}
    human: dict[str, dict[str, float]] = defaultdict(dict)
    for rec in task.source.records(data_root()):
        if not isinstance(rec, Record):
            continue  # a malformed record: the task's own loader reports it
        d = rec.data
        row = by_article.setdefault(
            d["article_id"],
            {"id": d["article_id"], "prompt": PROMPT.format(article=d["article"]), "responses": {}},
        )
        row["responses"][d["summary_id"]] = d["summary"]
        human[d["article_id"]][d["summary_id"]] = float(d[aspect])
    rows = list(by_article.values())[:articles]
    return rows, {r["id"]: human[r["id"]] for r in rows}


def system_scores(
    groups: list[str], human: dict[str, dict[str, float]], systems: list[str], weights
) -> np.ndarray:
    totals, counts = np.zeros(len(systems)), np.zeros(len(systems))
    for g, w in zip(groups, weights, strict=True):
        for k, s in enumerate(systems):
            if s in human[g]:
                totals[k] += w * human[g][s]
                counts[k] += w
    with np.errstate(invalid="ignore"):
        return totals / counts


def tau_with_ci(pairs: list[dict], human, systems, n_resamples: int, seed: int) -> dict:
    """Kendall's tau between BT strengths and mean expert scores; percentile CI over resampled articles."""
    groups = sorted(human)
    gindex = {g: k for k, g in enumerate(groups)}
    sindex = {s: k for k, s in enumerate(systems)}
    ok = [p for p in pairs if p.get("points_a") is not None]
    v = bt.Verdicts.from_rows(
        [(sindex[p["system_a"]], sindex[p["system_b"]], p["points_a"], gindex[p["row"]]) for p in ok]
    )
    n = len(systems)

    def tau(weights_by_group: np.ndarray) -> float:
        w, g = bt.win_counts(v, n, weights_by_group[v.group])
        theta = bt.fit(w, g)
        return kendalltau(theta, system_scores(groups, human, systems, weights_by_group)).statistic

    value = tau(np.ones(len(groups)))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_resamples):
        counts = np.bincount(rng.integers(0, len(groups), len(groups)), minlength=len(groups)).astype(float)
        draws.append(tau(counts))
    low, high = np.nanquantile(draws, [0.025, 0.975])
    return {
        "tau": float(value),
        "low": float(low),
        "high": float(high),
        "n_resamples": n_resamples,
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rater", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--aspect", choices=sorted(ASPECTS), default="relevance")
    p.add_argument(
        "--articles", type=POSITIVE_INT, default=None, help="the first N articles (default all 100)"
    )
    p.add_argument("--max-pairs-per-prompt", type=POSITIVE_INT, default=None, help="default: all 120 pairs")
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0)
    p.add_argument("--resamples", type=POSITIVE_INT, default=1000)
    p.add_argument("--cache", default=None)
    p.add_argument("--batch-size", type=POSITIVE_INT, default=8)
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, human = arena_rows(args.aspect, args.articles)
    source = out / "arena_input.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    aspect_text = ASPECTS[args.aspect]
    result = run_arena(
        load_rater(args.rater, swap=True, seed=args.seed),
        source,
        out,
        cache=args.cache,
        seed=args.seed,
        n_resamples=args.resamples,
        max_pairs_per_prompt=args.max_pairs_per_prompt,
        criterion=(
            f"In this task, you will be shown a news article and two summaries of it, Response A and Response B. "
            f"Decide which summary has the better {args.aspect}, that is {aspect_text}."
        ),
        batch_size=args.batch_size,
        log=lambda m: print(m, file=sys.stderr),
    )
    systems = [s["system"] for s in result.systems]
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    stat = tau_with_ci(pairs, human, systems, args.resamples, args.seed)
    means = system_scores(sorted(human), human, systems, np.ones(len(human)))
    human_rank = {s: k for k, s in enumerate(sorted(systems, key=lambda s: -means[systems.index(s)]), 1)}
    lines = [
        f"# SummEval {args.aspect}: {result.summary['rater']} pairwise vs expert scores",
        "",
        f"{len(rows)} articles, {len(systems)} systems, {result.summary['n_pairs']} pairs in both orders; "
        f"Kendall tau = {stat['tau']:.3f} [{stat['low']:.3f}, {stat['high']:.3f}] (95% bootstrap CI over "
        f"articles, {args.resamples} resamples, seed {args.seed}). Held out: a final table, not for model choice.",
        "",
        "| judge rank | system | BT strength | 95% CI | expert mean | expert rank |",
        "|---:|---|---:|---|---:|---:|",
    ]
    for s, m in zip(result.systems, means, strict=True):
        lines.append(
            f"| {s['rank']} | {s['system']} | {s['strength']:.2f} | [{s['low']:.2f}, {s['high']:.2f}] "
            f"| {m:.3f} | {human_rank[s['system']]} |"
        )
    (out / "summeval_tau.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = {
        "aspect": args.aspect,
        "rater": result.summary["rater"],
        "kendall_tau": stat,
        "arena": result.summary,
    }
    doc["systems"] = [{**s, "expert_mean": float(m)} for s, m in zip(result.systems, means, strict=True)]
    (out / "summeval_tau.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
