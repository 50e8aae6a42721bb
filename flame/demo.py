"""`make demo` (``python -m flame.demo``): the FLAMe story end to end on this CPU, every stage cached.

    1. flame data build                          the human-judgment collection (cached by fingerprint)
    2. flame train configs/flame_mini.yaml       FLAMe-mini: the MiniLM encoder judge on the FLAMe mixture
    3. flame train configs/flame_rm.yaml         FLAMe-mini-RM: a short pairwise stage on top of it
    4. flame tailpatch configs/tailpatch_mini.yaml   the Opt-RM mixture from per-task tail-patches (dev data)
    5. flame train configs/flame_rm.yaml data.mixture=.../mixture.json   FLAMe-mini-Opt-RM
    6. flame eval ... --suite heldout_v1 --swap  the three models, zero-shot SmolLM2, a jury, length and
                                                 random on the same 128 seeded examples per task
    7. flame eval ... --full                     FLAMe-mini, length and random on every held-out pair
    8. flame bias ...                            order and length probes, FLAMe-mini and zero-shot SmolLM2
    9. a Table-1 style summary                   both tables, FLAMe-mini's paired differences, the rows it
                                                 learned from: printed and written to OUT/summary.md

A finished training run whose resolved config equals what the demo would run now is skipped; a killed
one resumes from its last checkpoint; a run with another config is removed and trained again. Eval and
bias reruns read the judgment cache (SQLite under FLAME_CACHE). A second run therefore takes minutes;
delete OUT to start over.

Environment: FLAME_DEMO_LIMIT=N examples per held-out task (default ``LIMIT``); FLAME_DEMO_FAST=1 runs
the same pipeline tiny, under out/demo_fast/ (a smoke test of the whole chain: both runs of it take 3
minutes in tests/test_demo_fast.py on 2 cores).
Paths under OUT are relative to the working directory; configs/ is found beside the package.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flame.cliargs import POSITIVE_INT, env_int
from flame.errors import FlameError

SUITE = "heldout_v1"
# 128 seeded examples per task for every rater (zero-shot SmolLM2's budget: about 17 minutes of its
# judgments on 2 cores, see `plan`), so every comparison is paired on the same rows; the encoder judge and
# the baselines then also judge every pair of the pairwise benchmarks (`Settings.pairs_limit`).
LIMIT = 128
BIAS_LIMIT = 24  # pairwise examples per task for the bias probes (4 pairwise tasks: 96 pairs)
# Zero-shot SmolLM2 is probed on fewer pairs: it is the reference, and the whole demo stays near an hour
# (its order bias is also in the summary's position-consistency column, on every eval pair).
ZERO_SHOT_BIAS_LIMIT = 12
# The language-model raters read at most 512 tokens (SummaC and SummEval documents are long: half the default's
# cost); the encoder judges read rows no longer than those they were trained on (256 tokens, configs/flame_mini.yaml).
EVAL_MAX_LENGTH = 512
BIAS_PROBES = ("order", "length")  # position and verbosity: the two biases the paper discusses first

# Tiny settings for FLAME_DEMO_FAST=1: two optimizer steps of two short examples, no checkpoints but the
# last, no in-training evaluation (eval.every=-1: never), then 2 examples per held-out task.
FAST_TRAIN = (
    "train.steps=2",
    "train.batch_size=2",
    "train.micro_batch_size=2",
    "data.max_length=256",
    "train.save_every=0",
    "eval.every=-1",
    "eval.calibrate=2",
    "train.rows=8",  # a frozen-backbone recipe: 8 distinct rows, 2 passes of its heads
    "train.epochs=2",
)
FAST_RM = (*FAST_TRAIN[1:], "train.steps=1")
# Two candidate tasks, one step each, four dev examples per category.
FAST_TAILPATCH = (
    "tasks=[hh_rlhf_harmless_pairwise_v1, summedits_news_consistency_classification_v1]",
    "train.steps=1",
    "train.batch_size=2",
    "train.micro_batch_size=2",
    "data.max_length=256",
    "target.n=4",
)
# The raters' token budget too (default 1,024): SummaC and SummEval documents are long, and on a loaded
# CPU the full budget made the tiny eval the slowest stage.
FAST_MAX_LENGTH = 256
FAST_LIMIT = 2
# Two examples per task give intervals that mean nothing: 200 resamples (not 1,000) exercise the same
# bootstrap and paired tests at a fifth of the cost, the slowest part of the tiny eval.
FAST_RESAMPLES = 200

ZERO_SHOT = {"smollm2": "SmolLM2 (zero-shot)"}
BASELINES = {"length": "length", "random": "random"}
JURY_NAME = "jury (FLAMe-mini, SmolLM2, length, random)"
# The Opt-RM run's data.mixture names the tail-patch stage's output.
OPT_RM_MIXTURE = "mixture.json"

# ------------------------------------------------------------------------------------------ timing
# Rates measured on this machine: 2 shared cores (AMD EPYC, AVX512-BF16), torch 2.13 CPU.
# Measured by the fresh-clone demo of 2026-11-29 (EXPERIMENTS.md, E3): 1,200 sequences in 19.4 min with
# swap_pairs (its pair sequences are longer than the mixture's average), 816 judgments per rater at 512 tokens.
# Encoder judge: 4.0 examples/s on flame_mini_v1 with its field features (EXPERIMENTS.md E7; pairs-only RM
# batches run at about half that, but the RM stages are bounded by their max_minutes).
TRAIN_EXAMPLES_PER_S = {"causal": 1.1, "encoder": 4.0}
# train.backbone: frozen: rows drawn, tokenized and encoded once (no gradients, bf16), the heads' epochs
# in seconds, by model.fields: 12,000 rows of flame_mini_v2 in 8.7 minutes with full instructions and each
# field encoded alone (EXPERIMENTS.md E14); 34,000 in 12.2 minutes with title rows and span fields (E16).
FROZEN_ROWS_PER_S = {"alone": 23.0, "spans": 46.0}
JUDGMENTS_PER_S = 2.0  # a SmolLM2-135M-sized rater at 512 tokens, batched label scoring
ENCODER_JUDGMENTS_PER_S = 20.0  # the MiniLM encoder judge at 256-token rows, forward only
# eval.calibrate reads up to N dev rows of each classification training task: 2,082 rows at N=64 (33 per N)
# in 83 s, loading the tasks included (EXPERIMENTS.md E12).
CALIBRATION_ROWS_PER_N = 33
START_MIN = 0.5  # per process: import torch, load benchmarks or set up the data stream, write outputs
LOAD_MIN = 0.2  # per model rater: load 135M parameters
# Per run rater: `flame eval` checks the benchmarks against its ~250K training rows (2.1 minutes for
# two run raters, measured under load, with every judgment cached).
CONTAMINATION_MIN = 1.0
BUILD_MIN = 3.0  # a first `flame data build` (a rough figure: a built collection is never rebuilt here)
CACHED_MIN = 0.2  # a cached stage still starts a process and reads its cache
# Rows per heldout_v1 task (subset), uncapped, as `flame eval --suite heldout_v1 --full` logs them.
HELDOUT_PAIRWISE_ROWS = (200, 993, 200, 66)  # mtbench_human, pandalm, llmeval2, faireval
HELDOUT_OTHER_ROWS = (311, 634, 100, 485, 707, 1600, 1600, 1600, 1600)  # summac ×4, wice, summeval ×4


def train_minutes(examples: int, max_minutes: float | None, scored: int, family: str = "causal") -> float:
    """Training ``examples`` (steps × batch), bounded by ``train.max_minutes``, plus scoring the
    in-training evaluation sets (``scored`` examples) and the process start."""
    minutes = examples / TRAIN_EXAMPLES_PER_S[family] / 60
    if max_minutes:
        minutes = min(minutes, max_minutes)
    return START_MIN + minutes + scored / judge_rate(family) / 60


def judge_rate(family: str) -> float:
    return ENCODER_JUDGMENTS_PER_S if family == "encoder" else JUDGMENTS_PER_S


def tailpatch_minutes(tasks: int, examples: int, scored: int, family: str) -> float:
    """Per candidate task: a process-free short fine-tune of ``examples`` and three scorings of the
    ``scored`` dev examples (before is shared, mid-way and after per task); plus the start."""
    per_task = examples / TRAIN_EXAMPLES_PER_S[family] / 60 + 2 * scored / judge_rate(family) / 60
    return START_MIN + LOAD_MIN + scored / judge_rate(family) / 60 + tasks * (per_task + LOAD_MIN)


def eval_judgments(limit: int, swap: bool = True) -> int:
    """Model judgments per rater on heldout_v1: pairwise examples count twice with --swap."""
    pairwise = sum(min(limit, n) for n in HELDOUT_PAIRWISE_ROWS)
    return pairwise * (2 if swap else 1) + sum(min(limit, n) for n in HELDOUT_OTHER_ROWS)


def pair_judgments(limit: int | None) -> int:
    """Per rater, the every-pair eval: the pairwise benchmarks' rows (``None``: all), both orders."""
    return 2 * sum(n if limit is None else min(limit, n) for n in HELDOUT_PAIRWISE_ROWS)


