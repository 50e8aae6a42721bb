"""Cohen's κ and Krippendorff's α (nominal) against hand-computed values."""

from __future__ import annotations

import json
import math

import pytest

from flame.evaluate.agreement import cohen_kappa, krippendorff_alpha_nominal


def test_cohen_kappa_two_by_two_table():
    # yes/yes 20, yes/no 5, no/yes 10, no/no 15: p_o = 35/50 = 0.7; rater a says yes 25/50, b 30/50,
    # so p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5 and κ = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    kappa, n = cohen_kappa(a, b)
    assert kappa == pytest.approx(0.4) and n == 50


def test_cohen_kappa_perfect_opposite_and_missing():
    assert cohen_kappa(["A", "B", "A", "B"], ["A", "B", "A", "B"]) == (1.0, 4)
    # Always disagreeing on a balanced two-label space: p_o = 0, p_e = 0.5, κ = -1.
    assert cohen_kappa(["A", "B", "A", "B"], ["B", "A", "B", "A"])[0] == pytest.approx(-1.0)
    # A missing label (a parse failure) drops the item for that pair.
    assert cohen_kappa(["A", None, "B"], ["A", "B", "B"]) == (1.0, 2)


def test_cohen_kappa_undefined_when_chance_explains_all():
    kappa, n = cohen_kappa(["A", "A", "A"], ["A", "A", "A"])
    assert math.isnan(kappa) and n == 3
    assert math.isnan(cohen_kappa([None], ["A"])[0])
    with pytest.raises(ValueError):
        cohen_kappa(["A"], ["A", "B"])


def test_krippendorff_alpha_nominal_paper_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 observers × 12 units
    # example with missing values: nominal α = 0.743 over n = 40 pairable values.
    N = None
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3]
    c = [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]
    alpha, n = krippendorff_alpha_nominal(list(zip(a, b, c, d, strict=True)))
    assert round(alpha, 3) == 0.743 and n == 40


def test_krippendorff_alpha_two_raters_by_hand():
    # Units (A,A) (A,B) (B,B) (B,B): coincidences o_AA = 2, o_AB = o_BA = 1, o_BB = 4; n_A = 3, n_B = 5,
    # n = 8. α = 1 - (n - 1) * 2 / (2 * n_A * n_B) = 1 - 7 * 2 / 30 = 8/15.
    alpha, n = krippendorff_alpha_nominal([("A", "A"), ("A", "B"), ("B", "B"), ("B", "B")])
    assert alpha == pytest.approx(8 / 15) and n == 8


def test_krippendorff_alpha_edge_cases():
    assert krippendorff_alpha_nominal([("A", "B"), ("B", "A")])[0] == pytest.approx(-0.5)
    # One value per unit is not pairable; a single value everywhere leaves no expected disagreement.
    assert math.isnan(krippendorff_alpha_nominal([("A", None), (None, "B")])[0])
    assert math.isnan(krippendorff_alpha_nominal([("A", "A"), ("A", "A")])[0])


# ------------------------------------------------------------------------- a jury in flame eval

JURY = "jury:length|random"
ROWS = [
    {"id": str(i), "prompt": f"p{i}", "response_a": a, "response_b": b, "label": label}
    for i, (a, b, label) in enumerate(
        [
            ("a much longer answer", "short", "A"),
            ("a much longer answer", "short", "B"),
            ("same", "size", "B"),
            ("x", "a longer one", "B"),
            ("longer still", "no", "A"),
            ("tiny", "a bit longer", "A"),
            ("abc", "abcdef", "B"),
            ("abcdefgh", "abc", "B"),
        ]
    )
]


def _eval_cli(argv):
    import argparse

    from flame.errors import run_command
    from flame.evaluate.cli import register

    parser = argparse.ArgumentParser(prog="flame")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_command(args.func, args)


