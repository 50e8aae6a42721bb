"""Shipped mixtures. ``flame_v1``: every training task, examples-proportional with the paper's cap.
``flame_rm_v1``: the FLAMe-RM mix (paper §4.2) as far as the data here allows."""

from __future__ import annotations

from flame.data.mixtures import PAPER_CAP, Mixture, examples_proportional, register_mixture
from flame.data.task import TASKS


def every_training_task():
    """Every registered task that is not an evaluation-only benchmark (resolved when the mixture is used)."""
    return tuple((t.name, examples_proportional(PAPER_CAP)) for t in TASKS.values() if not t.eval_only)


register_mixture(
    Mixture(
        "flame_v1",
        every_training_task,
        description="Every training task (held-out benchmarks excluded), examples-proportional, capped at 2^16 "
        "examples per task as in the paper.",
    )
)
