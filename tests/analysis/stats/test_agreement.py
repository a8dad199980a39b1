"""Tests of the intercoder-agreement estimators (analysis/stats/agreement.py)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats.agreement import (
    AgreementInputError,
    cohen_kappa,
    krippendorff_alpha_nominal,
    two_coder_agreement,
)


def test_cohen_kappa_known_values_and_undefined_case():
    assert cohen_kappa(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])) == pytest.approx(0.5)
    assert cohen_kappa(np.array([1, 0, 1, 0]), np.array([1, 0, 1, 0])) == pytest.approx(1.0)
    assert cohen_kappa(np.array([1, 1, 1]), np.array([1, 1, 1])) is None


def test_krippendorff_alpha_matches_krippendorffs_worked_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", binary data,
    # two observers, ten units: alpha = 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    alpha = krippendorff_alpha_nominal([[x, y] for x, y in zip(a, b, strict=True)])
    assert alpha == pytest.approx(0.095, abs=5e-4)
    assert krippendorff_alpha_nominal([[1, 1], [0, 0], [1, 1]]) == pytest.approx(1.0)
    assert krippendorff_alpha_nominal([[1, 1], [1, 1]]) is None


def test_two_coder_agreement_reports_undefined_kappa_and_pooled_alpha():
    first = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    second = np.array([[1, 0], [0, 0], [0, 0], [0, 0]])
    out = two_coder_agreement(first, second, ["x", "never"])
    assert out["per_code"]["x"]["kappa"] == pytest.approx(0.5)
    assert out["per_code"]["never"] == {"agreement_pct": 100.0, "kappa": None,
                                        "kappa_defined": False, "n_both": 0,
                                        "n_coder1_only": 0, "n_coder2_only": 0}
    assert out["n_units"] == 8 and out["overall_agreement_pct"] == 87.5
    pairs = [[int(a), int(b)] for a, b in zip(first.ravel(), second.ravel(), strict=True)]
    assert out["krippendorff_alpha_nominal"] == pytest.approx(
        round(krippendorff_alpha_nominal(pairs), 4))


def test_two_coder_agreement_refuses_matrices_of_different_shapes():
    with pytest.raises(ValueError, match="do not match"):
        two_coder_agreement(np.zeros((3, 2)), np.zeros((2, 2)), ["a", "b"])


def test_cohen_kappa_refuses_a_unit_one_coder_left_uncoded():
    with pytest.raises(AgreementInputError, match=r"second coder' has no code for unit\(s\) \[2\]"):
        cohen_kappa(np.array([1, 0, 1, 0]), np.array([1, 0, np.nan, 0]))


def test_cohen_kappa_refuses_more_than_two_coders():
    three = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1]])
    with pytest.raises(AgreementInputError, match="exactly two coders.*shape \\(3, 3\\)"):
        cohen_kappa(three, np.array([1, 0, 1]))


def test_cohen_kappa_refuses_codes_other_than_zero_one_and_unequal_lengths():
    with pytest.raises(AgreementInputError, match=r"value\(s\) \['2'\]"):
        cohen_kappa(np.array([1, 2, 0]), np.array([1, 0, 0]))
    with pytest.raises(AgreementInputError, match="3 decisions against 2"):
        cohen_kappa(np.array([1, 0, 0]), np.array([1, 0]))


def test_krippendorff_alpha_refuses_missing_values_left_in_a_unit():
    with pytest.raises(AgreementInputError, match="unit 1 holds a missing value"):
        krippendorff_alpha_nominal([[1, 1], [0, None], [1, 0]])


def test_two_coder_agreement_refuses_a_blank_for_a_code():
    first = np.array([[1, 0], [0, 1]], dtype=float)
    second = np.array([[1, np.nan], [0, 1]])
    with pytest.raises(AgreementInputError, match="second coder's matrix"):
        two_coder_agreement(first, second, ["a", "b"])
