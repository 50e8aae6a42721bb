"""Gates a CI pipeline can enforce: ``flame eval --fail-below`` and ``flame bias --fail-above``.

A gate is ``[RATER@]NAME=THRESHOLD``: NAME is a benchmark (eval) or a probe (bias), or ``all`` for every
one of them; without ``RATER@`` it applies to every rater named with ``--rater``. The baselines a run adds
by itself (length and random in ``flame eval``, the random reference in ``flame bias``) are never gated:
they are there to read the figures against, and a build should not fail because a coin is biased.

A failed gate is one line (``check`` returns them); the command then exits 3, so that 2 keeps meaning "the
command line or its input is wrong" (a malformed gate is exit 2 too, through argparse).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from flame.errors import CliError

EVERY = "all"  # a gate on every benchmark (eval) or every probe (bias)
GATE_FAILED = 3  # the exit status of a command whose gate failed

Direction = Literal["below", "above"]


@dataclass(frozen=True)
class Gate:
    name: str  # a benchmark or probe name, or EVERY
    threshold: float
    rater: str | None = None  # None: every --rater rater

    def __str__(self) -> str:
        return f"{self.rater + '@' if self.rater else ''}{self.name}={self.threshold:g}"


def parse_gate(text: str) -> Gate:
    """``[RATER@]NAME=THRESHOLD`` → Gate. The threshold follows the last ``=`` and the rater precedes the
    last ``@``: rater specs may hold ``=`` and ``:`` (``openai:model=x``), benchmark and probe names never
    hold ``@``."""
    left, eq, value = text.rpartition("=")
    rater, _, name = left.rpartition("@")
    if not eq or not name:
        raise argparse.ArgumentTypeError(f"a gate is [RATER@]NAME=THRESHOLD, not {text!r}")
    try:
        threshold = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"gate {text!r}: the threshold {value!r} is not a number") from None
    if not math.isfinite(threshold):
        raise argparse.ArgumentTypeError(f"gate {text!r}: the threshold must be a finite number")
    return Gate(name=name, threshold=threshold, rater=rater or None)


def check(
    gates: Sequence[Gate],
    values: dict[tuple[str, str], float],
    raters: Sequence[str],
    names: Sequence[str],
    *,
    direction: Direction,
    what: str,
    aliases: dict[str, str] | None = None,
) -> list[str]:
    """The one-line reason of every failed gate (empty: all pass).

    ``values`` maps (rater, name) to the gated figure; ``raters`` are the gated raters (the --rater ones),
    ``names`` the benchmarks or probes of the run, ``aliases`` the specs as typed → the resolved specs. A
    gate naming a rater or a NAME the run does not hold is a usage error (exit 2): a gate that matches
    nothing would pass in silence. An undefined figure (NaN) fails its gate.
    """
    aliases = aliases or {}
    failed = []
    for g in gates:
        if g.rater is not None and aliases.get(g.rater, g.rater) not in raters:
            raise CliError(f"gate {g}: {g.rater!r} is not a --rater rater of this run ({', '.join(raters)})")
        if g.name != EVERY and g.name not in names:
            raise CliError(f"gate {g}: no {what} {g.name!r} in this run ({', '.join(names)})")
        for rater in [aliases.get(g.rater, g.rater)] if g.rater else raters:
            for name in names if g.name == EVERY else [g.name]:
                value = values.get((rater, name), math.nan)
                bad = value < g.threshold if direction == "below" else value > g.threshold
                if math.isnan(value):
                    failed.append(f"gate failed: {rater} on {what} {name}: the figure is undefined ({g})")
                elif bad:
                    failed.append(
                        f"gate failed: {rater} on {what} {name}: {value:.3f} is {direction} {g.threshold:g} ({g})"
                    )
    return failed
