"""Encode once, learn many times: a frozen encoder's row features, computed once and cached on disk.

With the encoder frozen, everything `EncoderJudge.score` reads is a function of the row alone: its pooled
state ``h``, its raw field/grounding features, and the pooled label rows. So each rendered row is encoded
once (batched by length, no gradients, bf16 autocast where the CPU has it) and stored under
``FLAME_CACHE/features/<encoder weights hash>/``; the heads then train on those vectors for many epochs
in seconds, and every later stage and rerun that reads the same row with the same encoder reuses them.

A row's key is the hash of what the encoder reads of it (its token ids, each field's ids, its grounding
features) and the precision it was encoded at, so a different tokenizer, truncation or base misses the
cache instead of reading a stale vector. The cache holds Arrow files, one per encoding call, each a table
of (key, vector); a key written twice reads the first copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from flame.encoder.inputs import EncodedJudgment, collate

CACHE_VERSION = 1


def weights_hash(module: torch.nn.Module) -> str:
    """sha256 over the parameters' names, shapes and bytes: the identity of an encoder's weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(tuple(t.shape)).encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()[:16]


def row_key(
    ids: Sequence[int],
    fields: Sequence[Sequence[int]],
    grounding: Sequence[float],
    tag: str,
    spans: Sequence[tuple[int, int]] = (),
) -> str:
    parts = (tag, CACHE_VERSION, list(ids), [list(f) for f in fields], [round(g, 6) for g in grounding])
    if spans:  # a judge whose fields are spans of the row (keys of judges without them unchanged)
        parts = (*parts, "spans", [list(s) for s in spans])
    text = repr(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def label_key(ids: Sequence[int], tag: str) -> str:
    return hashlib.sha256(repr((tag, CACHE_VERSION, "label", list(ids))).encode()).hexdigest()[:32]


class FeatureStore:
    """key → float32 vector, in Arrow files under one folder (None: in memory only)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.vectors: dict[str, np.ndarray] = {}
        self.added = 0  # vectors put since it was opened
        self.reused = 0  # distinct vectors asked for by encode_features that it already held
        if folder is not None and folder.is_dir():
            import pyarrow as pa

            for path in sorted(folder.glob("*.arrow")):
                try:
                    with pa.memory_map(str(path)) as source:
                        table = pa.ipc.open_file(source).read_all()
                except (OSError, pa.ArrowInvalid):
                    continue  # a file cut short by a kill: its rows are encoded again
                keys = table.column("key").to_pylist()
                width = table.schema.field("vector").type.list_size
                flat = table.column("vector").combine_chunks().values.to_numpy(zero_copy_only=False)
                for k, v in zip(keys, flat.reshape(len(keys), width), strict=True):
                    self.vectors.setdefault(k, v)

    def __contains__(self, key: str) -> bool:
        return key in self.vectors

    def get(self, key: str) -> np.ndarray:
        return self.vectors[key]

    def put(self, items: dict[str, np.ndarray]) -> None:
        """Add vectors (all of one width) and write them as one new Arrow file, atomically."""
        items = {k: v for k, v in items.items() if k not in self.vectors}
        if not items:
            return
        self.vectors.update(items)
        self.added += len(items)
        if self.folder is None:
            return
        import pyarrow as pa

        self.folder.mkdir(parents=True, exist_ok=True)
        width = len(next(iter(items.values())))
        flat = pa.array(np.concatenate(list(items.values())).astype(np.float32))
        table = pa.table({"key": list(items), "vector": pa.FixedSizeListArray.from_arrays(flat, width)})
        final = self.folder / f"{hashlib.sha256(''.join(items).encode()).hexdigest()[:16]}.arrow"
        tmp = final.with_suffix(f".tmp{os.getpid()}")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        tmp.replace(final)


def store_for(encoder: torch.nn.Module, cache_root: Path | None) -> FeatureStore:
    """The store of this encoder's weights under ``cache_root`` (None: not on disk)."""
    if cache_root is None:
        return FeatureStore(None)
    return FeatureStore(cache_root / "features" / weights_hash(encoder))


@dataclass
class CachedJudgment:
    """One example as the heads read it: its rows' vectors ([rows, hidden + features]), label vectors."""

    task: str
    rows: np.ndarray
    labels: np.ndarray | None  # [labels, hidden]; None for a reward pair
    pair: bool
    label_names: tuple[str, ...]
    target: int
    weight: float = 1.0


def encode_features(
    judge,
    encoded: Sequence[EncodedJudgment],
    store: FeatureStore,
    *,
    pad_id: int,
    batch_size: int = 32,
    autocast: Callable | None = None,
    tag: str = "",
    progress: Callable[[int], None] | None = None,
) -> list[CachedJudgment]:
    """Each example's row and label vectors, encoding only the rows the store does not hold yet.

    ``tag`` names the precision (rows encoded under bf16 are not those encoded in fp32)."""
    row_keys = [
        [
            row_key(r, f, g, tag, s)
            for r, f, g, s in zip(e.rows, e.fields, e.grounding, e.spans or [()] * len(e.rows), strict=True)
        ]
        for e in encoded
    ]
    label_keys = [[label_key(r, tag) for r in e.label_rows] for e in encoded]
    todo = [i for i, keys in enumerate(row_keys) if any(k not in store for k in keys)]
    todo_labels = {
        k: r
        for e, keys in zip(encoded, label_keys, strict=True)
        for k, r in zip(keys, e.label_rows, strict=True)
        if k not in store
    }
    wanted = {k for keys in row_keys for k in keys} | {k for keys in label_keys for k in keys}
    store.reused += sum(k in store for k in wanted)
    todo.sort(key=lambda i: encoded[i].n_tokens)  # length-sorted batches pad least
    was_training = judge.training
    judge.eval()
    device = next(judge.parameters()).device
    try:
        with torch.inference_mode():
            if todo_labels:
                store.put(_label_vectors(judge, todo_labels, pad_id, device))
            with autocast() if autocast else contextlib.nullcontext():
                new: dict[str, np.ndarray] = {}
                for start in range(0, len(todo), batch_size):
                    idx = todo[start : start + batch_size]
                    t = {k: v.to(device) for k, v in collate([encoded[i] for i in idx], pad_id).items()}
                    h, features = judge.encode_rows(t)
                    vectors = torch.cat([h, features], dim=1).float().cpu().numpy()
                    keys = [k for i in idx for k in row_keys[i]]
                    new.update(zip(keys, vectors, strict=True))
                    if len(new) >= 4096:  # a file every few thousand rows: a kill loses little
                        store.put(new)
                        new = {}
                    if progress:
                        progress(len(idx))
                store.put(new)
    finally:
        judge.train(was_training)
    return [
        CachedJudgment(
            e.task,
            np.stack([store.get(k) for k in rk]),
            np.stack([store.get(k) for k in lk]) if lk else None,
            e.pair,
            tuple(e.labels),
            e.target,
            e.weight,
        )
        for e, rk, lk in zip(encoded, row_keys, label_keys, strict=True)
    ]


def _label_vectors(judge, rows: dict[str, list[int]], pad_id: int, device) -> dict[str, np.ndarray]:
    # Label rows in fp32, outside autocast, as `EncoderJudge.forward` embeds them.
    keys = list(rows)
    batch = [EncodedJudgment("labels", [[0]], ("x",), [rows[k]], 0, pair=False) for k in keys]
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(batch), 64):
        t = {k: v.to(device) for k, v in collate(batch[start : start + 64], pad_id).items()}
        e = judge.label_embeddings(t).float().cpu().numpy()
        for i, k in enumerate(keys[start : start + 64]):
            out[k] = e[t["slot"][i, 0].item()]
    return out


