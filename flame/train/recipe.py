"""`flame train`: one explicit recipe, read top to bottom: setup → train → save → cleanup (`Recipe`).

No trainer class hierarchy. The model family (`flame.families`: the text-to-text LM or the encoder judge) is
picked once in setup and used through its interface; the loop is the same for both. ``accelerate`` supplies
only what a single process cannot: process groups (DDP, FSDP, DeepSpeed under ``accelerate launch``), bf16
autocast, and engine-aware checkpoints of the model, optimizer and RNG states. The data position lives next to them in ``state.json``; a checkpoint is
written under a temporary name and renamed when complete, so a killed run never leaves a half checkpoint.

Run directory (read by ``run:RUN_DIR`` raters and ``flame export``)::

    config.yaml               the resolved config
    run.json                  base_model, mixture, tasks, seed, steps, flame_version, ...
    metrics.jsonl             one line per log step (loss overall and per task, examples/s, tokens/s, ...),
                              per evaluation ({"step", "eval": {set: {accuracy, prob, n}}}) and per label-bias
                              fit of an encoder judge ({"step", "calibration": [...]})
    checkpoints/step-<N>/     model.safetensors, optimizer.bin, random_states_*.pkl, state.json
    final/                    a plain Hugging Face model folder (LoRA merged unless train.merge_lora=false)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame import __version__
from flame.errors import FlameError
from flame.registry import UnknownNameError
from flame.train.config import ConfigError, RunConfig, check_sizes, dump_yaml
from flame.train.data import BatchStream, TrainingData, build_training_data, check_data


class TrainingError(FlameError, RuntimeError):
    """Training cannot go on (e.g. a NaN loss); the message names the step and the batch's tasks."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    metrics: list[dict[str, Any]] = field(default_factory=list)
    final_dir: Path | None = None
    model: Any = None
    tokenizer: Any = None


# ------------------------------------------------------------------------------------------ helpers


def validate(config: RunConfig, *, check_model_path: bool = True) -> None:
    """Every check that needs no data and no weights: fails before any work starts."""
    from flame.data.task import load_all_tasks

    check_sizes(config)
    check_data(config.data)
    tasks = load_all_tasks()
    for key in ("held_in", "held_out"):
        for name in getattr(config.eval, key):
            try:
                tasks.get(name)
            except UnknownNameError as e:
                raise ConfigError(f"eval.{key}: {e}") from None
    for f in config.eval.files:
        if not Path(f).is_file():
            raise ConfigError(f"eval.files: {f} does not exist")
    if check_model_path:
        from flame.train.base import check_model

        check_model(config.model.base)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (temporary ``.step-N.tmp`` folders are never complete)."""
    best = None
    for p in (run_dir / "checkpoints").glob("step-*"):
        if (
            (p / "state.json").is_file()
            and p.name[5:].isdigit()
            and (best is None or int(p.name[5:]) > int(best.name[5:]))
        ):
            best = p
    return best


def lr_at(step: int, lr: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then constant (the paper's schedule)."""
    return lr * min(1.0, step / warmup) if warmup > 0 else lr


def pick_threads() -> int:
    """1 or all cores, whichever runs a small matmul + elementwise workload faster right now.

    Why: OpenMP threads spin at barriers; on an oversubscribed CPU (other jobs on the same cores) a
    descheduled thread stalls every op, and one thread measured 2x faster on matmuls and 10x faster on
    elementwise ops than two (BENCHMARKS.md). On an idle machine all cores win.
    """
    import torch

    cores = torch.get_num_threads()
    if cores <= 1:
        return 1
    x, w = torch.randn(256, 1024), torch.randn(1024, 1024)
    best: dict[int, float] = {}
    for _ in range(2):
        for n in (cores, 1):
            torch.set_num_threads(n)
            (x @ w).mul_(1.0001)
            t = time.perf_counter()
            for _ in range(8):
                y = (x @ w).mul_(1.0001)
                y.add_(x.sum())
            best[n] = min(best.get(n, math.inf), time.perf_counter() - t)
    choice = min(best, key=best.get)
    torch.set_num_threads(choice)
    return choice


