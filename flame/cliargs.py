"""Typed, range-checked values for command-line flags (and environment settings such as FLAME_DEMO_LIMIT).

Every numeric flag of every subcommand takes its ``type=`` from here, so a bad value is an argparse error
(one line, exit 2) at parse time rather than a traceback, a busy loop or a silently dropped row later.
``tests/cli`` walks every subparser and fails on a numeric option whose type does not carry a range.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


class RangedType:
    """An argparse ``type``: converts the text and checks ``low <= value <= high`` (either bound optional)."""

    def __init__(self, kind: type, low: float | None = None, high: float | None = None):
        self.kind, self.low, self.high = kind, low, high
        self.__name__ = kind.__name__  # argparse names the type in its messages

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        if self.high is not None:
            return f"at most {self.high:g}"
        return "any number"

    def check(self, value: float) -> float:
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"{value:g} is out of range: it must be {self.describe()}")
        return value

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if self.kind is int else 'a number'}"
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        try:
            return self.check(value)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None


def int_range(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    return RangedType(int, low, high)


def float_range(low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    return RangedType(float, low, high)


POSITIVE_INT = int_range(1)  # counts, sizes, limits: 0 would mean "nothing" or loop forever
NON_NEGATIVE_INT = int_range(0)  # seeds and the like
PORT = int_range(0, 65535)  # 0: an ephemeral port
POSITIVE_FLOAT = float_range(1e-9)  # timeouts, waits in seconds
TOKEN_BUDGET = int_range(64)  # --max-length: below this the instructions alone would not fit


def env_int(environ, name: str, kind: RangedType, default: int | None = None) -> int | None:
    """An integer environment setting, checked like a flag; ``ValueError`` names the variable."""
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        return kind(text)
    except argparse.ArgumentTypeError as e:
        raise ValueError(f"{name}={text}: {e}") from None


def add_explain_argument(p: argparse.ArgumentParser) -> None:
    """``--explain [before|after]`` (bare: before), the same on every subcommand that builds a rater."""
    p.add_argument(
        "--explain",
        nargs="?",
        const="before",
        default=None,
        choices=["before", "after"],
        help="text-writing raters also write an explanation: 'before' (the default) a short rationale, then "
        "the answer scored after it; 'after' the answer, then an explanation of it",
    )
