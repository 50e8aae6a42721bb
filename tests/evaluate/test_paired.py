"""Paired comparisons against hand-computed truths: McNemar's exact p, Holm, the paired bootstrap, halves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flame.evaluate.bootstrap import bootstrap
from flame.evaluate.metrics import accuracy
from flame.evaluate.paired import Discordance, beats, discordance, holm, mcnemar, paired_difference


def _cols(credit) -> dict[str, np.ndarray]:
    return {"credit": np.asarray(credit, dtype=float)}


def pooled_accuracy(strata):
    return accuracy({"credit": np.concatenate([c["credit"] for c in strata])})


def test_mcnemar_exact_by_hand():
    # 1 discordant row one way, 5 the other: P(X <= 1 | n=6, 1/2) = (1 + 6) / 64; two-sided: 14/64.
    assert mcnemar(Discordance(a_only=1, b_only=5, both=10, neither=3, halves=0)) == pytest.approx(14 / 64)
    # 0 of 4: 2 * (1/16) = 1/8; a balanced split is p = 1; no discordant row at all: p = 1.
    assert mcnemar(Discordance(0, 4, 0, 0, 0)) == pytest.approx(1 / 8)
    assert mcnemar(Discordance(3, 3, 1, 1, 0)) == pytest.approx(1.0)
    assert mcnemar(Discordance(0, 0, 7, 2, 0)) == 1.0
    # 0 of 10: 2 / 1024.
    assert mcnemar(Discordance(10, 0, 0, 0, 0)) == pytest.approx(2 / 1024)


def test_discordance_counts_and_leaves_out_halves_and_unscored():
    a = [1, 1, 0, 0, 1, 0.5, 1, np.nan, 1]
    b = [1, 0, 1, 0, 0, 1, 0.5, 1, 0]
    t = discordance(np.array(a), np.array(b))
    assert (t.a_only, t.b_only, t.both, t.neither, t.halves) == (3, 1, 1, 1, 2)
    assert t.n == 6  # the NaN row (a gold tie excluded) is in no cell and not a half


def test_holm_on_a_known_list():
    # sorted 0.01, 0.02, 0.03, 0.04 of m = 4: ×4, ×3, ×2, ×1 = 0.04, 0.06, 0.06, 0.04 → monotone 0.04,
    # 0.06, 0.06, 0.06; back in the input's order.
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    out = holm([0.01, math.nan, 0.04])  # NaN is not in the family (m = 2)
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert holm([]) == []


def test_paired_difference_value_and_ci_contains_truth():
    # A is right on 80 of 100 rows, B on the same rows minus 10: the difference is 0.1 exactly.
    a = np.r_[np.ones(80), np.zeros(20)]
    b = a.copy()
    b[:10] = 0
    est = paired_difference(pooled_accuracy, [_cols(a)], [_cols(b)], n_resamples=500, seed=1)
    assert est.value == pytest.approx(0.1)
    assert est.low <= 0.1 <= est.high and est.low > 0  # B is never right where A is wrong


def test_paired_ci_is_narrower_than_unpaired_when_correctness_is_correlated():
    rng = np.random.default_rng(0)
    n = 300
    a = (rng.random(n) < 0.7).astype(float)
    b = a.copy()
    flip = rng.choice(n, 30, replace=False)  # B differs from A on 10% of rows
    b[flip] = 1 - b[flip]
    paired = paired_difference(pooled_accuracy, [_cols(a)], [_cols(b)], n_resamples=500, seed=0)
    # Unpaired: A's and B's rows drawn independently (two strata of one resample).
    unpaired = bootstrap(
        lambda s: accuracy(s[0]) - accuracy(s[1]), [_cols(a), _cols(b)], n_resamples=500, seed=0
    )
    assert paired.value == pytest.approx(unpaired.value)
    assert paired.low <= paired.value <= paired.high
    assert (paired.high - paired.low) < 0.5 * (unpaired.high - unpaired.low)


def test_paired_bootstrap_is_stratified_and_keeps_rows_paired():
    # Two subsets whose aggregate is the mean of the subset accuracies; A and B agree on every row, so
    # every paired resample has difference 0 while the raters' own accuracies vary.
    s1, s2 = _cols([1, 0, 1, 1]), _cols([0, 0, 1])

    def mean_of_subsets(strata):
        return float(np.mean([accuracy(c) for c in strata]))

    est = paired_difference(mean_of_subsets, [s1, s2], [s1, s2], n_resamples=200, seed=0)
    assert (est.value, est.low, est.high) == (0.0, 0.0, 0.0)


def test_paired_difference_refuses_unequal_rows():
    with pytest.raises(ValueError, match="same rows"):
        paired_difference(pooled_accuracy, [_cols([1, 0])], [_cols([1])], n_resamples=10)


@pytest.mark.parametrize(
    "diff, low, high, p, sig",
    [
        (0.1, -0.02, 0.2, 0.01, True),  # the adjusted p decides where there is one
        (0.1, 0.02, 0.2, 0.2, False),
        (0.1, 0.02, 0.2, None, True),  # no test: the CI excluding 0 decides
        (-0.1, -0.2, -0.01, None, True),
        (0.1, -0.01, 0.2, None, False),
        (0.1, math.nan, math.nan, None, False),
    ],
)
def test_beats(diff, low, high, p, sig):
    assert beats(diff, low, high, p) is sig


# ------------------------------------------------------------------------------- in the harness

ROWS = [
    {"id": "1", "prompt": "p1", "response_a": "a much longer answer", "response_b": "short", "label": "A"},
    {"id": "2", "prompt": "p2", "response_a": "a much longer answer", "response_b": "short", "label": "B"},
    {"id": "3", "prompt": "p3", "response_a": "same", "response_b": "size", "label": "B"},  # length: half
    {"id": "4", "prompt": "p4", "response_a": "a much longer answer", "response_b": "x", "label": "tie"},
]


@pytest.mark.parametrize("ties, n", [("exclude", 3), ("include", 4)])
def test_evaluate_pairs_every_rater_pair_on_every_benchmark(tmp_path, ties, n):
    from flame.data.files import write_benchmark_file
    from flame.evaluate.harness import evaluate
    from flame.evaluate.results import Results

    one = write_benchmark_file(tmp_path / "one.jsonl", ROWS)
    two = write_benchmark_file(tmp_path / "two.jsonl", ROWS[:3])
    res = evaluate(
        ["fake"], [one, two], out=tmp_path / "run", ties=ties, n_resamples=50, cache=tmp_path / "c.sqlite"
    )
    pairs = {(p.rater_a, p.rater_b, p.benchmark): p for p in res.paired}
    assert set(pairs) == {
        (a, b, bench)
        for a, b in [("fake", "length"), ("fake", "random"), ("length", "random")]
        for bench in ("one", "two")
    }
    p = pairs[("length", "random", "one")]
    assert p.test == "mcnemar" and p.family == 2 and p.n == n
    assert p.difference == pytest.approx(res.value("length", "one") - res.value("random", "one"))
    assert p.halves >= 1  # row 3: length's P = 0.5 earns half in accuracy and is left out of McNemar
    assert p.a_only + p.b_only + p.halves <= n
    other = pairs[("length", "random", "two")]
    assert p.p_holm == pytest.approx(holm([p.p, other.p])[0]) and other.family == 2

    def key(x):
        return (x.rater_a, x.rater_b, x.benchmark, x.difference, x.a_only, x.b_only, x.halves, x.p_holm)

    assert [key(x) for x in Results.load(tmp_path / "run").paired] == [key(x) for x in res.paired]


# ------------------------------------------------------------------------------------ reports

LONG = "a long and careful answer " * 8


def _long_rows(n, prompt="question"):
    return [
        {"id": str(i), "prompt": f"{prompt} {i}", "response_a": LONG, "response_b": f"no {i}", "label": "A"}
        for i in range(n)
    ]


def test_reports_show_who_beats_whom(tmp_path):
    from flame.data.files import write_benchmark_file
    from flame.evaluate.harness import evaluate

    bench = write_benchmark_file(tmp_path / "pairs.jsonl", _long_rows(40))
    res = evaluate([], [bench], out=tmp_path / "run", n_resamples=100, cache=tmp_path / "c.sqlite")
    (p,) = res.paired
    assert (p.rater_a, p.rater_b) == ("length", "random") and p.b_only == 0 and p.a_only > 10
    assert p.p_holm == p.p < 0.001 and p.family == 1 and p.significant()
    md = (tmp_path / "run" / "report.md").read_text()
    assert "## Who beats whom" in md
    row = next(line for line in md.splitlines() if line.startswith("| length | – |"))
    assert f"**{p.difference:+.3f}** ▲" in row
    html = (tmp_path / "run" / "report.html").read_text()
    assert "<h2>Who beats whom</h2>" in html and "class='num beats' data-significant='1'" in html
    assert "class='num loses'" in html  # random's row against length


def test_report_comparing_two_runs_matches_rows_and_counts_mismatches(tmp_path):
    from flame.data.files import write_benchmark_file
    from flame.evaluate.harness import evaluate
    from flame.evaluate.report import combine, rebuild
    from flame.evaluate.results import Results

    rows_b = [dict(r) for r in ROWS]
    rows_b[1]["prompt"] = "another prompt under the same id"  # id 2: not the same example any more
    rows_b.append({"id": "5", "prompt": "p5", "response_a": "x", "response_b": "yy", "label": "B"})
    for name, rows in (("a", ROWS), ("b", rows_b)):
        (tmp_path / name).mkdir()
        bench = write_benchmark_file(tmp_path / name / "pairs.jsonl", rows)
        evaluate([], [bench], out=tmp_path / "runs" / name, n_resamples=50, cache=tmp_path / "c.sqlite")
    runs = [Results.load(tmp_path / "runs" / n) for n in ("a", "b")]
    both = combine(runs)
    cross = {(p.rater_a, p.rater_b): p for p in both.paired if p.mismatched}
    assert set(cross) == {(f"a/{x}", f"b/{y}") for x in ("length", "random") for y in ("length", "random")}
    same = cross[("a/length", "b/length")]
    # Ids 1, 3 and 4 match (4 is a gold tie, excluded); 2 changed its input and 5 is in run b only.
    assert same.mismatched == 2 and same.n == 2 and same.halves == 1
    assert same.difference == 0.0 and same.a_only == same.b_only == 0 and same.p == 1.0
    assert same.test == "mcnemar" and same.family == 1
    assert {(p.rater_a, p.rater_b) for p in both.paired if not p.mismatched} == {
        ("a/length", "a/random"),
        ("b/length", "b/random"),
    }
    written = rebuild([tmp_path / "runs" / "a", tmp_path / "runs" / "b"], out=tmp_path / "cmp")
    md = written["report.md"].read_text()
    assert "- **mismatch**: a/length vs b/length on pairs: 2 rows" in md
    assert "Mismatch: a/length vs b/length" in written["report.html"].read_text()


def test_flame_eval_prints_each_pair_with_its_holm_family(tmp_path, capsys):
    from flame.cli import main
    from flame.data.files import write_benchmark_file

    one = write_benchmark_file(tmp_path / "one.jsonl", _long_rows(30))
    two = write_benchmark_file(tmp_path / "two.jsonl", _long_rows(30, prompt="other"))
    argv = [
        "eval",
        "--file",
        str(one),
        "--file",
        str(two),
        "--rater",
        "length",
        "--out",
        str(tmp_path / "run"),
    ]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite"), "--resamples", "50", "--quiet"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("length − random")]
    assert len(lines) == 2 and all("(family 2)" in line and line.endswith(" *") for line in lines)


def test_group_means_are_compared_paired_with_no_test_of_their_own(tmp_path):
    """length is right on every row of "right" and wrong on every row of "wrong"; random is in between.
    The group's paired difference is the difference of the two raters' group means, with a CI around it,
    and it stays out of the Holm family (its rows are already tested one benchmark at a time)."""
    from dataclasses import replace

    from flame.benchmarks import file_benchmark
    from flame.data.files import write_benchmark_file
    from flame.evaluate.harness import evaluate

    def rows(n, label):
        return [
            {"id": str(i), "prompt": f"p{i}", "response_a": "aa" * (i + 1), "response_b": "b", "label": label}
            for i in range(n)
        ]

    a = replace(file_benchmark(write_benchmark_file(tmp_path / "right.jsonl", rows(8, "A"))), group="g")
    b = replace(file_benchmark(write_benchmark_file(tmp_path / "wrong.jsonl", rows(6, "B"))), group="g")
    res = evaluate(["length"], [a, b], n_resamples=200, cache=tmp_path / "c.sqlite", report=False)
    pairs = {(p.rater_a, p.rater_b, p.benchmark): p for p in res.paired}
    g = pairs[("length", "random", "g")]
    expected = res.value("length", "g") - res.value("random", "g")
    assert g.difference == pytest.approx(expected)
    per_bench = [pairs[("length", "random", x)].difference for x in ("right", "wrong")]
    assert g.difference == pytest.approx(np.mean(per_bench))  # the group mean is unweighted
    assert g.ci_low <= g.difference <= g.ci_high and g.ci_low < g.ci_high
    assert g.n == 14 and g.test is None and math.isnan(g.p_holm)
    assert pairs[("length", "random", "right")].family == 2  # the group is not in the family