def pairwise_benchmarks() -> list[str]:
    """The suite's pairwise benchmarks, from its registry (the every-pair eval's --benchmark list)."""
    from flame.benchmarks import resolve
    from flame.types import TaskType

    return [b.name for b in resolve([SUITE]) if b.task_type == TaskType.PAIRWISE]


def bias_judgments(limit: int, probes: int) -> int:
    """Per rater: the pairs as they are, then once more per probe."""
    return sum(min(limit, n) for n in HELDOUT_PAIRWISE_ROWS) * (1 + probes)


def judging_minutes(judgments: int) -> float:
    return judgments / JUDGMENTS_PER_S / 60


def format_plan(plan: Sequence[tuple[str, float, bool]]) -> str:
    """``plan: build ~1 min, train FLAMe-mini ~16 min (cached), ..., total ~50 min``."""
    parts = [
        f"{label} ~{round(m) or '<1'} min" + (" (cached)" if cached else "") for label, m, cached in plan
    ]
    total = sum(m for _, m, _ in plan)
    return f"plan: {', '.join(parts)}, total ~{round(total) or '<1'} min"


# ------------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class Settings:
    out: Path
    limit: int
    bias_limit: int
    zero_shot_bias_limit: int
    mini_overrides: tuple[str, ...] = ()
    rm_overrides: tuple[str, ...] = ()
    max_length: int | None = None  # `flame eval --max-length` (None: the raters' default)
    tailpatch_overrides: tuple[str, ...] = ()
    resamples: int | None = None  # `flame eval --resamples` (None: its default)
    pairs_limit: int | None = None  # the every-pair eval's --limit (None: --full, every pair)

    @property
    def mini_dir(self) -> Path:
        return self.out / "runs" / "flame_mini"

    @property
    def rm_dir(self) -> Path:
        return self.out / "runs" / "flame_mini_rm"

    @property
    def tailpatch_dir(self) -> Path:
        return self.out / "runs" / "tailpatch_mini"

    @property
    def opt_rm_dir(self) -> Path:
        return self.out / "runs" / "flame_mini_opt_rm"

    def mini(self) -> tuple[Path, list[str]]:
        return config_path("flame_mini.yaml"), [f"run_dir={self.mini_dir}", *self.mini_overrides]

    def rm(self) -> tuple[Path, list[str]]:
        overrides = [f"run_dir={self.rm_dir}", f"model.base=run:{self.mini_dir}", *self.rm_overrides]
        return config_path("flame_rm.yaml"), overrides

    def tailpatch(self) -> tuple[Path, list[str]]:
        overrides = [
            f"run_dir={self.tailpatch_dir}",
            f"model.base=run:{self.mini_dir}",
            *self.tailpatch_overrides,
        ]
        return config_path("tailpatch_mini.yaml"), overrides

    def opt_rm(self) -> tuple[Path, list[str]]:
        """FLAMe-mini-Opt-RM: the RM stage on the tail-patch mixture instead of flame_rm_v1 (paper §4.3)."""
        overrides = [
            f"run_dir={self.opt_rm_dir}",
            f"model.base=run:{self.mini_dir}",
            f"data.mixture={self.tailpatch_dir / OPT_RM_MIXTURE}",
            *self.rm_overrides,
        ]
        return config_path("flame_rm.yaml"), overrides

    def bias_runs(self) -> list[tuple[str, Path, int]]:
        """(rater spec, output folder, pairs per task) of each `flame bias` run."""
        return [
            (f"run:{self.mini_dir}", self.out / "bias", self.bias_limit),
            ("smollm2", self.out / "bias_smollm2", self.zero_shot_bias_limit),
        ]

    @property
    def mini_spec(self) -> str:
        return f"run:{self.mini_dir}"

    @property
    def jury_spec(self) -> str:
        """FLAMe-mini, zero-shot SmolLM2, length and random as one judge (mean of their probabilities);
        each member's judgments come from the cache the members fill on their own."""
        return "jury:" + "|".join([self.mini_spec, *ZERO_SHOT, *BASELINES])

    def raters(self) -> dict[str, str]:
        """Rater spec → the name shown, in the order of the summary's rows."""
        return {
            self.mini_spec: "FLAMe-mini",
            f"run:{self.rm_dir}": "FLAMe-mini-RM",
            f"run:{self.opt_rm_dir}": "FLAMe-mini-Opt-RM",
            **ZERO_SHOT,
            self.jury_spec: JURY_NAME,
            **BASELINES,
        }

    def pair_raters(self) -> dict[str, str]:
        """The every-pair eval's raters: FLAMe-mini and the two baselines (each costs seconds per 100)."""
        return {self.mini_spec: "FLAMe-mini", **BASELINES}


