"""Typed training configs: dataclasses loaded from YAML, with ``key.sub=value`` overrides.

Every field has a type and help text; an unknown key or a value of the wrong type is a ``ConfigError``
naming the dotted key, raised before any model or data is touched. The resolved config (after
overrides) is written into every run directory as ``config.yaml``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from flame.errors import FlameError


class ConfigError(FlameError, ValueError):
    """A bad config: unknown key, wrong type, unknown mixture/task/model, inconsistent sizes."""


def _help(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING):
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


# ------------------------------------------------------------------------------------------ sections


@dataclass
class LoraConfig:
    enabled: bool = _help("train LoRA adapters (peft) instead of the full model", False)
    r: int = _help("LoRA rank", 16)
    alpha: int = _help("LoRA alpha (scale = alpha / r)", 32)
    dropout: float = _help("dropout on the LoRA path", 0.05)
    target_modules: list[str] = _help(
        "module names that get adapters ('all-linear' = every linear layer but the output head)",
        factory=lambda: ["all-linear"],
    )


@dataclass
class ModelConfig:
    base: str = _help(
        "base model, named as rater specs name models (flame.raters.models): 'smollm2' (the packaged "
        "SmolLM2-135M-Instruct), 'minilm' (the packaged MiniLM-L6 encoder, trained as an encoder judge), "
        "'hf:PATH_OR_HUB_ID', 'run:RUN_DIR' (a flame train run, e.g. FLAMe before the RM stage); also a bare "
        "local HF model folder or org/name hub id",
        "smollm2",
    )
    kind: Literal["auto", "causal", "seq2seq", "encoder"] = _help(
        "model family (flame.families); 'auto' reads the model config: is_encoder_decoder → seq2seq, a "
        "BERT-like encoder (or a saved encoder judge) → encoder judge (flame.encoder), else causal",
        "auto",
    )
    dtype: Literal["auto", "bf16", "fp32"] = _help(
        "compute precision: bf16 autocast (weights and optimizer stay fp32) where the hardware has native "
        "bf16, fp32 otherwise ('auto')",
        "auto",
    )
    dropout: float = _help("dropout set on every dropout field the model config has (paper: 0.05)", 0.05)
    freeze_layers: int = _help(
        "freeze the input embeddings and the lowest N transformer layers (0 = train everything); backward "
        "then stops at layer N, which is most of the speed-up on a CPU",
        0,
    )
    instructions: Literal["auto", "full", "title"] = _help(
        "encoder judges: the INSTRUCTIONS block each row carries: 'full' (title, description, output fields: "
        "the FLAMe format), 'title' (the title alone: fewer tokens on what is the same in every row), 'auto' "
        "(the base judge's own; full for a plain encoder). Saved with the judge",
        "auto",
    )
    fields: Literal["auto", "alone", "spans"] = _help(
        "encoder judges: how the field-similarity features embed a row's CONTEXT fields: 'alone' (each "
        "field encoded by itself), 'spans' (each field's tokens pooled out of the row's own states: one "
        "encoder pass per row, about half the encoder time), 'auto' (the base judge's own; alone for a "
        "plain encoder). Saved with the judge",
        "auto",
    )
    gradient_checkpointing: bool = _help(
        "recompute activations in backward (less memory, ~30% slower)", False
    )
    lora: LoraConfig = _help("optional LoRA adapters", factory=LoraConfig)


@dataclass
class DataConfig:
    mixture: str | None = _help(
        "a registered mixture name (flame_v1, flame_rm_v1, ...) or a mixture file written by `flame "
        "tailpatch` (*.json); null = train only on `tasks` and `files`",
        "flame_v1",
    )
    tasks: list[str] = _help(
        "registered tasks to train on alone (when mixture is null), examples-proportional", factory=list
    )
    files: list[str] = _help(
        "benchmark-format JSONL files (pairwise/pointwise/classification) added as extra tasks", factory=list
    )
    files_rate: float | None = _help(
        "sampling share of all files together (0-1); null = examples-proportional with the same cap as "
        "the mixture's tasks",
        None,
    )
    cap: int = _help("per-task example cap for examples-proportional rates of tasks and files", 2**16)
    max_length: int = _help(
        "tokens per example (input + target); longer inputs lose the middle of their longest CONTEXT field, "
        "exactly as the raters truncate at inference",
        512,
    )
    loss_on: Literal["target", "answer"] = _help(
        "'target' = the whole EVALUATION block (paper); 'answer' = from the answer value on (skips the "
        "constant 'EVALUATION:\\nanswer:' tokens, so every loss token carries the judgment)",
        "target",
    )
    bucket_batches: int = _help(
        "length bucketing: draw this many batches at once, sort by length, cut into batches, shuffle their "
        "order (1 = no bucketing); bigger pools waste less padding",
        16,
    )
    swap_pairs: bool = _help(
        "position augmentation: every drawn pairwise example is trained in both orders (A/B exchanged, label "
        "flipped), side by side in the same pool; the twins teach that the answer follows the content, "
        "not the position",
        False,
    )
    balance_labels: bool = _help(
        "weigh each classification example's loss by the inverse frequency of its label among its task's "
        "training rows (every label of a task carries the same total weight, the mean weight stays 1, capped "
        "at `balance_cap`): a short run otherwise learns the label prior and answers one label everywhere",
        False,
    )
    balance_cap: float = _help("largest loss weight `balance_labels` gives a rare label", 5.0)
    decontaminate: bool = _help(
        "drop training rows that overlap held-out benchmarks or duplicate other datasets (flame data check)",
        True,
    )
    permissive_only: bool = _help("train only on permissively licensed tasks", False)


@dataclass
class OptimConfig:
    lr: float = _help("peak learning rate (paper: 1e-4, constant after warm-up)", 1e-4)
    warmup_steps: int = _help("linear warm-up steps, then constant", 10)
    weight_decay: float = _help("AdamW weight decay", 0.0)
    beta1: float = _help("Adam beta1", 0.9)
    beta2: float = _help("Adam beta2", 0.999)
    eps: float = _help("Adam epsilon", 1e-8)
    max_grad_norm: float = _help("gradient clipping (0 = off)", 1.0)
    head_lr_scale: float = _help(
        "encoder judge only: the scoring heads' learning rate as a multiple of lr (fresh heads on a "
        "pretrained encoder need larger steps than the encoder itself)",
        1.0,
    )


@dataclass
class TrainConfig:
    steps: int = _help("optimizer steps", 100)
    batch_size: int = _help("global batch: examples per optimizer step, over all processes", 8)
    micro_batch_size: int = _help(
        "examples per forward pass; batch_size / (micro_batch_size * processes) = gradient accumulation", 8
    )
    seed: int = _help("seed of the data stream, initialisation of new weights and dropout", 0)
    log_every: int = _help("write a metrics line every N steps", 1)
    save_every: int = _help("checkpoint every N steps (0 = only at the end)", 50)
    keep_checkpoints: int = _help("checkpoints kept on disk (the newest N)", 2)
    threads: int | Literal["auto"] | None = _help(
        "torch intra-op threads: a number, null (torch's default: every core), or 'auto' (time 1 thread "
        "against all cores at start-up and keep the faster; on a shared, oversubscribed CPU one thread can "
        "be several times faster than two)",
        None,
    )
    max_minutes: float | None = _help(
        "stop after this many minutes of training (then checkpoint, evaluate and save as at the last step); "
        "null = run all steps",
        None,
    )
    compile: bool = _help("torch.compile the model (measure first: it rarely helps on CPU)", False)
    merge_lora: bool = _help("final/ holds merged weights (true) or the PEFT adapter (false)", True)
    progress: bool = _help("show a progress bar with ETA", True)
    backbone: Literal["trained", "frozen"] = _help(
        "trained: fine-tune the model (steps of batch_size). frozen (encoder judges): encode `rows` distinct "
        "training rows once with the base encoder, features cached under FLAME_CACHE/features/, then train "
        "only the heads for `epochs` passes of batch_size rows (flame.train.frozen)",
        "trained",
    )
    rows: int = _help(
        "backbone: frozen: distinct training rows drawn from the mixture (a fixed amount)", 34_000
    )
    epochs: int = _help("backbone: frozen: passes of the heads over the cached rows", 20)
    feature_cache: bool = _help(
        "backbone: frozen: keep the rows' vectors under FLAME_CACHE/features/ for later runs", True
    )


@dataclass
class EvalConfig:
    every: int = _help("evaluate every N steps (0 = only at the end; -1 = never)", 0)
    held_in: list[str] = _help("training tasks whose dev split is scored", factory=list)
    held_out: list[str] = _help("held-out benchmark tasks (test split) that are scored", factory=list)
    files: list[str] = _help("benchmark-format JSONL files scored as extra evaluation sets", factory=list)
    n: int = _help("examples per evaluation task (seeded sample)", 64)
    batch_size: int = _help("examples per scoring forward pass", 8)
    calibrate: int = _help(
        "encoder judges: after training, fit one bias per label and kind of row on up to N dev rows of each "
        "classification task (flame.encoder.calibration); 0 = none",
        0,
    )
    calibrate_on: Literal["run", "collection"] = _help(
        "the classification tasks calibrate reads: the run's own, or every training task of the collection "
        "(for a stage trained on pairs only)",
        "run",
    )


@dataclass
class RunConfig:
    """`flame train CONFIG.yaml`: one run of the recipe (setup → train → save → cleanup)."""

    run_dir: str = _help("where config, checkpoints, metrics and the final model go", "runs/flame")
    model: ModelConfig = _help("base model and what is trained", factory=ModelConfig)
    data: DataConfig = _help("training data stream", factory=DataConfig)
    optim: OptimConfig = _help("AdamW and the learning-rate schedule", factory=OptimConfig)
    train: TrainConfig = _help("steps, batch, checkpoints", factory=TrainConfig)
    eval: EvalConfig = _help("periodic evaluation", factory=EvalConfig)


# ------------------------------------------------------------------------------------------ loading


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """``value`` checked against the annotation ``tp``; dataclass sections recurse."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a section (mapping), got {value!r}")
        return from_dict(tp, value, prefix=key + ".")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{key}: expected one of {_type_name(tp)}, got {value!r}")
        return value
    if origin is list:
        (inner,) = typing.get_args(tp)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]  # `data.files=one.jsonl` on the command line means a one-item list
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        kt, vt = typing.get_args(tp)
        return {_coerce(k, kt, key): _coerce(v, vt, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected text, got {value!r}")
        return value
    if tp is Any:
        return value
    raise ConfigError(f"{key}: unsupported config type {tp}")  # pragma: no cover - a programming error


def from_dict(cls, data: dict[str, Any], prefix: str = ""):
    """Build the dataclass ``cls`` from a mapping; unknown keys and wrong types raise ``ConfigError``."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in (data or {}).items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=2, cutoff=0.5)
            hint = f"; did you mean {' or '.join(prefix + c for c in close)}?" if close else ""
            raise ConfigError(f"unknown config key {prefix}{key}{hint} (valid: {', '.join(names)})")
        kwargs[key] = _coerce(value, hints[key], prefix + key)
    return cls(**kwargs)


def to_dict(config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``["train.steps=10", "data.files=[a.jsonl, b.jsonl]"]`` → nested dict updates.

    Values are parsed as YAML (``10`` is an int, ``null`` is None, ``[a, b]`` a list); keys are checked
    later, when the dict is turned into dataclasses.
    """
    out = _deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. train.steps=10)")
        value = yaml.safe_load(raw) if raw.strip() else ""
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            child = node.get(p)
            if child is None:
                child = node[p] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {p} is not a section")
            node = child
        node[parts[-1]] = value
    return out


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (), cls=RunConfig):
    """Read a YAML config, apply ``key=value`` overrides, and type-check it into ``cls``."""
    data = apply_overrides(read_yaml(path), list(overrides))
    try:
        return from_dict(cls, data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def dump_yaml(config) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True)


