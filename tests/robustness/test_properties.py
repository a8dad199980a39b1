"""Property tests that complete the ones in tests/analysis/stats/test_weighting.py and
tests/analysis/survey/test_models.py.

Already covered there (not repeated): raking meets the margins, gives positive weights
within the cap and floor, and is invariant to row order and to scaling the base
weights; the ordered logit is invariant to row order (sampling weights) and integer
frequency weights equal duplicated rows. Added here: raking does not depend on the
order of margins or categories and is idempotent; the ordered logit's estimates and
sandwich SEs do not depend on the scale of sampling weights, reversing the outcome
order negates the slopes, and shifting a covariate moves only the thresholds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.stats import ordinal as O
from analysis.stats.raking import rake
from tests.analysis.stats.test_weighting import assert_margins_met, rake_or_skip, raking_problems

RAKE_SETTINGS = settings(max_examples=40, deadline=None,
                         suppress_health_check=[HealthCheck.filter_too_much])
LOGIT_SETTINGS = settings(max_examples=15, deadline=None)


@RAKE_SETTINGS
@given(raking_problems(), st.sampled_from([None, 3.0]), st.randoms(use_true_random=False))
def test_raking_does_not_depend_on_the_order_of_margins_or_categories(problem, cap, rnd):
    data, targets, base, _ = problem
    ref = rake_or_skip(data, targets, base_weights=base, cap=cap).weights
    margins = list(targets)
    rnd.shuffle(margins)
    reordered = {}
    for m in margins:
        cats = list(targets[m].items())
        rnd.shuffle(cats)
        reordered[m] = dict(cats)
    again = rake(data[margins], reordered, base_weights=base, cap=cap).weights
    np.testing.assert_allclose(again.to_numpy(), ref.to_numpy(), rtol=1e-8)


@RAKE_SETTINGS
@given(raking_problems())
def test_raking_already_raked_weights_changes_nothing(problem):
    data, targets, base, _ = problem
    first = rake_or_skip(data, targets, base_weights=base).weights
    second = rake(data, targets, base_weights=first.to_numpy()).weights
    assert_margins_met(data, second, targets, rtol=1e-8)
    np.testing.assert_allclose(second.to_numpy() / second.mean(),
                               first.to_numpy() / first.mean(), rtol=1e-7)


def _ordinal_sample(seed: int, n: int = 250):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.digitize(X @ [0.8, -0.5] + rng.logistic(size=n), [-1.0, 0.2, 1.3])
    return rng, X, y


def _fit_or_none(y, X, **kwargs):
    if np.bincount(y, minlength=4).min() < 3:
        return None  # a category too thin to estimate: not the property under test
    return O.fit_ordered_logit(y, X, **kwargs)


@LOGIT_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-2, 1e2))
def test_ordered_logit_does_not_depend_on_the_scale_of_sampling_weights(seed, scale):
    rng, X, y = _ordinal_sample(seed)
    w = rng.uniform(0.3, 3.0, len(y))
    a = _fit_or_none(y, X, weights=w, weight_type="sampling")
    if a is None:
        return
    b = O.fit_ordered_logit(y, X, weights=w * scale, weight_type="sampling")
    np.testing.assert_allclose(b.beta, a.beta, atol=1e-8)
    np.testing.assert_allclose(b.zeta, a.zeta, atol=1e-8)
    np.testing.assert_allclose(b.vcov, a.vcov, rtol=1e-6, atol=1e-12)


@LOGIT_SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_reversing_the_outcome_order_negates_slopes_and_mirrors_thresholds(seed):
    rng, X, y = _ordinal_sample(seed)
    w = rng.uniform(0.3, 3.0, len(y))
    a = _fit_or_none(y, X, weights=w, weight_type="sampling")
    if a is None:
        return
    b = O.fit_ordered_logit(3 - y, X, weights=w, weight_type="sampling")
    np.testing.assert_allclose(b.beta, -a.beta, atol=1e-8)
    np.testing.assert_allclose(b.zeta, -a.zeta[::-1], atol=1e-8)
    np.testing.assert_allclose(np.diag(b.vcov)[:2], np.diag(a.vcov)[:2], rtol=1e-6)
    assert b.llf == pytest.approx(a.llf, rel=1e-10)


@LOGIT_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-50, 50))
def test_shifting_a_covariate_moves_only_the_thresholds(seed, shift):
    rng, X, y = _ordinal_sample(seed)
    a = _fit_or_none(y, X)
    if a is None:
        return
    moved = X.copy()
    moved[:, 0] += shift
    b = O.fit_ordered_logit(y, moved)
    np.testing.assert_allclose(b.beta, a.beta, atol=1e-7)
    np.testing.assert_allclose(b.zeta, a.zeta + a.beta[0] * shift, atol=1e-6)
    assert b.llf == pytest.approx(a.llf, rel=1e-10)
