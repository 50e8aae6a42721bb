"""Rating throughput of the default rater, with and without prefix reuse, vs a naive generation loop, side by side.

    .venv/bin/python benchmarks/rater_throughput.py [--n 256] [--naive 32] [--chunk 32] [--swap]

Data: 256 held-out human pairwise judgments (MT-Bench human pairs, then FairEval pairs, from the data root:
``FLAME_DATA_DIR`` or ``../shared/data``, `flame.data.paths.data_root`), written as a benchmark file and read
with `load_benchmark_file`. Measurements in one process, on one CPU:
1. the peak FLOP/s of a large ``torch.matmul`` (fp32 and bf16), the yardstick;
2. ``flame`` scoring, twice: `runner.rate` with the smollm2 rater as it was before prefix reuse
   (``prefix_cache=False``: every row run whole) and as it is now (shared prefixes run once), each with a
   fresh cache (nothing reused) and ``--chunk`` examples per rater call;
3. the naive loop most judge scripts use: fp32, one example at a time, ``model.generate`` (greedy, 32 new
   tokens), parse the text, on the first ``--naive`` examples.
All three alternate in rounds (the two rater paths in turn first) so that they meet the same load from other
jobs on this shared machine; each gets one untimed warm-up call first.
Writes benchmarks/results/rater_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCES = [
    Path("mtbench_human_llmbar_processed") / "mtbench_human_pairs.json",
    Path("faireval_llmbar_processed") / "faireval_pairs.json",
]
RESULTS = Path(__file__).parent / "results" / "rater_throughput.json"


def sources() -> list[Path]:
    from flame.data.paths import data_root

    root = data_root()
    return [root / s for s in SOURCES]


def write_benchmark_file(n: int, path: Path) -> None:
    rows = []
    for src in sources():
        for i, x in enumerate(json.loads(src.read_text())):
            rows.append(
                {
                    "id": f"{src.stem}-{i}",
                    "prompt": x["input"],
                    "response_a": x["output_1"],
                    "response_b": x["output_2"],
                    "label": "AB"[int(x["label"]) - 1],
                }
            )
    with open(path, "w") as f:
        for row in rows[:n]:
            f.write(json.dumps(row) + "\n")


def matmul_peak(dtype, size: int = 2048, reps: int = 8) -> float | None:
    """Best FLOP/s of a ``size``³ matmul; None for bf16 where the CPU has no bf16 units (emulated, it takes
    minutes and measures nothing the rater uses: its default there is fp32)."""
    import torch

    from flame.raters.hf import bf16_supported

    if dtype == torch.bfloat16 and not bf16_supported():
        return None
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.matmul(a, b)
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            torch.matmul(a, b)
        best = max(best, 2 * size**3 * reps / (time.perf_counter() - t))
    return best


def model_flops(config, lengths: list[int]) -> float:
    """Forward FLOPs: 2 × non-embedding parameters per token + causal attention (QKᵀ and AV)."""
    h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    kv = h * config.num_key_value_heads // config.num_attention_heads
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * inter
    linear = 2 * per_layer * layers * sum(lengths)
    attention = 2 * 2 * layers * h * sum(n * n / 2 for n in lengths)
    return linear + attention


def tokens_run(rater, parts: list[list], chunk: int) -> tuple[int, int]:
    """(tokens of the whole rows, tokens the prefix path runs) for ``parts`` rated ``chunk`` examples per call as
    `runner.rate` deals them (longest rendering first), both orders with swap: what prefix reuse can save."""
    from flame.format import render_input
    from flame.raters.base import can_swap, swap_example
    from flame.scoring import plan_prefixes

    whole = run = 0
    for part in parts:
        part = sorted(part, key=lambda ex: -len(render_input(ex)))
        for start in range(0, len(part), chunk):
            call = part[start : start + chunk]
            if rater.swap:
                call = call + [swap_example(ex) for ex in call if can_swap(ex)]
            rows, _ = rater._scorer().causal_rows(call)
            groups = plan_prefixes([r.ids for r in rows], [min(p for p, _, _ in r.reads) for r in rows])
            whole += sum(len(r.ids) for r in rows)
            run += sum(len(r.ids) for r in rows) - sum((len(g.rows) - 1) * g.length for g in groups)
    return whole, run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256, help="examples through each rater path")
    ap.add_argument("--naive", type=int, default=32, help="examples through the naive loop")
    ap.add_argument("--batch-size", type=int, default=8, help="rows per forward pass")
    ap.add_argument("--chunk", type=int, default=32, help="examples per rater call (the runner's batch)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--swap", action="store_true", help="rate both orders of every pair")
    ap.add_argument("--dtype", default="auto", help="the rater's dtype (auto: its default here)")
    args = ap.parse_args()

    import torch

    from flame.data.files import load_benchmark_file
    from flame.format import parse_evaluation, render_label_prefix, render_prompt
    from flame.raters import load_rater
    from flame.raters.runner import rate, summarize

    tmp = Path(tempfile.mkdtemp(prefix="flame-bench-"))
    bench_file = tmp / "pairs.jsonl"
    write_benchmark_file(args.n, bench_file)
    examples = load_benchmark_file(bench_file).examples
    assert len(examples) == args.n, len(examples)

    peak = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"matmul peak (GFLOP/s): { {k: v and round(v / 1e9) for k, v in peak.items()} }", flush=True)

    t = time.perf_counter()
    options = {"batch_size": args.batch_size, "swap": args.swap, "dtype": args.dtype}
    raters = {
        "today": load_rater("smollm2", prefix_cache=False, **options),  # every row run whole
        "prefix": load_rater("smollm2", prefix_cache=True, **options),  # shared prefixes run once
    }
    load_s = time.perf_counter() - t
    rater = raters["prefix"]
    assert raters["today"].cache_identity() == rater.cache_identity()  # exact: the same judgment cache key
    lengths = []
    truncated = 0
    for ex in examples:
        _, ids, tr = rater.fit(ex, render_label_prefix, rater.max_length - 1)
        lengths.append(len(ids))
        truncated += tr
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # The naive loop: fp32 weights, one example at a time, generate then parse.
    tok = AutoTokenizer.from_pretrained(rater.model_path)
    model = AutoModelForCausalLM.from_pretrained(rater.model_path).eval()
    naive = examples[: args.naive]

    def naive_judge(ex) -> tuple[str | None, int]:
        enc = tok(render_prompt(ex), return_tensors="pt", truncation=True, max_length=1024 - 32)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=32, do_sample=False, pad_token_id=tok.eos_token_id)
        text = tok.decode(out[0, enc.input_ids.shape[1] :], skip_special_tokens=True)
        answer = parse_evaluation(text, ex.output_fields, ex.labels).fields.get("answer")
        return answer, enc.input_ids.shape[1]

    # Warm-up, untimed, for all: the first forward of each method pays one-off kernel setup (seconds
    # on this CPU), which belongs to loading, not to the per-judgment cost being compared.
    warm = examples[-2:]
    for r in raters.values():
        r.judge(warm)
    naive_judge(warm[0])

    # Side by side: the machine is shared with other jobs whose load comes and goes, so the methods
    # alternate in rounds (a slice through each rater path, which goes first alternating, then a few
    # naive examples), and all see the same load. Each rater round is a complete `rate` call (its own
    # length-sorted calls of --chunk examples).
    rounds = max(1, min(args.rounds, args.n))
    per_rater, per_naive = -(-args.n // rounds), -(-len(naive) // rounds)
    seconds = {name: 0.0 for name in raters}
    judgments = {name: [] for name in raters}
    naive_preds, naive_times, naive_tokens = [], [], 0
    for k in range(rounds):
        part = examples[k * per_rater : (k + 1) * per_rater]
        names = list(raters) if k % 2 == 0 else list(raters)[::-1]
        for name in names:
            t = time.perf_counter()
            result = rate(
                part, raters[name], cache=tmp / f"{name}.sqlite", batch_size=args.chunk, progress=False
            )
            seconds[name] += time.perf_counter() - t
            judgments[name] += result.judgments
        for ex in naive[k * per_naive : (k + 1) * per_naive]:
            t = time.perf_counter()
            pred, n_tok = naive_judge(ex)
            naive_times.append(time.perf_counter() - t)
            naive_preds.append(pred)
            naive_tokens += n_tok
        done = len(judgments["today"])
        print(
            f"round {k + 1}/{rounds}: {done} rated, today {seconds['today']:.1f}s, prefix reuse "
            f"{seconds['prefix']:.1f}s, naive {len(naive_times)} in {sum(naive_times):.1f}s, "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    # The yardstick again at the end: the machine is shared, so the peak is the better of the two readings.
    peak_end = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    peak_start = dict(peak)
    peak = {k: peak[k] and max(peak[k], peak_end[k]) for k in peak}
    naive_s = sum(naive_times)
    naive_rate = len(naive) / naive_s
    rates = {name: args.n / seconds[name] for name in raters}
    flops = model_flops(rater.model.config, lengths) * (2 if args.swap else 1)
    used_peak = peak["bf16" if rater.dtype in ("bf16", "autocast") else "fp32"]
    diffs = [
        abs(a.probs[lab] - b.probs[lab])
        for a, b in zip(judgments["today"], judgments["prefix"], strict=True)
        for lab in a.probs
    ]
    whole_tokens, run_tokens = tokens_run(
        rater, [examples[k * per_rater : (k + 1) * per_rater] for k in range(rounds)], args.chunk
    )
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

    def path_figures(name: str) -> dict:
        return {
            "seconds": seconds[name],
            "judgments_per_s": rates[name],
            "prompt_tokens_per_s": sum(lengths) * (2 if args.swap else 1) / seconds[name],
            # FLOPs of the whole rows: for the prefix path, the equivalent work per second it replaces.
            "whole_row_flops_per_s": flops / seconds[name],
            "fraction_of_matmul_peak": flops / seconds[name] / used_peak if used_peak else None,
            "summary": summarize(examples, judgments[name]),
        }

    out = {
        "command": "benchmarks/rater_throughput.py " + " ".join(sys.argv[1:]),
        "data": {"n": args.n, "sources": [str(s) for s in sources()], "naive_n": len(naive)},
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads()},
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__},
        "git_commit": commit,
        "matmul_peak_flops": peak,
        "matmul_peak_flops_start_end": [peak_start, peak_end],
        "load_average_end": list(os.getloadavg()),
        "rater": {
            "rater": "smollm2",
            "dtype": rater.dtype,
            "swap": args.swap,
            "batch_size": args.batch_size,
            "chunk": args.chunk,
            "max_length": rater.max_length,
            "load_s": load_s,
            "prompt_tokens": sum(lengths),
            "truncated": truncated,
            "model_flops": flops,
            "row_tokens": whole_tokens,
            "row_tokens_run_with_prefix_reuse": run_tokens,
        },
        "today": path_figures("today"),
        "prefix": path_figures("prefix"),
        "probs_max_abs_diff_prefix_vs_today": max(diffs),
        "naive": {
            "method": "fp32, one example at a time, model.generate(max_new_tokens=32, greedy), parse",
            "seconds": naive_s,
            "seconds_per_example": naive_times,
            "judgments_per_s": naive_rate,
            "prompt_tokens": naive_tokens,
            "parse_failures": sum(p is None for p in naive_preds),
        },
        "speedup_prefix_vs_today": rates["prefix"] / rates["today"],
        "speedup_prefix_vs_naive": rates["prefix"] / naive_rate,
        "speedup_today_vs_naive": rates["today"] / naive_rate,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k.startswith(("speedup", "probs"))}))


if __name__ == "__main__":
    main()
