"""Evaluation benchmarks: registered held-out and held-in benchmarks, suites, benchmark files,
RewardBench and LLM-AggreFact with their official aggregation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from flame.benchmarks.base import (
    BENCHMARKS,
    DEFAULT_LIMIT,
    SUITES,
    Benchmark,
    BenchmarkData,
    EmptyBenchmarkError,
    Section,
    Subset,
    file_benchmark,
    mean_of_subsets,
)
from flame.errors import UsageError

__all__ = [
    "BENCHMARKS",
    "DEFAULT_LIMIT",
    "SUITES",
    "Benchmark",
    "BenchmarkData",
    "EmptyBenchmarkError",
    "Section",
    "Subset",
    "file_benchmark",
    "get_benchmark",
    "mean_of_subsets",
    "resolve",
    "suite_benchmarks",
]

_LOADED = False

# Benchmarks whose data is a file the user names (or the hub), NAME or NAME=PATH: the module whose
# ``benchmark(path)`` builds each (imported on use: RewardBench pulls in numpy).
FILE_BACKED = {"rewardbench": "flame.benchmarks.rewardbench", "llm_aggrefact": "flame.benchmarks.aggrefact"}
FILE_SUFFIXES = (".jsonl", ".json")  # a string ending so names a benchmark file (flame.data.files layout)


def load_all_benchmarks():
    global _LOADED
    if not _LOADED:
        import flame.benchmarks.suites  # noqa: F401  (registers on import)

        _LOADED = True
    return BENCHMARKS


def get_benchmark(name: str) -> Benchmark:
    """A benchmark by name; ``rewardbench[=PATH]`` and ``llm_aggrefact[=PATH]`` build file-backed ones."""
    base, sep, path = name.partition("=")
    if base in FILE_BACKED:
        import importlib

        return importlib.import_module(FILE_BACKED[base]).benchmark(path or None)
    if sep:
        raise UsageError(f"only {', '.join(FILE_BACKED)} take =PATH; got {name!r}")
    registry = load_all_benchmarks()
    if name not in registry and name.endswith("_dev"):
        from flame.benchmarks.suites import heldin_benchmarks

        heldin_benchmarks()  # held-in dev benchmarks follow the registered tasks: registered on first use
    return registry.get(name)


def suite_benchmarks(name: str) -> list[str]:
    load_all_benchmarks()
    entry = SUITES.get(name)
    return list(entry() if callable(entry) else entry)


def names_a_file(item: str | Path) -> bool:
    """A Path, or a string ending in .json/.jsonl that is no suite and no ``NAME=PATH`` of a file-backed
    benchmark: ``rewardbench=rb.jsonl`` is RewardBench read from rb.jsonl, not a file called that."""
    if isinstance(item, Path):
        return True
    load_all_benchmarks()
    return (
        item not in SUITES
        and item.partition("=")[0] not in FILE_BACKED
        and Path(item).suffix in FILE_SUFFIXES
    )


def resolve(items: Sequence[str | Path | Benchmark]) -> list[Benchmark]:
    """Suite names, benchmark names (``rewardbench=PATH`` too), files and Benchmark objects → benchmarks,
    in order, each once; a second benchmark of the same name (two files ``pairs.jsonl``) is ``NAME_2``."""
    out: dict[str, Benchmark] = {}

    def add(b: Benchmark) -> None:
        name, k = b.name, 2
        while name in out and out[name] is not b:
            name, k = f"{b.name}_{k}", k + 1
        out.setdefault(name, b if name == b.name else replace(b, name=name))

    for item in items:
        if isinstance(item, Benchmark):
            add(item)
        elif names_a_file(item):
            add(file_benchmark(item))
        elif item in SUITES:
            for name in suite_benchmarks(item):
                add(get_benchmark(name))
        else:
            add(get_benchmark(item))
    if not out:
        raise UsageError("no benchmark given: name a --suite, a --benchmark or a --file")
    return list(out.values())
