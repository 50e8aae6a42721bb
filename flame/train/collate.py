"""The training side's names for the text-to-text LM's items and batches, and the padding measure.

Encoding (loss mask on the EVALUATION target), collation and token losses belong to the model family
(`flame.families.lm`, the encoder judge's to `flame.encoder.inputs`): the recipe reaches them through
`flame.families.ModelFamily`. The names stay importable from here for scripts written against them.
"""

from __future__ import annotations

from flame.families.lm import (
    IGNORE,
    Encoded,
    collate_causal,
    collate_seq2seq,
    encode_causal,
    encode_seq2seq,
    token_losses,
)
from flame.truncation import fit_example, fit_ids

__all__ = [
    "IGNORE",
    "Encoded",
    "collate_causal",
    "collate_seq2seq",
    "encode_causal",
    "encode_seq2seq",
    "fit_example",
    "fit_ids",
    "padding_waste",
    "token_losses",
]


def padding_waste(batches: list[list]) -> tuple[int, int]:
    """(padded slots, total slots) of micro-batches padded to their longest row (any family's items: each
    has ``rows``, and a seq2seq item ``decoder_ids`` too)."""
    pad = total = 0
    for batch in batches:
        rows = [r for e in batch for r in e.rows]
        width = max(len(r) for r in rows)
        total += width * len(rows)
        pad += sum(width - len(r) for r in rows)
        if getattr(batch[0], "decoder_ids", None) is not None:
            dwidth = max(len(e.decoder_ids) for e in batch)
            total += dwidth * len(batch)
            pad += sum(dwidth - len(e.decoder_ids) for e in batch)
    return pad, total
