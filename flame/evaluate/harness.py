"""The evaluation harness: raters × benchmarks → judgments (through the cache) → metrics with CIs.

    results = evaluate(["length", "random", "smollm2"], ["heldout_v1"], out="runs/eval1")

Readable top to bottom: resolve raters and benchmarks, load each benchmark once (capped, seeded),
check contamination, rate every subset with every rater through ``flame.raters.runner`` (its SQLite
cache makes a killed run resume where it stopped), turn judgments into per-example columns, and
bootstrap every figure. ``Results`` is what ``results.json`` holds; per-example predictions and the
judged examples go to JSONL files beside it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flame import __version__
from flame.benchmarks import (
    DEFAULT_LIMIT,
    SUITES,
    Benchmark,
    BenchmarkData,
    file_benchmark,
    get_benchmark,
    load_all_benchmarks,
    suite_benchmarks,
)
from flame.benchmarks.base import describe
from flame.evaluate import metrics as M
from flame.evaluate.bootstrap import DEFAULT_RESAMPLES, bootstrap, mean_over, pooled, single
from flame.evaluate.calibration import brier_metric, calibration_columns, ece_metric, gives_probabilities
from flame.types import Example, Judgment, TaskType

BASELINES = ("length", "random")
ALL = "all"  # the subset name of a benchmark's (or group's) aggregate


# --------------------------------------------------------------------------------- results


@dataclass
class Results:
    config: dict[str, Any]
    raters: list[dict[str, Any]]
    benchmarks: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    counts: list[dict[str, Any]]
    calibration: list[dict[str, Any]] = field(default_factory=list)
    contamination: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    predictions: list[dict[str, Any]] = field(default_factory=list, repr=False)
    examples: list[dict[str, Any]] = field(default_factory=list, repr=False)
    out: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "flame_version": __version__,
            "config": self.config,
            "raters": self.raters,
            "benchmarks": self.benchmarks,
            "metrics": self.metrics,
            "counts": self.counts,
            "calibration": self.calibration,
            "contamination": self.contamination,
            "environment": self.environment,
            "files": {"predictions": "predictions.jsonl", "examples": "examples.jsonl"},
        }

    def rater_specs(self) -> list[str]:
        return [r["spec"] for r in self.raters]

    def get(self, rater: str, benchmark: str, metric: str | None = None, subset: str = ALL) -> dict | None:
        """The metrics entry for (rater, benchmark, subset, metric); metric None: the benchmark's primary."""
        if metric is None:
            metric = next((b["primary"] for b in self.benchmarks if b["name"] == benchmark), None)
            metric = metric or next(
                (m["metric"] for m in self.metrics if m["benchmark"] == benchmark and m["subset"] == subset),
                None,
            )
        for m in self.metrics:
            if (m["rater"], m["benchmark"], m["subset"], m["metric"]) == (rater, benchmark, subset, metric):
                return m
        return None

    def value(self, rater: str, benchmark: str, metric: str | None = None, subset: str = ALL) -> float:
        m = self.get(rater, benchmark, metric, subset)
        if m is None:
            raise KeyError(f"no metric {metric!r} for {rater} on {benchmark}/{subset}")
        return m["value"] if m["value"] is not None else math.nan

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(_jsonable(self.to_dict()), indent=1, ensure_ascii=False))
        _write_jsonl(out / "predictions.jsonl", self.predictions)
        _write_jsonl(out / "examples.jsonl", self.examples)
        self.out = out
        return out / "results.json"

    @classmethod
    def load(cls, out: str | Path) -> Results:
        out = Path(out)
        path = out / "results.json" if out.is_dir() else out
        if not path.exists():
            raise FileNotFoundError(f"no results.json in {out}")
        d = json.loads(path.read_text())
        base = path.parent
        return cls(
            config=d["config"],
            raters=d["raters"],
            benchmarks=d["benchmarks"],
            metrics=[_unjson_entry(m) for m in d["metrics"]],
            counts=d.get("counts", []),
            calibration=d.get("calibration", []),
            contamination=d.get("contamination", []),
            environment=d.get("environment", {}),
            predictions=_read_jsonl(base / "predictions.jsonl"),
            examples=_read_jsonl(base / "examples.jsonl"),
            out=base,
        )


