"""Tests of the intercoder-agreement estimators (analysis/stats/agreement.py)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats.agreement import cohen_kappa, krippendorff_alpha_nominal, two_coder_agreement


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
