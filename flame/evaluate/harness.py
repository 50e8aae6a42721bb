"""The evaluation harness: raters × benchmarks → judgments (through the cache) → metrics with CIs.

    results = evaluate(["length", "random", "smollm2"], ["heldout_v1"], out="runs/eval1")

Readable top to bottom: resolve raters and benchmarks, load each benchmark once (capped, seeded),
check contamination, rate every subset with every rater through ``flame.raters.runner`` (its SQLite
cache makes a killed run resume where it stopped), turn judgments into per-example columns, and
bootstrap every figure, then compare every pair of raters on the same rows (``score_pairs``: a paired
bootstrap of the primary metric's difference, McNemar for accuracy, Holm within the pair). A jury's
judgments carry its members' answers: ``score_jury`` scores each member and their agreement from them. How subsets combine is the benchmark's own business (its ``aggregate`` and
``sections``): the harness never asks which benchmark it is scoring. ``Results``
(``flame.evaluate.results``) is what ``results.json`` holds; per-example predictions and the judged
examples go to JSONL files beside it.
"""

from __future__ import annotations

import datetime as _dt
import math
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from flame import __version__
from flame.benchmarks import DEFAULT_LIMIT, Benchmark, BenchmarkData, resolve
from flame.benchmarks.base import Aggregate, describe
from flame.evaluate import metrics as M
from flame.evaluate.bootstrap import DEFAULT_RESAMPLES, Estimate, bootstrap, pooled, single
from flame.evaluate.paired import ALPHA, discordance, mcnemar, paired_difference, with_holm
from flame.evaluate.reliability import brier_metric, calibration_columns, ece_metric, gives_probabilities
from flame.evaluate.results import ALL, AgreementEntry, Kind, MemberEntry, MetricEntry, PairedEntry, Results
from flame.types import Example, Judgment, TaskType

__all__ = ["ALL", "MetricEntry", "Results", "evaluate"]

BASELINES = ("length", "random")


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


def _entry(rater: str, name: str, subset: str, metric: str, est: Estimate, n: int, kind: Kind) -> MetricEntry:
    return MetricEntry(rater, name, subset, metric, est.value, est.low, est.high, int(n), kind)


def _metric_table(bench: Benchmark, cols: list[M.Columns]) -> dict[str, tuple[Callable, str]]:
    table = dict(M.METRICS[bench.task_type])
    if bench.task_type == TaskType.PAIRWISE and not any(np.any(~np.isnan(c["consistent"])) for c in cols):
        table.pop("consistency")
    return table


def aggregate_stat(
    aggregate: Aggregate | None, fn: Callable[[M.Columns], float], names: list[str]
) -> Callable[[list[M.Columns]], float]:
    """A benchmark's (or section's) aggregate as a bootstrap statistic over its subsets' columns: the
    metric on each subset, then the aggregate of those values by subset name; None pools the rows."""
    if aggregate is None:
        return pooled(fn)

    def stat(strata: list[M.Columns]) -> float:
        return aggregate({n: fn(c) for n, c in zip(names, strata, strict=True)})

    return stat


def score_benchmark(
    rater: str, bench: Benchmark, names: list[str], cols: list[M.Columns], *, n_resamples: int, seed: int
) -> list[MetricEntry]:
    """Per metric: an entry for each subset (when there are several), each section the benchmark
    declares (over the subsets of it that were loaded), and the benchmark's aggregate (subset ``all``)."""
    entries = []
    for metric, (fn, ncol) in _metric_table(bench, cols).items():
        if len(cols) > 1:
            for name, c in zip(names, cols, strict=True):
                est = bootstrap(single(fn), [c], n_resamples=n_resamples, seed=seed)
                entries.append(_entry(rater, bench.name, name, metric, est, M.metric_n(c, ncol), "subset"))
        parts = [
            (sec.name, sec.aggregate, [i for i, name in enumerate(names) if name in sec.subsets], "section")
            for sec in bench.sections
        ]
        parts.append((ALL, bench.aggregate, list(range(len(names))), "benchmark"))
        for part, aggregate, idx, kind in parts:
            if not idx:
                continue  # a section none of whose subsets was loaded
            stat = aggregate_stat(aggregate, fn, [names[i] for i in idx])
            est = bootstrap(stat, [cols[i] for i in idx], n_resamples=n_resamples, seed=seed)
            n = sum(M.metric_n(cols[i], ncol) for i in idx)
            entries.append(_entry(rater, bench.name, part, metric, est, n, kind))
    return entries


