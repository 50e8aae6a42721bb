"""`flame rate` and `flame cache`: thin subcommands over `flame.raters.runner` and the judgment cache.

The lead wires them into flame/cli.py with ``add_rate_parser(subparsers)`` and ``add_cache_parser(subparsers)``;
``python -m flame.raters.cli rate ...`` runs them standalone (tests and ``accelerate launch`` use that).
"""

from __future__ import annotations

import argparse
import os
import sys

from flame.cliargs import NON_NEGATIVE_INT, POSITIVE_INT, TOKEN_BUDGET, add_explain_argument, int_range
from flame.data.files import FORMATS
from flame.errors import CliError, run_command
from flame.raters import DEFAULT_RATER


def add_rate_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "rate",
        help="rate a benchmark-format file or a task split with a rater",
        description="Rate examples; prints accuracy when the input has labels.",
    )
    p.add_argument(
        "--rater",
        default=DEFAULT_RATER,
        help="rater spec: smollm2, hf:PATH, run:DIR, openai:MODEL@URL, length, random",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="a benchmark-format JSONL file")
    src.add_argument("--task", help="a registered task name (with --split)")
    p.add_argument(
        "--format", choices=FORMATS, help="input format of --input; inferred from the keys when omitted"
    )
    p.add_argument("--task-name", help="task name given to the examples of --input")
    p.add_argument("--split", default="dev", help="split of --task (default: dev)")
    p.add_argument(
        "--out", required=True, help="output JSONL: id, prediction, probs, parse_failure[, expected_score]"
    )
    p.add_argument("--swap", action="store_true", help="pairwise: judge both orders and average P(A)")
    add_explain_argument(p)
    p.add_argument("--batch-size", type=POSITIVE_INT, default=8)
    p.add_argument("--limit", type=POSITIVE_INT, help="rate only the first N examples")
    p.add_argument(
        "--seed", type=NON_NEGATIVE_INT, default=0, help="random rater and tie breaking (default 0)"
    )
    p.add_argument("--threads", type=POSITIVE_INT, help="torch threads")
    p.add_argument(
        "--max-length", type=TOKEN_BUDGET, default=1024, help="token budget of prompt + label (default 1024)"
    )
    p.add_argument("--dtype", default="auto", choices=["auto", "bf16", "autocast", "fp32"])
    p.add_argument("--api-key-env", help="environment variable holding the API key (default OPENAI_API_KEY)")
    p.add_argument(
        "--concurrency", type=int_range(1, 1024), help="API raters: requests in flight (default 8)"
    )
    p.add_argument("--cache", help="judgment cache file (default: FLAME_CACHE/judgments.sqlite)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=rate_command)
    return p


def add_cache_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("cache", help="inspect or clear the judgment cache")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--rater", help="only this rater spec (with its default options)")
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0)
    p.add_argument("--swap", action="store_true")
    p.add_argument("--cache", help="judgment cache file (default: FLAME_CACHE/judgments.sqlite)")
    p.set_defaults(func=cache_command)
    return p


def _load_examples(args) -> list:
    if args.task:
        from flame.data.collection import load_examples

        return load_examples(args.task, split=args.split)
    from flame.data.files import load_benchmark_file

    loaded = load_benchmark_file(args.input, format=args.format, task_name=args.task_name)
    for problem in loaded.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return loaded.examples


def rate_command(args) -> int:
    from flame.raters import load_rater
    from flame.raters.runner import format_summary, rate

    examples = _load_examples(args)
    if not examples:
        raise CliError(f"{args.input or args.task} has no usable rows")
    if args.limit is not None:
        examples = examples[: args.limit]
    rater = load_rater(
        args.rater,
        swap=args.swap,
        seed=args.seed,
        explain=args.explain,
        batch_size=args.batch_size,
        threads=args.threads,
        max_length=args.max_length,
        dtype=args.dtype,
        api_key_env=args.api_key_env,
        concurrency=args.concurrency,
    )
    result = rate(
        examples,
        rater,
        cache=args.cache,
        batch_size=args.batch_size,
        out=args.out,
        progress=not args.no_progress,
    )
    if int(os.environ.get("RANK", "0")) != 0:  # data parallel: rank 0 writes and reports
        return 0
    if result.summary is not None:
        print(format_summary(result.summary))
    print(
        f"wrote {len(examples)} judgments to {args.out} ({result.n_cached} from the cache)", file=sys.stderr
    )
    return 0


def cache_command(args) -> int:
    from flame.raters.cache import JudgmentCache, rater_key

    db = JudgmentCache(args.cache)
    rkey = None
    if args.rater:
        from flame.raters import load_rater

        rkey = rater_key(load_rater(args.rater, seed=args.seed, swap=args.swap).cache_identity())
    if args.action == "info":
        s = db.stats(rkey)
        print(f"cache: {s['path']}")
        print(f"judgments: {s['judgments']} ({s['raters']} rater configurations), {s['bytes'] / 1e6:.1f} MB")
        # The counters behind "judging nothing twice": a duplicate is a judgment computed again for a key
        # already stored (the batch in flight when a job was killed, or two ranks racing).
        print(f"inserted: {s['inserted']}, duplicates: {s['duplicates']}")
        if rkey is None:
            for identity, n in db.by_rater():
                options = ", ".join(f"{k}={v}" for k, v in sorted(identity.get("options", {}).items()))
                print(f"  {n:>8}  {identity.get('spec')}  [{options}]")
    else:
        n = db.clear(rkey)
        print(f"removed {n} judgments")
    db.close()
    return 0


def register(subparsers) -> None:
    """``rate`` and ``cache``, in the same shape as the other layers' ``register(sub)``."""
    add_rate_parser(subparsers)
    add_cache_parser(subparsers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flame.raters.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    add_rate_parser(sub)
    add_cache_parser(sub)
    args = parser.parse_args(argv)
    return run_command(args.func, args)  # the error policy of `flame` itself


if __name__ == "__main__":
    sys.exit(main())