def resolve_dtype(dtype: str) -> str:
    if dtype != "auto":
        return dtype
    from flame.raters.hf import bf16_supported

    return "bf16" if bf16_supported() else "fp32"


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def _load_eval_sets(config: RunConfig) -> dict:
    from flame.data.collection import load_examples

    sets = {}
    for name in config.eval.held_in:
        sets[f"dev/{name}"] = load_examples(name, "dev", limit=config.eval.n, seed=config.train.seed)
    for name in config.eval.held_out:
        sets[f"held_out/{name}"] = load_examples(name, "test", limit=config.eval.n, seed=config.train.seed)
    for path in config.eval.files:
        from flame.data.files import load_benchmark_file

        examples = [e for e in load_benchmark_file(path).examples if e.answer is not None]
        sets[f"file/{Path(path).name}"] = examples[: config.eval.n]
    return {k: v for k, v in sets.items() if v}


class _Progress:
    """A rich progress bar with ETA and the running loss (a no-op when off)."""

    def __init__(self, enabled: bool, total: int, done: int):
        self.bar = None
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
        )
        self.job = self.bar.add_task("train", total=total, completed=done, info="")
        self.bar.start()

    def update(self, info: str) -> None:
        if self.bar:
            self.bar.update(self.job, advance=1, info=info)

    def close(self) -> None:
        if self.bar:
            self.bar.stop()


# ------------------------------------------------------------------------------------------ the recipe


def train(
    config: RunConfig,
    *,
    resume: bool = False,
    progress: bool | None = None,
    on_step: Callable[[int, Any], None] | None = None,
    save_final: bool = True,
    keep_model: bool = False,
    data: TrainingData | None = None,
) -> TrainResult:
    """Run the recipe: setup → train → save → cleanup. ``on_step(step, model)`` is called after every
    optimizer step (tail-patch uses it for its mid-way evaluation); ``keep_model`` returns the trained model
    in memory; ``data``: the training data, already built (else built from ``config.data``).
    ``train.backbone: frozen`` runs `flame.train.frozen` instead: encode once, train the heads."""
    if config.train.backbone == "frozen":
        return _train_frozen(config, resume=resume, progress=progress, data=data)
    recipe = Recipe(config, resume=resume, progress=progress, on_step=on_step, keep_model=keep_model)
    done = recipe.finished(save_final)
    if done is not None:
        return done
    recipe.setup(data)
    step = recipe.train()
    final_dir = recipe.save(step, save_final)
    return recipe.cleanup(step, final_dir)


def _train_frozen(config: RunConfig, *, resume: bool, progress: bool | None, data) -> TrainResult:
    from flame.train.frozen import train_frozen

    run_dir = Path(config.run_dir)
    if resume and _finished_frozen(run_dir):
        print(f"{run_dir} finished (its model is in final/): nothing to resume")
        metrics = _read_metrics(run_dir / "metrics.jsonl")
        return TrainResult(run_dir, config.train.epochs, metrics, run_dir / "final")
    if resume:  # a frozen run killed midway starts over; the rows it encoded are in the feature cache
        shutil.rmtree(run_dir / "final", ignore_errors=True)
    return train_frozen(config, progress=config.train.progress if progress is None else progress, data=data)


def _finished_frozen(run_dir: Path) -> bool:
    meta = run_dir / "run.json"
    return (
        (run_dir / "final").is_dir() and meta.is_file() and bool(json.loads(meta.read_text()).get("finished"))
    )