def _unjson_entry(m: dict[str, Any]) -> dict[str, Any]:
    return {k: (math.nan if v is None and k in ("value", "ci_low", "ci_high") else v) for k, v in m.items()}


def _jsonable(x: Any) -> Any:
    """NaN → null (JSON has no NaN), numpy scalars → Python numbers."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(_jsonable(row), ensure_ascii=False) + "\n")
    tmp.replace(path)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------- environment


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"flame": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "scipy", "matplotlib", "datasets", "torch", "transformers", "peft"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def environment() -> dict[str, Any]:
    return {
        "git_commit": git_commit(),
        "versions": package_versions(),
        "platform": platform.platform(),
        "argv": sys.argv,
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------- resolution


def resolve_benchmarks(items: Sequence[str | Path | Benchmark]) -> list[Benchmark]:
    """Suite names, benchmark names (``rewardbench=PATH`` too), files and Benchmark objects, each once."""
    load_all_benchmarks()
    out: dict[str, Benchmark] = {}

    def add(b: Benchmark) -> None:
        name, k = b.name, 2
        while name in out and out[name] is not b:
            name, k = f"{b.name}_{k}", k + 1
        if name != b.name:
            from dataclasses import replace

            b = replace(b, name=name)
        out.setdefault(name, b)

    for item in items:
        if isinstance(item, Benchmark):
            add(item)
        elif isinstance(item, Path) or (
            isinstance(item, str) and item not in SUITES and Path(item).suffix in (".jsonl", ".json")
        ):
            add(file_benchmark(item))
        elif item in SUITES:
            for name in suite_benchmarks(item):
                add(get_benchmark(name))
        else:
            add(get_benchmark(item))
    if not out:
        raise ValueError("no benchmark given: name a --suite, a --benchmark or a --file")
    return list(out.values())


def resolve_raters(raters: Sequence[Any], *, baselines: bool, options: dict[str, Any]) -> list[Any]:
    """Rater specs or objects; the length and random baselines are always included (unless told not)."""
    items = list(raters)
    specs = [r if isinstance(r, str) else r.spec for r in items]
    if baselines:
        items += [b for b in BASELINES if b not in specs]
    out = []
    for r in items:
        if isinstance(r, str):
            from flame.raters import load_rater

            r = load_rater(r, **options)
        out.append(r)
    return out


def rater_record(r: Any) -> dict[str, Any]:
    ident = r.cache_identity() if hasattr(r, "cache_identity") else {"spec": r.spec}
    return {"spec": r.spec, "weights": ident.get("weights", ""), "identity": ident}


# -------------------------------------------------------------------------------- rating


def rate_examples(
    rater: Any, examples: list[Example], *, cache: Any, batch_size: int, progress: bool
) -> list[Judgment]:
    """Through the runner (cache, resume) when the rater has a cache identity; else straight ``judge``."""
    if hasattr(rater, "cache_identity"):
        from flame.raters.runner import rate

        return rate(examples, rater, cache=cache, batch_size=batch_size, progress=progress).judgments
    out: list[Judgment] = []
    for s in range(0, len(examples), batch_size):
        out.extend(rater.judge(examples[s : s + batch_size]))
    return out


# ------------------------------------------------------------------------------- scoring


def subset_columns(bench: Benchmark, examples: list[Example], judgments: list, ties: str) -> M.Columns:
    if bench.task_type == TaskType.PAIRWISE:
        return M.pairwise_columns(examples, judgments, ties=ties)
    if bench.task_type == TaskType.CLASSIFICATION:
        labels = bench.binary_labels or examples[0].labels
        return M.classification_columns(examples, judgments, labels, binarize=bench.binarize)
    if bench.task_type == TaskType.POINTWISE:
        return M.pointwise_columns(examples, judgments)
    raise ValueError(f"{bench.name}: cannot score {bench.task_type} tasks")


def _entry(rater, bench, subset, metric, est, n) -> dict[str, Any]:
    return {
        "rater": rater,
        "benchmark": bench,
        "subset": subset,
        "metric": metric,
        "value": est.value,
        "ci_low": est.low,
        "ci_high": est.high,
        "n": int(n),
    }


def _metric_table(bench: Benchmark, cols: list[M.Columns]) -> dict[str, tuple[Callable, str]]:
    table = dict(M.METRICS[bench.task_type])
    if bench.task_type == TaskType.PAIRWISE and not any(np.any(~np.isnan(c["consistent"])) for c in cols):
        table.pop("consistency")
    return table


def _aggregate_stat(bench: Benchmark, fn: Callable, names: list[str]) -> Callable[[list[M.Columns]], float]:
    if bench.aggregate == "pooled":
        return pooled(fn)
    if bench.aggregate == "rewardbench":
        from flame.benchmarks import rewardbench

        def stat(strata):
            return rewardbench.score({n: fn(c) for n, c in zip(names, strata, strict=True)})

        return stat
    return mean_over(fn)


def score_benchmark(
    rater: str, bench: Benchmark, names: list[str], cols: list[M.Columns], *, n_resamples: int, seed: int
) -> list[dict[str, Any]]:
    """Entries for each subset and the benchmark aggregate (subset ``all``)."""
    entries = []
    table = _metric_table(bench, cols)
    for metric, (fn, ncol) in table.items():
        if len(cols) > 1:
            for name, c in zip(names, cols, strict=True):
                est = bootstrap(single(fn), [c], n_resamples=n_resamples, seed=seed)
                entries.append(_entry(rater, bench.name, name, metric, est, M.metric_n(c, ncol)))
        if bench.aggregate == "rewardbench":
            if metric != "accuracy":
                continue
            entries += _rewardbench_sections(rater, bench, names, cols, fn, n_resamples, seed)
        est = bootstrap(_aggregate_stat(bench, fn, names), cols, n_resamples=n_resamples, seed=seed)
        entries.append(_entry(rater, bench.name, ALL, metric, est, sum(M.metric_n(c, ncol) for c in cols)))
    return entries


def _rewardbench_sections(rater, bench, names, cols, fn, n_resamples, seed) -> list[dict[str, Any]]:
    from flame.benchmarks import rewardbench

    out = []
    for section in (*rewardbench.SECTIONS, rewardbench.PRIOR_SECTION):
        idx = [i for i, n in enumerate(names) if rewardbench.section_of(n) == section]
        if not idx:
            continue
        sub_names = [names[i] for i in idx]

        def stat(strata, sub_names=sub_names, section=section):
            return rewardbench.section_scores({n: fn(c) for n, c in zip(sub_names, strata, strict=True)})[
                section
            ]

        est = bootstrap(stat, [cols[i] for i in idx], n_resamples=n_resamples, seed=seed)
        out.append(
            _entry(
                rater, bench.name, section, "accuracy", est, sum(M.metric_n(cols[i], "credit") for i in idx)
            )
        )
    return out


def score_groups(
    rater: str,
    scored: list[tuple[Benchmark, list[str], list[M.Columns]]],
    *,
    n_resamples: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Suite groups ("pairwise mean", "factual-consistency mean"): the mean over the group's benchmarks of
    each benchmark's headline aggregate, bootstrapped over every subset of every member at once."""
    groups: dict[str, list[tuple[Benchmark, list[str], list[M.Columns]]]] = {}
    for item in scored:
        if item[0].group not in ("files", "extra", "rewardbench"):
            groups.setdefault(item[0].group, []).append(item)
    entries = []
    for group, members in groups.items():
        if len(members) < 2:
            continue
        primaries = {b.primary for b, _, _ in members}
        metric = primaries.pop() if len(primaries) == 1 else "primary"
        bounds, strata, stats = [], [], []
        for b, names, cols in members:
            fn, _ = M.METRICS[b.task_type][b.primary]
            bounds.append((len(strata), len(strata) + len(cols)))
            stats.append(_aggregate_stat(b, fn, names))
            strata.extend(cols)

        def stat(all_strata, bounds=bounds, stats=stats):
            vals = [s(all_strata[a:z]) for s, (a, z) in zip(stats, bounds, strict=True)]
            vals = [v for v in vals if not math.isnan(v)]
            return float(np.mean(vals)) if vals else math.nan

        est = bootstrap(stat, strata, n_resamples=n_resamples, seed=seed)
        n = sum(M.metric_n(c, M.METRICS[b.task_type][b.primary][1]) for b, _, cols in members for c in cols)
        entries.append(_entry(rater, group, ALL, metric, est, n))
    return entries