def test_eval_reports_a_jurys_members_and_their_agreement(tmp_path, capsys):
    from flame.data.files import write_benchmark_file
    from flame.evaluate.results import Results

    bench = write_benchmark_file(tmp_path / "pairs.jsonl", ROWS)
    out, cache = tmp_path / "run", tmp_path / "c.sqlite"
    argv = ["eval", "--rater", JURY, "--file", str(bench), "--out", str(out), "--resamples", "50"]
    assert _eval_cli([*argv, "--cache", str(cache), "--quiet"]) == 0
    capsys.readouterr()
    res = Results.load(out)
    assert res.rater_specs() == [JURY, "length", "random"]

    # Each member scores exactly as the same rater rated alone in the run (the baselines are there too).
    members = {m.member: m for m in res.jury_members}
    assert list(members) == ["length", "random"]
    for spec, m in members.items():
        alone = res.get(spec, "pairs", "accuracy")
        assert (m.rater, m.benchmark, m.metric, m.weight) == (JURY, "pairs", "accuracy", 1.0)
        assert (m.value, m.ci_low, m.ci_high, m.n) == (alone.value, alone.ci_low, alone.ci_high, alone.n)
    # length by hand: right on rows 0, 3, 4, 6; half on 2 (equal lengths); wrong on 1, 5, 7.
    assert members["length"].value == pytest.approx(4.5 / 8)
    # κ and α over the members' argmax labels, as the baselines' own predictions give them.
    preds = {
        spec: [p["prediction"] for p in res.predictions if p["rater"] == spec]
        for spec in ("length", "random")
    }
    (kappa,) = [a for a in res.jury_agreement if a.statistic == "cohen_kappa"]
    (alpha,) = [a for a in res.jury_agreement if a.statistic == "krippendorff_alpha"]
    want, n = cohen_kappa(preds["length"], preds["random"])
    assert (kappa.member_a, kappa.member_b, kappa.n) == ("length", "random", 8)
    assert kappa.value == pytest.approx(want, nan_ok=True)
    want_alpha, n_values = krippendorff_alpha_nominal(
        list(zip(preds["length"], preds["random"], strict=True))
    )
    assert alpha.n == n_values == 16 and (alpha.member_a, alpha.member_b) == ("all", "all")
    assert alpha.value == pytest.approx(want_alpha)

    # The typed entries are in results.json, and report.md has the jury's table.
    d = json.loads((out / "results.json").read_text())
    assert set(d["jury_members"][0]) == {
        "rater", "benchmark", "member", "weight", "metric", "value", "ci_low", "ci_high", "n", "parse_failures"
    }  # fmt: skip
    assert {a["statistic"] for a in d["jury_agreement"]} == {"cohen_kappa", "krippendorff_alpha"}
    md = (out / "report.md").read_text()
    section = md[md.index("## Juries") :]
    assert "### jury:length\\|random on pairs" in section
    assert "| member | weight | accuracy | parse failures | κ vs length | κ vs random |" in section
    assert f"{kappa.value:.3f} (n=8)" in section and "**jury**" in section
    assert "Krippendorff's α over all members:" in section
    page = (out / "report.html").read_text()
    assert "<h2>Juries</h2>" in page and "<th>κ vs random</th>" in page

    # Rated again from the cache, the report is the same (no second pass needed, nothing judged).
    again = tmp_path / "again"
    argv = ["eval", "--rater", JURY, "--file", str(bench), "--out", str(again), "--resamples", "50"]
    assert _eval_cli([*argv, "--cache", str(cache), "--quiet"]) == 0
    assert Results.load(again).jury_agreement == res.jury_agreement
    assert Results.load(again).jury_members == res.jury_members


def test_no_jury_no_jury_entries(tmp_path):
    from flame.data.files import write_benchmark_file
    from flame.evaluate.harness import evaluate

    bench = write_benchmark_file(tmp_path / "pairs.jsonl", ROWS)
    res = evaluate([], [bench], n_resamples=20, cache=tmp_path / "c.sqlite", out=tmp_path / "run")
    assert res.jury_members == [] and res.jury_agreement == []
    assert "## Juries" not in (tmp_path / "run" / "report.md").read_text()


def test_a_jurys_members_are_checked_for_overlap(tmp_path, monkeypatch):
    from flame.data.files import write_benchmark_file
    from flame.evaluate import contamination
    from flame.evaluate.harness import evaluate

    def check(spec, data):  # pretend `length` was trained on the benchmark
        return [contamination.Finding(spec, "pairs", "task", 8, "trained on it")] if spec == "length" else []

    monkeypatch.setattr(contamination, "check", check)
    bench = write_benchmark_file(tmp_path / "pairs.jsonl", ROWS)
    res = evaluate(
        [JURY], [bench], n_resamples=20, cache=tmp_path / "c.sqlite", baselines=False, allow_overlap=True
    )
    assert [f["rater"] for f in res.contamination] == [f"{JURY} (member length)"]
    with pytest.raises(contamination.ContaminationError, match="member length"):
        evaluate([JURY], [bench], n_resamples=20, cache=tmp_path / "c.sqlite", baselines=False)