Scored = list[tuple[Benchmark, list[str], list[M.Columns]]]  # per benchmark: subset names, columns


def _groups(scored: Scored) -> dict[str, Scored]:
    """The suite's groups among the scored benchmarks (a group needs two members present)."""
    groups: dict[str, Scored] = {}
    for item in scored:
        if item[0].group is not None:
            groups.setdefault(item[0].group, []).append(item)
    return {g: members for g, members in groups.items() if len(members) >= 2}


def _group_metric(members: Scored) -> str:
    primaries = {b.primary for b, _, _ in members}
    return primaries.pop() if len(primaries) == 1 else "primary"


def group_stat(members: Scored) -> tuple[Callable[[list[M.Columns]], float], list[M.Columns]]:
    """A group's statistic (the mean of its members' headline aggregates) over all its strata at once:
    every subset of every member, in order, so one bootstrap resamples each subset separately."""
    bounds, strata, stats = [], [], []
    for b, names, cols in members:
        fn, _ = M.METRICS[b.task_type][b.primary]
        bounds.append((len(strata), len(strata) + len(cols)))
        stats.append(aggregate_stat(b.aggregate, fn, names))
        strata.extend(cols)

    def stat(all_strata: list[M.Columns]) -> float:
        vals = [s(all_strata[a:z]) for s, (a, z) in zip(stats, bounds, strict=True)]
        vals = [v for v in vals if not math.isnan(v)]
        return float(np.mean(vals)) if vals else math.nan

    return stat, strata


def _group_n(members: Scored) -> int:
    return sum(M.metric_n(c, M.METRICS[b.task_type][b.primary][1]) for b, _, cols in members for c in cols)


def score_groups(
    rater: str,
    scored: Scored,
    *,
    n_resamples: int,
    seed: int,
) -> list[MetricEntry]:
    """Suite groups ("pairwise mean", "factual-consistency mean"): the mean over the group's benchmarks of
    each benchmark's headline aggregate, bootstrapped over every subset of every member at once. A
    benchmark without a group stands alone; a group needs two members present."""
    entries = []
    for group, members in _groups(scored).items():
        stat, strata = group_stat(members)
        est = bootstrap(stat, strata, n_resamples=n_resamples, seed=seed)
        entries.append(_entry(rater, group, ALL, _group_metric(members), est, _group_n(members), "group"))
    return entries


def _members_of(j: Any) -> list[dict[str, Any]] | None:
    meta = j.metadata if isinstance(j, Judgment) else (j.get("metadata") or {})
    return meta.get("members")


