"""Would zero-shot SmolLM2 win the factual column too, given the same dev-fitted label biases as FLAMe-mini?

FLAMe-mini's factual gain in the demo (EXPERIMENTS.md E13) came from where its Yes/No line lies (label biases
fitted on dev rows, `flame.encoder.calibration`), not from a better ranking: on SummaC its P(Yes) ranks the
rows worse than zero-shot SmolLM2's. The fair comparison fits the same kind of bias for SmolLM2, on the same
dev rows of the training tasks, and applies it to the probabilities SmolLM2 gave the held-out rows in the
demo (read from its predictions file; no held-out row is judged again, none is used to fit anything).

    python benchmarks/label_bias_any_rater.py --predictions out/demo/eval/predictions.jsonl --rows 32

Prints, per rater in the predictions file with a fitted bias: SummaC balanced accuracy per subset and their
mean, raw and with the bias. Minutes: SmolLM2 judges ~2 dev rows per second on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from flame.encoder.calibration import apply_bias, dev_examples, fit_label_biases, row_kind
from flame.raters import load_rater

SOURCE_KIND = ("classification", ("Yes", "No"), True)  # SummaC rows: a document and a summary


def balanced_accuracy(labels: list[str], predictions: list[str]) -> float:
    per_label = defaultdict(list)
    for y, p in zip(labels, predictions, strict=True):
        per_label[y].append(p == y)
    return sum(sum(v) / len(v) for v in per_label.values()) / len(per_label)


def summac_scores(rows: list[dict], bias=None) -> dict[str, float]:
    by_subset = defaultdict(list)
    for r in rows:
        probs = apply_bias(r["probs"], bias) if bias else r["probs"]
        by_subset[r["subset"]].append((r["label"], max(probs, key=probs.get)))
    scores = {s: balanced_accuracy(*map(list, zip(*v, strict=True))) for s, v in sorted(by_subset.items())}
    scores["mean"] = sum(scores.values()) / len(scores)
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--predictions", type=Path, required=True, help="a `flame eval` predictions.jsonl")
    ap.add_argument("--rater", default="smollm2", help="the rater to fit (as named in the predictions)")
    ap.add_argument("--rows", type=int, default=32, help="dev rows per classification training task")
    ap.add_argument("--max-length", type=int, default=512, help="as in the demo's eval")
    args = ap.parse_args()

    rows = [json.loads(line) for line in args.predictions.open()]
    summac = [r for r in rows if r["benchmark"] == "summac" and r["rater"] == args.rater and r["probs"]]
    examples = [e for e in dev_examples(None, args.rows) if row_kind(e) == SOURCE_KIND]
    rater = load_rater(args.rater, max_length=args.max_length)
    start = time.monotonic()
    judged = rater.judge(examples)
    probs = [j.probs for j in judged]
    keep = [i for i, p in enumerate(probs) if p]
    biases = fit_label_biases([examples[i] for i in keep], [probs[i] for i in keep])
    bias = next((b for b in biases if b.kind == SOURCE_KIND), None)
    print(f"{args.rater}: judged {len(examples)} dev rows in {time.monotonic() - start:.0f} s")
    print(f"bias for Yes/No rows with a source: {bias}")
    for name, b in (("raw", None), ("with the dev-fitted bias", bias)):
        scores = summac_scores(summac, b)
        print(f"SummaC {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
