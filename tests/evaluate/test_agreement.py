"""Cohen's κ and Krippendorff's α (nominal) against hand-computed values."""

from __future__ import annotations

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