def score_jury(
    rater: str,
    bench: Benchmark,
    names: list[str],
    examples: list[list[Example]],
    judgments: list[list[Any]],
    ties: str,
    *,
    n_resamples: int,
    seed: int,
) -> tuple[list[MemberEntry], list[AgreementEntry]]:
    """A jury's members on one benchmark, from the answers each jury judgment keeps in
    ``metadata["members"]`` (no second pass): each member's primary metric (its agreement with humans)
    scored exactly as a rater's, Cohen's κ for every member pair and Krippendorff's α over all members, on
    their argmax labels (a parse failure is a missing label). Not a jury: nothing."""
    from flame.evaluate.agreement import cohen_kappa, krippendorff_alpha_nominal

    rows = [_members_of(j) for js in judgments for j in js]
    if not rows or any(r is None for r in rows):
        return [], []
    members = [(m["spec"], float(m.get("weight", 1.0))) for m in rows[0]]
    fn, ncol = M.METRICS[bench.task_type][bench.primary]
    stat = aggregate_stat(bench.aggregate, fn, names)
    scores, labels = [], []
    for k, (name, weight) in enumerate(members):
        cols = [
            subset_columns(bench, exs, [_members_of(j)[k] for j in js], ties)
            for exs, js in zip(examples, judgments, strict=True)
        ]
        est = bootstrap(stat, cols, n_resamples=n_resamples, seed=seed)
        n = sum(M.metric_n(c, ncol) for c in cols)
        failures = sum(bool(r[k].get("parse_failure")) for r in rows)
        scores.append(
            MemberEntry(
                rater, bench.name, name, weight, bench.primary, est.value, est.low, est.high, n, failures
            )
        )
        labels.append([None if r[k].get("parse_failure") else r[k].get("prediction") for r in rows])
    agreement = []
    for a in range(len(members)):
        for b in range(a + 1, len(members)):
            kappa, n = cohen_kappa(labels[a], labels[b])
            agreement.append(
                AgreementEntry(rater, bench.name, "cohen_kappa", members[a][0], members[b][0], kappa, n)
            )
    alpha, n = krippendorff_alpha_nominal(list(zip(*labels, strict=True)))
    agreement.append(AgreementEntry(rater, bench.name, "krippendorff_alpha", ALL, ALL, alpha, n))
    return scores, agreement


def compare_pair(
    a: str,
    b: str,
    bench: Benchmark,
    names: list[str],
    cols_a: list[M.Columns],
    cols_b: list[M.Columns],
    *,
    n_resamples: int,
    seed: int,
) -> PairedEntry:
    """A − B on the benchmark's primary metric (its own aggregate), paired bootstrap CI stratified by
    subset; for accuracy, McNemar's exact test on the rows' credit pooled over the subsets."""
    fn, ncol = M.METRICS[bench.task_type][bench.primary]
    stat = aggregate_stat(bench.aggregate, fn, names)
    est = paired_difference(stat, cols_a, cols_b, n_resamples=n_resamples, seed=seed)
    n = min(sum(M.metric_n(c, ncol) for c in cols_a), sum(M.metric_n(c, ncol) for c in cols_b))
    entry = PairedEntry(a, b, bench.name, bench.primary, est.value, est.low, est.high, n)
    if bench.primary != "accuracy":
        return entry
    table = discordance(
        np.concatenate([c["credit"] for c in cols_a]), np.concatenate([c["credit"] for c in cols_b])
    )
    return replace(
        entry, test="mcnemar", a_only=table.a_only, b_only=table.b_only, halves=table.halves, p=mcnemar(table)
    )


def compare_group(
    a: str, b: str, group: str, members_a: Scored, members_b: Scored, *, n_resamples: int, seed: int
) -> PairedEntry:
    """A − B on a group's mean (``score_groups``), paired bootstrap over every subset of every member. No
    test: a group's rows are its members' rows, already tested one benchmark at a time (and in Holm's
    family); the CI is the answer to "is A better on the mean"."""
    stat, strata_a = group_stat(members_a)
    _, strata_b = group_stat(members_b)
    est = paired_difference(stat, strata_a, strata_b, n_resamples=n_resamples, seed=seed)
    n = min(_group_n(members_a), _group_n(members_b))
    return PairedEntry(a, b, group, _group_metric(members_a), est.value, est.low, est.high, n)


