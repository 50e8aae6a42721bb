"""Report figures (matplotlib, Agg backend: no display needed). Each function writes one PNG and
returns its path; the HTML report inlines the same files as base64."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def summary_chart(rows: list[dict[str, Any]], raters: list[str], path: Path, title: str = "") -> Path:
    """Grouped bars: one group per (benchmark, metric) row, one bar per rater, 95% CI whiskers; a dashed
    mark where a human ceiling is known. ``rows``: {"label", "cells": {rater: MetricEntry}, "human": value}."""
    plt = _plt()
    n_rows, n_r = max(len(rows), 1), max(len(raters), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * n_rows * (0.6 + 0.25 * n_r)), 4.2))
    width = 0.8 / n_r
    for k, rater in enumerate(raters):
        xs, ys, lo, hi = [], [], [], []
        for i, row in enumerate(rows):
            e = row["cells"].get(rater)
            if e is None or _nan(e.value):
                continue
            xs.append(i - 0.4 + width * (k + 0.5))
            ys.append(e.value)
            lo.append(e.value - e.ci_low if not _nan(e.ci_low) else 0.0)
            hi.append(e.ci_high - e.value if not _nan(e.ci_high) else 0.0)
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=rater)
    for i, row in enumerate(rows):
        if row.get("human") is not None:
            ax.hlines(row["human"], i - 0.45, i + 0.45, colors="black", linestyles="dashed")
            ax.text(i + 0.45, row["human"], " human", va="center", fontsize=7)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["label"] for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("value (95% CI)")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title(title or "headline metric per benchmark")
    ax.legend(fontsize=8, ncol=min(n_r, 4))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reliability_diagram(entries: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Accuracy against confidence per bin, one line per benchmark; the diagonal is perfect calibration."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="dashed", linewidth=1)
    for e in entries:
        pts = [
            (b["confidence"], b["accuracy"]) for b in e["bins"] if b["count"] and not _nan(b["confidence"])
        ]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=f"{e['benchmark']} (ECE {e['ece']:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bias_chart(rows: list[dict[str, Any]], path: Path, title: str = "bias probes") -> Path:
    """One bar per probe per rater (value with 95% CI); lower is better."""
    plt = _plt()
    probes = list(dict.fromkeys(r["probe"] for r in rows))
    raters = list(dict.fromkeys(r["rater"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(probes) * max(1, len(raters))), 4.0))
    width = 0.8 / max(len(raters), 1)
    for k, rater in enumerate(raters):
        xs, ys, lo, hi = [], [], [], []
        for i, probe in enumerate(probes):
            e = next((r for r in rows if r["probe"] == probe and r["rater"] == rater), None)
            if e is None or _nan(e["value"]):
                continue
            xs.append(i - 0.4 + width * (k + 0.5))
            ys.append(e["value"])
            lo.append(max(0.0, e["value"] - e["ci_low"]) if not _nan(e["ci_low"]) else 0.0)
            hi.append(max(0.0, e["ci_high"] - e["value"]) if not _nan(e["ci_high"]) else 0.0)
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=rater)
    ax.set_xticks(range(len(probes)))
    ax.set_xticklabels(probes, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("bias rate (lower is better)")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))
