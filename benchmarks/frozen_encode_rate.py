"""Rows a frozen encoder judge encodes per second, by row format, side by side in one run (issue 17).

    python benchmarks/frozen_encode_rate.py --rows 600

Draws ``--rows`` training rows of configs/flame_mini.yaml's mixture (seeded, as `flame train` draws them),
then for each (instructions, fields) format tokenizes them (`flame.encoder.inputs.encode`) and runs the
encoder over them as the frozen recipe does (`EncoderJudge.encode_rows`: length-sorted batches, bf16
autocast where the CPU has it, no gradients), timing both. Nothing is cached: every format pays its whole
encoding. Prints examples per second, tokens per example (rows; fields embedded alone) and the ratio to the
first format. Needs the data root (``FLAME_DATA_DIR``) and the built collection.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

FORMATS = [("full", "alone"), ("full", "spans"), ("title", "alone"), ("title", "spans")]


def main() -> None:
    import torch

    from flame.encoder.inputs import collate
    from flame.train.base import load_family_model, model_family, resolve_base_model
    from flame.train.config import load_config
    from flame.train.data import build_training_data
    from flame.train.frozen import draw_rows
    from flame.train.recipe import resolve_dtype

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--config", default="configs/flame_mini.yaml")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    cfg = load_config(args.config)
    base = resolve_base_model(cfg.model.base)
    family = model_family(cfg.model, base)
    judge, tokenizer = load_family_model(cfg.model, base, family)
    judge.eval()
    data = build_training_data(cfg.data, progress=False)
    examples = [data.example(task, k) for task, k in draw_rows(data, args.rows, args.seed)]
    bf16 = resolve_dtype(cfg.model.dtype) == "bf16"
    batch = cfg.eval.batch_size
    print(f"{len(examples)} rows of {cfg.data.mixture}, batch {batch}, {'bf16' if bf16 else 'fp32'}")
    print("| instructions | fields | examples/s | tokens / example (rows) | field tokens / example | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    figures = []
    for instructions, fields in FORMATS:
        judge.fields = fields
        start = time.perf_counter()
        encoded = [
            family.encode(ex, tokenizer, cfg.data.max_length, instructions=instructions, fields=fields)
            for ex in examples
        ]
        order = sorted(range(len(encoded)), key=lambda i: encoded[i].n_tokens)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            for s in range(0, len(order), batch):
                judge.encode_rows(collate([encoded[i] for i in order[s : s + batch]], tokenizer.pad_token_id))
        seconds = time.perf_counter() - start
        row_tokens = sum(e.n_tokens for e in encoded) / len(encoded)
        field_tokens = sum(len(f) for e in encoded for fs in e.fields for f in fs) / len(encoded)
        rate = len(encoded) / seconds
        figures.append(
            {"instructions": instructions, "fields": fields, "examples_per_s": rate, "seconds": seconds}
            | {"row_tokens": row_tokens, "field_tokens": field_tokens}
        )
        print(
            f"| {instructions} | {fields} | {rate:.1f} | {row_tokens:.0f} | {field_tokens:.0f} | "
            f"{rate / figures[0]['examples_per_s']:.2f}× |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": len(examples), "batch": batch, "bf16": bf16, "figures": figures}, f, indent=1)


if __name__ == "__main__":
    main()