# ------------------------------------------------------------------------------ evaluate


def evaluate(
    raters: Sequence[Any] | str,
    benchmarks: Sequence[str | Path | Benchmark] | str,
    *,
    out: str | Path | None = None,
    limit: int | None = DEFAULT_LIMIT,
    full: bool = False,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    swap: bool = False,
    ties: str = "exclude",
    cache: Any = None,
    baselines: bool = True,
    allow_overlap: bool = False,
    batch_size: int = 8,
    progress: bool = False,
    rater_options: dict[str, Any] | None = None,
    report: bool = True,
    log: Callable[[str], None] | None = None,
) -> Results:
    """Rate ``benchmarks`` with ``raters`` and score them; write ``out`` (results, predictions, reports).

    ``limit`` caps each task at that many seeded examples (the paper's 256); ``full`` lifts the cap.
    RewardBench is never capped unless ``limit`` is set explicitly below the default (the paper scores it
    whole). ``swap`` judges pairwise examples in both orders (consistency is then reported).
    """
    log = log or (lambda msg: None)
    if isinstance(raters, str):
        raters = [raters]
    if isinstance(benchmarks, str | Path | Benchmark):
        benchmarks = [benchmarks]
    options = {"swap": swap, **(rater_options or {})}
    rater_objs = resolve_raters(raters, baselines=baselines, options=options)
    benches = resolve_benchmarks(benchmarks)

    # Load each benchmark once: every rater sees the same rows.
    loaded: list[BenchmarkData] = []
    for b in benches:
        cap = None if full else limit
        if b.aggregate == "rewardbench" and not full and limit == DEFAULT_LIMIT:
            cap = None
        data = b.load(limit=cap, seed=seed)
        if data.n_problems:
            log(f"{b.name}: {data.n_problems} malformed rows skipped (e.g. {data.problems[0]})")
        loaded.append(data)

    findings = _contamination(rater_objs, loaded, allow_overlap, log)

    metrics_list: list[dict[str, Any]] = []
    counts: list[dict[str, Any]] = []
    calib: list[dict[str, Any]] = []
    predictions: list[dict[str, Any]] = []
    for r in rater_objs:
        scored = []
        for data in loaded:
            b = data.benchmark
            names, cols, all_ex, all_j = [], [], [], []
            for s in data.subsets:
                log(f"{r.spec}: {b.name}/{s.name} ({len(s.examples)} examples)")
                js = rate_examples(r, s.examples, cache=cache, batch_size=batch_size, progress=progress)
                c = subset_columns(b, s.examples, js, ties)
                names.append(s.name)
                cols.append(c)
                all_ex += s.examples
                all_j += js
                counts.append(_counts(r.spec, b.name, s.name, s.examples, js, c))
                predictions += [
                    _prediction_row(r.spec, b, s.name, ex, j, c, k)
                    for k, (ex, j) in enumerate(zip(s.examples, js, strict=True))
                ]
            metrics_list += score_benchmark(r.spec, b, names, cols, n_resamples=n_resamples, seed=seed)
            scored.append((b, names, cols))
            if b.task_type in (TaskType.PAIRWISE, TaskType.CLASSIFICATION) and gives_probabilities(all_j):
                cc = calibration_columns(all_ex, all_j, binarize=b.binarize, ties=ties)
                ece = bootstrap(single(ece_metric), [cc], n_resamples=n_resamples, seed=seed)
                brier = bootstrap(single(brier_metric), [cc], n_resamples=n_resamples, seed=seed)
                n = len(cc["confidence"])
                metrics_list.append(_entry(r.spec, b.name, ALL, "ece", ece, n))
                metrics_list.append(_entry(r.spec, b.name, ALL, "brier", brier, n))
                calib.append(
                    {
                        "rater": r.spec,
                        "benchmark": b.name,
                        "ece": ece.value,
                        "brier": brier.value,
                        "n": n,
                        "bins": M.reliability_bins(cc["confidence"], cc["correct"]),
                    }
                )
        metrics_list += score_groups(r.spec, scored, n_resamples=n_resamples, seed=seed)

    results = Results(
        config={
            "raters": [r.spec for r in rater_objs],
            "benchmarks": [b.name for b in benches],
            "requested": [str(b) if not isinstance(b, Benchmark) else b.name for b in benchmarks],
            "limit": None if full else limit,
            "full": full,
            "seed": seed,
            "bootstrap": {
                "resamples": n_resamples,
                "seed": seed,
                "confidence": 0.95,
                "stratified_by": "subset",
            },
            "swap": swap,
            "ties": ties,
            "batch_size": batch_size,
            "baselines": baselines,
            "allow_overlap": allow_overlap,
            "rater_options": {k: v for k, v in options.items() if k != "swap"},
        },
        raters=[rater_record(r) for r in rater_objs],
        benchmarks=[_benchmark_record(d) for d in loaded],
        metrics=metrics_list,
        counts=counts,
        calibration=calib,
        contamination=[f.to_dict() for f in findings],
        environment=environment(),
        predictions=predictions,
        examples=[
            _example_row(d.benchmark.name, s.name, ex) for d in loaded for s in d.subsets for ex in s.examples
        ],
    )
    if out is not None:
        results.save(out)
        if report:
            from flame.evaluate.report import write_reports

            write_reports(results, Path(out))
    return results