def check_sizes(config: RunConfig, world_size: int = 1) -> int:
    """Gradient-accumulation steps implied by the batch sizes; inconsistent sizes raise."""
    t = config.train
    for name in ("steps", "batch_size", "micro_batch_size", "rows", "epochs"):
        if getattr(t, name) < 1:
            raise ConfigError(f"train.{name} must be at least 1")
    per_pass = t.micro_batch_size * world_size
    if t.batch_size % per_pass:
        raise ConfigError(
            f"train.batch_size={t.batch_size} is not a multiple of micro_batch_size × processes = "
            f"{t.micro_batch_size} × {world_size}"
        )
    if config.data.max_length < 16:
        raise ConfigError("data.max_length must be at least 16")
    if config.data.bucket_batches < 1:
        raise ConfigError("data.bucket_batches must be at least 1")
    if config.data.files_rate is not None and not 0 < config.data.files_rate < 1:
        raise ConfigError("data.files_rate must be between 0 and 1 (exclusive), or null")
    return t.batch_size // per_pass


# ------------------------------------------------------------------------------------------ tail-patch


@dataclass
class TargetConfig:
    categories: dict[str, list[str]] = _help(
        "category → dev tasks scored for it; empty = the `task_types` tasks of each capability in `capabilities`",
        factory=dict,
    )
    capabilities: list[str] = _help(
        "capabilities that become categories when `categories` is empty",
        factory=lambda: ["general_quality", "safety", "coding", "factuality", "math"],
    )
    task_types: list[str] = _help(
        "task types scored for each category (RewardBench is pairwise)", factory=lambda: ["pairwise"]
    )
    n: int = _help("dev examples per category (seeded sample, spread over the category's tasks)", 128)
    metric: Literal["accuracy", "prob"] = _help(
        "'accuracy' of the argmax label, or 'prob' = mean probability of the human label (smoother on small sets)",
        "accuracy",
    )
    batch_size: int = _help("examples per scoring forward pass", 8)