def settings(env: Mapping[str, str]) -> Settings:
    fast = env.get("FLAME_DEMO_FAST", "") not in ("", "0")
    if fast:
        limit = env_int(env, "FLAME_DEMO_LIMIT", POSITIVE_INT, FAST_LIMIT)
        return Settings(
            Path("out/demo_fast"),
            limit,
            FAST_LIMIT,
            FAST_LIMIT,
            FAST_TRAIN,
            FAST_RM,
            FAST_MAX_LENGTH,
            FAST_TAILPATCH,
            FAST_RESAMPLES,
            FAST_LIMIT,
        )
    limit = env_int(env, "FLAME_DEMO_LIMIT", POSITIVE_INT, LIMIT)
    return Settings(Path("out/demo"), limit, BIAS_LIMIT, ZERO_SHOT_BIAS_LIMIT, max_length=EVAL_MAX_LENGTH)


def config_path(name: str) -> Path:
    """configs/ of the repository this package lives in (an editable install), else of the working directory."""
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (root / "configs" / name).is_file():
            return root / "configs" / name
    raise FileNotFoundError(f"configs/{name} not found beside the flame package or in {Path.cwd()}")


# ------------------------------------------------------------------------------------------ run state


def expected_config(config: Path, overrides: Sequence[str]) -> dict:
    """The resolved config the recipe would write to RUN_DIR/config.yaml, as YAML reads it back."""
    import yaml

    from flame.train.config import dump_yaml, load_config

    return yaml.safe_load(dump_yaml(load_config(config, list(overrides))))