class Recipe:
    """One `flame train` run, in the stages of torchtune's recipes: ``setup`` (accelerator, run folder,
    model, data, optimizer, checkpoint), ``train`` (the loop), ``save`` (the last checkpoint, the final
    evaluation, final/), ``cleanup``. The model family (`flame.families`) is picked once in setup; the loop
    only calls it: encode, collate, losses, label probabilities and save are the family's."""

    def __init__(self, config: RunConfig, *, resume, progress, on_step, keep_model):
        self.config = config
        self.resume = resume
        self.progress = progress
        self.on_step = on_step
        self.keep_model = keep_model
        self.run_dir = Path(config.run_dir)
        self.metrics: list[dict[str, Any]] = []
        self.metrics_file = None

    # ---------------------------------------------------------------- setup
    def finished(self, save_final: bool) -> TrainResult | None:
        """Before anything is written: a resumed run can only go forward, and a finished one has nothing to
        do (its result is returned)."""
        config, run_dir = self.config, self.run_dir
        validate(config, check_model_path=False)
        self.ckpt = latest_checkpoint(run_dir) if self.resume else None
        at = _checkpoint_step(self.ckpt) if self.ckpt is not None else 0
        if at > config.train.steps:
            raise ConfigError(
                f"{run_dir}: train.steps={config.train.steps}, but the run is at step {at} (its last checkpoint): "
                f"resume with train.steps >= {at}, or set run_dir elsewhere for a new run"
            )
        if (
            self.ckpt is not None
            and at == config.train.steps
            and save_final
            and not self.keep_model
            and _finished(run_dir, at)
        ):
            if _rank0():
                print(f"{run_dir} finished at step {at} (its model is in final/): nothing to resume")
            return TrainResult(run_dir, at, _read_metrics(run_dir / "metrics.jsonl"), run_dir / "final")
        return None

    def setup(self, data: TrainingData | None) -> None:
        """Pick the family, then the accelerator, run folder, model, data, optimizer, checkpoint and stream,
        in the order that a resumed run's random states depend on."""
        import torch
        from accelerate.utils import set_seed

        from flame.train.base import model_family, resolve_base_model

        config = self.config
        self.base_path = resolve_base_model(config.model.base)
        self.family = model_family(config.model, self.base_path)  # the one place the family is picked
        self.dtype = resolve_dtype(config.model.dtype)
        if config.eval.calibrate and not self.family.fits_label_biases:
            raise ValueError(
                "eval.calibrate fits the label biases of an encoder judge; this base is a text-to-text model "
                "(set eval.calibrate: 0)"
            )
        self._setup_accelerator()
        self._setup_run_dir()
        set_seed(config.train.seed)
        self._setup_model()
        self._setup_data(data)
        self._setup_optimizer()
        self._load_checkpoint()
        self._setup_stream()
        self.metrics_file = (
            (self.run_dir / "metrics.jsonl").open("a", encoding="utf-8") if self.main else None
        )
        self.window = _Window(len(self.data.tasks))  # sums over the steps between two log lines
        self.sums = torch.zeros(2 * len(self.data.tasks), dtype=torch.float64)  # one step's, per task

    def _setup_accelerator(self) -> None:
        import torch
        from accelerate import Accelerator

        handlers = []
        if self.family.ddp_unused_parameters:
            from accelerate.utils import DistributedDataParallelKwargs

            handlers.append(DistributedDataParallelKwargs(find_unused_parameters=True))
        # cpu=True without a GPU: a multi-process launch (torchrun, `accelerate launch`) then runs DDP over gloo.
        self.accelerator = Accelerator(
            mixed_precision="bf16" if self.dtype == "bf16" else "no",
            cpu=not torch.cuda.is_available(),
            kwargs_handlers=handlers,
        )
        acc = self.accelerator
        self.world, self.rank, self.main = acc.num_processes, acc.process_index, acc.is_main_process
        self.accum = check_sizes(self.config, self.world)

    def _setup_run_dir(self) -> None:
        import torch

        config, run_dir = self.config, self.run_dir
        if not self.resume and (
            (run_dir / "checkpoints").is_dir()
            and any((run_dir / "checkpoints").iterdir())
            or (run_dir / "final").exists()
        ):
            raise ConfigError(
                f"{run_dir} already holds a run: pass --resume to continue it, or set run_dir elsewhere"
            )
        threads = pick_threads() if config.train.threads == "auto" else config.train.threads
        if threads:
            torch.set_num_threads(threads)
        if self.main:
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(dump_yaml(config))
        self.accelerator.wait_for_everyone()

    def _setup_model(self) -> None:
        from flame.train.base import load_family_model

        self.model, self.tokenizer = load_family_model(self.config.model, self.base_path, self.family)
        self.pad_id = self.tokenizer.pad_token_id
        self.instructions = getattr(self.model, "instructions", "full")  # rows as the judge reads them
        self.fields = getattr(self.model, "fields", "alone")

    def _setup_data(self, data: TrainingData | None) -> None:
        import torch

        from flame.train.base import trainable_parameters

        config = self.config
        trainable, total = trainable_parameters(self.model)
        if data is None:
            data = build_training_data(config.data, progress=self.main and self.progress is not False)
        self.data = data
        self.eval_sets = _load_eval_sets(config) if config.eval.every >= 0 else {}
        self.run_info = {
            "base_model": config.model.base,
            "base_path": self.base_path,
            "mixture": config.data.mixture,
            "tasks": data.tasks,
            "files": config.data.files,
            "seed": config.train.seed,
            "steps": 0,
            "target_steps": config.train.steps,
            "flame_version": __version__,
            "dtype": self.dtype,
            "processes": self.world,
            "gradient_accumulation": self.accum,
            "trainable_parameters": trainable,
            "parameters": total,
            "lora": config.model.lora.enabled,
            "threads": torch.get_num_threads(),
            "finished": False,
        }
        if self.main:
            _write_json(self.run_dir / "data.json", data.summary())

    def _setup_optimizer(self) -> None:
        import torch

        optim = self.config.optim
        groups = self.family.param_groups(self.model, optim.head_lr_scale)
        optimizer = torch.optim.AdamW(
            groups,
            lr=optim.lr,
            betas=(optim.beta1, optim.beta2),
            eps=optim.eps,
            weight_decay=optim.weight_decay,
        )
        model = torch.compile(self.model) if self.config.train.compile else self.model
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)
        # FSDP replaces parameters with sharded ones: clip what the prepared model holds.
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.model.train()

    def _load_checkpoint(self) -> None:
        self.start, self.stream_state = 0, None
        self.seen = {"examples": 0, "tokens": 0, "elapsed_s": 0.0}
        metrics = self.run_dir / "metrics.jsonl"
        if self.ckpt is not None:
            self.accelerator.load_state(str(self.ckpt))
            state = json.loads((self.ckpt / "state.json").read_text())
            self.start, self.stream_state, self.seen = state["step"], state["stream"], state["seen"]
            if self.main:
                # Training complete at the checkpoint: its final evaluation and label-bias fit are done again.
                _truncate_metrics(metrics, self.start, redo_final=self.start >= self.config.train.steps)
        elif self.resume and self.main:
            print(f"no checkpoint in {self.run_dir}: starting from step 0")
            _truncate_metrics(metrics, 0)  # the lines of the attempt killed before one

    def _setup_stream(self) -> None:
        config, family, tokenizer = self.config, self.family, self.tokenizer
        if not family.generates:  # it scores closed label spaces: a generative task is a config error
            _check_closed_labels(self.data)
        self.stream = BatchStream(
            self.data,
            lambda ex: family.encode(
                ex, tokenizer, config.data.max_length, config.data.loss_on, self.instructions, self.fields
            ),
            config.train.batch_size,
            config.data.bucket_batches,
            config.train.seed,
            self.stream_state,
            swap_pairs=config.data.swap_pairs,
        )
        self.task_index = {t: i for i, t in enumerate(self.data.tasks)}

    # ---------------------------------------------------------------- train
    def train(self) -> int:
        """The loop, step after step until train.steps or train.max_minutes; returns the last step."""

        config, main = self.config, self.main
        show = (config.train.progress if self.progress is None else self.progress) and main
        bar = _Progress(show, config.train.steps, self.start)
        step = self.start
        deadline = time.monotonic() + 60 * config.train.max_minutes if config.train.max_minutes else None
        try:
            for step in range(self.start + 1, config.train.steps + 1):
                loss = self.train_step(step)
                bar.update(f"loss {loss:.3f}")
                if self.on_step is not None:
                    self.on_step(step, self.model)
                out_of_time = self._out_of_time(deadline)
                last = step == config.train.steps or out_of_time
                if config.train.save_every and step % config.train.save_every == 0 and not last:
                    self.save_checkpoint(step)
                if config.eval.every > 0 and step % config.eval.every == 0 and not last:
                    self.evaluate(step)
                if out_of_time:
                    if main:
                        print(
                            f"train.max_minutes={config.train.max_minutes} reached: stopping after step {step}"
                        )
                    break
        finally:
            bar.close()
        return step

    def train_step(self, step: int) -> float:
        """One optimizer step over the next batch (its micro-batches split over the processes); the loss."""
        import torch

        config, acc, world, sums, n_tasks = (
            self.config,
            self.accelerator,
            self.world,
            self.sums,
            len(self.data.tasks),
        )
        t0 = time.perf_counter()
        batch = self.stream.next_batch()
        size = config.train.micro_batch_size
        micro = [batch[i : i + size] for i in range(0, len(batch), size)]
        mine = micro[self.rank :: world]
        n_target = sum(e.n_target for e in batch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(step, config.optim.lr, config.optim.warmup_steps) * group["lr_scale"]
        sums.zero_()
        for i, mb in enumerate(mine):
            tensors = {k: v.to(acc.device) for k, v in self.family.collate(mb, self.pad_id).items()}
            sync = contextlib.nullcontext() if i == len(mine) - 1 else acc.no_sync(self.model)
            with sync:
                with acc.autocast():
                    losses = self.family.losses(self.model, tensors)
                # Normalised by the *global* batch's target tokens, times the process count because DDP
                # averages gradients: the step equals one process running the whole batch.
                # Label-balancing weights (data.balance_labels) scale each example's summed loss.
                weights = torch.tensor([e.weight for e in mb], dtype=losses.dtype, device=losses.device)
                acc.backward((losses.sum(-1) * weights).sum() * world / n_target)
            per_example = losses.detach().sum(-1).double().cpu()
            for e, v in zip(mb, per_example, strict=True):
                sums[self.task_index[e.task]] += v
                sums[n_tasks + self.task_index[e.task]] += e.n_target
        totals = acc.reduce(sums.to(acc.device), "sum").cpu() if world > 1 else sums
        loss = float(totals[:n_tasks].sum() / totals[n_tasks:].sum())
        if not math.isfinite(loss):
            raise TrainingError(
                f"loss is {loss} at step {step}; the batch held tasks {sorted({e.task for e in batch})} "
                f"(the last checkpoint is intact; lower optim.lr or drop the task)"
            )
        grad_norm = None
        if config.optim.max_grad_norm > 0:
            grad_norm = float(acc.clip_grad_norm_(self.params, config.optim.max_grad_norm))
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._count(step, batch, micro, totals, time.perf_counter() - t0, grad_norm)
        return loss

    def _count(self, step: int, batch, micro, totals, dt: float, grad_norm: float | None) -> None:
        """Add the step to the examples and tokens seen and the log window; log at train.log_every."""
        from flame.train.collate import padding_waste

        config, seen = self.config, self.seen
        real = sum(e.n_tokens for e in batch)
        seen["examples"] += len(batch)
        seen["tokens"] += real
        seen["elapsed_s"] += dt
        self.window.add(totals, len(batch), real, padding_waste(micro), dt, grad_norm)
        if step % config.train.log_every == 0 or step == config.train.steps:
            self.log(self.window.record(step, self.data.tasks, self.optimizer.param_groups[0]["lr"], seen))

    def _out_of_time(self, deadline: float | None) -> bool:
        import torch

        out_of_time = deadline is not None and time.monotonic() > deadline
        if out_of_time and self.world > 1:  # every process must stop at the same step
            flag = torch.tensor([float(out_of_time)], device=self.accelerator.device)
            out_of_time = bool(self.accelerator.reduce(flag, "max").item())
        return out_of_time

    def log(self, record: dict[str, Any]) -> None:
        self.metrics.append(record)
        if self.metrics_file:
            self.metrics_file.write(json.dumps(record) + "\n")
            self.metrics_file.flush()

    def evaluate(self, step: int) -> None:
        """Label accuracy and the human label's probability on the eval sets, scored by the family."""
        from flame.train.score import score_sets

        if not self.eval_sets:
            return
        scores = score_sets(
            self.model,
            self.tokenizer,
            self.eval_sets,
            max_length=self.config.data.max_length,
            batch_size=self.config.eval.batch_size,
            family=self.family,
            autocast=self.accelerator.autocast,
        )
        self.log({"step": step, "eval": scores})

    def save_checkpoint(self, step: int) -> None:
        """Model, optimizer and RNG states (the accelerator's) and the data position, written under a
        temporary name and renamed when complete; the oldest beyond train.keep_checkpoints are removed."""
        acc, run_dir, main = self.accelerator, self.run_dir, self.main
        final = run_dir / "checkpoints" / f"step-{step}"
        tmp = run_dir / "checkpoints" / f".step-{step}.tmp"
        if main:
            shutil.rmtree(tmp, ignore_errors=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp))
        if main:
            state = {"step": step, "stream": self.stream.state.to_dict(), "seen": self.seen}
            _write_json(tmp / "state.json", state)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            kept = sorted(latest_all(run_dir), key=lambda p: int(p.name[5:]))
            for old in kept[: -max(1, self.config.train.keep_checkpoints)]:
                shutil.rmtree(old, ignore_errors=True)
            _write_json(run_dir / "run.json", {**self.run_info, "steps": step})
        acc.wait_for_everyone()

    # ---------------------------------------------------------------- save
    def save(self, step: int, save_final: bool) -> Path | None:
        """The last checkpoint (unless the loop just wrote it), the final evaluation, and final/: the label
        biases fitted first where the family has them (eval.calibrate)."""
        config, run_dir = self.config, self.run_dir
        if (config.train.save_every or save_final) and latest_checkpoint(
            run_dir
        ) != run_dir / "checkpoints" / f"step-{step}":
            self.save_checkpoint(step)
        if config.eval.every >= 0:
            self.evaluate(step)
        self.unwrapped = self.accelerator.unwrap_model(self.model)
        if not save_final:
            return None
        final_dir = run_dir / "final"
        if self.main:
            if config.eval.calibrate:
                self._fit_label_biases(step)
            save_hf_folder(
                self.unwrapped,
                self.tokenizer,
                final_dir,
                merge_lora=config.train.merge_lora,
                family=self.family,
                row_length=config.data.max_length,
            )
            finished = {"steps": step, "finished": True, "stopped_by_time_limit": step < config.train.steps}
            _write_json(run_dir / "run.json", {**self.run_info, **finished})
        self.accelerator.wait_for_everyone()
        return final_dir

    def _fit_label_biases(self, step: int) -> None:
        """Fit the label biases on dev rows (flame.encoder.calibration) before the model is saved."""
        config = self.config
        start = time.monotonic()
        biases = self.family.fit_label_biases(
            self.unwrapped,
            self.tokenizer,
            list(self.data.tasks) if config.eval.calibrate_on == "run" else None,
            n=config.eval.calibrate,
            max_length=config.data.max_length,
            batch_size=config.eval.batch_size,
            autocast=self.accelerator.autocast,
            seed=config.train.seed,
        )
        rows = sum(b.rows for b in biases)
        print(
            f"calibrated {len(biases)} kinds of rows on {rows} dev rows in {time.monotonic() - start:.0f} s "
            "(flame.encoder.calibration)"
        )
        self.log({"step": step, "calibration": [b.to_json() for b in biases]})

    # ---------------------------------------------------------------- cleanup
    def cleanup(self, step: int, final_dir: Path | None) -> TrainResult:
        if self.metrics_file:
            self.metrics_file.close()
        self.accelerator.end_training()
        result = TrainResult(self.run_dir, step, self.metrics, final_dir)
        if self.keep_model:
            result.model, result.tokenizer = self.unwrapped, self.tokenizer
        return result