def score_pairs(scored: dict[str, Scored], *, n_resamples: int, seed: int) -> list[PairedEntry]:
    """Every pair of raters (in the run's order, A before B) on every benchmark both scored, then on each
    group mean (entries whose ``benchmark`` is the group's name, as in the metrics)."""
    specs = list(scored)
    entries = []
    for i, a in enumerate(specs):
        for b in specs[i + 1 :]:
            for (bench, names, cols_a), (_, _, cols_b) in zip(scored[a], scored[b], strict=True):
                entries.append(
                    compare_pair(a, b, bench, names, cols_a, cols_b, n_resamples=n_resamples, seed=seed)
                )
            groups_b = _groups(scored[b])
            for group, members_a in _groups(scored[a]).items():
                entries.append(
                    compare_group(a, b, group, members_a, groups_b[group], n_resamples=n_resamples, seed=seed)
                )
    return with_holm(entries)


# ------------------------------------------------------------------------------ evaluate


def evaluate(
    raters: Sequence[Any] | str,
    benchmarks: Sequence[str | Path | Benchmark] | str,
    *,
    out: str | Path | None = None,
    limit: int | None = None,
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

    ``limit`` caps every subset of every benchmark at that many seeded examples. Without it each subset is
    capped at ``DEFAULT_LIMIT`` (the paper's 256), except in benchmarks that declare they are scored whole
    (RewardBench, as the paper does); ``full`` lifts every cap. ``swap`` judges pairwise examples in both
    orders (consistency is then reported).
    """
    log = log or (lambda msg: None)
    if isinstance(raters, str):
        raters = [raters]
    if isinstance(benchmarks, str | Path | Benchmark):
        benchmarks = [benchmarks]
    options = {"swap": swap, **(rater_options or {})}
    rater_objs = resolve_raters(raters, baselines=baselines, options=options)
    benches = resolve(benchmarks)

    # Load each benchmark once: every rater sees the same rows.
    loaded: list[BenchmarkData] = []
    caps: dict[str, int | None] = {}
    for b in benches:
        caps[b.name] = b.rows_per_subset(limit, full)
        data = b.load(limit=caps[b.name], seed=seed)
        if data.n_problems:
            log(f"{b.name}: {data.n_problems} malformed rows skipped (e.g. {data.problems[0]})")
        loaded.append(data)

    findings = _contamination(rater_objs, loaded, allow_overlap, log)

    metrics_list: list[MetricEntry] = []
    counts: list[dict[str, Any]] = []
    calib: list[dict[str, Any]] = []
    predictions: list[dict[str, Any]] = []
    scored_by: dict[str, Scored] = {}
    jury_members: list[MemberEntry] = []
    jury_agreement: list[AgreementEntry] = []
    for r in rater_objs:
        scored: Scored = []
        scored_by[r.spec] = scored
        for data in loaded:
            b = data.benchmark
            names, cols, all_ex, all_j, by_subset = [], [], [], [], []
            for s in data.subsets:
                log(f"{r.spec}: {b.name}/{s.name} ({len(s.examples)} examples)")
                js = rate_examples(r, s.examples, cache=cache, batch_size=batch_size, progress=progress)
                c = subset_columns(b, s.examples, js, ties)
                names.append(s.name)
                cols.append(c)
                all_ex += s.examples
                all_j += js
                by_subset.append(js)
                counts.append(_counts(r.spec, b.name, s.name, s.examples, js, c))
                predictions += [
                    _prediction_row(r.spec, b, s.name, ex, j, c, k)
                    for k, (ex, j) in enumerate(zip(s.examples, js, strict=True))
                ]
            metrics_list += score_benchmark(r.spec, b, names, cols, n_resamples=n_resamples, seed=seed)
            scored.append((b, names, cols))
            member_scores, agreement = score_jury(
                r.spec,
                b,
                names,
                [s.examples for s in data.subsets],
                by_subset,
                ties,
                n_resamples=n_resamples,
                seed=seed,
            )
            jury_members += member_scores
            jury_agreement += agreement
            if b.task_type in (TaskType.PAIRWISE, TaskType.CLASSIFICATION) and gives_probabilities(all_j):
                cc = calibration_columns(all_ex, all_j, binarize=b.binarize, ties=ties)
                ece = bootstrap(single(ece_metric), [cc], n_resamples=n_resamples, seed=seed)
                brier = bootstrap(single(brier_metric), [cc], n_resamples=n_resamples, seed=seed)
                n = len(cc["confidence"])
                metrics_list.append(_entry(r.spec, b.name, ALL, "ece", ece, n, "benchmark"))
                metrics_list.append(_entry(r.spec, b.name, ALL, "brier", brier, n, "benchmark"))
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
            # The cap asked for (None: --full); limit_explicit False: the default, which benchmarks scored
            # whole ignore. Each benchmark record's "cap" says what was applied to it.
            "limit": None if full else (DEFAULT_LIMIT if limit is None else limit),
            "limit_explicit": limit is not None and not full,
            "full": full,
            "seed": seed,
            "bootstrap": {
                "resamples": n_resamples,
                "seed": seed,
                "confidence": 0.95,
                "stratified_by": "subset",
            },
            "paired": {
                "difference": "primary metric, A - B, paired bootstrap stratified by subset",
                "test": "McNemar exact (accuracy; rows with a half credit left out)",
                "correction": "Holm within each rater pair across the run's benchmarks",
                "alpha": ALPHA,
            },
            "swap": swap,
            "ties": ties,
            "batch_size": batch_size,
            "baselines": baselines,
            "allow_overlap": allow_overlap,
            "rater_options": {k: v for k, v in options.items() if k != "swap"},
        },
        raters=[rater_record(r) for r in rater_objs],
        benchmarks=[_benchmark_record(d, caps[d.benchmark.name]) for d in loaded],
        metrics=metrics_list,
        counts=counts,
        calibration=calib,
        contamination=[f.to_dict() for f in findings],
        environment=environment(),
        predictions=predictions,
        examples=[
            _example_row(d.benchmark.name, s.name, ex) for d in loaded for s in d.subsets for ex in s.examples
        ],
        paired=score_pairs(scored_by, n_resamples=n_resamples, seed=seed),
        jury_members=jury_members,
        jury_agreement=jury_agreement,
    )
    if out is not None:
        results.save(out)
        if report:
            from flame.evaluate.report import write_reports

            write_reports(results, Path(out))
    return results


def _contamination(rater_objs, loaded, allow_overlap, log) -> list:
    from flame.evaluate.contamination import ContaminationError, check

    by_spec: dict[str, list] = {}

    def checked(spec: str) -> list:
        # A jury member that is also a rater (or in two juries) is checked once: each check reads and
        # indexes the run's training rows.
        if spec not in by_spec:
            by_spec[spec] = check(spec, loaded)
        return by_spec[spec]

    findings = []
    for r in rater_objs:
        findings += checked(r.spec)
        # A jury was trained on nothing itself; what its members were trained on is what overlaps.
        for m in getattr(r, "members", ()):
            findings += [replace(f, rater=f"{r.spec} (member {m.spec})") for f in checked(m.spec)]
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
    members = (jd.get("metadata") or {}).get("members")
    if members:  # a jury: each member's own answer
        row["members"] = members
    if jd.get("raw") is not None:
        row["raw"] = jd["raw"]
    explanation = (jd.get("fields") or {}).get("explanation")
    if explanation:  # --explain: the judge's rationale, shown per prediction in report.html
        row["explanation"] = explanation
    return row


def input_hash(ex: Example) -> str:
    """A short hash of the rendered input: two runs' rows with one id are the same example only when
    this agrees too (``flame report A B`` matches rows by both)."""
    import hashlib

    from flame.format import render_input

    return hashlib.sha256(render_input(ex).encode("utf-8")).hexdigest()[:16]


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
        "input_hash": input_hash(ex),
    }


def _benchmark_record(d: BenchmarkData, cap: int | None) -> dict[str, Any]:
    rec = describe(d.benchmark)
    rec.update(
        {
            "cap": cap,
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
