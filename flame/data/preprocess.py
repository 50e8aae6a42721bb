"""Small pure functions shared by task registrations: stable hashes, answer order, votes, scales."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import xxhash

from flame.data.task import BadRow, require_text


def stable_int_hash(text: str, seed: int = 0) -> int:
    """A 64-bit hash that is the same on every machine and Python run (unlike ``hash``)."""
    return xxhash.xxh64_intdigest(text.encode("utf-8"), seed=seed)


def normalize_text(text: str) -> str:
    """Lower-case, collapse whitespace: the form hashed for splits and overlap checks."""
    return re.sub(r"\s+", " ", text).strip().lower()


def put_first(key: str) -> bool:
    """Whether the human-preferred answer of a pair goes in position A.

    Many sources store the preferred answer first (HH-RLHF's ``chosen``); a judge trained on that order
    learns "always A". The order is drawn from a stable hash of the pair's text, so it is balanced
    (about half A) and the same on every machine.
    """
    return stable_int_hash(normalize_text(key), seed=1) % 2 == 0


def pairwise_row_fields(
    prompt: str, preferred: str, other: str, prompt_label: str = "prompt"
) -> tuple[dict[str, str], str]:
    """CONTEXT fields and answer for a pair whose preferred answer is known, in a balanced order."""
    if put_first(prompt + "\x00" + preferred + "\x00" + other):
        return {prompt_label: prompt, "response A": preferred, "response B": other}, "A"
    return {prompt_label: prompt, "response A": other, "response B": preferred}, "B"


def majority_vote(votes: Iterable[str]) -> str | None:
    """The most common vote, or None when the top two are tied."""
    counts = Counter(v for v in votes if v is not None).most_common()
    if not counts:
        return None
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def to_float(value, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise BadRow(f"{name} is not a number: {value!r}") from None
    except OverflowError:  # an integer of 400 digits: no float holds it
        raise BadRow(f"{name} is too large for a number ({len(str(value))} digits)") from None
    if out != out:  # NaN
        raise BadRow(f"{name} is NaN")
    return out


def rescale_to_label(value: float, low: float, high: float, n_points: int = 5) -> str:
    """Map a score on [low, high] linearly onto the integer scale 1..n_points (rounded half up)."""
    if not low <= value <= high:
        raise BadRow(f"score {value} outside [{low}, {high}]")
    position = (value - low) / (high - low) * (n_points - 1) + 1
    return str(int(position + 0.5))


def knowledge_dialogue_inputs(record: dict) -> dict[str, str]:
    """Knowledge-grounded dialogue (BEGIN, Q²): the knowledge, the previous turn (omitted when the response
    opens the dialogue) and the response, from ``knowledge``/``message``/``response`` columns."""
    inputs = {"knowledge": require_text(record, "knowledge")}
    message = require_text(record, "message", allow_empty=True)
    if message:
        inputs["conversation"] = message
    inputs["response"] = require_text(record, "response", allow_empty=True)
    return inputs
