"""Training throughput of `flame train` against a plain `transformers.Trainer`, same data, same settings.

    .venv/bin/python benchmarks/train_throughput.py                       # SmolLM2-135M, max length 512
    .venv/bin/python benchmarks/train_throughput.py --freeze-layers 20    # the flame_mini setting
    .venv/bin/python benchmarks/train_throughput.py --base PATH --steps 3 --json out.json

Both runs train the same model (same dropout, same frozen layers) on the same examples (the encoded
batches the recipe's seeded stream yields, truncated the same way), with the same global batch, micro-batch,
learning rate, warm-up and bf16 autocast. Reported per run: examples/s, tokens/s (real tokens, padding
excluded), padding waste (padded slots / all slots of the micro-batches), and model FLOPs utilisation:
training FLOPs per real token (6N for full fine-tuning with N non-embedding parameters; 2N + 4N_trainable
with frozen lower layers) × tokens/s over the measured dense-matmul peak of this machine (the better of a
measurement before and after; on a shared CPU it drifts). The same FLOPs per token for both runs, so the
MFU ratio is the tokens/s ratio. The first `--warmup` steps of each run are not timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_TASKS = [
    "hh_rlhf_helpful_base_pairwise_v1",
    "hh_rlhf_harmless_pairwise_v1",
    "summedits_news_consistency_classification_v1",
    "hanna_coherence_pointwise_v1",
    "tulu1_human_eval_preference_pairwise_v1",
]


def matmul_peak(dtype: str, seconds: float = 2.0) -> float:
    """FLOP/s of a 2048³ matmul in ``dtype`` (the best of a few timed repeats)."""
    import torch

    dt = torch.bfloat16 if dtype == "bf16" else torch.float32
    a, b = torch.randn(2048, 2048, dtype=dt), torch.randn(2048, 2048, dtype=dt)
    for _ in range(3):
        a @ b
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        for _ in range(4):
            a @ b
        best = max(best, 4 * 2 * 2048**3 / (time.perf_counter() - t))
    return best


def non_embedding_params(model, trainable_only: bool = False) -> int:
    emb = {id(p) for p in model.get_input_embeddings().parameters()}
    out = model.get_output_embeddings()
    if out is not None:
        emb |= {id(p) for p in out.parameters()}
    return sum(
        p.numel() for p in model.parameters() if id(p) not in emb and (p.requires_grad or not trainable_only)
    )


def flops_per_token(model) -> float:
    """Training FLOPs per token: forward 2N; backward 2N for activation gradients above the lowest trainable
    layer plus 2N for weight gradients, counted over the trainable layers only (frozen lower layers need
    neither). Full fine-tuning gives the usual 6N."""
    n, trainable = non_embedding_params(model), non_embedding_params(model, trainable_only=True)
    return 2 * n + 4 * trainable


def flame_run(args, run_dir: Path) -> dict:
    from flame.train.config import RunConfig, from_dict
    from flame.train.recipe import train

    cfg = from_dict(RunConfig, base_config(args, run_dir))
    result = train(cfg, progress=False, save_final=False)
    steps = [m for m in result.metrics if "loss" in m][args.warmup :]
    t = sum(args.batch_size / m["examples_per_s"] for m in steps)
    tokens = sum(m["tokens_per_s"] * args.batch_size / m["examples_per_s"] for m in steps)
    waste = sum(m["padding_waste"] for m in steps) / len(steps)
    return {"seconds": t, "examples": len(steps) * args.batch_size, "tokens": tokens, "padding_waste": waste}


def base_config(args, run_dir: Path) -> dict:
    return {
        "run_dir": str(run_dir),
        "model": {
            "base": args.base,
            "dtype": args.dtype,
            "freeze_layers": args.freeze_layers,
            "dropout": args.dropout,
        },
        "data": {
            "mixture": None,
            "tasks": args.tasks,
            "max_length": args.max_length,
            "loss_on": args.loss_on,
            "decontaminate": False,
            "bucket_batches": args.bucket_batches,
        },
        "optim": {"lr": 1e-4, "warmup_steps": 2},
        "train": {
            "steps": args.steps + args.warmup,
            "batch_size": args.batch_size,
            "micro_batch_size": args.micro_batch_size,
            "save_every": 0,
            "progress": False,
            "threads": args.threads,
        },
        "eval": {"every": -1},
    }


def stream_batches(args, cfg, tokenizer) -> list[list]:
    """The exact global batches the recipe trains on (its seeded, bucketed stream)."""
    from flame.train.collate import encode_causal
    from flame.train.data import BatchStream, build_training_data

    data = build_training_data(cfg.data, progress=False)
    stream = BatchStream(
        data,
        lambda ex: encode_causal(ex, tokenizer, cfg.data.max_length, cfg.data.loss_on),
        cfg.train.batch_size,
        cfg.data.bucket_batches,
        cfg.train.seed,
    )
    return [stream.next_batch() for _ in range(cfg.train.steps)]


def trainer_run(args, run_dir: Path, batches: list[list], cfg) -> dict:
    """A plain Trainer: full-sequence labels (-100 outside the target), right padding, its own sampler."""
    import torch
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    from flame.train.base import load_model
    from flame.train.recipe import resolve_dtype

    model, tokenizer, _ = load_model(cfg.model)
    rows = []
    for batch in batches:
        for e in batch:
            labels = [-100] * (len(e.input_ids) - e.n_target) + e.input_ids[-e.n_target :]
            rows.append(
                {"input_ids": e.input_ids, "attention_mask": [1] * len(e.input_ids), "labels": labels}
            )
    inner = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    waste = [0, 0]
    micro_tokens: list[int] = []  # real tokens of each micro-batch, in the order the Trainer used them

    def collator(features):
        out = inner(features)
        waste[0] += int((out["attention_mask"] == 0).sum())
        waste[1] += out["attention_mask"].numel()
        micro_tokens.append(int(out["attention_mask"].sum()))
        return out

    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            times.append(time.perf_counter() - self.t)

    bf16 = resolve_dtype(args.dtype) == "bf16"
    targs = TrainingArguments(
        output_dir=str(run_dir),
        per_device_train_batch_size=args.micro_batch_size,
        gradient_accumulation_steps=args.batch_size // args.micro_batch_size,
        max_steps=args.steps + args.warmup,
        learning_rate=1e-4,
        warmup_steps=2,
        lr_scheduler_type="constant_with_warmup",
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        dataloader_num_workers=0,
        remove_unused_columns=False,
        seed=0,
        max_grad_norm=1.0,
    )
    trainer = Trainer(
        model=model, args=targs, train_dataset=rows, data_collator=collator, callbacks=[Timer()]
    )
    trainer.train()
    # Tokens of the timed steps, from the Trainer's own (shuffled) micro-batches.
    timed = times[args.warmup :]
    accum = args.batch_size // args.micro_batch_size
    return {
        "seconds": sum(timed),
        "examples": len(timed) * args.batch_size,
        "tokens": sum(micro_tokens[args.warmup * accum :]),
        "padding_waste": waste[0] / max(1, waste[1]),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", default="smollm2")
    p.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--micro-batch-size", type=int, default=4)
    p.add_argument("--steps", type=int, default=4, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=1, help="untimed first steps")
    p.add_argument("--freeze-layers", type=int, default=0)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--loss-on", default="target", choices=["target", "answer"])
    p.add_argument("--bucket-batches", type=int, default=16)
    p.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"])
    p.add_argument("--threads", default="auto", help="a number, or 'auto' (flame.train.recipe.pick_threads)")
    p.add_argument("--skip-trainer", action="store_true")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()

    import tempfile

    import torch

    from flame.train.base import load_model
    from flame.train.config import RunConfig, from_dict
    from flame.train.recipe import pick_threads, resolve_dtype

    # Picked once, then fixed for both runs: the comparison must not depend on the pick.
    args.threads = pick_threads() if args.threads == "auto" else int(args.threads)
    torch.set_num_threads(args.threads)
    dtype = resolve_dtype(args.dtype)
    peak = matmul_peak(dtype)
    tmp = Path(tempfile.mkdtemp(prefix="flame-bench-"))
    cfg = from_dict(RunConfig, base_config(args, tmp / "flame"))
    model, tokenizer, _ = load_model(cfg.model)  # with its frozen layers
    n_params = non_embedding_params(model)
    per_token = flops_per_token(model)
    del model
    results = {"flame train": flame_run(args, tmp / "flame")}
    if not args.skip_trainer:
        batches = stream_batches(args, cfg, tokenizer)
        results["transformers.Trainer"] = trainer_run(args, tmp / "trainer", batches, cfg)
    # On a shared CPU the attainable peak drifts: take the better of a measurement before and after.
    peak = max(peak, matmul_peak(dtype))
    rows = []
    for name, r in results.items():
        tps = r["tokens"] / r["seconds"]
        r.update(
            examples_per_s=r["examples"] / r["seconds"],
            tokens_per_s=tps,
            mfu=per_token * tps / peak,
        )
        rows.append(
            f"| {name} | {r['examples_per_s']:.2f} | {tps:.0f} | {100 * r['mfu']:.1f}% | {100 * r['padding_waste']:.1f}% |"
        )
    print(
        f"\n{args.base}, max length {args.max_length}, batch {args.batch_size} (micro {args.micro_batch_size}), "
        f"{dtype}, frozen layers {args.freeze_layers}, {args.steps} timed steps; "
        f"matmul peak {peak / 1e9:.0f} GFLOP/s; {n_params / 1e6:.1f}M non-embedding parameters, "
        f"{per_token / n_params:.2f}N training FLOPs per token, "
        f"{torch.get_num_threads()} threads\n"
    )
    print("| run | examples/s | tokens/s | MFU | padding waste |\n|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "peak_flops": peak, "results": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
