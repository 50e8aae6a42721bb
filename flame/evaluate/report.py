"""Reports from ``results.json``: Markdown and one self-contained HTML file (inline PNGs, inline JS).

Everything here reads a ``Results`` (fresh or loaded from disk), so ``flame report DIR [DIR ...]``
rebuilds the same files from a finished run, and several runs can be compared side by side (their
raters are then named ``RUN/SPEC``; every rater of one run is then also compared, paired, with every rater
of the next on the rows the runs share, see ``cross_run_pairs``). "Who beats whom" shows each run's paired
comparisons (``flame.evaluate.paired``) as a matrix per benchmark.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from flame.errors import UsageError
from flame.evaluate.paired import ALPHA, discordance, mcnemar, paired_difference, with_holm
from flame.evaluate.results import ALL, MemberEntry, MetricEntry, PairedEntry, Results

BASELINES = ("length", "random")
MAX_DISAGREEMENTS = 400  # shown in the HTML; the count of all of them is stated beside the list


# ------------------------------------------------------------------------------- formatting


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt(x: Any, digits: int = 3) -> str:
    return "–" if _nan(x) else f"{x:.{digits}f}"


def cell(e: MetricEntry | MemberEntry | None) -> str:
    """``0.773 [0.679, 0.859] n=64``: value, 95% CI and n in every cell."""
    if e is None:
        return ""
    ci = "" if _nan(e.ci_low) else f" [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"
    return f"{fmt(e.value)}{ci} n={e.n}"


# ------------------------------------------------------------------------------ combining runs


def combine(runs: list[Results], labels: list[str] | None = None) -> Results:
    """Several runs as one: raters renamed ``LABEL/SPEC`` (one run: unchanged)."""
    if len(runs) == 1:
        return runs[0]
    labels = labels or [r.out.name if r.out else f"run{i + 1}" for i, r in enumerate(runs)]
    first = runs[0]

    def rename(rows, label):
        return [{**row, "rater": f"{label}/{row['rater']}"} for row in rows]

    benches: dict[str, dict[str, Any]] = {}
    for r in runs:
        for b in r.benchmarks:
            benches.setdefault(b["name"], b)
    examples: dict[tuple, dict] = {}
    for r in runs:
        for ex in r.examples:
            examples.setdefault((ex["benchmark"], ex["subset"], ex["task"], ex["id"]), ex)
    return Results(
        config={"runs": {lab: r.config for lab, r in zip(labels, runs, strict=True)}},
        raters=[
            {**x, "spec": f"{lab}/{x['spec']}"} for lab, r in zip(labels, runs, strict=True) for x in r.raters
        ],
        benchmarks=list(benches.values()),
        metrics=[
            replace(m, rater=f"{lab}/{m.rater}")
            for lab, r in zip(labels, runs, strict=True)
            for m in r.metrics
        ],
        counts=[m for lab, r in zip(labels, runs, strict=True) for m in rename(r.counts, lab)],
        calibration=[m for lab, r in zip(labels, runs, strict=True) for m in rename(r.calibration, lab)],
        contamination=[m for lab, r in zip(labels, runs, strict=True) for m in rename(r.contamination, lab)],
        environment={lab: r.environment for lab, r in zip(labels, runs, strict=True)} | {"compared": labels},
        predictions=[m for lab, r in zip(labels, runs, strict=True) for m in rename(r.predictions, lab)],
        examples=list(examples.values()),
        paired=[
            replace(p, rater_a=f"{lab}/{p.rater_a}", rater_b=f"{lab}/{p.rater_b}")
            for lab, r in zip(labels, runs, strict=True)
            for p in r.paired
        ]
        + cross_run_pairs(runs, labels),
        jury_members=[
            replace(m, rater=f"{lab}/{m.rater}")
            for lab, r in zip(labels, runs, strict=True)
            for m in r.jury_members
        ],
        jury_agreement=[
            replace(a, rater=f"{lab}/{a.rater}")
            for lab, r in zip(labels, runs, strict=True)
            for a in r.jury_agreement
        ],
        out=first.out,
    )


def _rows_by_key(run: Results) -> tuple[dict[tuple, dict], dict[tuple, dict[str, float]]]:
    """A run's examples by (benchmark, subset, task, id), and each rater's credit on them (NaN: unscored)."""
    examples = {(e["benchmark"], e["subset"], e["task"], str(e["id"])): e for e in run.examples}
    credit: dict[tuple, dict[str, float]] = {}
    for p in run.predictions:
        key = (p["benchmark"], p["subset"], p["task"], str(p["id"]))
        credit.setdefault(key, {})[p["rater"]] = math.nan if p.get("correct") is None else float(p["correct"])
    return examples, credit


def cross_run_pairs(runs: list[Results], labels: list[str]) -> list[PairedEntry]:
    """``flame report A B``: every rater of one run against every rater of a later run, on the accuracy
    benchmarks both scored, from the per-example predictions.

    Rows are matched by (benchmark, subset, task, id) *and* the rendered input's hash: a row found in one
    run only, or whose input differs under the same id, is not compared and is counted in ``mismatched``
    (and flagged in the report). The difference is pooled accuracy over the matched rows (the runs'
    per-subset columns are not on disk, so a benchmark's own weighting is not applied here), with the
    paired bootstrap stratified by subset and McNemar's exact test, Holm within each pair.
    """
    settings = runs[0].config.get("bootstrap") or {}
    boot = {"n_resamples": settings.get("resamples", 1000), "seed": settings.get("seed", 0)}
    entries = []
    for i, (lab_a, run_a) in enumerate(zip(labels, runs, strict=True)):
        ex_a, credit_a = _rows_by_key(run_a)
        for lab_b, run_b in list(zip(labels, runs, strict=True))[i + 1 :]:
            ex_b, credit_b = _rows_by_key(run_b)
            accuracy_b = {b["name"] for b in run_b.benchmarks if b["primary"] == "accuracy"}
            for bench in [b["name"] for b in run_a.benchmarks if b["primary"] == "accuracy"]:
                if bench not in accuracy_b:
                    continue
                keys_a = {k for k in ex_a if k[0] == bench}
                keys_b = {k for k in ex_b if k[0] == bench}
                same = sorted(
                    k for k in keys_a & keys_b if ex_a[k].get("input_hash") == ex_b[k].get("input_hash")
                )
                mismatched = len(keys_a | keys_b) - len(same)
                for x in run_a.rater_specs():
                    for y in run_b.rater_specs():
                        entry = _compare_rows(same, credit_a, x, credit_b, y, bench, **boot)
                        entries.append(
                            replace(
                                entry, rater_a=f"{lab_a}/{x}", rater_b=f"{lab_b}/{y}", mismatched=mismatched
                            )
                        )
    return with_holm(entries)


def _compare_rows(
    keys: list[tuple],
    credit_a: dict,
    a: str,
    credit_b: dict,
    b: str,
    bench: str,
    *,
    n_resamples: int,
    seed: int,
) -> PairedEntry:
    """Rater a of one run against rater b of another on the matched rows ``keys``, stratified by subset."""
    import numpy as np

    from flame.evaluate.metrics import accuracy

    def pooled_accuracy(strata):
        return accuracy({"credit": np.concatenate([c["credit"] for c in strata])})

    def strata(credit, rater):
        subsets = list(dict.fromkeys(k[1] for k in keys))
        rows = [[k for k in keys if k[1] == s] for s in subsets]
        return [{"credit": np.array([credit.get(k, {}).get(rater, math.nan) for k in r])} for r in rows]

    if not keys:
        return PairedEntry(a, b, bench, "accuracy", math.nan, math.nan, math.nan, 0)
    sa, sb = strata(credit_a, a), strata(credit_b, b)
    est = paired_difference(pooled_accuracy, sa, sb, n_resamples=n_resamples, seed=seed)
    table = discordance(np.concatenate([c["credit"] for c in sa]), np.concatenate([c["credit"] for c in sb]))
    return PairedEntry(
        a,
        b,
        bench,
        "accuracy",
        est.value,
        est.low,
        est.high,
        table.n + table.halves,
        test="mcnemar",
        a_only=table.a_only,
        b_only=table.b_only,
        halves=table.halves,
        p=mcnemar(table),
    )


# ---------------------------------------------------------------------------------- tables


def summary_rows(results: Results) -> list[dict[str, Any]]:
    """One row per benchmark headline (plus swap consistency, and the primary metric of each section the
    benchmark declares, e.g. RewardBench's) and per group."""
    raters = results.rater_specs()
    index = {m.key(): m for m in results.metrics}
    rows = []
    for b in results.benchmarks:
        metrics = [b["primary"]]
        if any(m.benchmark == b["name"] and m.metric == "consistency" for m in results.metrics):
            metrics.append("consistency")
        subsets = [ALL, *(s["name"] for s in b.get("sections") or [])]
        for subset in subsets:
            for metric in metrics if subset == ALL else [b["primary"]]:
                cells = {r: index.get((r, b["name"], subset, metric)) for r in raters}
                if not any(cells.values()):
                    continue
                human = (b.get("human") or {}).get(metric) if subset == ALL else None
                label = b["name"] if subset == ALL else f"{b['name']} / {subset}"
                rows.append(
                    {
                        "label": label,
                        "benchmark": b["name"],
                        "subset": subset,
                        "metric": metric,
                        "cells": cells,
                        "human": human,
                    }
                )
    groups = list(dict.fromkeys(m.benchmark for m in results.metrics if m.kind == "group"))
    for g in groups:
        metric = next(m.metric for m in results.metrics if m.benchmark == g)
        cells = {r: index.get((r, g, ALL, metric)) for r in raters}
        rows.append(
            {
                "label": g,
                "benchmark": g,
                "subset": ALL,
                "metric": metric,
                "cells": cells,
                "human": None,
                "group": True,
            }
        )
    return rows


def detail_rows(results: Results, bench: str) -> list[dict[str, Any]]:
    raters = results.rater_specs()
    keys = list(dict.fromkeys((m.subset, m.metric) for m in results.metrics if m.benchmark == bench))
    index = {(m.rater, m.subset, m.metric): m for m in results.metrics if m.benchmark == bench}
    return [
        {"subset": s, "metric": metric, "cells": {r: index.get((r, s, metric)) for r in raters}}
        for s, metric in keys
    ]


# ---------------------------------------------------------------------------- who beats whom


def paired_matrix(results: Results, bench: str) -> tuple[list[str], dict[tuple[str, str], dict[str, Any]]]:
    """The raters compared on ``bench`` and, per (row, column), the row rater minus the column rater:
    ``{difference, ci_low, ci_high, p_holm, significant, entry}`` (an entry read the other way is negated)."""
    entries = [p for p in results.paired if p.benchmark == bench]
    named = {r for p in entries for r in (p.rater_a, p.rater_b)}
    raters = [r for r in results.rater_specs() if r in named]
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for p in entries:
        sig = p.significant()
        cells[(p.rater_a, p.rater_b)] = {
            "difference": p.difference,
            "ci_low": p.ci_low,
            "ci_high": p.ci_high,
            "p_holm": p.p_holm,
            "significant": sig,
            "entry": p,
        }
        cells[(p.rater_b, p.rater_a)] = {
            "difference": 0.0 - p.difference,  # 0.0 - x: no "-0.000" for a zero difference
            "ci_low": 0.0 - p.ci_high,
            "ci_high": 0.0 - p.ci_low,
            "p_holm": p.p_holm,
            "significant": sig,
            "entry": p,
        }
    return raters, cells


def _signed(x: float) -> str:
    return "–" if _nan(x) else f"{x:+.3f}"


def _paired_benchmarks(results: Results) -> list[str]:
    return list(dict.fromkeys(p.benchmark for p in results.paired))


def _matrix_text(c: dict[str, Any] | None) -> str:
    if c is None:
        return ""
    ci = "" if _nan(c["ci_low"]) else f" [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
    p = "" if _nan(c["p_holm"]) else f" p={c['p_holm']:.3g}"
    value = "–" if _nan(c["difference"]) else f"{c['difference']:+.3f}"
    if c["significant"]:
        value = f"**{value}** {'▲' if c['difference'] > 0 else '▼'}"
    return f"{value}{ci}{p}"


PAIRED_NOTE = (
    "Each cell: the row rater minus the column rater on the benchmark's primary metric [paired 95% "
    "bootstrap CI, stratified by subset] and, for accuracy, McNemar's exact p Holm-adjusted within the rater "
    f"pair across the run's benchmarks. Bold with ▲ (row better) or ▼ (row worse): significant at {ALPHA:g} "
    "(the adjusted p; without a test, a CI that excludes 0). Rows where either rater earned half credit "
    "(P = 0.5) count in the difference, not in McNemar; they are counted as halves."
)


def _paired_markdown(results: Results) -> list[str]:
    if not results.paired:
        return []
    lines = ["## Who beats whom", "", PAIRED_NOTE, ""]
    for bench in _paired_benchmarks(results):
        raters, cells = paired_matrix(results, bench)
        metric = next(p.metric for p in results.paired if p.benchmark == bench)
        lines += [f"### {bench} ({metric})", ""]
        rows = [[r, *("–" if r == c else _matrix_text(cells.get((r, c))) for c in raters)] for r in raters]
        lines += [_md_table(["row − column", *raters], rows), ""]
    header = ["A", "B", "benchmark", "metric", "A − B [95% CI]", "n", "A only", "B only", "halves"]
    header += ["McNemar p", "Holm p", "family", "mismatched"]
    lines += ["### All pairs", "", _md_table(header, [_pair_row(p) for p in results.paired]), ""]
    flagged = [p for p in results.paired if p.mismatched]
    lines += [
        f"- **mismatch**: {p.rater_a} vs {p.rater_b} on {p.benchmark}: {p.mismatched} rows are in one run "
        "only or have another input under the same id; they are not compared."
        for p in flagged
    ]
    return lines + ([""] if flagged else [])


def _pair_row(p: PairedEntry) -> list[str]:
    ci = "" if _nan(p.ci_low) else f" [{p.ci_low:+.3f}, {p.ci_high:+.3f}]"
    diff = "–" if _nan(p.difference) else f"{p.difference:+.3f}"
    mark = " ✓" if p.significant() else ""
    test = [str(p.a_only), str(p.b_only), str(p.halves), f"{p.p:.3g}", f"{p.p_holm:.3g}", str(p.family)]
    return (
        [p.rater_a, p.rater_b, p.benchmark, p.metric, f"{diff}{ci}{mark}", str(p.n)]
        + (test if p.test else ["", "", "", "", "", ""])
        + [str(p.mismatched)]
    )


def _paired_html(results: Results) -> list[str]:
    if not results.paired:
        return []
    e = html.escape
    parts = [f"<h2>Who beats whom</h2><p>{e(PAIRED_NOTE)}</p>"]
    for bench in _paired_benchmarks(results):
        raters, cells = paired_matrix(results, bench)
        metric = next(p.metric for p in results.paired if p.benchmark == bench)
        parts.append(f"<h3>{e(bench)} ({e(metric)})</h3><table class=paired data-benchmark='{e(bench)}'>")
        parts.append("<tr><th>row − column</th>" + "".join(f"<th>{e(r)}</th>" for r in raters) + "</tr>")
        for r in raters:
            parts.append(f"<tr><th>{e(r)}</th>")
            for c in raters:
                cell_ = cells.get((r, c))
                if r == c or cell_ is None:
                    parts.append("<td class=num>–</td>")
                    continue
                cls = "num" + (
                    (" beats" if cell_["difference"] > 0 else " loses") if cell_["significant"] else ""
                )
                ci = (
                    ""
                    if _nan(cell_["ci_low"])
                    else f" <span class=ci>[{cell_['ci_low']:+.3f}, {cell_['ci_high']:+.3f}]</span>"
                )
                p = "" if _nan(cell_["p_holm"]) else f" <span class=ci>p={cell_['p_holm']:.3g}</span>"
                parts.append(
                    f"<td class='{cls}' data-significant='{int(cell_['significant'])}'>"
                    f"{_signed(cell_['difference'])}{ci}{p}</td>"
                )
            parts.append("</tr>")
        parts.append("</table>")
    families = sorted({(p.rater_a, p.rater_b, p.family) for p in results.paired if p.test})
    if families:
        parts.append(
            "<p>Holm families: "
            + "; ".join(f"{e(a)} vs {e(b)}: {f} benchmark{'s' if f != 1 else ''}" for a, b, f in families)
            + ".</p>"
        )
    for p in results.paired:
        if p.mismatched:
            parts.append(
                f"<p class=wrong>Mismatch: {e(p.rater_a)} vs {e(p.rater_b)} on {e(p.benchmark)}: {p.mismatched} "
                "rows in one run only or with another input under the same id (not compared).</p>"
            )
    return parts


# ------------------------------------------------------------------------------------ juries


def jury_tables(results: Results) -> list[dict[str, Any]]:
    """Per (jury, benchmark): its members' rows and its own (metric [CI] n, parse failures), the κ of every
    member pair and Krippendorff's α over all members."""
    tables: dict[tuple[str, str], dict[str, Any]] = {}
    for m in results.jury_members:
        t = tables.setdefault((m.rater, m.benchmark), {"rater": m.rater, "benchmark": m.benchmark})
        t.setdefault("members", []).append(m)
        t["metric"] = m.metric
    for t in tables.values():
        t["jury"] = results.get(t["rater"], t["benchmark"], t["metric"])
        t["kappa"] = {}
        t["alpha"] = None
    for a in results.jury_agreement:
        t = tables.get((a.rater, a.benchmark))
        if t is None:
            continue
        if a.statistic == "cohen_kappa":
            t["kappa"][a.member_a, a.member_b] = t["kappa"][a.member_b, a.member_a] = a
        else:
            t["alpha"] = a
    return list(tables.values())


def _jury_markdown(results: Results) -> list[str]:
    tables = jury_tables(results)
    if not tables:
        return []
    lines = [
        "## Juries",
        "",
        "Each member's agreement with humans (the benchmark's primary metric, [95% CI] n) next to the "
        "jury's, and the members' agreement with each other on their argmax labels: Cohen's κ per pair, "
        "Krippendorff's α (nominal) over all members. A parse failure is a missing label.",
        "",
    ]
    for t in tables:
        names = [m.member for m in t["members"]]
        header = ["member", "weight", t["metric"], "parse failures", *[f"κ vs {n}" for n in names]]
        rows = []
        for m in t["members"]:
            kappas = ["" if n == m.member else _kappa_text(t["kappa"].get((m.member, n))) for n in names]
            rows.append([m.member, f"{m.weight:g}", cell(m), str(m.parse_failures), *kappas])
        rows.append(["**jury**", "", cell(t["jury"]), "", *["" for _ in names]])
        alpha = t["alpha"]
        alpha_text = f"{fmt(alpha.value)} (n={alpha.n} values)" if alpha else "n/a"
        lines += [
            f"### {t['rater']} on {t['benchmark']}".replace("|", "\\|"),
            "",
            _md_table(header, rows),
            "",
            f"Krippendorff's α over all members: {alpha_text}.",
            "",
        ]
    return lines


def _jury_html(results: Results) -> list[str]:
    tables = jury_tables(results)
    if not tables:
        return []
    e = html.escape
    parts = [
        "<h2>Juries</h2><p>Members' agreement with humans next to the jury's; Cohen's κ per member pair, "
        "Krippendorff's α over all members (argmax labels).</p>"
    ]
    for t in tables:
        names = [m.member for m in t["members"]]
        parts.append(f"<h3>{e(t['rater'])} on {e(t['benchmark'])}</h3><table class=jury>")
        parts.append(
            f"<tr><th>member</th><th>weight</th><th>{e(t['metric'])}</th><th>parse failures</th>"
            + "".join(f"<th>κ vs {e(n)}</th>" for n in names)
            + "</tr>"
        )
        for m in t["members"]:
            kappas = "".join(
                f'<td class="num">{"" if n == m.member else e(_kappa_text(t["kappa"].get((m.member, n))))}</td>'
                for n in names
            )
            parts.append(
                f"<tr><td>{e(m.member)}</td><td class=num>{m.weight:g}</td>{_html_cell(m)}"
                f"<td class=num>{m.parse_failures}</td>{kappas}</tr>"
            )
        parts.append(
            f"<tr class=group><td>jury</td><td></td>{_html_cell(t['jury'])}<td></td>"
            + "<td></td>" * len(names)
            + "</tr></table>"
        )
        alpha = t["alpha"]
        parts.append(f"<p>Krippendorff's α: {fmt(alpha.value)} (n={alpha.n} values)</p>" if alpha else "")
    return parts


def _kappa_text(a: Any) -> str:
    return f"{fmt(a.value)} (n={a.n})" if a is not None else ""


# -------------------------------------------------------------------------------- markdown


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    # A jury's spec holds '|' (jury:length|random): escaped in headers as in cells.
    out = [
        "| " + " | ".join(c.replace("|", "\\|") for c in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(out)


def _run_lines(results: Results) -> list[str]:
    c, env = results.config, results.environment
    if "runs" in c:
        return [f"Comparing runs: {', '.join(env.get('compared', []))}."]
    versions = env.get("versions", {})
    whole = [b["name"] for b in results.benchmarks if "cap" in b and b["cap"] is None and c.get("limit")]
    return [
        f"- raters: {', '.join(results.rater_specs())}",
        f"- benchmarks: {', '.join(b['name'] for b in results.benchmarks)}",
        f"- examples per task: {'all' if c.get('limit') is None else c.get('limit')} (seed {c.get('seed')})"
        + (f", except {', '.join(whole)}: scored whole" if whole else "")
        + f"; position swap: {'on' if c.get('swap') else 'off'}; gold ties: {c.get('ties')}",
        f"- confidence intervals: 95% percentile bootstrap, {c.get('bootstrap', {}).get('resamples')} "
        f"resamples stratified by subset, seed {c.get('bootstrap', {}).get('seed')}",
        f"- flame {versions.get('flame')}, git {env.get('git_commit')}, {env.get('time')}",
    ]


def markdown(results: Results, plots: dict[str, Path] | None = None) -> str:
    raters = results.rater_specs()
    lines = ["# flame evaluation report", "", *_run_lines(results), "", "## Summary", ""]
    lines.append(
        "Each cell: value [95% CI] n. Pairwise: accuracy (gold ties excluded and counted); factual "
        "consistency: balanced accuracy; pointwise: Spearman correlation. Means are over benchmarks."
    )
    lines.append("")
    srows = summary_rows(results)
    has_human = any(r["human"] is not None for r in srows)
    header = ["benchmark", "metric", *raters] + (["human"] if has_human else [])
    body = []
    for r in srows:
        label = f"**{r['label']}**" if r.get("group") else r["label"]
        row = [label, r["metric"], *[cell(r["cells"][x]) for x in raters]]
        if has_human:
            row.append(fmt(r["human"]) if r["human"] is not None else "")
        body.append(row)
    lines += [_md_table(header, body), ""]
    notes = [b for b in results.benchmarks if b.get("human")]
    for b in notes:
        human = ", ".join(f"{k} {v:.2f}" for k, v in b["human"].items())
        lines.append(f"Human ceiling, {b['name']}: {human}.")
    if notes:
        lines.append("")
    if plots and "summary" in plots:
        lines += [f"![summary]({plots['summary'].relative_to(plots['summary'].parent.parent)})", ""]
    lines += _paired_markdown(results)
    lines += _jury_markdown(results)

    lines += ["## Per benchmark", ""]
    for b in results.benchmarks:
        lines += [
            f"### {b['name']}",
            "",
            f"{b['description']} (version {b['version']}, {b['n']} examples)",
            "",
        ]
        rows = [
            [d["subset"], d["metric"], *[cell(d["cells"][x]) for x in raters]]
            for d in detail_rows(results, b["name"])
        ]
        lines += [_md_table(["subset", "metric", *raters], rows), ""]

    if results.calibration:
        lines += ["## Calibration", "", "Raters that give probabilities (soft, not 0/1).", ""]
        rows = [
            [c["rater"], c["benchmark"], fmt(c["ece"]), fmt(c["brier"]), str(c["n"])]
            for c in results.calibration
        ]
        lines += [_md_table(["rater", "benchmark", "ECE", "Brier", "n"], rows), ""]
        for key, path in (plots or {}).items():
            if key.startswith("reliability"):
                lines += [f"![{key}]({path.relative_to(path.parent.parent)})", ""]

    lines += ["## Counts", ""]
    rows = [
        [
            c["rater"],
            c["benchmark"],
            c["subset"],
            str(c["n"]),
            str(c["parse_failures"]),
            str(c["ties_excluded"]),
            str(c.get("truncated", 0)),
        ]
        for c in results.counts
    ]
    lines += [
        _md_table(
            ["rater", "benchmark", "subset", "n", "parse failures", "gold ties excluded", "truncated"], rows
        ),
        "",
    ]
    bad = [b for b in results.benchmarks if b.get("malformed_rows")]
    if bad:
        lines += ["## Malformed rows (skipped)", ""]
        for b in bad:
            lines.append(f"- {b['name']}: {b['malformed_rows']} rows")
            lines += [f"  - {p}" for p in b["problems"][:20]]
        lines.append("")
    if results.contamination:
        lines += ["## Overlap with training data (flagged)", ""]
        lines += [f"- {f['rater']} × {f['benchmark']}: {f['detail']}" for f in results.contamination]
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ HTML

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}
th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}tr.group td{font-weight:bold;background:#fafafa}
.ci{color:#777;font-size:11px}.dis{border:1px solid #ddd;border-radius:4px;padding:6px 10px;margin:8px 0}
.dis pre{white-space:pre-wrap;background:#f8f8f8;padding:4px;max-height:14em;overflow:auto;font-size:12px}
.why{color:#444;font-style:italic;white-space:pre-wrap;margin:2px 0 4px 1em}
.wrong{color:#b00}.right{color:#070}img{max-width:100%}
td.beats{background:#e3f4e3;font-weight:bold}td.loses{background:#f8e1e1;font-weight:bold}
"""

JS = """
function applyFilter(){
  var b=document.getElementById('f-bench').value, s=document.getElementById('f-subset').value,
      r=document.getElementById('f-rater').value, shown=0;
  document.querySelectorAll('.dis').forEach(function(d){
    var ok=(!b||d.dataset.benchmark===b)&&(!s||d.dataset.subset===s)&&(!r||JSON.parse(d.dataset.raters).indexOf(r)>=0);
    d.style.display=ok?'':'none'; if(ok)shown++;});
  document.getElementById('f-count').textContent=shown;
}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _html_cell(e: MetricEntry | MemberEntry | None) -> str:
    if e is None:
        return '<td class="num"></td>'
    ci = "" if _nan(e.ci_low) else f" <span class=ci>[{fmt(e.ci_low)}, {fmt(e.ci_high)}]</span>"
    return (
        f'<td class="num" data-value="{fmt(e.value)}" data-n="{e.n}">{fmt(e.value)}{ci}'
        f" <span class=ci>n={e.n}</span></td>"
    )


def disagreements(results: Results) -> tuple[list[dict[str, Any]], int]:
    """Examples some rater got wrong (model raters; the baselines only when there is nothing else)."""
    model = [r for r in results.rater_specs() if r.split("/")[-1] not in BASELINES]
    chosen = set(model or results.rater_specs())
    by_key: dict[tuple, list[dict]] = {}
    for p in results.predictions:
        by_key.setdefault((p["benchmark"], p["subset"], p["task"], p["id"]), []).append(p)
    examples = {(e["benchmark"], e["subset"], e["task"], e["id"]): e for e in results.examples}
    items = []
    for key, preds in by_key.items():
        wrong = [
            p for p in preds if p["rater"] in chosen and p.get("correct") is not None and p["correct"] < 1
        ]
        if not wrong or key not in examples:
            continue
        items.append({"example": examples[key], "predictions": preds, "wrong": [p["rater"] for p in wrong]})
    return items[:MAX_DISAGREEMENTS], len(items)


def _probs(p: dict[str, Any]) -> str:
    if not p.get("probs"):
        return "parse failure" if p.get("parse_failure") else ""
    return ", ".join(f"{k}: {v:.2f}" for k, v in p["probs"].items())


def html_report(results: Results, plots: dict[str, Path] | None = None) -> str:
    raters = results.rater_specs()
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>flame evaluation report</title>",
        f"<style>{CSS}</style><script>{JS}</script></head><body>",
        "<h1>flame evaluation report</h1><ul>",
        *[f"<li>{e(line[2:] if line.startswith('- ') else line)}</li>" for line in _run_lines(results)],
        "</ul><h2>Summary</h2><p>Each cell: value [95% CI] n.</p>",
    ]
    srows = summary_rows(results)
    has_human = any(r["human"] is not None for r in srows)
    parts.append('<table id="summary"><thead><tr><th>benchmark</th><th>metric</th>')
    parts += [f"<th>{e(r)}</th>" for r in raters]
    parts.append("<th>human</th>" if has_human else "")
    parts.append("</tr></thead><tbody>")
    for r in srows:
        cls = ' class="group"' if r.get("group") else ""
        parts.append(
            f'<tr{cls} data-benchmark="{e(r["benchmark"])}" data-subset="{e(r["subset"])}" data-metric="{e(r["metric"])}">'
            f"<td>{e(r['label'])}</td><td>{e(r['metric'])}</td>"
        )
        parts += [_html_cell(r["cells"][x]) for x in raters]
        if has_human:
            parts.append(f'<td class="num">{fmt(r["human"]) if r["human"] is not None else ""}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    for key, path in (plots or {}).items():
        if path.exists():
            parts.append(f"<h3>{e(key)}</h3>{_img(path)}")

    parts += _paired_html(results)
    parts += _jury_html(results)
    parts.append("<h2>Per benchmark</h2>")
    for b in results.benchmarks:
        parts.append(
            f"<h3>{e(b['name'])}</h3><p>{e(b['description'])} (version {e(str(b['version']))}, {b['n']} examples)</p>"
        )
        parts.append(
            "<table><tr><th>subset</th><th>metric</th>"
            + "".join(f"<th>{e(r)}</th>" for r in raters)
            + "</tr>"
        )
        for d in detail_rows(results, b["name"]):
            parts.append(f"<tr><td>{e(d['subset'])}</td><td>{e(d['metric'])}</td>")
            parts += [_html_cell(d["cells"][x]) for x in raters]
            parts.append("</tr>")
        parts.append("</table>")

    parts.append(
        "<h2>Counts</h2><table><tr><th>rater</th><th>benchmark</th><th>subset</th><th>n</th><th>parse failures</th><th>gold ties excluded</th></tr>"
    )
    for c in results.counts:
        parts.append(
            f"<tr><td>{e(c['rater'])}</td><td>{e(c['benchmark'])}</td><td>{e(c['subset'])}</td>"
            f"<td class=num>{c['n']}</td><td class=num>{c['parse_failures']}</td><td class=num>{c['ties_excluded']}</td></tr>"
        )
    parts.append("</table>")
    for b in results.benchmarks:
        if b.get("malformed_rows"):
            parts.append(f"<p>{e(b['name'])}: {b['malformed_rows']} malformed rows skipped</p><ul>")
            parts += [f"<li>{e(p)}</li>" for p in b["problems"][:20]]
            parts.append("</ul>")
    for f in results.contamination:
        parts.append(
            f"<p class=wrong>Overlap flagged: {e(f['rater'])} × {e(f['benchmark'])}: {e(f['detail'])}</p>"
        )

    items, total = disagreements(results)
    benches = sorted({i["example"]["benchmark"] for i in items})
    subsets = sorted({i["example"]["subset"] for i in items})
    wrong_raters = sorted({r for i in items for r in i["wrong"]})

    def options(values):
        return "<option value=''>all</option>" + "".join(
            f"<option value='{e(v)}'>{e(v)}</option>" for v in values
        )

    parts.append(
        f"<h2>Disagreements</h2><p>Examples a rater got wrong: showing <span id='f-count'>{len(items)}</span> "
        f"(of {total}; at most {MAX_DISAGREEMENTS} are listed).</p>"
        f"<p>benchmark <select id='f-bench' onchange='applyFilter()'>{options(benches)}</select> "
        f"subset <select id='f-subset' onchange='applyFilter()'>{options(subsets)}</select> "
        f"wrong rater <select id='f-rater' onchange='applyFilter()'>{options(wrong_raters)}</select></p>"
    )
    for item in items:
        ex = item["example"]
        parts.append(
            f"<div class='dis' data-benchmark='{e(ex['benchmark'])}' data-subset='{e(ex['subset'])}' "
            f"data-raters='{e(json.dumps(item['wrong']))}'><b>{e(ex['benchmark'])} / {e(ex['subset'])}</b> "
            f"#{e(str(ex['id']))} — human label: <b>{e(str(ex['label']))}</b>"
        )
        for k, v in ex["inputs"].items():
            parts.append(f"<div>{e(k)}:</div><pre>{e(v)}</pre>")
        parts.append("<ul>")
        for p in item["predictions"]:
            cls = "right" if p.get("correct", 0) >= 1 else "wrong"
            # A rationale (--explain) is the judge's own text: escaped like every input shown here.
            why = f"<div class='why'>{e(p['explanation'])}</div>" if p.get("explanation") else ""
            parts.append(
                f"<li class='{cls}'>{e(p['rater'])}: {e(str(p.get('prediction')))} ({e(_probs(p))}){why}</li>"
            )
        parts.append("</ul></div>")
    parts.append(
        "<h2>Configuration</h2><pre>"
        + e(
            json.dumps(
                {"config": results.config, "raters": results.raters, "environment": results.environment},
                indent=1,
                default=str,
            )
        )
        + "</pre></body></html>"
    )
    return "\n".join(parts)


# ----------------------------------------------------------------------------------- write


def make_plots(results: Results, out: Path) -> dict[str, Path]:
    from flame.evaluate import plots

    made: dict[str, Path] = {}
    rows = summary_rows(results)
    if rows:
        made["summary"] = plots.summary_chart(rows, results.rater_specs(), out / "plots" / "summary.png")
    for rater in dict.fromkeys(c["rater"] for c in results.calibration):
        entries = [c for c in results.calibration if c["rater"] == rater]
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in rater)
        made[f"reliability {rater}"] = plots.reliability_diagram(
            entries, out / "plots" / f"reliability_{safe}.png", f"reliability: {rater}"
        )
    return made


def write_reports(results: Results, out: Path) -> dict[str, Path]:
    """report.md, report.html and plots/*.png under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_paths = make_plots(results, out)
    (out / "report.md").write_text(markdown(results, plot_paths), encoding="utf-8")
    (out / "report.html").write_text(html_report(results, plot_paths), encoding="utf-8")
    return {"report.md": out / "report.md", "report.html": out / "report.html", **plot_paths}


def rebuild(dirs: list[str | Path], out: str | Path | None = None) -> dict[str, Path]:
    """``flame report``: reload runs, combine them, write the reports (into the run when only one)."""
    runs = [Results.load(d) for d in dirs]
    if out is None:
        if len(runs) > 1:
            raise UsageError("comparing several runs needs --out DIR for the combined report")
        out = runs[0].out
    return write_reports(combine(runs), Path(out))
