"""Tests of analysis.survey.weighting: R agreement, bounded-raking semantics, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis.stats.calibration import Z95
from analysis.stats.raking import (
    RakeDiagnostics,
    RakingConvergenceError,
    WeightingError,
    rake,
)
from analysis.survey.weighting import read_targets, weight_survey
from tests.buildutil import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "r"
CASES = pd.read_csv(FIXTURES / "rake_cases.csv")

SURVEY_TARGETS = {
    "age_band": {"14-30": 0.55, "31-50": 0.42, "51-65": 0.03},
    "gender": {"female": 0.39, "male": 0.61},
    "region": {"East": 0.45, "Central": 0.35, "West": 0.20},
}


def survey_like(n: int = 2209, seed: int = 7) -> pd.DataFrame:
    """Opt-in-panel-like sample: too few old and Western respondents, as in the study."""
    rng = np.random.default_rng(seed)
    age = rng.choice(["14-30", "31-50", "51-65"], n, p=[0.62, 0.36, 0.02])
    region = rng.choice(["East", "Central", "West"], n, p=[0.55, 0.33, 0.12])
    male = rng.random(n) < np.where(age == "51-65", 0.3, 0.55)
    return pd.DataFrame(
        {
            "resp_id": [f"R{i:05d}" for i in range(n)],
            "age_band": pd.Categorical(age, ["14-30", "31-50", "51-65"], ordered=True),
            "gender": pd.Categorical(np.where(male, "male", "female"), ["female", "male"]),
            "region": pd.Categorical(region, ["East", "Central", "West"]),
        }
    )


def achieved(data: pd.DataFrame, w: pd.Series, col: str) -> dict[str, float]:
    sums = w.groupby(data[col].astype(str)).sum()
    return (sums / w.sum()).to_dict()


def assert_margins_met(data, w, targets, rtol=1e-9):
    for col, cats in targets.items():
        got = achieved(data, w, col)
        for cat, p in cats.items():
            assert got[str(cat)] == pytest.approx(p, rel=rtol), (col, cat)


# --------------------------------------------------------------------------- R agreement


def load_case(case: str):
    data = pd.read_csv(FIXTURES / f"rake_{case}_data.csv", dtype={"id": str})
    tg = pd.read_csv(FIXTURES / f"rake_{case}_targets.csv", dtype={"category": str})
    targets = {
        m: dict(zip(g.category, g.total, strict=True)) for m, g in tg.groupby("margin", sort=False)
    }
    r_w = pd.read_csv(FIXTURES / f"rake_{case}_r_weights.csv", dtype={"id": str})
    assert (r_w["id"] == data["id"]).all()
    return data, targets, r_w["weight"].to_numpy()


@pytest.mark.parametrize("row", CASES.to_dict("records"), ids=list(CASES["case"]))
def test_weights_match_r_survey_rake_and_bounded_calibrate(row):
    data, targets, r_weights = load_case(row["case"])
    kwargs = {}
    if row["method"] == "calibrate":
        kwargs = {
            "cap": None if pd.isna(row["cap"]) else float(row["cap"]),
            "floor": None if pd.isna(row["floor"]) else float(row["floor"]),
            "bounds_relative_to": row["bounds_relative_to"],
        }
    result = rake(
        data, targets, base_weights=row["base_weight"], target_type="total", tol=1e-12, **kwargs
    )
    np.testing.assert_allclose(result.weights.to_numpy(), r_weights, rtol=1e-8, atol=0)


def test_r_bounded_fixtures_actually_bind_the_bounds():
    data, targets, r_weights = load_case("synth_cap_mean")
    result = rake(data, targets, base_weights="base_total", target_type="total", cap=2.0)
    mean = sum(targets["region"].values()) / len(data)
    assert result.diagnostics.n_at_cap == int(np.sum(r_weights >= 2.0 * mean * (1 - 1e-9))) > 10
    data, targets, _ = load_case("synth_cap_base")
    result = rake(
        data,
        targets,
        base_weights="base_total",
        target_type="total",
        cap=1.6,
        floor=0.6,
        bounds_relative_to="base",
    )
    assert result.diagnostics.n_at_cap > 10 and result.diagnostics.n_at_floor > 10


# --------------------------------------------------------------------------- semantics


def test_unbounded_rake_meets_margins_with_mean_weight_one():
    data = survey_like()
    result = rake(data, SURVEY_TARGETS)
    assert_margins_met(data, result.weights, SURVEY_TARGETS)
    assert result.weights.mean() == pytest.approx(1.0, rel=1e-12)
    assert result.diagnostics.max_margin_error < 1e-10
    assert result.weights.max() > 2.0  # without a cap the old Western respondents exceed 2


def test_cap_binds_yet_margins_are_met_exactly():
    data = survey_like()
    result = rake(data, SURVEY_TARGETS, cap=2.0)
    w = result.weights
    assert_margins_met(data, w, SURVEY_TARGETS)
    assert w.max() <= 2.0 * w.mean() * (1 + 1e-12)
    assert result.diagnostics.n_at_cap == int((w >= 2.0 * w.mean() * (1 - 1e-9)).sum()) > 0


def test_bounded_solution_is_clipped_raking_form():
    """Free units have log(w/d) additive in the margins; capped units would exceed the cap."""
    data = survey_like(seed=3)
    d = np.random.default_rng(5).lognormal(0, 0.3, len(data))
    result = rake(data, SURVEY_TARGETS, base_weights=d, cap=2.0, floor=0.5)
    w = result.weights.to_numpy()
    mean = w.mean()
    free = (w < 2.0 * mean * (1 - 1e-9)) & (w > 0.5 * mean * (1 + 1e-9))
    x = pd.get_dummies(data[list(SURVEY_TARGETS)], drop_first=True).to_numpy(float)
    x = np.column_stack([np.ones(len(data)), x])
    coef, *_ = np.linalg.lstsq(x[free], np.log(w[free] / d[free]), rcond=None)
    np.testing.assert_allclose(x[free] @ coef, np.log(w[free] / d[free]), atol=1e-9)
    unclipped = d * np.exp(x @ coef)
    capped = w >= 2.0 * mean * (1 - 1e-9)
    floored = w <= 0.5 * mean * (1 + 1e-9)
    assert capped.any() and floored.any()
    assert np.all(unclipped[capped] >= 2.0 * mean * (1 - 1e-7))
    assert np.all(unclipped[floored] <= 0.5 * mean * (1 + 1e-7))


def test_proportion_and_total_targets_give_proportional_weights():
    data = survey_like(500, seed=11)
    total = 1.0e6
    totals = {m: {k: v * total for k, v in cats.items()} for m, cats in SURVEY_TARGETS.items()}
    by_prop = rake(data, SURVEY_TARGETS).weights
    by_total = rake(data, totals, target_type="total").weights
    np.testing.assert_allclose(by_total.to_numpy(), by_prop.to_numpy() * total / 500, rtol=1e-9)


def test_plain_string_columns_and_numeric_categories_are_accepted():
    data = pd.DataFrame({"a": [1, 1, 2, 2, 2], "b": ["x", "y", "x", "y", "y"]})
    result = rake(data, {"a": {1: 0.5, 2: 0.5}, "b": {"x": 0.3, "y": 0.7}})
    assert_margins_met(data, result.weights, {"a": {1: 0.5, 2: 0.5}, "b": {"x": 0.3, "y": 0.7}})
    assert list(result.weights.index) == list(data.index)


# --------------------------------------------------------------------------- diagnostics


def test_diagnostics_follow_kish_formulas_and_serialise_to_json():
    data = survey_like()
    result = rake(data, SURVEY_TARGETS, cap=2.0)
    diag = result.diagnostics
    w = result.weights.to_numpy()
    n = len(w)
    deff = n * np.sum(w**2) / np.sum(w) ** 2
    assert isinstance(diag, RakeDiagnostics)
    assert diag.design_effect == pytest.approx(deff, rel=1e-12)
    assert diag.effective_n == pytest.approx(n / deff, rel=1e-12)
    assert diag.margin_of_error == pytest.approx(Z95 * np.sqrt(deff * 0.25 / n), rel=1e-12)
    assert (diag.weight_min, diag.weight_max) == pytest.approx((w.min(), w.max()))
    as_json = json.loads(json.dumps(diag.to_dict()))
    assert as_json["margins"]["region"]["West"]["target"] == 0.2
    assert as_json["margins"]["region"]["West"]["achieved"] == pytest.approx(0.2, rel=1e-9)
    assert as_json["n_at_cap"] == diag.n_at_cap and as_json["iterations"] >= 1


# --------------------------------------------------------------------------- errors


def test_category_in_data_without_target_is_an_error():
    data = survey_like(300)
    targets = {**SURVEY_TARGETS, "region": {"East": 0.6, "Central": 0.4}}
    with pytest.raises(WeightingError, match=r"region.*\['West'\].*no target"):
        rake(data, targets)


def test_target_category_without_respondents_is_an_empty_cell_error():
    data = pd.DataFrame({"g": ["a", "a", "b"]})
    with pytest.raises(WeightingError, match=r"'g'.*no respondents.*\['c'\]"):
        rake(data, {"g": {"a": 0.4, "b": 0.4, "c": 0.2}})


def test_proportions_not_summing_to_one_are_an_error():
    with pytest.raises(WeightingError, match="gender.*sum to 0.9"):
        rake(survey_like(100), {**SURVEY_TARGETS, "gender": {"female": 0.3, "male": 0.6}})


def test_missing_value_in_raking_variable_is_an_error_naming_the_row():
    data = survey_like(100)
    data.loc[17, "gender"] = np.nan
    with pytest.raises(WeightingError, match=r"'gender'.*1 missing.*\[17\]"):
        rake(data, SURVEY_TARGETS)


def test_totals_that_disagree_between_margins_are_an_error():
    data = pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]})
    with pytest.raises(WeightingError, match="population totals must agree"):
        rake(data, {"a": {"x": 5, "y": 5}, "b": {"u": 5, "v": 6}}, target_type="total")


def test_cap_that_makes_a_margin_infeasible_names_that_margin():
    data = survey_like()
    with pytest.raises(WeightingError, match=r"margin 'age_band' category '51-65' cannot be met"):
        rake(data, SURVEY_TARGETS, cap=1.2)


def test_jointly_infeasible_margins_are_named():
    # a and b are perfectly associated in the sample, so their targets contradict each other
    data = pd.DataFrame({"a": ["x"] * 5 + ["y"] * 5, "b": ["u"] * 5 + ["v"] * 5})
    with pytest.raises(WeightingError, match=r"margins 'a' and 'b' cannot be met jointly"):
        rake(data, {"a": {"x": 0.5, "y": 0.5}, "b": {"u": 0.3, "v": 0.7}})


def test_non_convergence_raises_naming_the_margins_off_target():
    data = survey_like()
    with pytest.raises(RakingConvergenceError, match=r"did not converge in 1 iter.*'age_band'"):
        rake(data, SURVEY_TARGETS, cap=2.0, max_iter=1)


def test_bad_base_weights_and_bounds_are_rejected():
    data = survey_like(50)
    with pytest.raises(WeightingError, match="positive and finite"):
        rake(data, SURVEY_TARGETS, base_weights=np.r_[-1.0, np.ones(49)])
    with pytest.raises(WeightingError, match="cap must be > 1"):
        rake(data, SURVEY_TARGETS, cap=0.9)


# --------------------------------------------------------------------------- entry point


def write_targets(path: Path, margins: dict) -> None:
    path.write_text(yaml.safe_dump({"source": "test", "margins": margins}), encoding="utf-8")


def test_weight_survey_writes_mean_one_weights_and_diagnostics(tmp_path):
    data = survey_like()
    data.to_parquet(tmp_path / "clean.parquet", index=False)
    write_targets(tmp_path / "targets.yaml", SURVEY_TARGETS)
    settings_ = {
        "margins": ["age_band", "gender", "region"],
        "cap": 2.0,
        "floor": None,
        "tolerance": 1e-10,
        "max_iter": 1000,
    }
    out_w, out_j = tmp_path / "weights.parquet", tmp_path / "weighting.json"
    weight_survey(tmp_path / "clean.parquet", tmp_path / "targets.yaml", settings_, out_w, out_j)
    weights = pd.read_parquet(out_w)
    assert list(weights.columns) == ["resp_id", "weight"]
    assert list(weights["resp_id"]) == list(data["resp_id"])
    assert weights["weight"].mean() == pytest.approx(1.0, rel=1e-12)
    assert weights["weight"].max() <= 2.0 + 1e-9
    report = json.loads(out_j.read_text())
    assert report["margins"]["age_band"]["51-65"]["achieved"] == pytest.approx(0.03, rel=1e-9)
    first = out_j.read_bytes()
    weight_survey(tmp_path / "clean.parquet", tmp_path / "targets.yaml", settings_, out_w, out_j)
    assert out_j.read_bytes() == first


def test_weight_survey_failure_names_inputs_and_writes_nothing(tmp_path):
    survey_like().to_parquet(tmp_path / "clean.parquet", index=False)
    write_targets(tmp_path / "targets.yaml", SURVEY_TARGETS)
    settings_ = {
        "margins": ["age_band", "gender", "region"],
        "cap": 1.1,
        "floor": None,
        "tolerance": 1e-10,
        "max_iter": 100,
    }
    out_w, out_j = tmp_path / "weights.parquet", tmp_path / "weighting.json"
    with pytest.raises(WeightingError, match=r"clean.parquet with targets .*targets.yaml"):
        weight_survey(
            tmp_path / "clean.parquet", tmp_path / "targets.yaml", settings_, out_w, out_j
        )
    assert not out_w.exists() and not out_j.exists()


def test_read_targets_requires_every_configured_margin(tmp_path):
    write_targets(tmp_path / "t.yaml", {"gender": {"female": 0.39, "male": 0.61}})
    with pytest.raises(WeightingError, match=r"t.yaml: no targets for configured margins"):
        read_targets(tmp_path / "t.yaml", ["gender", "region"])


# --------------------------------------------------------------------------- properties


@st.composite
def raking_problems(draw):
    n = draw(st.integers(30, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    cols, targets = {}, {}
    for j, k in enumerate(sizes):
        codes = np.r_[np.arange(k), rng.integers(0, k, n - k)]  # every category present
        cols[f"m{j}"] = np.array([f"c{c}" for c in codes])
        share = rng.dirichlet(np.full(k, 5.0))
        targets[f"m{j}"] = {f"c{c}": float(p) for c, p in enumerate(share)}
    for cats in targets.values():  # make proportions sum to 1 exactly enough
        last = list(cats)[-1]
        cats[last] = 1.0 - sum(v for c, v in cats.items() if c != last)
    base = rng.lognormal(0, 0.3, n)
    return pd.DataFrame(cols), targets, base, rng.permutation(n)


def rake_or_skip(data, targets, **kwargs):
    try:
        return rake(data, targets, **kwargs)
    except RakingConvergenceError:
        assume(False)
    except WeightingError as err:
        assume("cannot be met" not in str(err))
        raise


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(raking_problems(), st.sampled_from([None, 2.5, 4.0]))
def test_property_margins_met_positive_and_within_bounds(problem, cap):
    data, targets, base, _ = problem
    result = rake_or_skip(data, targets, base_weights=base, cap=cap, floor=0.2 if cap else None)
    w = result.weights
    assert (w > 0).all()
    assert_margins_met(data, w, targets, rtol=1e-8)
    if cap is not None:
        assert w.max() <= cap * w.mean() * (1 + 1e-9)
        assert w.min() >= 0.2 * w.mean() * (1 - 1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(raking_problems(), st.sampled_from([None, 3.0]), st.floats(1e-3, 1e3))
def test_property_invariant_to_row_order_and_base_weight_scale(problem, cap, scale):
    data, targets, base, perm = problem
    ref = rake_or_skip(data, targets, base_weights=base, cap=cap).weights
    shuffled = data.iloc[perm]
    again = rake(shuffled, targets, base_weights=base[perm], cap=cap).weights
    np.testing.assert_allclose(again.loc[data.index].to_numpy(), ref.to_numpy(), rtol=1e-8)
    scaled = rake(data, targets, base_weights=base * scale, cap=cap).weights
    np.testing.assert_allclose(scaled.to_numpy() / scale, ref.to_numpy(), rtol=1e-8)
