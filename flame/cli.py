"""The `flame` command: thin subcommands over the importable package.

Heavy modules (datasets, torch, transformers, matplotlib) are imported inside the handlers that need
them, so `flame --help` and `flame tasks list` start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flame import __version__
from flame.cliargs import NON_NEGATIVE_INT, POSITIVE_INT
from flame.errors import CliError, run_command


def _console():
    from rich.console import Console

    return Console()


# ------------------------------------------------------------------------------------------ tasks


def _selected_tasks(args):
    from flame.data.task import load_all_tasks

    tasks = load_all_tasks().values()
    if getattr(args, "type", None):
        tasks = [t for t in tasks if t.task_type == args.type]
    if getattr(args, "permissive_only", False):
        tasks = [t for t in tasks if t.permissive]
    return tasks


def cmd_tasks_list(args) -> int:
    from flame.data.catalog import task_record
    from flame.data.collection import build_collection

    tasks = _selected_tasks(args)
    builds = build_collection(tasks, progress=not args.json)
    records = [task_record(t, builds.get(t.name)) for t in tasks]
    if args.json:
        print(json.dumps(records, indent=1))
        return 0
    from rich.table import Table

    table = Table(title=f"{len(records)} tasks over {len({r['dataset'] for r in records})} datasets")
    for col in ("name", "type", "capability", "license", "train/dev/test", "held out", "reference"):
        table.add_column(col)
    for r in records:
        rows = r["rows"]
        table.add_row(
            r["name"],
            r["type"],
            r["capability"],
            r["license"] if r["permissive"] else f"[yellow]{r['license']}",
            f"{rows['train']}/{rows['dev']}/{rows['test']}",
            "yes" if r["eval_only"] else "",
            r["reference"] or "",
        )
    _console().print(table)
    from flame.tasks.excluded import EXCLUDED_DATASETS

    for dataset, why in EXCLUDED_DATASETS.items():
        print(f"not registered: {dataset}: {why}")
    return 0


def cmd_tasks_show(args) -> int:
    from flame.data.collection import SPLITS, build_task, load_examples
    from flame.data.task import get_task
    from flame.format import render_input, render_target

    task = get_task(args.name)
    split = args.split or ("test" if task.eval_only else "dev")
    if split not in SPLITS:
        raise CliError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    build = build_task(task)
    examples = load_examples(task.name, split, limit=args.n, seed=args.seed)
    if not examples:
        raise CliError(f"{task.name} has no rows in split {split!r} (rows: {build.rows})")
    for ex in examples:
        print(f"===== {ex.task} | {split} | {ex.id}")
        print(render_input(ex))
        print()
        print(render_target(ex))
        print()
    return 0


def _print_derived(tasks) -> None:
    from flame.data.catalog import DERIVED_COLUMNS, derived_rows
    from flame.data.pairs import derived_stats

    rows = derived_rows([derived_stats(t) for t in tasks])
    print(
        "\npairs derived from pointwise prompts with two or more rated responses (train/dev/test; higher human "
        "score preferred, ties skipped, max(6, n) pairs per prompt of n responses):"
    )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(DERIVED_COLUMNS)]
    for r in (DERIVED_COLUMNS, *rows):
        print("  " + "  ".join(f"{v:<{w}}" for v, w in zip(r, widths, strict=True)).rstrip())
    total = sum(int(r[3].split("/")[0]) for r in rows)
    print(f"  {len(rows)} derived tasks, {total} training pairs (before decontamination)")


def cmd_tasks_stats(args) -> int:
    from flame.data.catalog import counts, plot_counts, task_record
    from flame.data.collection import build_collection

    tasks = _selected_tasks(args)
    builds = build_collection(tasks)
    derived = [t for t in tasks if t.derived_from]
    records = [task_record(t, builds[t.name]) for t in tasks if not t.derived_from]
    train = [r for r in records if not r["eval_only"]]
    print(
        f"{len(records)} tasks over {len({r['dataset'] for r in records})} datasets; "
        f"{len(train)} training tasks, {len(records) - len(train)} held out"
        + (f"; {len(derived)} derived pair tasks (below, not counted here)" if derived else "")
    )
    for key in ("type", "capability"):
        data = counts(records, key)
        total = sum(v["rows"] for v in data.values()) or 1
        print(f"\ntraining judgments by {key}:")
        for name, v in data.items():
            print(f"  {name:<20} {v['tasks']:>4} tasks {v['rows']:>9} rows {100 * v['rows'] / total:6.1f}%")
    if derived:
        _print_derived(derived)
    if args.plot:
        print(f"\nwrote {plot_counts(records, Path(args.plot))}")
    return 0


# ------------------------------------------------------------------------------------------ mixtures


def cmd_mixtures_list(args) -> int:
    from flame.data.mixtures import MIXTURES
    from flame.data.task import load_all_tasks

    load_all_tasks()
    for name in MIXTURES.names():
        print(f"{name}: {MIXTURES.get(name).description}")
    return 0


def cmd_mixtures_show(args) -> int:
    from flame.data.mixtures import MIXTURES, MixtureSampler, describe_rate, resolve, sampled_proportions
    from flame.data.task import load_all_tasks

    load_all_tasks()
    mixture = MIXTURES.get(args.name)
    from flame.data.export import split_indices

    sizes = {t: len(ix) for t, ix in split_indices("train", args.permissive_only).items()}
    rates = resolve(args.name, lambda t: sizes.get(t, 0))
    draws = MixtureSampler(rates, sizes, seed=args.seed).take(args.samples)
    sampled = sampled_proportions(draws)
    print(f"{mixture.name}: {mixture.description}")
    width = max(len(t) for t in rates) + 2
    print(
        f"components: {', '.join(f'{c} ({describe_rate(r)})' for c, r in mixture.items()[:6])}"
        + (" ..." if len(mixture.items()) > 6 else "")
    )
    print(
        f"\n{'task':<{width}} {'train rows':>10} {'rate':>8} {'sampled':>8}   (of {args.samples} draws, seed {args.seed})"
    )
    for task, p in sorted(rates.items(), key=lambda kv: -kv[1]):
        print(f"{task:<{width}} {sizes[task]:>10} {p:>8.4f} {sampled.get(task, 0.0):>8.4f}")
    return 0


# ------------------------------------------------------------------------------------------ data


def cmd_data_build(args) -> int:
    from flame.data.collection import build_collection

    builds = build_collection(_selected_tasks(args), force=args.force)
    bad = sum(b.bad for b in builds.values())
    unlabeled = sum(b.unlabeled for b in builds.values())
    rows = sum(b.total for b in builds.values())
    print(
        f"built {len(builds)} tasks: {rows} rows; skipped {bad} malformed and {unlabeled} unlabeled records"
    )
    for b in builds.values():
        if b.skipped:
            print(
                f"  {b.task}: {b.bad} malformed, {b.unlabeled} unlabeled"
                + (f" (e.g. {b.problems[0]})" if b.problems else "")
            )
    return 0


def cmd_data_check(args) -> int:
    from flame.data.hygiene import overlap_report, training_exclusions

    report = overlap_report(force=args.force)
    held_out = {t.name for t in _selected_tasks(args) if t.eval_only}
    print(
        f"{len(report.pairs)} overlapping pairs of tasks (exact text or shared 13-grams), most rows first:\n"
    )
    print(f"{'rows a':>7} {'rows b':>7}  {'kind':<5}  task a  <->  task b")
    for a, b, kind, rows_a, rows_b, _ in report.summary_rows():
        a, b = a.split("/")[-1], b.split("/")[-1]
        mark = "  [held out]" if a in held_out or b in held_out else ""
        print(f"{rows_a:>7} {rows_b:>7}  {kind:<5}  {a}  <->  {b}{mark}")
    exclusions = training_exclusions(report)
    n = sum(len(v) for v in exclusions.values())
    print(
        f"\n{n} training rows removed from training mixtures "
        f"({len(report.contaminated)} overlap a held-out benchmark, {len(report.duplicates)} duplicate copies)"
    )
    for task, ids in sorted(exclusions.items(), key=lambda kv: -len(kv[1])):
        print(f"  {task}: {len(ids)}")
    if args.out:
        Path(args.out).write_text(report.to_json())
        print(f"wrote {args.out}")
    return 0


def cmd_data_export(args) -> int:
    from flame.data.export import export_mixture

    n = export_mixture(
        args.mixture,
        args.split,
        Path(args.out),
        limit=args.n,
        seed=args.seed,
        permissive_only=args.permissive_only,
    )
    print(f"wrote {n} rendered examples to {args.out}")
    return 0


# ------------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flame", description="FLAMe foundational autoraters")
    parser.add_argument("--version", action="version", version=f"flame {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    tasks = sub.add_parser(
        "tasks", help="list and inspect the registered human-judgment tasks"
    ).add_subparsers(dest="tasks_command", required=True)
    p = tasks.add_parser("list", help="every task with its type, capability, licence and rows per split")
    p.add_argument("--type", choices=["pairwise", "pointwise", "classification", "generative"])
    p.add_argument("--json", action="store_true", help="a JSON list of task objects")
    p.add_argument("--permissive-only", action="store_true", help="drop tasks whose licence is unknown")
    p.set_defaults(func=cmd_tasks_list)
    p = tasks.add_parser("show", help="print rendered examples of a task")
    p.add_argument("name")
    p.add_argument("--n", type=POSITIVE_INT, default=3)
    p.add_argument("--split", default=None, help="train, dev or test (default: dev; test for held-out tasks)")
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0)
    p.set_defaults(func=cmd_tasks_show)
    p = tasks.add_parser("stats", help="counts by task type and capability (paper Figs. 3-4)")
    p.add_argument("--plot", help="write a PNG bar chart here")
    p.add_argument("--permissive-only", action="store_true")
    p.set_defaults(func=cmd_tasks_stats)

    mixtures = sub.add_parser("mixtures", help="inspect training mixtures").add_subparsers(
        dest="mixtures_command", required=True
    )
    p = mixtures.add_parser("list")
    p.set_defaults(func=cmd_mixtures_list)
    p = mixtures.add_parser("show", help="rates and sampled proportions of a mixture")
    p.add_argument("name")
    p.add_argument("--samples", type=POSITIVE_INT, default=20000)
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0)
    p.add_argument("--permissive-only", action="store_true")
    p.set_defaults(func=cmd_mixtures_show)

    data = sub.add_parser("data", help="download, build, check and export the collection").add_subparsers(
        dest="data_command", required=True
    )
    p = data.add_parser("build", help="convert every dataset to FLAMe examples (cached)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--permissive-only", action="store_true")
    p.set_defaults(func=cmd_data_build)
    p = data.add_parser("check", help="decontamination report: overlaps across tasks and benchmarks")
    p.add_argument("--out", help="also write the report as JSON")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_data_check)
    p = data.add_parser("export", help="write a mixture's rendered input/target pairs as JSONL")
    p.add_argument("mixture")
    p.add_argument("--split", default="train", choices=["train", "dev", "test"])
    p.add_argument("--out", required=True)
    p.add_argument(
        "--n",
        type=POSITIVE_INT,
        default=None,
        help="draw N examples from the mixture's sampler instead of all rows",
    )
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0)
    p.add_argument("--permissive-only", action="store_true")
    p.set_defaults(func=cmd_data_export)
    from flame.data.download import add_download_parser

    add_download_parser(data)  # download: the pinned upstream files, verified (flame/data/upstream.py)

    # Subcommands of the other layers register themselves; their modules import heavy packages lazily.
    from flame.raters.cli import register as register_raters

    register_raters(sub)  # rate, cache
    from flame.train.cli import register as register_train

    register_train(sub)  # train, tailpatch, calibrate, export
    from flame.evaluate.cli import register as register_evaluate

    register_evaluate(sub)
    from flame.serve.cli import register as register_serve

    register_serve(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand under the one error policy (see `flame.errors.run_command`):
    a known error (`flame.errors.FlameError`) is one line and exit status 2; anything else keeps its traceback."""
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
