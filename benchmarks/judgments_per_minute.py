"""Judgments learned per CPU minute: how many distinct human judgments a run trained on, per minute.

    python benchmarks/judgments_per_minute.py runs/flame_mini runs/flame_mini_frozen ...

Reads each run's ``run.json`` and ``metrics.jsonl`` (nothing is rerun) and prints, side by side:
- the recipe (``train.backbone``: trained = fine-tuned, frozen = encode once, train the heads);
- distinct rows trained on (a frozen run counts them exactly; a fine-tuned run draws with replacement
  from its mixture, so its examples seen are an upper bound, nearly all distinct at these sizes);
- rows encoded per minute (a fine-tuned run encodes every row it trains on, with a backward pass);
- row visits per minute (a frozen run's heads see every row ``epochs`` times);
- tokens per example in its rows (a pair's two rows together), and the tokens of its fields embedded
  alone (``model.fields: alone``; none with ``spans``, which pools the fields out of the rows).
A frozen run whose rows came from the feature cache is marked: its encoding rate is the cache's.
Minutes are the run's own wall clock (a fine-tuned run: its training loop; a frozen run: drawing,
tokenizing, encoding and fitting the heads), without the label-bias fit both do afterwards.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def run_figures(run_dir: Path) -> dict:
    meta = json.loads((run_dir / "run.json").read_text())
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip()]
    if meta.get("backbone") == "frozen":
        minutes = max(x.get("minutes", 0.0) for x in lines if "loss" in x)  # before the label-bias fit
        rows = meta["distinct_rows"]
        return {
            "recipe": f"frozen ({meta.get('instructions', 'full')} rows, {meta.get('fields', 'alone')} fields)",
            "distinct_rows": rows,
            "minutes": minutes,
            "encoded_per_min": rows / meta["encode_minutes"],
            "visits_per_min": rows * meta["epochs"] / minutes,
            "tokens_per_row": meta.get("row_tokens", float("nan")),
            "field_tokens": meta.get("field_tokens", float("nan")),
            "from_cache": meta.get("vectors_read", 0) > 0,
        }
    last = [x for x in lines if "examples_seen" in x][-1]
    minutes = last["elapsed_s"] / 60
    seen = last["examples_seen"]
    return {
        "recipe": "fine-tuned",
        "distinct_rows": seen,
        "minutes": minutes,
        "encoded_per_min": seen / minutes,
        "visits_per_min": seen / minutes,
        "tokens_per_row": last["tokens_seen"] / seen,
        "field_tokens": float("nan"),  # the trained recipe does not log them
        "from_cache": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    print(
        "| run | recipe | distinct rows | minutes | rows encoded / min | row visits / min | tokens / example "
        "| field tokens / example |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        f = run_figures(run)
        print(
            f"| {run} | {f['recipe']} | {f['distinct_rows']:,} | {f['minutes']:.1f} | "
            f"{f['encoded_per_min']:,.0f}{' (cache)' if f['from_cache'] else ''} | {f['visits_per_min']:,.0f} | "
            f"{f['tokens_per_row']:.0f} | {f['field_tokens']:.0f} |"
        )


if __name__ == "__main__":
    main()