def run_state(run_dir: Path, expected: dict, base_final: Path | None = None) -> str:
    """``new``, ``done`` (finished with this config), ``resume`` (same config, a checkpoint, no final
    model), ``restart`` (same config, killed before its first checkpoint) or ``stale`` (another config
    or base model: remove it).

    ``base_final``: the model (or mixture file) this run starts from; one written after this run began
    makes it stale (FLAMe-mini retrained, so the RM stage on top of it must be too)."""
    import yaml

    from flame.train.recipe import latest_checkpoint

    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return "new"
    cfg = run_dir / "config.yaml"
    if not cfg.is_file() or yaml.safe_load(cfg.read_text()) != expected:
        return "stale"
    if base_final is not None and base_final.exists() and base_final.stat().st_mtime > cfg.stat().st_mtime:
        return "stale"
    info = run_dir / "run.json"
    finished = info.is_file() and json.loads(info.read_text()).get("finished")
    if finished and (run_dir / "final" / "config.json").is_file():
        return "done"
    # No checkpoint yet: metrics of the killed attempt would linger in metrics.jsonl; start over.
    return "resume" if latest_checkpoint(run_dir) is not None else "restart"


def tailpatch_state(run_dir: Path, expected: dict, base_final: Path) -> str:
    """``done`` (its mixture written with this config after the base model), ``resume`` (same config and
    base, some tasks patched) or ``stale`` (another config or an older base: remove it); ``new``."""
    import yaml

    cfg = run_dir / "config.yaml"
    if not cfg.is_file():
        return "new"
    base_newer = base_final.exists() and base_final.stat().st_mtime > cfg.stat().st_mtime
    if yaml.safe_load(cfg.read_text()) != expected or base_newer:
        return "stale"
    return "done" if _newer(run_dir / OPT_RM_MIXTURE, cfg) else "resume"


