"""`flame train`, `flame tailpatch`, `flame calibrate`, `flame export`: thin handlers over the importable recipe.

``register(subparsers)`` adds the four subcommands; nothing heavy is imported until a handler runs.
"""

from __future__ import annotations

from flame.cliargs import POSITIVE_INT, TOKEN_BUDGET
from flame.errors import CliError, FlameError

# Known failures (ConfigError, TrainingError, DataRootError, RaterError) are FlameErrors: `flame` itself prints
# them as one line (flame.errors.run_command), so the handlers below catch nothing to reword them.


def cmd_train(args) -> int:
    from flame.train.config import load_config
    from flame.train.recipe import train, validate

    overrides = list(args.overrides) + ([f"run_dir={args.run_dir}"] if args.run_dir else [])
    config = load_config(args.config, overrides)
    validate(config)
    try:
        result = train(config, resume=args.resume, progress=False if args.no_progress else None)
    except FlameError:
        raise
    except OSError as e:  # e.g. out of disk: checkpoints are renamed into place only when complete
        raise FlameError(
            f"{e} (the last complete checkpoint is intact: free space and rerun with --resume)"
        ) from e
    last = next((m for m in reversed(result.metrics) if "loss" in m), None)
    if last:
        print(
            f"step {result.step}: loss {last['loss']:.4f}, {last['examples_per_s']:.2f} examples/s, "
            f"{last['tokens_per_s']:.0f} tokens/s"
        )
    print(f"run directory: {result.run_dir}  (rate it with --rater run:{result.run_dir})")
    return 0


def cmd_tailpatch(args) -> int:
    from flame.train.config import TailpatchConfig, load_config
    from flame.train.tailpatch import run_tailpatch

    overrides = list(args.overrides) + ([f"run_dir={args.run_dir}"] if args.run_dir else [])
    if args.workers:
        overrides.append(f"workers={args.workers}")
    out = run_tailpatch(load_config(args.config, overrides, cls=TailpatchConfig))
    print(f"effect table: {out['effects']}")
    if out.get("heatmap"):
        print(f"heat map: {out['heatmap']}")
    print(
        f"mixture {out['mixture_name']}: {out['mixture']}  (train on it with data.mixture={out['mixture']})"
    )
    return 0


def cmd_export(args) -> int:
    from flame.train.export import export_run

    out = export_run(args.run_dir, args.out, merge_lora=args.merge_lora)
    print(f"wrote {out} (load it with --rater hf:{out})")
    return 0


def cmd_calibrate(args) -> int:
    """Refit a saved encoder judge's label biases on dev rows (e.g. a judge trained before eval.calibrate).
    The judge is loaded as its rater is, so rows are as long and the dtype as when it rates."""
    from flame.encoder.calibration import calibrate, describe, save_calibration
    from flame.families import FAMILIES
    from flame.raters import load_rater
    from flame.raters.models import run_model_dir

    folder = run_model_dir(args.run_dir)
    if not FAMILIES.get("encoder").is_saved_judge(folder):
        raise CliError(f"{folder} is not an encoder judge: label biases are fitted for encoder judges only")
    options = {"dtype": args.dtype} | ({"max_length": args.max_length} if args.max_length else {})
    rater = load_rater(f"run:{args.run_dir}", **options)
    biases = calibrate(
        rater.model,
        rater.tokenizer,
        args.task,
        n=args.rows,
        max_length=rater.max_length,
        autocast=rater._autocast,
    )
    if not biases:
        raise CliError("no dev rows of a classification task to fit on (see --task)")
    save_calibration(folder, biases)
    print(describe(biases))
    print(f"saved in {folder} (rate with --rater run:{args.run_dir})")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an autorater on a mixture (setup → train → save)",
        description="Train an autorater: flame train CONFIG.yaml [key=value ...] [--resume]",
    )
    p.add_argument("config", help="a YAML config (see configs/)")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.steps=100 data.max_length=256")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's last checkpoint")
    p.add_argument("--run-dir", help="shorthand for run_dir=...")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser(
        "tailpatch",
        help="tail-patch mixture optimisation (FLAMe-Opt-RM): rate each task's effect, write a mixture",
        description="flame tailpatch CONFIG.yaml [key=value ...]: resumable, one task at a time",
    )
    p.add_argument("config")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--run-dir")
    p.add_argument("--workers", type=POSITIVE_INT, help="parallel processes (default: the config's workers)")
    p.set_defaults(func=cmd_tailpatch)

    p = subparsers.add_parser(
        "calibrate",
        help="refit an encoder judge's label biases on dev rows of the training tasks",
        description="flame calibrate RUN_DIR: one bias per label and kind of row, fitted on the dev splits of "
        "the classification training tasks (never a held-out benchmark), saved with the judge",
    )
    p.add_argument("run_dir", help="a `flame train` run directory (or its final/ folder) of an encoder judge")
    p.add_argument("--rows", type=POSITIVE_INT, default=64, help="dev rows per task (seeded sample)")
    p.add_argument("--task", action="append", help="fit on these tasks only (repeatable; default: all)")
    p.add_argument(
        "--max-length", type=TOKEN_BUDGET, default=None, help="tokens per row (default: as trained)"
    )
    p.add_argument("--dtype", choices=["auto", "autocast", "fp32"], default="auto")
    p.set_defaults(func=cmd_calibrate)

    p = subparsers.add_parser("export", help="write a run's model as a plain Hugging Face folder")
    p.add_argument("run_dir")
    p.add_argument("--out", required=True)
    p.add_argument("--merge-lora", action="store_true", help="merge a LoRA adapter into full weights")
    p.set_defaults(func=cmd_export)
