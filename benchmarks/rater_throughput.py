"""Rating throughput of the default rater vs a naive one-example-at-a-time generation loop, side by side.

    .venv/bin/python benchmarks/rater_throughput.py [--n 256] [--naive 32]

Data: 256 held-out human pairwise judgments (MT-Bench human pairs, then FairEval pairs), written as a
benchmark file and read with `load_benchmark_file`. Three measurements in one process, on one CPU:
1. the peak FLOP/s of a large ``torch.matmul`` (fp32 and bf16), the yardstick;
2. ``flame`` scoring: `runner.rate` with the smollm2 rater (fresh cache: nothing reused);
3. the naive loop most judge scripts use: fp32, one example at a time, ``model.generate`` (greedy, 32 new
   tokens), parse the text, on the first ``--naive`` examples.
2 and 3 alternate in rounds so that both meet the same load from other jobs on this shared machine; each
gets one untimed warm-up call first.
Writes benchmarks/results/rater_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

DATA = Path("/work/shared/data")
SOURCES = [
    DATA / "mtbench_human_llmbar_processed" / "mtbench_human_pairs.json",
    DATA / "faireval_llmbar_processed" / "faireval_pairs.json",
]
RESULTS = Path(__file__).parent / "results" / "rater_throughput.json"


def write_benchmark_file(n: int, path: Path) -> None:
    rows = []
    for src in SOURCES:
        for i, x in enumerate(json.loads(Path(src).read_text())):
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


def matmul_peak(dtype, size: int = 2048, reps: int = 8) -> float:
    import torch

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--naive", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()

    import torch

    from flame.data.files import load_benchmark_file
    from flame.format import parse_evaluation, render_label_prefix, render_prompt
    from flame.raters import load_rater
    from flame.raters.runner import rate

    tmp = Path(tempfile.mkdtemp(prefix="flame-bench-"))
    bench_file = tmp / "pairs.jsonl"
    write_benchmark_file(args.n, bench_file)
    examples = load_benchmark_file(bench_file).examples
    assert len(examples) == args.n, len(examples)

    peak = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(
        f"matmul peak: fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s",
        flush=True,
    )

    t = time.perf_counter()
    rater = load_rater("smollm2", batch_size=args.batch_size)
    load_s = time.perf_counter() - t
    lengths = []
    truncated = 0
    for ex in examples:
        _, ids, tr = rater.fit(ex, render_label_prefix, rater.max_length - 1)
        lengths.append(len(ids))
        truncated += tr
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flame.raters.runner import summarize

    # The naive loop: fp32 weights, one example at a time, generate then parse.
    tok = AutoTokenizer.from_pretrained(rater.model_path)
    model = AutoModelForCausalLM.from_pretrained(rater.model_path).eval()
    naive = examples[: args.naive]

    def naive_judge(ex) -> tuple[str | None, int]:
        enc = tok(render_prompt(ex), return_tensors="pt", truncation=True, max_length=1024 - 32)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=32, do_sample=False, pad_token_id=tok.eos_token_id)
        text = tok.decode(out[0, enc.input_ids.shape[1] :], skip_special_tokens=True)
        return parse_evaluation(text, ex.output_fields, ex.labels).fields.get("answer"), enc.input_ids.shape[
            1
        ]

    # Warm-up, untimed, for both: the first forward of each method pays one-off kernel setup (seconds
    # on this CPU), which belongs to loading, not to the per-judgment cost being compared.
    warm = examples[-1]
    rater.judge([warm])
    naive_judge(warm)

    # Side by side: the machine is shared with other jobs whose load comes and goes, so the two methods
    # alternate in rounds (32 examples through flame, then 4 through the naive loop), and both see the
    # same load. Each flame round is a complete `rate` call (its own length-sorted batches).
    rounds = max(1, args.naive and -(-args.n // 32))
    per_flame, per_naive = -(-args.n // rounds), -(-len(naive) // rounds)
    rate_s, judgments = 0.0, []
    naive_preds, naive_times, naive_tokens = [], [], 0
    for r in range(rounds):
        t = time.perf_counter()
        part = rate(
            examples[r * per_flame : (r + 1) * per_flame],
            rater,
            cache=tmp / "cache.sqlite",
            batch_size=args.batch_size,
            progress=False,
        )
        rate_s += time.perf_counter() - t
        judgments += part.judgments
        for ex in naive[r * per_naive : (r + 1) * per_naive]:
            t = time.perf_counter()
            pred, n_tok = naive_judge(ex)
            naive_times.append(time.perf_counter() - t)
            naive_preds.append(pred)
            naive_tokens += n_tok
        print(
            f"round {r + 1}/{rounds}: flame {len(judgments)} in {rate_s:.1f}s, naive {len(naive_times)} in "
            f"{sum(naive_times):.1f}s, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    summary = summarize(examples, judgments)
    flops = model_flops(rater.model.config, lengths)
    sums = [sum(j.probs.values()) for j in judgments]
    # The yardstick again at the end: the machine is shared, so the peak is the better of the two readings.
    peak_end = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    peak_start = dict(peak)
    peak = {k: max(peak[k], peak_end[k]) for k in peak}
    naive_s = sum(naive_times)
    naive_rate = len(naive) / naive_s
    flame_rate = args.n / rate_s
    used_peak = peak[rater.dtype]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = {
        "data": {"n": args.n, "sources": [str(s) for s in SOURCES], "naive_n": len(naive)},
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads()},
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__},
        "git_commit": commit,
        "matmul_peak_flops": peak,
        "matmul_peak_flops_start_end": [peak_start, peak_end],
        "load_average_end": list(os.getloadavg()),
        "flame": {
            "rater": "smollm2",
            "dtype": rater.dtype,
            "batch_size": args.batch_size,
            "max_length": rater.max_length,
            "load_s": load_s,
            "seconds": rate_s,
            "judgments_per_s": flame_rate,
            "prompt_tokens": sum(lengths),
            "tokens_per_s": sum(lengths) / rate_s,
            "truncated": truncated,
            "model_flops": flops,
            "flops_per_s": flops / rate_s,
            "fraction_of_matmul_peak": flops / rate_s / used_peak,
            "fraction_of_fp32_matmul_peak": flops / rate_s / peak["fp32"],
            "probs_sum_max_abs_err": max(abs(s - 1) for s in sums),
            "summary": summary,
        },
        "naive": {
            "method": "fp32, one example at a time, model.generate(max_new_tokens=32, greedy), parse",
            "seconds": naive_s,
            "seconds_per_example": naive_times,
            "judgments_per_s": naive_rate,
            "prompt_tokens": naive_tokens,
            "parse_failures": sum(p is None for p in naive_preds),
            "agreement_with_flame": sum(
                p == j.prediction for p, j in zip(naive_preds, judgments[: len(naive)], strict=False)
            )
            / len(naive),
        },
        "speedup": flame_rate / naive_rate,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("speedup",)}), out["flame"]["fraction_of_matmul_peak"])


if __name__ == "__main__":
    main()
