"""Fitting an example into a token budget: the one truncation rule of rating, training and evaluation.

`fit_example` shortens an `Example` (never its token ids) until its rendering fits, one *strategy* step at a
time, so the model always reads well-formed FLAMe text: the raters (`flame.raters.hf`), the label scorer
(`flame.scoring`), the training encoders (`flame.train.collate`) and the encoder judge (`flame.encoder.inputs`)
all call it, and a truncated input reads the same wherever it is scored or trained on.

A strategy is any ``(example, excess, tokenizer) -> shorter example | None``: given how many tokens are over
budget, it returns a shorter example, or None when it has nothing left to cut. `cut_middle` (the default) is
the only one today; a new one (e.g. cutting a long source around what the judged text mentions) is a function
with that signature, passed as ``strategy=`` or named in `STRATEGIES`. No torch here: only a tokenizer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flame.types import Example

# What stands where a field was cut: spaces on both sides so that it never merges with the kept words.
TRUNCATION_MARKER = " … "

Strategy = Callable[[Example, int, Any], Example | None]


def cut_middle(ex: Example, excess: int, tokenizer) -> Example | None:
    """Cut ``excess`` tokens (plus the marker's) out of the middle of the longest CONTEXT field.

    Why the middle of the longest field: the instructions say what to judge and the end of the prompt holds
    the answer slot (or the target), so both must survive; a long article or response keeps its opening and
    its ending, which is where most of the evidence (and the conclusion) sits. Two tokens of slack: decoding
    and re-encoding the kept pieces can merge differently at the cut.
    """
    if not ex.inputs:
        return None
    marker = len(tokenizer(TRUNCATION_MARKER, add_special_tokens=False, verbose=False).input_ids)
    key = max(ex.inputs, key=lambda k: len(ex.inputs[k]))
    value_ids = tokenizer(ex.inputs[key], add_special_tokens=False, verbose=False).input_ids
    keep = max(0, len(value_ids) - excess - marker - 2)
    head, tail = keep - keep // 2, keep // 2
    text = tokenizer.decode(value_ids[:head]) + TRUNCATION_MARKER
    if tail:
        text += tokenizer.decode(value_ids[len(value_ids) - tail :])
    if len(text) >= len(ex.inputs[key]):  # nothing left to trim in this field
        text = TRUNCATION_MARKER.strip()
    return dataclasses.replace(ex, inputs={**ex.inputs, key: text})


STRATEGIES: dict[str, Strategy] = {"middle": cut_middle}


def fit_example(
    ex: Example,
    tokenizer,
    length_of: Callable[[Example], int],
    budget: int,
    strategy: Strategy | str = cut_middle,
) -> tuple[Example, bool]:
    """(``ex`` shortened by ``strategy`` until ``length_of(ex) <= budget``, whether it was shortened).

    Two steps per field at most: one cut is usually enough, a second absorbs re-tokenization drift, and a
    field already reduced to the marker cannot shrink further. The result may still be over budget (the
    instructions alone are); the caller then cuts token ids (`fit_ids`).
    """
    if isinstance(strategy, str):
        strategy = STRATEGIES[strategy]
    n = length_of(ex)
    if n <= budget:
        return ex, False
    for _ in range(2 * max(1, len(ex.inputs))):
        shorter = strategy(ex, n - budget, tokenizer)
        if shorter is None:
            break
        ex = shorter
        n = length_of(ex)
        if n <= budget:
            break
    return ex, True


def fit_ids(
    ex: Example,
    tokenizer,
    render: Callable[[Example], str],
    budget: int,
    strategy: Strategy | str = cut_middle,
) -> tuple[Example, list[int], bool]:
    """(the fitted example, the token ids of ``render(fitted)``, truncated?) within ``budget`` tokens.

    When the instructions alone are over budget the ids keep their end, where the answer slot is (for a
    causal prompt) and where the context ends (a seq2seq encoder input, whose target is in the decoder).
    """

    def encode(e: Example) -> list[int]:
        # Over-long on purpose (then cut): the tokenizer's warning about it (verbose) is noise.
        return list(tokenizer(render(e), verbose=False).input_ids)

    ids = encode(ex)
    if len(ids) <= budget:  # most rows: tokenized once
        return ex, ids, False
    ex, _ = fit_example(ex, tokenizer, lambda e: len(encode(e)), budget, strategy)
    return ex, encode(ex)[-budget:], True
