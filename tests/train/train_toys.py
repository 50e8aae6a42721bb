"""Throw-away tasks and a tiny model for the training tests (offline, seconds)."""

from __future__ import annotations

import json
import random
from functools import partial
from pathlib import Path

from flame.data.mixtures import Mixture, examples_proportional
from flame.data.sources import LocalFiles
from flame.data.task import Row, Task, require_text
from flame.types import TaskType

# capability of each toy pairwise task; one classification task for factuality
PAIRWISE = {
    "toy_chat_pairwise_v1": "general_quality",
    "toy_safety_pairwise_v1": "safety",
    "toy_code_pairwise_v1": "coding",
}
CLASSIFICATION = "toy_fact_classification_v1"
TOY_MIXTURE = "toy_mix_v1"
TOY_RM_MIXTURE = "toy_rm_mix_v1"


def pairwise_row(record: dict, topic: str = "") -> Row:
    return Row(
        {
            "prompt": require_text(record, "prompt"),
            "response A": require_text(record, "a"),
            "response B": require_text(record, "b"),
        },
        record["label"],
    )


def claim_row(record: dict) -> Row:
    return Row(
        {"document": require_text(record, "doc"), "claim": require_text(record, "claim")}, record["label"]
    )


def write_toy_data(root: Path, n: int = 60) -> None:
    """Pairwise rows where the better response says 'good' (a pattern a tiny model can pick up)."""
    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"]
    for name in PAIRWISE:
        lines = []
        for i in range(n):
            filler = " ".join(rng.choice(words) for _ in range(rng.randint(3, 40)))
            good, bad = f"good answer {filler}", f"poor answer {filler[::-1]}"
            label = rng.choice("AB")
            a, b = (good, bad) if label == "A" else (bad, good)
            lines.append({"prompt": f"{name} question {i}: {filler}", "a": a, "b": b, "label": label})
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "rows.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    lines = []
    for i in range(n):
        filler = " ".join(rng.choice(words) for _ in range(rng.randint(3, 30)))
        yes = rng.random() < 0.5
        lines.append(
            {
                "doc": f"document {i} {filler}",
                "claim": f"{'true' if yes else 'false'} {filler[:20]}",
                "label": "Yes" if yes else "No",
            }
        )
    (root / CLASSIFICATION).mkdir(parents=True, exist_ok=True)
    (root / CLASSIFICATION / "rows.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")


def toy_tasks() -> list[Task]:
    tasks = [
        Task(
            name=name,
            dataset=name,
            task_type=TaskType.PAIRWISE,
            capability=cap,
            license="MIT",
            title="Which response is better?",
            description="Answer 'A' or 'B'.",
            source=LocalFiles(f"{name}/rows.jsonl"),
            to_row=partial(pairwise_row, topic=cap),
            labels=("A", "B"),
        )
        for name, cap in PAIRWISE.items()
    ]
    tasks.append(
        Task(
            name=CLASSIFICATION,
            dataset=CLASSIFICATION,
            task_type=TaskType.CLASSIFICATION,
            capability="factuality",
            license="MIT",
            title="Is the claim supported?",
            description="Answer 'Yes' or 'No'.",
            source=LocalFiles(f"{CLASSIFICATION}/rows.jsonl"),
            to_row=claim_row,
            labels=("Yes", "No"),
        )
    )
    return tasks


def toy_mixtures() -> list[Mixture]:
    names = [*PAIRWISE, CLASSIFICATION]
    return [
        Mixture(TOY_MIXTURE, tuple((n, examples_proportional(2**16)) for n in names), "toy tasks"),
        Mixture(TOY_RM_MIXTURE, tuple((n, 1.0) for n in PAIRWISE), "toy pairwise, equal rates"),
    ]


def make_tiny_model(tokenizer_dir: Path, out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
