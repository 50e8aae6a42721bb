"""The Table-1 style summary, on a literal results dict."""

from flame.evaluate.summary import summary_table


def entry(rater, benchmark, metric, value, n, lo=None, hi=None, subset="all"):
    return {
        "rater": rater,
        "benchmark": benchmark,
        "subset": subset,
        "metric": metric,
        "value": value,
        "ci_low": lo,
        "ci_high": hi,
        "n": n,
    }


RESULTS = {
    "raters": [{"spec": "run:out/r"}, {"spec": "length"}],
    "benchmarks": [
        {"name": "mtbench_human", "type": "pairwise", "primary": "accuracy"},
        {"name": "faireval", "type": "pairwise", "primary": "accuracy"},
        {"name": "wice", "type": "classification", "primary": "balanced_accuracy"},
    ],
    "metrics": [
        entry("run:out/r", "mtbench_human", "accuracy", 0.625, 48, 0.5, 0.75),
        entry("run:out/r", "mtbench_human", "consistency", 0.8, 48, 0.7, 0.9),
        entry("run:out/r", "mtbench_human", "accuracy", 0.1, 12, subset="preference"),  # not a headline
        entry("run:out/r", "faireval", "accuracy", 0.5, 40, 0.35, 0.65),
        entry("run:out/r", "faireval", "consistency", 0.6, 40, 0.45, 0.75),
        entry("run:out/r", "wice", "balanced_accuracy", None, 48),  # NaN is stored as null
        entry("run:out/r", "pairwise mean", "accuracy", 0.5625, 88, 0.47, 0.66),
        entry("length", "mtbench_human", "accuracy", 0.55, 48, 0.41, 0.69),
        entry("length", "faireval", "accuracy", 0.6, 38, 0.45, 0.74),
        entry("length", "pairwise mean", "accuracy", 0.575, 86, 0.48, 0.67),
    ],
}


def test_summary_table_rows_columns_and_cells():
    text = summary_table(RESULTS, ["length", "run:out/r", "smollm2"], {"run:out/r": "FLAMe-mini"})
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| rater | mtbench_human | faireval | wice | pairwise mean | position consistency |"
    assert table[1] == "|---|---:|---:|---:|---:|---:|"
    # Rows in the requested order; a spec the run does not have (smollm2) is left out.
    assert table[2] == "| length | 0.55 [0.41, 0.69] | 0.60 [0.45, 0.74] | – | 0.57 [0.48, 0.67] | – |"
    assert table[3] == "| FLAMe-mini | 0.62 [0.50, 0.75] | 0.50 [0.35, 0.65] | – | 0.56 [0.47, 0.66] | 0.70 |"
    assert len(table) == 4
    # n per column: one number when the raters agree, a range when they do not.
    assert "n per column: mtbench_human 48, faireval 38–40, wice 48, pairwise mean 86–88." in text
    assert "mtbench_human, faireval: accuracy; wice: balanced_accuracy" in text


def test_summary_table_without_swap_has_no_consistency_column():
    results = {**RESULTS, "metrics": [m for m in RESULTS["metrics"] if m["metric"] != "consistency"]}
    text = summary_table(results)
    assert "position consistency" not in text
    assert "| run:out/r |" in text  # default names: the specs, in the run's order


def test_paired_table_signs_every_difference_from_the_named_rater():
    from flame.evaluate.summary import paired_table

    def entry(a, b, bench, diff, low, high):
        return {
            "rater_a": a,
            "rater_b": b,
            "benchmark": bench,
            "difference": diff,
            "ci_low": low,
            "ci_high": high,
        }

    results = {
        "paired": [
            entry("judge", "zero", "pairs", 0.10, 0.02, 0.18),  # excludes 0
            entry("judge", "zero", "pairwise mean", 0.05, -0.01, 0.11),
            entry("zero", "length", "pairs", 0.0, -0.1, 0.1),  # not about the judge: left out
            entry("length", "judge", "pairs", 0.20, 0.05, 0.35),  # judge on side B: negated, bounds swapped
        ]
    }
    text = paired_table(results, "judge", {"judge": "J", "zero": "Z"})
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| minus | pairs | pairwise mean |"
    assert rows[1] == "| Z | +0.10 [+0.02, +0.18]* | +0.05 [-0.01, +0.11] |"
    assert rows[2] == "| length | -0.20 [-0.35, -0.05]* | – |"
    assert text.startswith("Each cell: J minus the row's rater")
    assert "No paired comparisons" in paired_table({"paired": []}, "judge")
