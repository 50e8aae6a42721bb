"""Shipped mixtures. ``flame_v1``: every training task, examples-proportional with the paper's cap.
``flame_rm_v1``: the FLAMe-RM mix (paper §4.2) as far as the data here allows."""

from __future__ import annotations

from flame.data.mixtures import PAPER_CAP, Mixture, examples_proportional, register_mixture
from flame.data.task import TASKS


def original(task) -> bool:
    """Whether a task holds its own human judgments, not rows derived from another task's (``derived_from``).
    Why the v1 mixtures take only these: derived pairs repeat judgments their source already gives, and adding
    them would change what an existing run config builds. ``flame_mini_v3`` adds them on purpose."""
    return task.derived_from is None


def first_version(name: str) -> bool:
    """Whether a task name is a first version (``…_v1``). Why the v1 mixtures take only these: a ``…_v2`` task
    is the same data with another text (a reference answer shown, issue 19.2), so adding it would train on each
    judgment twice and change what an existing ``flame_v1`` run config builds. A later mixture picks the v2s."""
    return name.endswith("_v1")


def every_training_task():
    """Every registered first-version task that is not an evaluation-only benchmark (resolved when the mixture
    is used)."""
    return tuple(
        (t.name, examples_proportional(PAPER_CAP))
        for t in TASKS.values()
        if not t.eval_only and first_version(t.name) and original(t)
    )


register_mixture(
    Mixture(
        "flame_v1",
        every_training_task,
        description="Every training task (held-out benchmarks excluded), examples-proportional, capped at 2^16 "
        "examples per task as in the paper.",
    )
)


# FLAMe-RM (paper §4.2) fine-tunes on an equal mix of four pairwise categories: chat (HelpSteer), math (PRM800K),
# code (CommitPack) and safety (HH-RLHF harmlessness). HelpSteer, PRM800K and CommitPack are not in the shared
# data; the nearest human pairwise data stands in for each, and there is no math preference data at all, so
# the mix has three equal parts.
RM_CATEGORIES = {
    "flame_rm_chat_v1": (
        "hh_rlhf_helpful_base_pairwise_v1",
        "hh_rlhf_helpful_online_pairwise_v1",
        "hh_rlhf_helpful_rejection_sampled_pairwise_v1",
        "tulu1_human_eval_preference_pairwise_v1",
    ),
    "flame_rm_safety_v1": ("hh_rlhf_harmless_pairwise_v1",),
    "flame_rm_coding_v1": ("codegen_conala_pairwise_v1",),
}
for _name, _tasks in RM_CATEGORIES.items():
    register_mixture(
        Mixture(
            _name,
            tuple((t, examples_proportional(PAPER_CAP)) for t in _tasks),
            description=f"FLAMe-RM category {_name.split('_')[2]}: {', '.join(_tasks)}",
        )
    )

register_mixture(
    Mixture(
        "flame_rm_v1",
        tuple((name, 1.0) for name in RM_CATEGORIES),
        description="FLAMe-RM mix (paper §4.2): equal parts chat (HH-RLHF helpful, Tulu human preferences), safety "
        "(HH-RLHF harmless) and coding (pairs of CoNaLa snippets with different human grades). The paper's fourth "
        "part, math (PRM800K), has no counterpart here: there is no math preference data in the collection.",
    )
)


# FLAMe-mini: the same training tasks for a CPU budget of ~1,500 examples in a whole run. flame_v1's
# examples-proportional rates give pairwise tasks 7% of the draws (~100 pairs per run, too few to learn to
# compare two answers) and spend 7% on generative tasks, which no closed-label judgment is scored on. This
# mix fixes the task-type shares and stays examples-proportional within each type.
MINI_TYPE_SHARES = {"pairwise": 0.4, "classification": 0.4, "pointwise": 0.2}


def training_tasks_of_type(task_type: str, cap: int = PAPER_CAP):
    def components():
        return tuple(
            (t.name, examples_proportional(cap))
            for t in TASKS.values()
            if not t.eval_only and t.task_type == task_type and first_version(t.name) and original(t)
        )

    return components


def register_mini_mixture(name: str, cap: int, suffix: str, description: str) -> None:
    """``name``: MINI_TYPE_SHARES over one mixture per task type (``flame_v1_<type><suffix>``), each of every
    training task of that type, examples-proportional with ``cap``."""
    cap_text = f"2^{cap.bit_length() - 1}"
    for task_type in MINI_TYPE_SHARES:
        register_mixture(
            Mixture(
                f"flame_v1_{task_type}{suffix}",
                training_tasks_of_type(task_type, cap),
                description=f"Every {task_type} training task, examples-proportional (cap {cap_text}).",
            )
        )
    register_mixture(
        Mixture(
            name,
            tuple((f"flame_v1_{t}{suffix}", share) for t, share in MINI_TYPE_SHARES.items()),
            description=description,
        )
    )


register_mini_mixture(
    "flame_mini_v1",
    PAPER_CAP,
    "",
    "flame_v1's tasks for a small training budget: 40% pairwise, 40% classification, 20% "
    "pointwise (examples-proportional within each type), no generative tasks.",
)

# flame_mini_v2: the same type shares with a cap of 2^10 examples per task. A CPU run sees ~3,500 examples;
# at the paper's cap of 2^16 (made for a run of millions), TruthfulQA's two judge tasks and EVOUNA take two
# thirds of the classification draws, and summary and dialogue consistency (SummEdits, FRANK, QAGS, Q², BEGIN,
# DialFact) a tenth: ~55 examples in a whole run. At 2^10 no task takes more than 4% of its type and those
# consistency tasks a quarter of classification (EXPERIMENTS.md E8).
register_mini_mixture(
    "flame_mini_v2",
    2**10,
    "_cap1k",
    "flame_mini_v1 with a cap of 2^10 examples per task instead of 2^16: for a run of a few thousand "
    "examples, no large task swamps the others within its type.",
)


# flame_mini_v3 (issue 17, item 4): flame_mini_v2 plus the pairs derived from pointwise prompts with two or more
# rated responses (``flame/tasks/derived_pairs.py``), each task examples-proportional with the same 2^10 cap, the
# whole at a fifth of flame_mini_v2's weight (the pointwise share the pairs are made from): one draw in six is a
# derived pair, and flame_mini_v2's tasks keep their proportions among the other five.
DERIVED_PAIRS_RATE = 0.2


def derived_pair_tasks(cap: int):
    def components():
        return tuple(
            (t.name, examples_proportional(cap)) for t in TASKS.values() if t.derived_from and not t.eval_only
        )

    return components


register_mixture(
    Mixture(
        "flame_v1_derived_pairs_cap1k",
        derived_pair_tasks(2**10),
        description="Every pairwise task derived from a pointwise training task's prompts with two or more "
        "rated responses, examples-proportional (cap 2^10).",
    )
)
register_mixture(
    Mixture(
        "flame_mini_v3",
        (("flame_mini_v2", 1.0), ("flame_v1_derived_pairs_cap1k", DERIVED_PAIRS_RATE)),
        description="flame_mini_v2 plus pairs derived from pointwise ratings of one prompt (higher human "
        "score preferred, ties skipped), at a fifth of flame_mini_v2's weight: one draw in six.",
    )
)