@dataclass
class RatingConfig:
    strong: float = _help("Δ ≥ strong (and stable) rates +2: helpful", 0.02)
    weak: float = _help("Δ ≥ weak rates +1: somewhat helpful", 0.005)
    harm: float = _help("Δ ≤ harm rates −1: harmful (a negative number)", -0.01)
    require_stable: bool = _help(
        "+2 also needs a positive Δ at the mid-way evaluation (the paper's 'stable')", True
    )


@dataclass
class BundleConfig:
    general_total: int = _help(
        "a task whose ratings sum to at least this is 'generally helpful' (paper: 5)", 5
    )
    category_min: int = _help("a rating of at least this puts a task in that category's bundle", 2)
    general_weight: float = _help("examples for the generally-helpful bundle (paper: 100K)", 100_000)
    category_weight: float = _help(
        "examples per category bundle, summed over a task's bundles (paper: 30K)", 30_000
    )
    other_weight: float = _help("examples for every other task (paper: 3K)", 3_000)
    weak_categories: int = _help("this many lowest-scoring categories of the checkpoint count as weak", 2)
    weak_top: int = _help("the top tasks of each weak category (paper: 2) ...", 2)
    weak_weight: float = _help("... get this weight (paper: 200K)", 200_000)


@dataclass
class TailpatchConfig:
    """`flame tailpatch CONFIG.yaml`: FLAMe-Opt-RM mixture optimisation (paper §4.3) on dev data."""

    run_dir: str = _help("where the effect table, heat map and the new mixture go", "runs/tailpatch")
    candidates: str | None = _help("mixture whose tasks are tail-patched (null: only `tasks`)", "flame_v1")
    tasks: list[str] = _help("tasks to tail-patch (added to the candidates' tasks)", factory=list)
    max_tasks: int | None = _help("patch only the N largest candidate tasks (null = all)", None)
    workers: int = _help("parallel processes (one task each); GPUs are shared round-robin", 1)
    mixture_name: str = _help("name of the written mixture", "flame_opt_rm_v1")
    model: ModelConfig = _help(
        "the partially trained checkpoint (model.base: run:RUN_DIR) and what is trained", factory=ModelConfig
    )
    data: DataConfig = _help(
        "max_length, loss_on, bucketing (mixture/tasks/files are set per task)", factory=DataConfig
    )
    optim: OptimConfig = _help("optimiser of each short fine-tune", factory=OptimConfig)
    train: TrainConfig = _help("steps of each short fine-tune (paper: up to 3,000)", factory=TrainConfig)
    target: TargetConfig = _help(
        "the target evaluation: dev data per category, never a test split", factory=TargetConfig
    )
    rating: RatingConfig = _help("Δ thresholds of the per-category ratings", factory=RatingConfig)
    bundles: BundleConfig = _help("bundles and their mixture weights", factory=BundleConfig)
