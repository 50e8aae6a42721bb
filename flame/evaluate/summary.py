"""One Markdown table in the shape of the paper's Table 1, read from a ``results.json`` dict.

Rows are raters, columns the benchmarks' headline metrics, then the suite's group means (``pairwise
mean``, ``factual-consistency mean``: stored by the harness as metrics entries whose ``benchmark`` is the
group's name), then the pairwise position-swap consistency when the run judged both orders. Pure: a
dict in, text out, so it is tested on a hand-made dict and works on any saved run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flame.evaluate.report import _nan as _missing
from flame.evaluate.report import fmt
from flame.evaluate.results import ALL

CONSISTENCY = "position consistency"


def cell(entry: Mapping[str, Any] | None) -> str:
    """``0.62 [0.48, 0.75]``; two decimals, since CIs at these sample sizes are ±0.1 wide."""
    if entry is None or _missing(entry.get("value")):
        return "–"
    if _missing(entry.get("ci_low")) or _missing(entry.get("ci_high")):
        return fmt(entry["value"], 2)
    return f"{fmt(entry['value'], 2)} [{fmt(entry['ci_low'], 2)}, {fmt(entry['ci_high'], 2)}]"


def _ns(values: list[int]) -> str:
    """One n when every rater used the same rows, else the range (e.g. parse failures dropped rows)."""
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _group_metric(metrics: list[dict[str, Any]], group: str) -> str | None:
    return next((m["metric"] for m in metrics if m["benchmark"] == group and m["subset"] == ALL), None)


def summary_table(
    results: Mapping[str, Any],
    raters_order: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """Markdown: a legend (metrics, n per column), then one row per rater.

    ``raters_order`` lists rater specs (default: the run's order; specs missing from the run are left
    out); ``names`` maps a spec to the name shown (default: the spec).
    """
    names = names or {}
    metrics = results.get("metrics", [])
    benches = results.get("benchmarks", [])
    present = [r["spec"] for r in results.get("raters", [])]
    raters = [r for r in (raters_order or present) if r in present]
    index = {(m["rater"], m["benchmark"], m["subset"], m["metric"]): m for m in metrics}

    # Columns: (header, benchmark or group name, metric).
    columns = [(b["name"], b["name"], b["primary"]) for b in benches]
    bench_names = {b["name"] for b in benches}
    groups = [g for g in dict.fromkeys(m["benchmark"] for m in metrics) if g not in bench_names]
    columns += [(g, g, _group_metric(metrics, g)) for g in groups]

    pairwise = [b["name"] for b in benches if b.get("type") == "pairwise"]
    consistency = {r: [index.get((r, b, ALL, "consistency")) for b in pairwise] for r in raters}
    has_consistency = any(e is not None for es in consistency.values() for e in es)

    header = ["rater", *(c[0] for c in columns)] + ([CONSISTENCY] if has_consistency else [])
    rows, n_by_column = [], {c[0]: [] for c in columns}
    for r in raters:
        row = [names.get(r, r)]
        for head, bench, metric in columns:
            e = index.get((r, bench, ALL, metric))
            row.append(cell(e))
            if e is not None:
                n_by_column[head].append(int(e["n"]))
        if has_consistency:
            # The mean over the pairwise benchmarks, like "pairwise mean"; no CI, because results.json
            # holds per-benchmark estimates only (a CI needs the per-example columns: predictions.jsonl).
            found = [e for e in consistency[r] if e is not None and not _missing(e["value"])]
            value = sum(e["value"] for e in found) / len(found) if found else None
            row.append(cell({"value": value}) if found else "–")
        rows.append(row)

    by_metric: dict[str, list[str]] = {}
    for b in benches:
        by_metric.setdefault(b["primary"], []).append(b["name"])
    legend = [
        "Each cell: value [95% bootstrap CI]. Metrics: "
        + "; ".join(f"{', '.join(bs)}: {m}" for m, bs in by_metric.items())
        + ". Group means are unweighted means over their benchmarks.",
        "",
        "n per column: " + ", ".join(f"{head} {_ns(n_by_column[head])}" for head, _, _ in columns) + ".",
    ]
    if has_consistency:
        legend += [
            "",
            f"{CONSISTENCY}: share of pairwise judgments that name the same answer in both orders, mean "
            f"over {', '.join(pairwise)} (no CI).",
        ]
    table = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    table += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join([*legend, "", *table]) + "\n"


def _signed(p: Mapping[str, Any], rater: str) -> tuple[str, float, float, float]:
    """(the other rater, rater − other, low, high) from a paired entry naming ``rater`` on either side."""
    if p["rater_a"] == rater:
        return p["rater_b"], p["difference"], p["ci_low"], p["ci_high"]
    return p["rater_a"], -p["difference"], -p["ci_high"], -p["ci_low"]


def _difference_cell(diff: float, low: float, high: float) -> str:
    if _missing(diff):
        return "–"
    sign = "*" if not (_missing(low) or _missing(high)) and (low > 0 or high < 0) else ""
    return f"{diff:+.2f} [{low:+.2f}, {high:+.2f}]{sign}"


def paired_table(results: Mapping[str, Any], rater: str, names: Mapping[str, str] | None = None) -> str:
    """Markdown: ``rater`` minus every other rater of the run, on each benchmark's primary metric and on
    each group mean, from the run's paired entries (the same rows for both; paired bootstrap 95% CI).
    A ``*`` marks an interval that excludes 0. Pure, like ``summary_table``."""
    names = names or {}
    paired = [p for p in results.get("paired", []) if rater in (p["rater_a"], p["rater_b"])]
    if not paired:
        return f"No paired comparisons of {names.get(rater, rater)} in this run.\n"
    columns = list(dict.fromkeys(p["benchmark"] for p in paired))
    cells: dict[str, dict[str, str]] = {}
    for p in paired:
        other, diff, low, high = _signed(p, rater)
        cells.setdefault(other, {})[p["benchmark"]] = _difference_cell(diff, low, high)
    shown = names.get(rater, rater)
    legend = (
        f"Each cell: {shown} minus the row's rater on the benchmark's primary metric, on the rows both "
        "judged [paired bootstrap 95% CI]; * where the interval excludes 0. McNemar's exact test with "
        "Holm's correction per benchmark: report.md."
    )
    header = ["minus", *columns]
    table = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * len(columns)]
    for other, row in cells.items():
        values = [names.get(other, other), *(row.get(c, "–") for c in columns)]
        table.append("| " + " | ".join(v.replace("|", "\\|") for v in values) + " |")
    return "\n".join([legend, "", *table]) + "\n"
