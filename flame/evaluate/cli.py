"""`flame eval`, `flame bias`, `flame report`, `flame rerank`: thin handlers over flame.evaluate.

Wired into flame/cli.py with one call: ``register(sub)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flame.cliargs import NON_NEGATIVE_INT, POSITIVE_INT, TOKEN_BUDGET
from flame.errors import CliError
from flame.evaluate.arena import add_arena_parser
from flame.evaluate.gates import GATE_FAILED, check, parse_gate


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _rater_options(args) -> dict:
    # --batch-size is the harness's own argument, not a rater option.
    return {
        key: value for key in ("max_length", "threads") if (value := getattr(args, key, None)) is not None
    }


def _benchmark_items(args) -> list[str | Path]:
    # --file values travel as Paths: a file, whatever its name; --benchmark values stay names
    # (rewardbench=rb.jsonl is RewardBench read from rb.jsonl).
    items = [*(args.suite or []), *(args.benchmark or []), *(Path(f) for f in args.file or [])]
    if not items:
        raise CliError("name what to evaluate: --suite NAME, --benchmark NAME or --file FILE.jsonl")
    return items


def _gated(reasons: list[str]) -> int:
    # One line per failed gate, then exit 3 (2 stays usage and input errors; see flame.evaluate.gates).
    for line in reasons:
        print(f"flame: {line}", file=sys.stderr)
    return GATE_FAILED if reasons else 0


def eval_gates(args, results) -> list[str]:
    """--fail-below on the point estimate of each benchmark's primary metric, for the --rater raters."""
    given = args.rater or ["smollm2"]
    specs = results.rater_specs()[: len(given)]  # the harness puts the --rater raters first, baselines after
    names = [b["name"] for b in results.benchmarks]
    values = {}
    for r in specs:
        for b in names:
            entry = results.get(r, b)
            if entry is not None:
                values[(r, b)] = entry.value
    aliases = dict(zip(given, specs, strict=True))
    return check(args.fail_below, values, specs, names, direction="below", what="benchmark", aliases=aliases)


def paired_lines(paired) -> list[str]:
    """One line per (rater pair, benchmark): A − B [95% CI], and McNemar's p raw and Holm-adjusted with the
    size of the family it was adjusted over; `` *`` marks a significant difference."""
    lines = []
    for p in paired:
        ci = "" if p.ci_low != p.ci_low else f" [{p.ci_low:+.3f}, {p.ci_high:+.3f}]"
        test = (
            f"  McNemar p={p.p:.3g}, Holm p={p.p_holm:.3g} (family {p.family})  halves={p.halves}"
            if p.test
            else "  (CI only)"
        )
        mark = " *" if p.significant() else ""
        diff = "–" if p.difference != p.difference else f"{p.difference:+.3f}"  # NaN: undefined for one
        lines.append(f"{p.rater_a} − {p.rater_b}  {p.benchmark} {p.metric}  {diff}{ci}{test}{mark}")
    return lines


def cmd_eval(args) -> int:
    from flame.evaluate.harness import evaluate

    results = evaluate(
        args.rater or ["smollm2"],
        _benchmark_items(args),
        out=args.out,
        limit=args.limit,  # None: the default cap, which benchmarks scored whole (RewardBench) ignore
        full=args.full,
        seed=args.seed,
        n_resamples=args.resamples,
        swap=args.swap,
        ties=args.ties,
        cache=args.cache,
        baselines=not args.no_baselines,
        allow_overlap=args.allow_overlap,
        batch_size=args.batch_size,
        progress=not args.quiet,
        rater_options=_rater_options(args),
        log=None if args.quiet else _log,
    )
    from flame.evaluate.report import summary_rows

    for row in summary_rows(results):
        cells = "  ".join(
            f"{r}={row['cells'][r].value:.3f}" if row["cells"].get(r) else f"{r}=–"
            for r in results.rater_specs()
        )
        print(f"{row['label']:<32} {row['metric']:<18} {cells}")
    for line in paired_lines(results.paired):
        print(line)
    print(f"wrote {Path(args.out) / 'results.json'}, report.md, report.html, plots/")
    return _gated(eval_gates(args, results)) if args.fail_below else 0


def bias_gates(args, report) -> list[str]:
    """--fail-above on each probe's headline rate (the value bias.md prints), for the --rater rater only:
    the random reference the command adds is never gated."""
    spec = report["config"]["rater"]
    rows = [r for r in report["rows"] if r["rater"] == spec]
    values = {(r["rater"], r["probe"]): r["value"] for r in rows}
    names = list(dict.fromkeys(r["probe"] for r in rows))
    return check(
        args.fail_above, values, [spec], names, direction="above", what="probe", aliases={args.rater: spec}
    )


def cmd_bias(args) -> int:
    from flame.evaluate.bias import run_bias

    report = run_bias(
        args.rater,
        _benchmark_items(args),
        out=args.out,
        limit=args.limit,
        seed=args.seed,
        n_resamples=args.resamples,
        cache=args.cache,
        batch_size=args.batch_size,
        probes=args.probe,
        log=_log,
    )
    for row in report["rows"]:
        print(
            f"{row['rater']:<16} {row['probe']:<14} {row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] "
            f"n={row['n']}  shift={row['shift']:+.3f}"
        )
    if args.out:
        print(f"wrote {Path(args.out) / 'bias.json'}, bias.md, plots/bias.png")
    return _gated(bias_gates(args, report)) if args.fail_above else 0


def cmd_report(args) -> int:
    from flame.evaluate.report import rebuild

    written = rebuild(args.dirs, out=args.out)
    print("wrote " + ", ".join(str(p) for p in written.values()))
    return 0


