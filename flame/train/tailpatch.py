"""Tail-patch mixture optimisation, FLAMe-Opt-RM (paper §4.3), tuned on dev data instead of the test set.

From a partially trained FLAMe checkpoint, fine-tune briefly on each candidate task alone, measure the
change of a per-category target metric (label-scoring accuracy on *dev* pairwise data of each capability),
rate each task per category (+2 helpful and stable, +1 somewhat, 0 none, −1 harmful), form bundles
(generally helpful, one per category, others) and turn them into mixture weights (paper: 100K / 30K / 3K,
the top-2 tasks of each weak category 200K). The result is a mixture file that ``flame train`` accepts as
``data.mixture=RUN_DIR/mixture.json``.

Each task's tail-patch is independent and leaves ``RUN_DIR/tasks/<task>.json`` when done, so the run
resumes task by task and runs tasks in parallel processes (``workers``) where there are cores or GPUs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

from flame.train.config import (
    ConfigError,
    DataConfig,
    EvalConfig,
    RunConfig,
    TailpatchConfig,
    dump_yaml,
    to_dict,
)

# ------------------------------------------------------------------------------------------ pure rules


def rate_effect(delta: float, mid_delta: float | None, rating) -> int:
    """+2 helpful (Δ ≥ strong, and positive mid-way when stability is required), +1 somewhat (Δ ≥ weak),
    −1 harmful (Δ ≤ harm), 0 otherwise."""
    if delta >= rating.strong and (not rating.require_stable or mid_delta is None or mid_delta > 0):
        return 2
    if delta >= rating.weak:
        return 1
    if delta <= rating.harm:
        return -1
    return 0


def form_bundles(
    ratings: dict[str, dict[str, int]], deltas: dict[str, dict[str, float]], baseline: dict[str, float], cfg
) -> dict[str, Any]:
    """Bundles from the task × category ratings.

    general: total rating ≥ ``general_total``; category c: rating in c ≥ ``category_min``; others: the rest.
    Weak categories: the ``weak_categories`` categories where the checkpoint scores lowest; their top
    ``weak_top`` tasks by Δ (positive Δ only) form the weak bundles.
    """
    categories = sorted(baseline)
    general = sorted(t for t, r in ratings.items() if sum(r.values()) >= cfg.general_total)
    per_category = {
        c: sorted(t for t, r in ratings.items() if r.get(c, 0) >= cfg.category_min) for c in categories
    }
    bundled = set(general) | {t for ts in per_category.values() for t in ts}
    weak = sorted(categories, key=lambda c: (baseline[c], c))[: cfg.weak_categories]
    weak_top = {}
    for c in weak:
        ranked = sorted((t for t in deltas if deltas[t].get(c, 0) > 0), key=lambda t: (-deltas[t][c], t))
        weak_top[c] = ranked[: cfg.weak_top]
    return {
        "general": general,
        "categories": per_category,
        "others": sorted(t for t in ratings if t not in bundled),
        "weak_categories": weak,
        "weak_top": weak_top,
    }


def mixture_weights(bundles: dict[str, Any], cfg) -> dict[str, float]:
    """Weights summed over a task's bundles; a weak category's top tasks get at least ``weak_weight``."""
    tasks = (
        set(bundles["others"])
        | set(bundles["general"])
        | {t for ts in bundles["categories"].values() for t in ts}
    )
    weights = {}
    for t in sorted(tasks):
        w = cfg.general_weight if t in bundles["general"] else 0.0
        w += cfg.category_weight * sum(t in ts for ts in bundles["categories"].values())
        weights[t] = w if w > 0 else cfg.other_weight
    for ts in bundles["weak_top"].values():
        for t in ts:
            weights[t] = max(weights.get(t, 0.0), cfg.weak_weight)
    return weights


# ------------------------------------------------------------------------------------------ data


def target_sets(cfg: TailpatchConfig) -> dict[str, list]:
    """category → dev examples. Only dev splits: a held-out benchmark (test only) is refused."""
    from flame.data.collection import load_examples
    from flame.data.task import load_all_tasks
    from flame.train.score import sample_spread

    tasks = load_all_tasks()
    categories = dict(cfg.target.categories)
    if not categories:
        for cap in cfg.target.capabilities:
            names = [
                t.name
                for t in tasks.values()
                if t.capability == cap
                and t.task_type in cfg.target.task_types
                and not t.eval_only
                and t.derived_from is None
            ]
            if names:
                categories[cap] = names
    sets = {}
    for cat, names in sorted(categories.items()):
        pools = {}
        for name in names:
            task = tasks.get(name)
            if task.eval_only:
                raise ConfigError(
                    f"target.categories.{cat}: {name} is a held-out benchmark; tail-patching tunes on dev data only"
                )
            pools[name] = [e for e in load_examples(name, "dev") if e.labels is not None]
        examples = sample_spread(pools, cfg.target.n, seed=cfg.train.seed)
        if examples:
            sets[cat] = examples
    if not sets:
        raise ConfigError("the target evaluation is empty: no dev examples for any category")
    return sets


def candidate_tasks(cfg: TailpatchConfig) -> dict[str, int]:
    """task → usable training rows, for the candidates mixture's tasks plus ``tasks``."""
    from flame.train.data import build_training_data

    sizes: dict[str, int] = {}
    if cfg.candidates:
        data = build_training_data(
            dataclasses.replace(cfg.data, mixture=cfg.candidates, tasks=[], files=[]), progress=False
        )
        sizes.update(data.sizes)
    if cfg.tasks:
        data = build_training_data(
            dataclasses.replace(cfg.data, mixture=None, tasks=list(cfg.tasks), files=[]), progress=False
        )
        sizes.update(data.sizes)
    if cfg.max_tasks is not None:
        keep = sorted(sizes, key=lambda t: (-sizes[t], t))[: cfg.max_tasks]
        sizes = {t: sizes[t] for t in sorted(keep)}
    if not sizes:
        raise ConfigError("no candidate tasks: set candidates (a mixture) or tasks")
    return sizes


