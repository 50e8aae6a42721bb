"""Evaluation benchmarks: registered held-out and held-in benchmarks, suites, benchmark files,
RewardBench and LLM-AggreFact with their official aggregation."""

from __future__ import annotations

from pathlib import Path

from flame.benchmarks.base import (
    BENCHMARKS,
    DEFAULT_LIMIT,
    SUITES,
    Benchmark,
    BenchmarkData,
    EmptyBenchmarkError,
    Subset,
    file_benchmark,
)

__all__ = [
    "BENCHMARKS",
    "DEFAULT_LIMIT",
    "SUITES",
    "Benchmark",
    "BenchmarkData",
    "EmptyBenchmarkError",
    "Subset",
    "file_benchmark",
    "get_benchmark",
    "resolve",
    "suite_benchmarks",
]

_LOADED = False

# Benchmarks whose data is a file the user names (or the hub): NAME or NAME=PATH.
FILE_BACKED = ("rewardbench", "llm_aggrefact")


def load_all_benchmarks():
    global _LOADED
    if not _LOADED:
        import flame.benchmarks.suites  # noqa: F401  (registers on import)

        _LOADED = True
    return BENCHMARKS


def get_benchmark(name: str) -> Benchmark:
    """A benchmark by name; ``rewardbench[=PATH]`` and ``llm_aggrefact[=PATH]`` build file-backed ones."""
    base, sep, path = name.partition("=")
    if base == "rewardbench":
        from flame.benchmarks import rewardbench

        return rewardbench.benchmark(path or None)
    if base == "llm_aggrefact":
        from flame.benchmarks import aggrefact

        return aggrefact.benchmark(path or None)
    if sep:
        raise ValueError(f"only {', '.join(FILE_BACKED)} take =PATH; got {name!r}")
    registry = load_all_benchmarks()
    if name not in registry and name.endswith("_dev"):
        from flame.benchmarks.suites import heldin_benchmarks

        heldin_benchmarks()  # held-in dev benchmarks follow the registered tasks: registered on first use
    return registry.get(name)


def suite_benchmarks(name: str) -> list[str]:
    load_all_benchmarks()
    entry = SUITES.get(name)
    return list(entry() if callable(entry) else entry)


def resolve(
    suites: list[str] | tuple[str, ...] = (),
    benchmarks: list[str] | tuple[str, ...] = (),
    files: list[str | Path] | tuple[str | Path, ...] = (),
) -> list[Benchmark]:
    """Suites, benchmark names and files → benchmarks, in order, each once."""
    out: dict[str, Benchmark] = {}
    for s in suites:
        for n in suite_benchmarks(s):
            out.setdefault(n, get_benchmark(n))
    for n in benchmarks:
        b = get_benchmark(n)
        out.setdefault(b.name, b)
    for f in files:
        b = file_benchmark(f)
        name = b.name
        k = 2
        while name in out:
            name = f"{b.name}_{k}"
            k += 1
        if name != b.name:
            from dataclasses import replace

            b = replace(b, name=name)
        out[name] = b
    return list(out.values())