def cmd_rerank(args) -> int:
    from flame.evaluate.rerank import run_rerank

    summary = run_rerank(
        args.rater,
        input=args.input,
        dataset=args.dataset,
        method=args.method,
        out=args.out,
        seed=args.seed,
        limit=args.limit,
        n_resamples=args.resamples,
        cache=args.cache,
        batch_size=args.batch_size,
        log=_log,
    )
    for line in summary.get("lines", []):
        print(line)
    return 0


def parse_probe_gate(text: str):
    """A --fail-above gate whose probe is checked against the registry now (exit 2, with suggestions)."""
    import argparse

    from flame.evaluate.bias import PROBES
    from flame.evaluate.gates import EVERY
    from flame.registry import UnknownNameError

    gate = parse_gate(text)
    if gate.name != EVERY:
        try:
            PROBES.get(gate.name)
        except UnknownNameError as e:
            raise argparse.ArgumentTypeError(f"gate {text!r}: {e}") from None
    return gate


def _common(p, rater_many: bool = True) -> None:
    if rater_many:
        p.add_argument(
            "--rater", action="append", help="rater spec (repeatable): smollm2, hf:PATH, run:DIR, length ..."
        )
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0, help="sampling, tie-break and bootstrap seed")
    p.add_argument(
        "--resamples", type=POSITIVE_INT, default=1000, help="bootstrap resamples for the 95%% CIs"
    )
    p.add_argument(
        "--cache", default=None, help="judgment cache (SQLite; default FLAME_CACHE/judgments.sqlite)"
    )
    p.add_argument("--batch-size", type=POSITIVE_INT, default=8)


def _data_args(p) -> None:
    p.add_argument("--suite", action="append", help="heldout_v1, heldin_v1 or all")
    p.add_argument(
        "--benchmark",
        action="append",
        help="a benchmark name (rewardbench=PATH, llm_aggrefact=PATH too; PATH: JSON, JSONL or Parquet)",
    )
    p.add_argument("--file", action="append", help="a benchmark JSONL file (repeatable)")


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate raters on benchmarks: metrics with CIs and reports")
    _common(p)
    _data_args(p)
    p.add_argument("--out", required=True, help="output folder (results.json, predictions.jsonl, reports)")
    p.add_argument(
        "--limit",
        type=POSITIVE_INT,
        default=None,
        help="seeded examples per task, for every benchmark (default 256, which benchmarks scored whole, "
        "such as RewardBench, are exempt from)",
    )
    p.add_argument("--full", action="store_true", help="every example (no cap)")
    p.add_argument("--swap", action="store_true", help="judge pairwise examples in both orders (consistency)")
    p.add_argument(
        "--ties", choices=["exclude", "include"], default="exclude", help="gold ties in pairwise accuracy"
    )
    p.add_argument("--no-baselines", action="store_true", help="leave out the length and random baselines")
    p.add_argument(
        "--allow-overlap", action="store_true", help="flag, not refuse, benchmark/training overlap"
    )
    p.add_argument("--max-length", type=TOKEN_BUDGET, default=None)
    p.add_argument("--threads", type=POSITIVE_INT, default=None)
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--fail-below",
        action="append",
        type=parse_gate,
        default=[],
        metavar="[RATER@]BENCHMARK=THRESHOLD",
        help="exit 3 when a --rater rater's primary metric (point estimate) on BENCHMARK (all: every "
        "benchmark) is below THRESHOLD (repeatable; the added baselines are never gated)",
    )
    p.set_defaults(func=cmd_eval)

    p = subparsers.add_parser("bias", help="bias probes (order, length, bandwagon ...) with CIs")
    _common(p, rater_many=False)
    p.add_argument("--rater", required=True)
    _data_args(p)
    p.add_argument("--probe", action="append", help="run only these probes (repeatable)")
    p.add_argument("--limit", type=POSITIVE_INT, default=128, help="pairwise examples per task")
    p.add_argument("--out", default=None)
    p.add_argument(
        "--fail-above",
        action="append",
        type=parse_probe_gate,
        default=[],
        metavar="[RATER@]PROBE=THRESHOLD",
        help="exit 3 when the rater's bias rate on PROBE (all: every probe), as bias.md prints it, is above "
        "THRESHOLD (repeatable; the random reference is never gated)",
    )
    p.set_defaults(func=cmd_bias)

    p = subparsers.add_parser("report", help="rebuild report.md/report.html from results; compare runs")
    p.add_argument("dirs", nargs="+", help="run folders holding results.json")
    p.add_argument("--out", default=None, help="where to write (required when comparing runs)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser(
        "rerank", help="best-of-N selection by pointwise scores or a pairwise round robin"
    )
    _common(p, rater_many=False)
    p.add_argument("--rater", required=True)
    p.add_argument("--input", default=None, help="JSONL rows: prompt, candidates, optional grades")
    p.add_argument(
        "--dataset",
        default=None,
        choices=["codegen_human_grades", "wqrm_writing_quality", "squality_human_eval"],
        help="evaluate on shared data with human grades instead of --input",
    )
    p.add_argument("--method", choices=["pointwise", "pairwise"], default="pairwise")
    p.add_argument("--limit", type=POSITIVE_INT, default=None, help="items (prompts) to rerank")
    p.add_argument("--out", default=None, help="write picks (JSONL) and summary here")
    p.set_defaults(func=cmd_rerank)

    add_arena_parser(subparsers)  # flame arena: rank systems by a judge's pairwise verdicts