def task_run_config(cfg: TailpatchConfig, task: str, run_dir: Path) -> RunConfig:
    return RunConfig(
        run_dir=str(run_dir),
        model=cfg.model,
        data=dataclasses.replace(cfg.data, mixture=None, tasks=[task], files=[]),
        optim=cfg.optim,
        train=dataclasses.replace(cfg.train, save_every=0, progress=False),
        eval=EvalConfig(every=-1),
    )


# ------------------------------------------------------------------------------------------ running


def _metric(scores: dict[str, dict[str, float]], metric: str) -> dict[str, float]:
    return {c: s[metric] for c, s in scores.items()}


def _score(model, tokenizer, sets, cfg: TailpatchConfig, autocast=None) -> dict[str, float]:
    from flame.train.score import score_sets

    scores = score_sets(
        model,
        tokenizer,
        sets,
        max_length=cfg.data.max_length,
        batch_size=cfg.target.batch_size,
        autocast=autocast,
    )
    return _metric(scores, cfg.target.metric)


def baseline_scores(cfg: TailpatchConfig, sets, out: Path) -> dict[str, float]:
    if out.is_file():
        return json.loads(out.read_text())
    from flame.train.base import load_model

    model, tokenizer, _ = load_model(cfg.model, for_training=False)
    scores = _score(model, tokenizer, sets, cfg, _autocast(cfg))
    _write_json(out, scores)
    return scores


def _autocast(cfg: TailpatchConfig):
    import contextlib

    from flame.train.recipe import resolve_dtype

    if resolve_dtype(cfg.model.dtype) != "bf16":
        return contextlib.nullcontext
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return lambda: torch.autocast(device, dtype=torch.bfloat16)


def patch_one(cfg: TailpatchConfig, task: str, sets, run_dir: Path) -> dict[str, Any]:
    """Fine-tune on ``task`` alone for ``train.steps`` steps; score the target mid-way and at the end."""
    from flame.train.recipe import train

    work = run_dir / "tasks" / task
    shutil.rmtree(work, ignore_errors=True)  # a task killed half-way starts over
    mid_step = max(1, cfg.train.steps // 2)
    mid: dict[str, float] = {}
    tokenizer = _tokenizer(cfg)

    def on_step(step, model):
        if step == mid_step and step < cfg.train.steps:
            mid.update(_score(model, tokenizer, sets, cfg, _autocast(cfg)))

    result = train(
        task_run_config(cfg, task, work), progress=False, on_step=on_step, save_final=False, keep_model=True
    )
    after = _score(result.model, result.tokenizer, sets, cfg, _autocast(cfg))
    losses = [m["loss"] for m in result.metrics if "loss" in m]
    record = {
        "task": task,
        "steps": result.step,
        "mid_step": mid_step if mid else None,
        "mid": mid or None,
        "after": after,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
    }
    _write_json(run_dir / "tasks" / f"{task}.json", record)
    shutil.rmtree(work, ignore_errors=True)
    return record


def _tokenizer(cfg: TailpatchConfig):
    from transformers import AutoTokenizer

    from flame.train.base import resolve_base_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(cfg.model.base))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _worker_init(counter, n_gpus: int, threads: int) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    if n_gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index % n_gpus)
    import torch

    torch.set_num_threads(max(1, threads))