def expected_tailpatch_config(config: Path, overrides: Sequence[str]) -> dict:
    import yaml

    from flame.train.config import TailpatchConfig, dump_yaml, load_config

    return yaml.safe_load(dump_yaml(load_config(config, list(overrides), cls=TailpatchConfig)))


def _newer(path: Path, *than: Path) -> bool:
    return path.is_file() and all(not t.exists() or path.stat().st_mtime > t.stat().st_mtime for t in than)


def eval_cached(s: Settings, spec: str, model: Path | None, folder: str, limit: int | None) -> bool:
    """OUT/FOLDER/results.json holds this rater with these settings, this limit (None: --full) and swap,
    written after its model."""
    path = s.out / folder / "results.json"
    if not _newer(path, *([model] if model else [])):
        return False
    config = json.loads(path.read_text()).get("config", {})
    return (
        config.get("limit") == limit
        and bool(config.get("swap"))
        and config.get("rater_options", {}).get("max_length") == s.max_length
        and spec in config.get("raters", [])
    )


def bias_cached(out: Path, limit: int, model: Path | None) -> bool:
    path = out / "bias.json"
    return (
        _newer(path, *([model] if model else [])) and json.loads(path.read_text())["config"]["limit"] == limit
    )


# ------------------------------------------------------------------------------------------ the plan


def model_family(s: Settings) -> str:
    """``encoder`` when FLAMe-mini trains the MiniLM encoder judge, else ``causal`` (for the time estimate)."""
    from flame.train.config import load_config

    return "encoder" if load_config(*s.mini()).model.base == "minilm" else "causal"


