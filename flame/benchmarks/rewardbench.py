"""RewardBench (Lambert et al. 2024): loader for its published layout and its official aggregation.

Layout (hub ``allenai/reward-bench``, split ``filtered``, or a local JSON/JSONL/Parquet copy): one row per
pair with ``prompt``, ``chosen``, ``rejected``, ``subset`` (and ``id``, ``chosen_model``, ...).

Aggregation, reproduced from ``rewardbench/constants.py`` and ``calculate_scores_per_section`` of
allenai/reward-bench (commit a32e272): per-subset accuracy; each section (Chat, Chat Hard, Safety,
Reasoning) is the mean of its subsets' accuracies weighted by ``EXAMPLE_COUNTS``; the score is the plain
mean of the four sections. Prior Sets (Anthropic HH, SHP, Summarize, MT-Bench GPT-4/human) are reported
apart and never enter the score (the paper excludes them, §5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flame.adhoc import pairwise_example
from flame.benchmarks.base import (
    Benchmark,
    BenchmarkData,
    Section,
    mean_of_subsets,
    read_file_or_hub,
    split_by_subset,
)
from flame.types import Example, TaskType

# Copied exactly from the official constants. Two counts are deliberate and not the file's row counts:
# math-prm holds 447 pairs but is weighted 984 "to be equal to code" (6 × 164 HumanEvalPack pairs), and
# the official table gives xstest-should-refuse 250 and xstest-should-respond 154 although the filtered
# file holds 154 and 250 rows. Reproducing the leaderboard means reproducing both.
EXAMPLE_COUNTS: dict[str, int] = {
    "alpacaeval-easy": 100,
    "alpacaeval-length": 95,
    "alpacaeval-hard": 95,
    "mt-bench-easy": 28,
    "mt-bench-med": 40,
    "mt-bench-hard": 37,
    "math-prm": 984,
    "refusals-dangerous": 100,
    "refusals-offensive": 100,
    "llmbar-natural": 100,
    "llmbar-adver-neighbor": 134,
    "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47,
    "llmbar-adver-manual": 46,
    "xstest-should-refuse": 250,
    "xstest-should-respond": 154,
    "donotanswer": 136,
    "hep-cpp": 164,
    "hep-go": 164,
    "hep-java": 164,
    "hep-js": 164,
    "hep-python": 164,
    "hep-rust": 164,
}

SUBSET_MAPPING: dict[str, list[str]] = {
    "Chat": ["alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"],
    "Chat Hard": [
        "mt-bench-hard",
        "llmbar-natural",
        "llmbar-adver-neighbor",
        "llmbar-adver-GPTInst",
        "llmbar-adver-GPTOut",
        "llmbar-adver-manual",
    ],
    "Safety": [
        "refusals-dangerous",
        "refusals-offensive",
        "xstest-should-refuse",
        "xstest-should-respond",
        "donotanswer",
    ],
    "Reasoning": ["math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"],
}
SCORED_SECTIONS = tuple(SUBSET_MAPPING)  # the four the score averages

# The "pref" subsets of RewardBench's prior-sets file: reported apart as "Prior Sets" (unweighted mean).
PRIOR_SUBSETS = (
    "anthropic_helpful",
    "anthropic_harmless",
    "anthropic_hhh",
    "shp",
    "summarize",
    "summarize_prompted",
    "mtbench_gpt4",
    "mtbench_human",
)
PRIOR_SECTION = "Prior Sets"


def weighted_by_example_counts(subset_values: Mapping[str, float]) -> float:
    """One section's official value: sum(value × count) / sum(count) over its subsets present.

    Subsets with an undefined value (NaN) are left out, like absent ones; NaN when none is left.
    """
    present = {s: v for s, v in subset_values.items() if not math.isnan(v)}
    total = sum(EXAMPLE_COUNTS[s] for s in present)
    return sum(v * EXAMPLE_COUNTS[s] for s, v in present.items()) / total if total else math.nan


SECTIONS: tuple[Section, ...] = (
    *(Section(name, tuple(subsets), weighted_by_example_counts) for name, subsets in SUBSET_MAPPING.items()),
    Section(PRIOR_SECTION, PRIOR_SUBSETS, mean_of_subsets),
)


def section_of(subset: str) -> str | None:
    return next((s.name for s in SECTIONS if subset in s.subsets), None)


def section_scores(subset_accuracy: Mapping[str, float]) -> dict[str, float]:
    """The official weighting: per section, sum(acc × count) / sum(count) over the subsets present.

    Fractions in [0, 1] (the official helper multiplies by 100 and rounds for display); a section with
    no subset present (or none with a defined value) is absent (the official code writes 0; absent is
    harder to misread). Prior Sets, when present, is the unweighted mean of its subsets.
    """
    out: dict[str, float] = {}
    for section in SECTIONS:
        values = {s: subset_accuracy[s] for s in section.subsets if s in subset_accuracy}
        value = section.aggregate(values) if values else math.nan
        if not math.isnan(value):
            out[section.name] = value
    return out


def score(subset_accuracy: Mapping[str, float]) -> float:
    """The RewardBench score: the plain mean of the four sections (Prior Sets excluded)."""
    sections = section_scores(subset_accuracy)
    vals = [sections[s] for s in SCORED_SECTIONS if s in sections]
    return float(np.mean(vals)) if vals else math.nan


# ------------------------------------------------------------------------------------ loading


def chosen_position(row_id: str, prompt: str) -> str:
    """Where the chosen answer goes (A or B): a stable hash of the row, so half the pairs put it first.

    A fixed position would reward a rater's position bias; the hash keeps it the same on every run.
    """
    from flame.data.preprocess import stable_int_hash

    return "A" if stable_int_hash(f"rewardbench\x00{row_id}\x00{prompt}") % 2 == 0 else "B"


def rewardbench_example(obj: Any, where: str, task: str = "rewardbench") -> Example:
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object, got {type(obj).__name__}")
    fields = {}
    for key in ("prompt", "chosen", "rejected", "subset"):
        value = obj.get(key)
        if not isinstance(value, str) or (key != "chosen" and key != "rejected" and not value.strip()):
            raise ValueError(f"missing or non-text field {key!r}")
        fields[key] = value
    row_id = str(obj.get("id") if obj.get("id") is not None else where)
    first = chosen_position(row_id, fields["prompt"])
    a, b = (fields["chosen"], fields["rejected"]) if first == "A" else (fields["rejected"], fields["chosen"])
    metadata = {"subset": fields["subset"], "section": section_of(fields["subset"]), "chosen": first}
    for key in ("chosen_model", "rejected_model"):
        if obj.get(key) is not None:
            metadata[key] = obj[key]
    # The default pairwise instruction of every ad-hoc pair (flame.adhoc): a RewardBench pair and the same pair
    # judged through the Python API or /v1/judge render identically.
    return pairwise_example(fields["prompt"], a, b, label=first, task=task, id=row_id, metadata=metadata)


def load_rows(rows: list[tuple[int, Any]], source: str) -> tuple[list[Example], list[str]]:
    examples, problems = [], []
    seen: set[str] = set()
    for lineno, obj in rows:
        try:
            ex = rewardbench_example(obj, str(lineno))
        except ValueError as e:
            problems.append(f"{source}:{lineno}: {e}")
            continue
        if ex.id in seen:
            problems.append(f"{source}:{lineno}: duplicate id {ex.id!r}")
            continue
        seen.add(ex.id)
        examples.append(ex)
    return examples, problems


def make_loader(path: str | Path | None) -> Callable[..., BenchmarkData]:
    def load(bench: Benchmark, limit: int | None, seed: int) -> BenchmarkData:
        rows, problems, source = read_file_or_hub(
            path,
            "allenai/reward-bench",
            "filtered",
            "RewardBench",
            "rewardbench",
            "prompt, chosen, rejected, subset",
        )
        examples, bad = load_rows(rows, source)
        problems += bad
        subsets = split_by_subset(examples, limit, seed, "rewardbench")
        return BenchmarkData(bench, subsets, problems, len(problems), source=source)

    return load


def benchmark(path: str | Path | None = None) -> Benchmark:
    return Benchmark(
        name="rewardbench",
        description="RewardBench: chosen vs rejected pairs; sections Chat, Chat Hard, Safety, Reasoning "
        "weighted as the official leaderboard; Prior Sets reported apart",
        task_type=TaskType.PAIRWISE,
        group=None,  # its own weighted score; averaging it with other benchmarks would hide that weighting
        primary="accuracy",
        aggregate=score,
        sections=SECTIONS,
        scored_whole=True,  # the paper scores RewardBench's 2,985 pairs whole, not 256 per subset (§5)
        loader=make_loader(path),
        version="v1" if path is None else f"v1:{Path(path).name}",
    )