def head_batch(items: Sequence[CachedJudgment], hidden: int) -> dict[str, torch.Tensor]:
    """The tensors `EncoderJudge.score` reads, from cached examples: like `collate`, with vectors for ids."""
    from flame.encoder.inputs import PAD_SLOT, PAIR_SLOTS

    rows, row_a, row_b, slots, labels = [], [], [], [], []
    for c in items:
        row_a.append(len(rows))
        rows.extend(c.rows)
        if c.pair:
            row_b.append(row_a[-1] + 1)
            slots.append([PAIR_SLOTS[lab] for lab in c.label_names])
        else:
            row_b.append(-1)
            slots.append(list(range(len(labels), len(labels) + len(c.label_names))))
            labels.extend(c.labels)
    width = max(len(s) for s in slots)
    x = torch.from_numpy(np.stack(rows))
    return {
        "h": x[:, :hidden].contiguous(),
        "features": x[:, hidden:].contiguous(),
        "labels": torch.from_numpy(np.stack(labels)) if labels else None,
        "row_a": torch.tensor(row_a, dtype=torch.long),
        "row_b": torch.tensor(row_b, dtype=torch.long),
        "slot": torch.tensor([s + [PAD_SLOT] * (width - len(s)) for s in slots], dtype=torch.long),
        "target": torch.tensor([c.target for c in items], dtype=torch.long),
        "weight": torch.tensor([c.weight for c in items], dtype=torch.float32),
    }