def plan(s: Settings) -> list[tuple[str, float, bool]]:
    """(label, minutes, cached) per stage, from the configs and what is already on disk."""
    from flame.data.paths import cache_dir
    from flame.train.config import TailpatchConfig, load_config

    built = any((cache_dir() / "collection").glob("*/*"))
    stages = [("build", CACHED_MIN if built else BUILD_MIN, built)]
    family = model_family(s)
    cached = {}  # run dir → its training is cached

    def add_train(label: str, config: Path, overrides: list[str], run_dir: Path, depends: list[Path], base):
        """``depends``: the stages' dirs whose output this run reads; ``base``: the file or folder whose
        newer copy makes this run stale."""
        cfg = load_config(config, overrides)
        done = run_state(run_dir, expected_config(config, overrides), base) == "done"
        cached[run_dir] = done and all(cached[d] for d in depends)  # a base trained now makes it stale
        scored = cfg.eval.n * len(cfg.eval.held_in + cfg.eval.held_out) if cfg.eval.every >= 0 else 0
        scored += cfg.eval.calibrate * CALIBRATION_ROWS_PER_N
        if cfg.train.backbone == "frozen":
            rate = FROZEN_ROWS_PER_S["spans" if cfg.model.fields == "spans" else "alone"]
            minutes = START_MIN + cfg.train.rows / rate / 60 + scored / judge_rate(family) / 60
        else:
            examples = cfg.train.steps * cfg.train.batch_size
            minutes = train_minutes(examples, cfg.train.max_minutes, scored, family)
        stages.append((label, CACHED_MIN if cached[run_dir] else minutes, cached[run_dir]))

    add_train("train FLAMe-mini", *s.mini(), s.mini_dir, [], None)
    add_train("train FLAMe-mini-RM", *s.rm(), s.rm_dir, [s.mini_dir], s.mini_dir / "final")
    config, overrides = s.tailpatch()
    tp = load_config(config, overrides, cls=TailpatchConfig)
    state = tailpatch_state(
        s.tailpatch_dir, expected_tailpatch_config(config, overrides), s.mini_dir / "final"
    )
    cached[s.tailpatch_dir] = state == "done" and cached[s.mini_dir]
    minutes = tailpatch_minutes(len(tp.tasks), tp.train.steps * tp.train.batch_size, tp.target.n * 2, family)
    stages.append(("tail-patch", CACHED_MIN if cached[s.tailpatch_dir] else minutes, cached[s.tailpatch_dir]))
    mixture = s.tailpatch_dir / OPT_RM_MIXTURE
    add_train("train FLAMe-mini-Opt-RM", *s.opt_rm(), s.opt_rm_dir, [s.mini_dir, s.tailpatch_dir], mixture)

    # Model raters: spec → (its model folder, whether that model is already trained, its family).
    models = {
        "smollm2": (None, True, "causal"),
        **{f"run:{d}": (d / "final", cached[d], family) for d in (s.mini_dir, s.rm_dir, s.opt_rm_dir)},
    }
    fresh = [
        spec
        for spec, (final, trained, _) in models.items()
        if not (trained and eval_cached(s, spec, final, "eval", s.limit))
    ]
    minutes = START_MIN + LOAD_MIN * len(models) + CONTAMINATION_MIN * 3
    minutes += sum(eval_judgments(s.limit) / judge_rate(models[spec][2]) / 60 for spec in fresh)
    stages.append((f"eval ({len(models)} models and a jury)", minutes, not fresh))
    final = s.mini_dir / "final"
    pairs_cached = cached[s.mini_dir] and eval_cached(s, s.mini_spec, final, "eval_pairs", s.pairs_limit)
    minutes = START_MIN + LOAD_MIN + CONTAMINATION_MIN
    minutes += 0 if pairs_cached else pair_judgments(s.pairs_limit) / judge_rate(family) / 60
    stages.append(("eval every pair", minutes, pairs_cached))

    minutes, all_cached = 0.0, True
    for spec, out, limit in s.bias_runs():
        final, trained, fam = models[spec]
        minutes += START_MIN + LOAD_MIN
        if not (trained and bias_cached(out, limit, final)):
            minutes += bias_judgments(limit, len(BIAS_PROBES)) / judge_rate(fam) / 60
            all_cached = False
    stages.append(("bias", minutes, all_cached))
    return stages


# ------------------------------------------------------------------------------------------ stages


class StageError(FlameError, RuntimeError):
    """A stage's `flame` command failed; the message names the command."""