def _patch_in_worker(cfg_dict: dict, task: str, sets, run_dir: str) -> dict[str, Any]:
    from flame.train.config import from_dict

    return patch_one(from_dict(TailpatchConfig, cfg_dict), task, sets, Path(run_dir))


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def run_tailpatch(cfg: TailpatchConfig, progress: bool = True) -> dict[str, Any]:
    """The whole procedure; returns the paths it wrote. Finished tasks are not redone."""
    from flame.train.base import check_model
    from flame.train.config import check_sizes
    from flame.train.data import check_data

    check_sizes(RunConfig(model=cfg.model, data=cfg.data, optim=cfg.optim, train=cfg.train))
    if cfg.candidates:
        check_data(DataConfig(mixture=cfg.candidates))
    check_model(cfg.model.base)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(dump_yaml(cfg))
    sets = target_sets(cfg)
    sizes = candidate_tasks(cfg)
    baseline = baseline_scores(cfg, sets, run_dir / "baseline.json")
    pending = [t for t in sizes if not (run_dir / "tasks" / f"{t}.json").is_file()]
    if pending:
        if cfg.workers > 1 and len(pending) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            import torch

            n_gpus = torch.cuda.device_count()
            threads = max(1, (os.cpu_count() or 1) // cfg.workers) if not n_gpus else 1
            ctx = mp.get_context("spawn")
            counter = ctx.Value("i", 0)
            with ProcessPoolExecutor(
                cfg.workers, mp_context=ctx, initializer=_worker_init, initargs=(counter, n_gpus, threads)
            ) as pool:
                futures = [
                    pool.submit(_patch_in_worker, to_dict(cfg), t, sets, str(run_dir)) for t in pending
                ]
                for f in futures:
                    f.result()
        else:
            for i, t in enumerate(pending):
                if progress:
                    print(f"tail-patch {i + 1}/{len(pending)}: {t}", flush=True)
                patch_one(cfg, t, sets, run_dir)
    return summarize(cfg, run_dir, sorted(sizes), baseline)


def summarize(
    cfg: TailpatchConfig, run_dir: Path, tasks: list[str], baseline: dict[str, float]
) -> dict[str, Any]:
    records = {t: json.loads((run_dir / "tasks" / f"{t}.json").read_text()) for t in tasks}
    categories = sorted(baseline)
    deltas = {t: {c: r["after"][c] - baseline[c] for c in categories} for t, r in records.items()}
    ratings = {
        t: {
            c: rate_effect(deltas[t][c], (r["mid"][c] - baseline[c]) if r.get("mid") else None, cfg.rating)
            for c in categories
        }
        for t, r in records.items()
    }
    bundles = form_bundles(ratings, deltas, baseline, cfg.bundles)
    weights = mixture_weights(bundles, cfg.bundles)
    table = {
        "metric": cfg.target.metric,
        "split": "dev",
        "steps": cfg.train.steps,
        "baseline": baseline,
        "categories": categories,
        "tasks": {
            t: {
                c: {
                    "before": baseline[c],
                    "mid": records[t]["mid"][c] if records[t].get("mid") else None,
                    "after": records[t]["after"][c],
                    "delta": deltas[t][c],
                    "rating": ratings[t][c],
                }
                for c in categories
            }
            for t in tasks
        },
        "bundles": bundles,
        "weights": weights,
    }
    effects = run_dir / "effects.json"
    _write_json(effects, table)
    mixture = run_dir / "mixture.json"
    _write_json(
        mixture,
        {
            "name": cfg.mixture_name,
            "description": f"tail-patch mixture from {run_dir} ({len(tasks)} tasks, {cfg.train.steps} steps each, "
            f"{cfg.target.metric} on dev data)",
            "components": [[t, w] for t, w in weights.items()],
            "bundles": bundles,
        },
    )
    heatmap = plot_effects(table, run_dir / "effects.png")
    return {
        "effects": str(effects),
        "mixture": str(mixture),
        "mixture_name": cfg.mixture_name,
        "heatmap": str(heatmap) if heatmap else None,
        "table": table,
    }


def plot_effects(table: dict[str, Any], out: Path) -> Path | None:
    """Heat map of Δ (colour) with the rating written in each cell."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    tasks, cats = list(table["tasks"]), table["categories"]
    values = [[table["tasks"][t][c]["delta"] for c in cats] for t in tasks]
    bound = max([abs(v) for row in values for v in row] + [0.01])  # ±1 point at least: no 1e-6 scales
    fig, ax = plt.subplots(figsize=(max(6.5, 3.5 + 1.1 * len(cats)), 1.4 + 0.32 * len(tasks)))
    im = ax.imshow(values, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(cats)), cats, rotation=30, ha="right")
    ax.set_yticks(range(len(tasks)), [t[:48] for t in tasks], fontsize=7)
    for i, t in enumerate(tasks):
        for j, c in enumerate(cats):
            r = table["tasks"][t][c]["rating"]
            ax.text(j, i, f"{r:+d}" if r else "0", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label=f"Δ {table['metric']} (dev)")
    ax.set_title(f"tail-patch: Δ per category after {table['steps']} steps (cell: rating)", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