def _check_closed_labels(data: TrainingData) -> None:
    """An encoder judge scores labels and writes no text: a generative task in its data is a config error."""
    from flame.data.task import load_all_tasks

    tasks = load_all_tasks()
    generative = [t for t in data.tasks if t in tasks.names() and tasks.get(t).labels is None]
    generative += [t for t, ex in data.file_examples.items() if ex and ex[0].labels is None]
    if generative:
        raise ConfigError(
            f"an encoder judge scores closed label spaces, but these tasks are generative: {generative}; "
            "use a mixture without them (e.g. flame_mini_v1)"
        )


def latest_all(run_dir: Path) -> list[Path]:
    return [
        p
        for p in (run_dir / "checkpoints").glob("step-*")
        if (p / "state.json").is_file() and p.name[5:].isdigit()
    ]


def _checkpoint_step(ckpt: Path) -> int:
    return int(json.loads((ckpt / "state.json").read_text())["step"])


def _finished(run_dir: Path, step: int) -> bool:
    """The run's final model was saved at ``step`` (what `flame demo` reads as a finished run, too)."""
    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        bool(info.get("finished"))
        and info.get("steps") == step
        and (run_dir / "final" / "config.json").is_file()
    )


def _rank0() -> bool:
    """Rank 0 (or a single process) before an Accelerator exists: the launchers' RANK variable."""
    return os.environ.get("RANK", "0") == "0"