def flame(*argv: str) -> None:
    """Run ``flame ARGV`` in its own process: training sets torch's thread count and accelerate's global
    state, and each stage should free its models' memory before the next; the command is printed so it
    can be rerun by hand."""
    print(f"\n$ flame {shlex.join(argv)}", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # live logs through pipes (make demo | tee)
    code = subprocess.call([sys.executable, "-m", "flame.cli", *argv], env=env)
    if code:
        raise StageError(f"`flame {argv[0]}` exited with {code}")


def train_stage(name: str, config: Path, overrides: list[str], run_dir: Path, base: Path | None) -> None:
    state = run_state(run_dir, expected_config(config, overrides), base)
    if state == "done":
        print(f"\n{name}: cached, skipping training (finished run with the same config in {run_dir})")
        return
    if state in ("stale", "restart"):
        why = "another config or base model" if state == "stale" else "no checkpoint"
        print(f"\n{name}: {run_dir} holds a run with {why}: removing it, training from the start")
        shutil.rmtree(run_dir)
    elif state == "resume":
        print(f"\n{name}: resuming the unfinished run in {run_dir}")
    flame("train", _shown(config), *overrides, *(["--resume"] if state == "resume" else []))


def tailpatch_stage(s: Settings) -> None:
    config, overrides = s.tailpatch()
    state = tailpatch_state(
        s.tailpatch_dir, expected_tailpatch_config(config, overrides), s.mini_dir / "final"
    )
    if state == "done":
        print(f"\ntail-patch: cached, skipping (mixture written with the same config in {s.tailpatch_dir})")
        return
    if state == "stale":
        print(f"\ntail-patch: {s.tailpatch_dir} holds another config or an older base: starting over")
        shutil.rmtree(s.tailpatch_dir)
    elif state == "resume":
        print(f"\ntail-patch: continuing in {s.tailpatch_dir} (patched tasks are kept)")
    flame("tailpatch", _shown(config), *overrides)


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is below it (shorter commands to copy)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def eval_stage(s: Settings) -> None:
    """The table: every rater on the same seeded rows, so each pair of raters is compared paired."""
    rater_args = [a for spec in s.raters() for a in ("--rater", spec)]  # the report's column order
    out = str(s.out / "eval")
    flame(
        "eval",
        *rater_args,
        "--suite",
        SUITE,
        "--limit",
        str(s.limit),
        "--swap",
        *_eval_options(s),
        "--out",
        out,
    )


def pairs_stage(s: Settings) -> None:
    """FLAMe-mini and the baselines on every pair of the pairwise benchmarks: the power the 128-row
    table lacks for the question the demo asks (does it beat random and length on pairs?)."""
    rater_args = [a for spec in s.pair_raters() for a in ("--rater", spec)]
    benches = [a for name in pairwise_benchmarks() for a in ("--benchmark", name)]
    rows = ["--full"] if s.pairs_limit is None else ["--limit", str(s.pairs_limit)]
    out = str(s.out / "eval_pairs")
    flame("eval", *rater_args, *benches, *rows, "--swap", *_eval_options(s), "--out", out)


def _eval_options(s: Settings) -> list[str]:
    options = ["--max-length", str(s.max_length)] if s.max_length else []
    return options + (["--resamples", str(s.resamples)] if s.resamples else [])


def bias_stage(s: Settings) -> None:
    probes = [a for p in BIAS_PROBES for a in ("--probe", p)]
    for spec, out, limit in s.bias_runs():
        flame("bias", "--rater", spec, "--suite", SUITE, *probes, "--limit", str(limit), "--out", str(out))


def summary_stage(s: Settings) -> str:
    from flame.evaluate.summary import paired_table, summary_table

    results = json.loads((s.out / "eval" / "results.json").read_text())
    pairs = json.loads((s.out / "eval_pairs" / "results.json").read_text())
    names, pair_names = s.raters(), s.pair_raters()
    every = "every pair" if s.pairs_limit is None else f"{s.pairs_limit} pairs per task"
    parts = [
        f"# FLAMe-mini on {SUITE} ({s.limit} seeded examples per task, both answer orders)\n",
        summary_table(results, list(names), names),
        f"## Paired: FLAMe-mini minus each rater on the same {s.limit} examples per task\n",
        paired_table(results, s.mini_spec, names),
        f"## The pairwise benchmarks, {every} (both orders)\n",
        summary_table(pairs, list(pair_names), pair_names),
        f"## Paired: FLAMe-mini minus each baseline, {every}\n",
        paired_table(pairs, s.mini_spec, pair_names),
        rows_learned(s.mini_dir),
    ]
    text = "\n".join(parts)
    (s.out / "summary.md").write_text(text)
    return text


def rows_learned(run_dir: Path) -> str:
    """One line: the distinct training rows whose human judgment FLAMe-mini was trained on (run.json)."""
    meta = json.loads((run_dir / "run.json").read_text())
    rows, pairs = meta.get("distinct_rows"), meta.get("pairs")
    if rows is None:  # a fine-tuned run: steps × batch rows, with repeats, not counted distinct
        return f"FLAMe-mini: distinct training rows not recorded (a fine-tuned run; {run_dir}/run.json).\n"
    return f"FLAMe-mini learned from {rows:,} distinct training rows ({pairs:,} of them pairs): {run_dir}/rows.txt.\n"


# ------------------------------------------------------------------------------------------ main


def run(env: Mapping[str, str] | None = None) -> int:
    try:
        s = settings(os.environ if env is None else env)
    except ValueError as e:  # FLAME_DEMO_LIMIT=0, =-1, =ten: one line, before any stage starts
        print(f"demo: error: {e}", file=sys.stderr)
        return 2
    start = time.monotonic()
    stages = plan(s)
    print(format_plan(stages), flush=True)
    s.out.mkdir(parents=True, exist_ok=True)
    steps = [
        ("build", lambda: flame("data", "build")),
        ("stats", lambda: flame("tasks", "stats", "--plot", str(s.out / "collection_stats.png"))),
        ("train FLAMe-mini", lambda: train_stage("FLAMe-mini", *s.mini(), s.mini_dir, None)),
        (
            "train FLAMe-mini-RM",
            lambda: train_stage("FLAMe-mini-RM", *s.rm(), s.rm_dir, s.mini_dir / "final"),
        ),
        ("tail-patch", lambda: tailpatch_stage(s)),
        (
            "train FLAMe-mini-Opt-RM",
            lambda: train_stage(
                "FLAMe-mini-Opt-RM", *s.opt_rm(), s.opt_rm_dir, s.tailpatch_dir / OPT_RM_MIXTURE
            ),
        ),
        ("eval", lambda: eval_stage(s)),
        ("eval every pair", lambda: pairs_stage(s)),
        ("bias", lambda: bias_stage(s)),
    ]
    took = []
    try:
        for label, step in steps:
            t = time.monotonic()
            step()
            took.append(f"{label} {(time.monotonic() - t) / 60:.1f}")
    except (StageError, KeyboardInterrupt) as e:
        why = str(e) or "interrupted"
        print(f"\ndemo stopped: {why}; rerun it to continue from the cached stages", file=sys.stderr)
        return 1
    print("\n" + summary_stage(s))
    print(f"summary:  {s.out / 'summary.md'}")
    print(f"report:   {s.out / 'eval' / 'report.html'} (and report.md, results.json, predictions.jsonl)")
    print(f"pairs:    {s.out / 'eval_pairs' / 'report.html'}")
    print(f"bias:     {', '.join(str(out / 'bias.md') for _, out, _ in s.bias_runs())}")
    print(f"minutes per stage: {', '.join(took)}")
    print(f"demo finished in {(time.monotonic() - start) / 60:.1f} min; outputs in {s.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(run())
