"""`make demo`: the main job. Until training lands it builds the human-judgment collection, prints its
statistics (paper Figs. 3-4), the decontamination report, the mixtures, and one rendered example per task type."""

from __future__ import annotations

import sys
import time

from flame.cli import main as flame


def run() -> int:
    start = time.time()
    steps = [
        ["data", "build"],
        ["tasks", "stats", "--plot", "out/demo/collection_stats.png"],
        ["data", "check"],
        ["mixtures", "show", "flame_v1", "--samples", "20000"],
        ["data", "export", "flame_v1", "--split", "train", "--out", "out/demo/flame_v1_train.jsonl"],
    ]
    for step in steps:
        print(f"\n$ flame {' '.join(step)}", flush=True)
        code = flame(step)
        if code:
            return code
    print(f"\ndemo finished in {time.time() - start:.0f}s; outputs in out/demo/")
    return 0


if __name__ == "__main__":
    sys.exit(run())
