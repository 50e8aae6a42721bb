"""Training throughput of the two FLAMe-mini bases on the same human judgments, side by side in one process.

    .venv/bin/python benchmarks/judge_throughput.py                 # ~5 minutes on 2 cores
    .venv/bin/python benchmarks/judge_throughput.py --steps 4 --json out.json

Both draw the same examples from flame_mini_v1 (the recipe's seeded stream, decontaminated) and run the
recipe's own step: encode, collate, forward + backward under bf16 autocast (where the CPU has it), AdamW.
Settings (the configs' own): SmolLM2-135M with 20 of 30 layers frozen, answer-only loss, 512 tokens;
MiniLM-L6 encoder judge, nothing frozen, at several row lengths. Reported per setting: human judgments
per second (a pair counts once; SmolLM2's swap_pairs twin is a second sequence of the same judgment) and
real tokens per second. The first step of each setting is a warm-up and is not timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def draw(n: int, seed: int = 0):
    from flame.data.mixtures import MixtureSampler
    from flame.train.config import DataConfig
    from flame.train.data import build_training_data

    data = build_training_data(DataConfig(mixture="flame_mini_v1"), progress=False)
    sampler = MixtureSampler(data.rates, data.sizes, seed=seed)
    return [data.example(*next(sampler)) for _ in range(n)]


def run_setting(name, base, examples, *, max_length, freeze, batch_size, micro, steps, swap=False):
    import torch

    from flame.raters.base import can_swap, swap_example
    from flame.train.base import load_model
    from flame.train.config import ModelConfig
    from flame.train.score import is_encoder_judge

    model, tok, _ = load_model(ModelConfig(base=base, dropout=0.05, freeze_layers=freeze))
    model.train()
    if is_encoder_judge(model):
        from flame.encoder.inputs import collate, encode
        from flame.encoder.model import judge_losses

        def losses(mb):
            return judge_losses(model, collate(mb, tok.pad_token_id))

        sequences = [[encode(ex, tok, max_length)] for ex in examples]
    else:
        from flame.train.collate import collate_causal, encode_causal, token_losses

        def losses(mb):
            return token_losses(model, collate_causal(mb, tok.pad_token_id), False)[0]

        sequences = []
        for ex in examples:
            group = [ex, swap_example(ex)] if swap and can_swap(ex) else [ex]
            sequences.append([encode_causal(e, tok, max_length, "answer") for e in group])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    timed = judgments = tokens = 0.0
    cursor = 0
    for step in range(steps + 1):
        batch, judged = [], 0
        while len(batch) < batch_size and cursor < len(sequences):
            batch += sequences[cursor]
            cursor += 1
            judged += 1
        batch = sorted(batch, key=lambda e: -e.n_tokens)
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            for i in range(0, len(batch), micro):
                mb = batch[i : i + micro]
                (losses(mb).sum() / len(batch)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step:  # the first step is a warm-up
            timed += time.perf_counter() - t
            judgments += judged
            tokens += sum(e.n_tokens for e in batch)
    return {
        "setting": name,
        "judgments_per_s": round(judgments / timed, 3),
        "tokens_per_s": round(tokens / timed, 1),
        "steps": steps,
        "batch_size": batch_size,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import torch

    torch.manual_seed(0)
    examples = draw(16 * (args.steps + 1) * 2)
    settings = [
        ("smollm2 freeze 20, 512 tokens, swap_pairs", "smollm2", 512, 20, 8, 4, True),
        ("minilm, 256 tokens per row", "minilm", 256, 0, 16, 16, False),
        ("minilm, 384 tokens per row", "minilm", 384, 0, 16, 16, False),
        ("minilm, 512 tokens per row", "minilm", 512, 0, 16, 16, False),
    ]
    results = []
    for name, base, max_length, freeze, batch, micro, swap in settings:
        r = run_setting(
            name,
            base,
            examples,
            max_length=max_length,
            freeze=freeze,
            batch_size=batch,
            micro=micro,
            steps=args.steps,
            swap=swap,
        )
        results.append(r)
        print(json.dumps(r), flush=True)
    ref = results[0]["judgments_per_s"]
    for r in results:
        print(
            f"{r['setting']:45s} {r['judgments_per_s']:7.2f} judgments/s  ({r['judgments_per_s'] / ref:.1f}x)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