def _metric_records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(line, record) per metrics line, each with the step it belongs to: a line without one (a label-bias
    fit logged before records carried their step) belongs to the step of the line before it. A line cut
    short by a kill is left out."""
    out: list[tuple[str, dict[str, Any]]] = []
    if not path.is_file():
        return out
    at = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("step"), int):
            at = record["step"]
        out.append((line, {**record, "step": at}))
    return out


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    return [record for _, record in _metric_records(path)]


def _truncate_metrics(path: Path, step: int, *, redo_final: bool = False) -> None:
    """Drop the metric lines that resuming from the checkpoint at ``step`` logs again: every line of a later
    step and, with ``redo_final`` (training was complete at that checkpoint), the final evaluation and
    label-bias fit at ``step``, which come after it."""
    if not path.is_file():
        return
    keep = [
        line
        for line, r in _metric_records(path)
        if r["step"] < step or r["step"] == step and not (redo_final and ("eval" in r or "calibration" in r))
    ]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
    os.replace(tmp, path)


class _Window:
    """Sums over the steps between two log lines."""

    def __init__(self, n_tasks: int):
        self.n = n_tasks
        self.reset()

    def reset(self) -> None:
        import torch

        self.sums = torch.zeros(2 * self.n, dtype=torch.float64)
        self.examples = self.tokens = self.pad = self.slots = self.steps = 0
        self.time = 0.0
        self.grad_norms: list[float] = []

    def add(self, totals, examples, tokens, waste, dt, grad_norm) -> None:
        self.sums += totals
        self.examples += examples
        self.tokens += tokens
        self.pad += waste[0]
        self.slots += waste[1]
        self.time += dt
        self.steps += 1
        if grad_norm is not None:
            self.grad_norms.append(grad_norm)

    def record(self, step: int, tasks: list[str], lr: float, seen: dict) -> dict[str, Any]:
        loss_sum, count = self.sums[: self.n], self.sums[self.n :]
        rec = {
            "step": step,
            "loss": round(float(loss_sum.sum() / count.sum()), 6),
            "loss_by_task": {
                t: round(float(loss_sum[i] / count[i]), 6) for i, t in enumerate(tasks) if count[i] > 0
            },
            "examples_per_s": round(self.examples / self.time, 4),
            "tokens_per_s": round(self.tokens / self.time, 2),
            "padding_waste": round(self.pad / max(1, self.slots), 4),
            "lr": lr,
            "grad_norm": round(sum(self.grad_norms) / len(self.grad_norms), 4) if self.grad_norms else None,
            "examples_seen": seen["examples"],
            "tokens_seen": seen["tokens"],
            "elapsed_s": round(seen["elapsed_s"], 2),
        }
        self.reset()
        return rec


def save_hf_folder(
    model, tokenizer, out: Path, *, merge_lora: bool = True, family=None, row_length: int | None = None
) -> Path:
    """A plain Hugging Face folder written by the model's family (`flame.families`: config, safetensors,
    tokenizer; an encoder judge's heads and marker too), to a temporary name first, then renamed.

    A PEFT model is merged into full weights (``merge_lora``) or saved as an adapter whose
    adapter_config.json names its base folder. ``family``: None reads it from the model; ``row_length``:
    the tokens per row an encoder judge was trained at.
    """
    from flame.families import family_of

    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (family or family_of(model)).save(model, tokenizer, tmp, merge_lora=merge_lora, row_length=row_length)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out