def _contamination(rater_objs, loaded, allow_overlap, log) -> list:
    from flame.evaluate.contamination import ContaminationError, check

    findings = []
    for r in rater_objs:
        findings += check(r.spec, loaded)
    if findings and not allow_overlap:
        lines = "; ".join(f"{f.rater} × {f.benchmark}: {f.detail}" for f in findings)
        raise ContaminationError(
            f"benchmark overlaps training data ({lines}); --allow-overlap to flag instead"
        )
    for f in findings:
        log(f"overlap flagged: {f.rater} × {f.benchmark}: {f.detail}")
    return findings


def _counts(rater, bench, subset, examples, judgments, cols) -> dict[str, Any]:
    jd = [j.to_dict() if isinstance(j, Judgment) else j for j in judgments]
    return {
        "rater": rater,
        "benchmark": bench,
        "subset": subset,
        "n": len(examples),
        "parse_failures": int(sum(bool(j.get("parse_failure")) for j in jd)),
        "ties_excluded": int(np.nansum(cols["gold_tie"])) if "gold_tie" in cols else 0,
        "unlabeled": int(sum(ex.answer is None for ex in examples)),
        "truncated": int(sum(bool(j.get("truncated")) for j in jd)),
    }


def _prediction_row(rater, bench: Benchmark, subset, ex: Example, j, cols, k) -> dict[str, Any]:
    jd = j.to_dict() if isinstance(j, Judgment) else dict(j)
    row = {
        "rater": rater,
        "benchmark": bench.name,
        "subset": subset,
        "task": ex.task,
        "id": ex.id,
        "label": ex.answer,
        "prediction": jd.get("prediction"),
        "probs": jd.get("probs"),
        "parse_failure": bool(jd.get("parse_failure")),
    }
    if "credit" in cols and not math.isnan(cols["credit"][k]):
        row["correct"] = float(cols["credit"][k])
    if bench.binarize:
        row["label_binary"] = bench.binarize.get(ex.answer, ex.answer)
    if jd.get("expected_score") is not None:
        row["expected_score"] = jd["expected_score"]
    if ex.metadata.get("score") is not None:
        row["score"] = ex.metadata["score"]
    orders = (jd.get("metadata") or {}).get("orders")
    if orders:
        row["orders"] = orders
    if jd.get("raw") is not None:
        row["raw"] = jd["raw"]
    return row


def _example_row(bench: str, subset: str, ex: Example) -> dict[str, Any]:
    return {
        "benchmark": bench,
        "subset": subset,
        "task": ex.task,
        "id": ex.id,
        "task_type": str(ex.task_type),
        "inputs": ex.inputs,
        "label": ex.answer,
        "labels": list(ex.labels) if ex.labels else None,
    }


def _benchmark_record(d: BenchmarkData) -> dict[str, Any]:
    rec = describe(d.benchmark)
    rec.update(
        {
            "source": d.source,
            "n": d.n,
            "subsets": [
                {"name": s.name, "task": s.task, "n": len(s.examples), "available": s.available}
                for s in d.subsets
            ],
            "malformed_rows": d.n_problems,
            "problems": d.problems[:100],
        }
    )
    return rec
