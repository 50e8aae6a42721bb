"""LLM-AggreFact (Tang et al. 2024): grounded factuality, balanced accuracy per dataset, averaged.

Layout (hub ``lytang/LLM-AggreFact`` or a local JSON/JSONL/Parquet copy): ``dataset``, ``doc``, ``claim``,
``label`` (1 = supported, 0 = unsupported). Three-way labels (WiCE's supported / partially supported /
not supported, or SUPPORTS / REFUTES / NOT ENOUGH INFO) are binarised the way LLM-AggreFact binarises
them: *supported* against everything else; a partially supported claim is not supported.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flame.adhoc import classification_example
from flame.benchmarks.base import Benchmark, BenchmarkData, read_file_or_hub, split_by_subset
from flame.types import YES_NO, Example, TaskType

TITLE = "Is the claim supported by the document?"
DESCRIPTION = (
    "In this task, you will be shown a document and a claim. Answer 'Yes' if every part of the claim is "
    "supported by the document, or 'No' if any part of it is not supported or contradicted."
)

_SUPPORTED = {"1", "1.0", "true", "yes", "supported", "supports", "entailment", "consistent", "faithful"}
_UNSUPPORTED = {
    "0",
    "0.0",
    "false",
    "no",
    "partially supported",
    "partially_supported",
    "partial",
    "not supported",
    "not_supported",
    "unsupported",
    "refuted",
    "refutes",
    "not enough info",
    "not_enough_info",
    "nei",
    "contradiction",
    "neutral",
    "inconsistent",
    "unfaithful",
}

# The binary map used for WiCE's registered 3-way task (labels as flame/tasks/wice.py names them).
WICE_BINARY = {"Supported": "Yes", "Partially supported": "No", "Not supported": "No"}


def binarize(label: Any) -> str:
    """Supported → "Yes"; unsupported, partially supported, refuted, not enough info → "No"."""
    if isinstance(label, bool):
        return "Yes" if label else "No"
    key = str(label).strip().lower().replace("-", " ") if label is not None else ""
    if key in _SUPPORTED:
        return "Yes"
    if key in _UNSUPPORTED or key.replace(" ", "_") in _UNSUPPORTED:
        return "No"
    raise ValueError(f"label {label!r} is neither supported nor unsupported")


def aggrefact_example(obj: Any, where: str) -> Example:
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object, got {type(obj).__name__}")
    for key in ("doc", "claim", "dataset"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise ValueError(f"missing or non-text field {key!r}")
    if obj.get("label") is None:
        raise ValueError("missing field 'label'")
    return classification_example(
        {"document": obj["doc"], "claim": obj["claim"]},
        YES_NO,
        DESCRIPTION,
        title=TITLE,
        label=binarize(obj["label"]),
        task="llm_aggrefact",
        id=str(obj.get("id") if obj.get("id") is not None else where),
        metadata={"subset": obj["dataset"], "original_label": obj["label"]},
    )


def make_loader(path: str | Path | None) -> Callable[..., BenchmarkData]:
    def load(bench: Benchmark, limit: int | None, seed: int) -> BenchmarkData:
        rows, problems, source = read_file_or_hub(
            path,
            "lytang/LLM-AggreFact",
            "test",
            "LLM-AggreFact",
            "llm_aggrefact",
            "dataset, doc, claim, label",
        )
        examples = []
        seen: set[tuple[str, str]] = set()
        for lineno, obj in rows:
            try:
                ex = aggrefact_example(obj, str(lineno))
            except ValueError as e:
                problems.append(f"{source}:{lineno}: {e}")
                continue
            key = (ex.metadata["subset"], ex.id)
            if key in seen:
                problems.append(f"{source}:{lineno}: duplicate id {ex.id!r}")
                continue
            seen.add(key)
            examples.append(ex)
        subsets = split_by_subset(examples, limit, seed, "llm_aggrefact")
        return BenchmarkData(bench, subsets, problems, len(problems), source=source)

    return load


def benchmark(path: str | Path | None = None) -> Benchmark:
    return Benchmark(
        name="llm_aggrefact",
        description="LLM-AggreFact: balanced accuracy per dataset, averaged over datasets",
        task_type=TaskType.CLASSIFICATION,
        group="factual-consistency mean",
        primary="balanced_accuracy",
        loader=make_loader(path),
        version="v1" if path is None else f"v1:{Path(path).name}",
    )
