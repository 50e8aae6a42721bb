"""`train.backbone: frozen`: encode every training row once with the base encoder, then train the heads.

Why: fine-tuning MiniLM on 2 CPU cores pays a forward and a backward pass for every row it learns from, so
15 minutes teach it about 3,400 human judgments (EXPERIMENTS.md E13). With the encoder frozen a row costs
one forward pass, without gradients and in bf16, and its vectors are cached (`flame.encoder.features`):
the same minutes encode ten times more *distinct* rows, and the heads then see every one of them for
``train.epochs`` passes in seconds. What the judge gives up is the encoder adapting to the task.

The rows are a fixed amount of work, not a time budget: ``train.rows`` distinct rows drawn without
replacement, each task's share following the mixture's rates (a task with fewer rows than its share gives
all it has; the rest is shared out among the others), seeded. The saved judge is the same folder as the
fine-tuned recipe's (`run:RUN_DIR` rates it unchanged): the base encoder's weights and the trained heads.
``run.json`` records ``distinct_rows``; ``rows.txt`` lists each row as ``task<TAB>id``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from flame.train.config import ConfigError, RunConfig, dump_yaml
from flame.train.data import TrainingData, build_training_data


def draw_quotas(rates: dict[str, float], sizes: dict[str, int], rows: int) -> dict[str, int]:
    """Rows per task: ``rows`` shared out by ``rates``, no task above its size (water-filling). Pure."""
    quota = dict.fromkeys(rates, 0)
    left = min(rows, sum(sizes[t] for t in rates))
    open_ = {t for t in rates if sizes[t] > 0 and rates[t] > 0}
    while left > 0 and open_:
        mass = sum(rates[t] for t in open_)
        shares = {t: left * rates[t] / mass for t in sorted(open_)}
        given = 0
        for t, share in shares.items():
            add = min(sizes[t] - quota[t], max(1, math.floor(share)), left - given)
            quota[t] += add
            given += add
            if left - given <= 0:
                break
        left -= given
        open_ = {t for t in open_ if quota[t] < sizes[t]}
        if given == 0:
            break
    return quota


def draw_rows(data: TrainingData, rows: int, seed: int) -> list[tuple[str, int]]:
    """(task, k) of ``rows`` distinct training rows, per task a seeded random subset, in a seeded order."""
    from flame.data.preprocess import stable_int_hash

    quotas = draw_quotas(data.rates, data.sizes, rows)
    picked: list[tuple[str, int]] = []
    for task in data.tasks:
        if quotas[task]:
            rng = np.random.default_rng([seed, stable_int_hash(task)])
            # A prefix of one seeded permutation: a larger run's rows include a smaller run's (cache hits).
            picked += [(task, int(k)) for k in rng.permutation(data.sizes[task])[: quotas[task]]]
    order = np.random.default_rng(seed).permutation(len(picked))
    return [picked[i] for i in order]


def train_frozen(config: RunConfig, *, progress: bool = True, data: TrainingData | None = None):
    """Draw, encode (cached), fit the heads, fit the label biases, save final/. Returns a TrainResult."""
    import torch

    from flame.data.paths import cache_dir
    from flame.encoder.features import encode_features, store_for
    from flame.train.base import load_family_model, model_family, resolve_base_model
    from flame.train.recipe import TrainResult, _write_json, resolve_dtype, validate

    validate(config)
    run_dir = Path(config.run_dir)
    if (run_dir / "final").exists():
        raise ConfigError(
            f"{run_dir} already holds a run: set run_dir elsewhere (a frozen run is not resumed)"
        )
    base_path = resolve_base_model(config.model.base)
    family = model_family(config.model, base_path)
    if not family.fits_label_biases:
        raise ConfigError(
            "train.backbone: frozen trains an encoder judge's heads; this base is not an encoder"
        )
    torch.manual_seed(config.train.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(dump_yaml(config))
    log = (run_dir / "metrics.jsonl").open("w", encoding="utf-8")
    start = time.monotonic()

    def record(entry: dict[str, Any]) -> None:
        entry = {**entry, "minutes": round((time.monotonic() - start) / 60, 3)}
        log.write(json.dumps(entry) + "\n")
        log.flush()

    judge, tokenizer = load_family_model(config.model, base_path, family)
    for p in judge.backbone.parameters():
        p.requires_grad_(False)
    data = data if data is not None else build_training_data(config.data, progress=progress)
    drawn = draw_rows(data, config.train.rows, config.train.seed)
    examples = [data.example(task, k) for task, k in drawn]
    max_length = config.data.max_length
    encoded = []
    for ex in _bar(examples, progress, "tokenize"):
        e = family.encode(ex, tokenizer, max_length, instructions=judge.instructions, fields=judge.fields)
        e.weight = data.weight(ex)
        encoded.append(e)
    dtype = resolve_dtype(config.model.dtype)
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if dtype == "bf16" else None
    store = store_for(judge.backbone, cache_dir() if config.train.feature_cache else None)
    bar = _bar(None, progress, "encode", total=len(encoded))
    cached = encode_features(
        judge,
        encoded,
        store,
        pad_id=tokenizer.pad_token_id or 0,
        batch_size=config.eval.batch_size,
        autocast=autocast,
        tag=dtype,
        progress=bar.update if bar is not None else None,
    )
    if bar is not None:
        bar.close()
    encode_minutes = (time.monotonic() - start) / 60
    record({"examples": len(cached), "vectors_encoded": store.added, "encode_minutes": encode_minutes})
    fit_heads(judge, cached, config, record, progress)
    judge.eval()
    if config.eval.calibrate:
        biases = family.fit_label_biases(
            judge,
            tokenizer,
            list(data.tasks) if config.eval.calibrate_on == "run" else None,
            n=config.eval.calibrate,
            max_length=max_length,
            batch_size=config.eval.batch_size,
            autocast=autocast,
            seed=config.train.seed,
        )
        judge.calibration = biases
        record({"calibration": [b.to_json() for b in biases]})
    final_dir = run_dir / "final"
    family.save(judge, tokenizer, final_dir, row_length=max_length)
    (run_dir / "rows.txt").write_text("".join(f"{ex.task}\t{ex.id}\n" for ex in examples), encoding="utf-8")
    from flame import __version__

    _write_json(
        run_dir / "run.json",
        {
            "base_model": config.model.base,
            "base_path": base_path,
            "backbone": "frozen",
            "mixture": config.data.mixture,
            "tasks": data.tasks,
            "files": config.data.files,
            "seed": config.train.seed,
            "distinct_rows": len({(ex.task, ex.id) for ex in examples}),
            "pairs": sum(c.pair for c in cached),
            # What the encoder read per example: its rows (2 for a pair) and its fields embedded alone.
            "row_tokens": round(sum(e.n_tokens for e in encoded) / max(len(encoded), 1), 1),
            "field_tokens": round(
                sum(len(f) for e in encoded for fs in e.fields for f in fs) / max(len(encoded), 1), 1
            ),
            "instructions": judge.instructions,
            "fields": judge.fields,
            "epochs": config.train.epochs,
            "encode_minutes": round(encode_minutes, 2),
            "vectors_encoded": store.added,  # rows and label rows not found in the feature cache
            "vectors_read": store.reused,  # rows and label rows found there
            "minutes": round((time.monotonic() - start) / 60, 2),
            "dtype": dtype,
            "flame_version": __version__,
            "finished": True,
        },
    )
    log.close()
    return TrainResult(run_dir, config.train.epochs, [], final_dir)


def fit_heads(judge, cached, config: RunConfig, record, progress: bool) -> None:
    """AdamW on the heads over ``train.epochs`` seeded passes of the cached rows, ``train.batch_size`` each."""
    import torch

    from flame.encoder.features import head_batch
    from flame.train.recipe import lr_at

    heads = [p for n, p in judge.named_parameters() if not n.startswith("backbone.")]
    lr = config.optim.lr * config.optim.head_lr_scale
    opt = torch.optim.AdamW(heads, lr=lr, weight_decay=config.optim.weight_decay, eps=config.optim.eps)
    hidden = judge.config.hidden_size
    rng = np.random.default_rng(config.train.seed)
    size = config.train.batch_size
    judge.train()
    judge.backbone.eval()  # no dropout on the frozen rows: they were encoded without it
    step = 0
    for epoch in range(config.train.epochs):
        order = rng.permutation(len(cached))
        total, count = 0.0, 0.0
        for start in range(0, len(order), size):
            t = head_batch([cached[i] for i in order[start : start + size]], hidden)
            logits = judge.score(t["h"], t["features"], t["labels"], t["row_a"], t["row_b"], t["slot"])
            losses = torch.nn.functional.cross_entropy(logits, t["target"], reduction="none")
            loss = (losses * t["weight"]).sum() / len(losses)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.optim.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(heads, config.optim.max_grad_norm)
            for group in opt.param_groups:
                group["lr"] = lr_at(step + 1, lr, config.optim.warmup_steps)
            opt.step()
            step += 1
            total += float(losses.detach().sum())
            count += len(losses)
        record({"epoch": epoch + 1, "step": step, "loss": total / max(count, 1)})
        if progress:
            print(f"epoch {epoch + 1}/{config.train.epochs}: loss {total / max(count, 1):.4f}")


def _bar(items, progress: bool, desc: str, total: int | None = None):
    """A tqdm bar over ``items`` (or a manual one of ``total``) when ``progress``."""
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, unit="row")
