"""The batch job's fast paths give exactly what the general code gives (bit for bit).

analysis.stats computes each statistic of a fitted model once per export, reads indicator
columns without converting them again and memoises distribution quantiles; these tests
hold every such shortcut to the value of the straightforward computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats import ordinal as mdl
from analysis.stats import proportions as pr


def _fit(weights: bool) -> mdl.OrderedLogitResults:
    rng = np.random.default_rng(7)
    n = 400
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n)])
    latent = x @ np.array([0.8, -0.5]) + rng.logistic(size=n)
    y = np.digitize(latent, [-1.0, 0.0, 1.2]) + 1
    w = rng.uniform(0.5, 2.0, n) if weights else None
    return mdl.fit_ordered_logit(y, x, names=["age", "urban"], weights=w,
                                 weight_type="sampling" if weights else None)


@pytest.mark.parametrize("weights", [False, True])
def test_to_dict_coefficients_equal_the_result_properties(weights: bool) -> None:
    res = _fit(weights)
    coefs = res.to_dict(brant=False)["coefficients"]
    ci, ors = res.conf_int(), res.odds_ratios()
    for n in res.names:
        expected = {
            "coef": res.params[n], "se": res.bse[n], "z": res.tvalues[n], "p": res.pvalues[n],
            "ci_lower": ci.loc[n, "lower"], "ci_upper": ci.loc[n, "upper"],
            "or": ors.loc[n, "or"], "or_lower": ors.loc[n, "lower"],
            "or_upper": ors.loc[n, "upper"],
        }
        assert coefs[n] == {k: float(v) for k, v in expected.items()}  # exact, same order
        assert list(coefs[n]) == list(expected)
        assert all(type(v) is float for v in coefs[n].values())


def test_to_dict_thresholds_equal_the_result_properties() -> None:
    res = _fit(True)
    thr = res.to_dict(brant=False)["thresholds"]
    assert thr == {t: {"value": float(res.thresholds[t]), "se": float(res.thresholds_bse[t])}
                   for t in res.threshold_names}


def _indicator_reference(values: pd.Series, codes: list) -> pd.Series:
    """indicator() as first written: convert, then assign NA."""
    out = values.isin(list(codes)).astype("Float64")
    out[values.isna().to_numpy()] = pd.NA
    return out


@pytest.mark.parametrize("values", [
    pd.Series([1, 2, None, 3, 1], dtype="Int64", index=[5, 4, 3, 2, 1], name="approval"),
    pd.Series(["a", None, "b", "a"], dtype=object, name="region"),
    pd.Series([1.0, np.nan, 2.0], name="score"),
    pd.Series(["x", "y", None], dtype="string"),
])
@pytest.mark.parametrize("codes", [[1], [1, 2], ["a"], [pd.NA]])
def test_indicator_masks_missing_answers_as_assigning_na_does(values: pd.Series,
                                                               codes: list) -> None:
    got, want = pr.indicator(values, codes), _indicator_reference(values, codes)
    pd.testing.assert_series_equal(got, want)
    np.testing.assert_array_equal(got.isna().to_numpy(), want.isna().to_numpy())


def test_weighted_proportion_does_not_depend_on_how_inputs_are_passed() -> None:
    rng = np.random.default_rng(3)
    n = 200
    raw = pd.Series(rng.integers(1, 6, n), dtype="Int64")
    raw[rng.random(n) < 0.1] = pd.NA
    y = pr.indicator(raw, [4, 5])
    w = rng.uniform(0.3, 3.0, n)
    dom = pd.Series(rng.random(n) < 0.6)
    dom_na = dom.astype("boolean")
    dom_na[:5] = pd.NA  # missing = outside the domain
    dom_out = dom.copy()
    dom_out[:5] = False
    base = pr.weighted_proportion(y.astype(object), pd.Series(w), dom_out.astype(object))
    for yy in (y, y.to_numpy(dtype=float, na_value=np.nan)):
        for ww in (w, pd.Series(w), list(w)):
            for dd in (dom_out, dom_out.to_numpy(), dom_na):
                assert pr.weighted_proportion(yy, ww, dd) == base


def test_domain_mask_does_not_alias_its_input() -> None:
    dom = np.array([True, False, True])
    mask = pr.domain_mask(dom)
    mask[0] = False
    assert dom[0]


@pytest.mark.parametrize("df", [1, 5, 399])
def test_memoised_quantiles_equal_scipy(df: int) -> None:
    assert pr._t_quantile(0.975, df) == stats.t.ppf(0.975, df=df)
    assert pr._normal_quantile(0.975) == stats.norm.ppf(0.975)
    assert pr.proportion_ci(0.3, 0.05, df + 1) == pr.proportion_ci(0.3, 0.05, np.int64(df + 1))
