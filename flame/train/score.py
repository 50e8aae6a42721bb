"""Label scoring of the model being trained: periodic evaluation and the tail-patch target metric.

Each model family scores its own way (`flame.families`): a text-to-text LM through `flame.scoring.LabelScorer`,
the rater's scorer (the same rows, truncation and fp32 head, so an in-training score equals what `flame eval`
gives the saved model); an encoder judge by its own heads (`flame.encoder.inputs`).
"""

from __future__ import annotations

import random
from collections import defaultdict

from flame.families import ModelFamily, family_of
from flame.types import Example


def label_probs(
    model,
    tokenizer,
    examples: list[Example],
    *,
    max_length: int = 512,
    batch_size: int = 8,
    family: ModelFamily | None = None,
    autocast=None,
) -> list[dict[str, float]]:
    """{label: probability} for every example with a closed label space. ``family``: None reads it from the
    model; ``autocast``: a context factory (the accelerator's) or None."""
    family = family or family_of(model)
    scored = family.label_probs(
        model, tokenizer, examples, max_length=max_length, batch_size=batch_size, autocast=autocast
    )
    return [probs for probs, _ in scored]


def score_sets(model, tokenizer, sets: dict[str, list[Example]], **kw) -> dict[str, dict[str, float]]:
    """{set name: {"accuracy", "prob", "n"}}: argmax accuracy and the mean probability of the human label."""
    out = {}
    for name, examples in sets.items():
        examples = [e for e in examples if e.labels is not None and e.answer is not None]
        if not examples:
            continue
        probs = label_probs(model, tokenizer, examples, **kw)
        correct = [max(p, key=p.get) == e.answer for p, e in zip(probs, examples, strict=True)]
        gold = [p[e.answer] for p, e in zip(probs, examples, strict=True)]
        out[name] = {
            "accuracy": sum(correct) / len(correct),
            "prob": sum(gold) / len(gold),
            "n": len(examples),
        }
    return out


def sample_spread(pools: dict[str, list[Example]], n: int, seed: int = 0) -> list[Example]:
    """``n`` examples spread evenly over several tasks (round-robin over seeded shuffles)."""
    rng = random.Random(seed)
    shuffled = {t: rng.sample(v, len(v)) for t, v in sorted(pools.items())}
    out: list[Example] = []
    cursor: dict[str, int] = defaultdict(int)
    while len(out) < n and any(cursor[t] < len(v) for t, v in shuffled.items()):
        for t, v in shuffled.items():
            if cursor[t] < len(v) and len(out) < n:
                out.append(v[cursor[t]])
                cursor[t] += 1
    return out


def is_encoder_judge(model) -> bool:
    """Kept for scripts written against it (benchmarks/judge_throughput.py); new code asks the family
    (`flame.families.family_of`) what it needs to know."""
    return not family_of(model).generates
