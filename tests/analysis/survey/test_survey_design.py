"""The SEs the describe and model stages report, against R's calibrated and fixed designs.

R fixtures on the pipeline's own cleaned data and weights (every valid respondent of the
stand-in; tests/fixtures/r/calibration/make_pipeline_fixtures.R), and the stages' wiring of
the ``weighting`` (variance convention) and ``design`` (cluster, strata, fpc) settings of
analysis/survey/design.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.project import SCHEMA_PATH, load_config, validate_config
from analysis.stats import calibration as cal
from analysis.stats.ordinal import fit_frame
from analysis.stats.proportions import rao_scott_test, weighted_proportion
from analysis.survey import describe as ds
from analysis.survey import models as mdl
from analysis.survey.design import DesignError, survey_design
from paperkit.config import ConfigError, fill_defaults
from paperkit.io import read_yaml
from tests.analysis.survey.test_describe import inputs, synthetic_clean  # noqa: F401 - fixture
from tests.buildutil import FIXTURES

FIX = FIXTURES / "r" / "calibration"
WEIGHTING = {"margins": ["age_band", "gender", "region"], "variance": "calibrated"}
OLR_TERMS = ["age10", "male", "urban", "confidence_gov", "score_fair"]


def _data() -> pd.DataFrame:
    return pd.read_csv(FIX / "pipeline_data.csv", keep_default_na=False, na_values=[""])


def _r(name: str, kind: str) -> pd.DataFrame:
    rows = pd.read_csv(FIX / f"pipeline_{name}.csv", keep_default_na=False, na_values=[""])
    return rows[rows["design"] == kind]


def test_r_bounded_raking_of_the_pipeline_rows_gives_the_pipeline_weights():
    r = pd.read_csv(FIX / "pipeline_weights.csv")
    np.testing.assert_allclose(r["weight"], _data()["weight"], rtol=1e-9)


@pytest.mark.parametrize("kind", cal.METHODS)
def test_stage_proportions_and_intervals_match_r_on_the_pipeline_data(kind):
    data = _data()
    design = survey_design(data, {**WEIGHTING, "variance": kind})
    indicators = {"approve": (data["approval"] >= 4).astype(int),
                  "strong": (data["approval"] == 5).astype(int)}
    rows = _r("means", kind)
    assert len(rows) == 10
    for _, r in rows.iterrows():
        dom = None if pd.isna(r["domain"]) else data[r["domain"]] == int(r["domain_level"])
        e = weighted_proportion(indicators[r["variable"]], data["weight"], dom,
                                design=design, method=kind)
        where = f"{kind}: {r['variable']} in {r['domain']}={r['domain_level']}"
        assert e.pct == pytest.approx(100 * r["estimate"], rel=1e-9), where
        assert e.se == pytest.approx(100 * r["se"], rel=1e-6), where
        np.testing.assert_allclose(e.ci, [100 * r["ci_lo"], 100 * r["ci_hi"]], rtol=1e-6,
                                   err_msg=where)


@pytest.mark.parametrize("kind", cal.METHODS)
def test_stage_rao_scott_tests_match_r_svychisq_on_the_pipeline_data(kind):
    data = _data()
    design = survey_design(data, WEIGHTING)
    for _, r in _r("chisq", kind).iterrows():
        res = rao_scott_test(data[r["rows"]], data[r["cols"]], data["weight"], design=design,
                             method=kind)
        np.testing.assert_allclose([res.f, res.ndf, res.ddf, res.p_value],
                                   r[["f", "ndf", "ddf", "p_value"]].to_numpy(float),
                                   rtol=1e-6, err_msg=f"{kind}: {r['rows']} x {r['cols']}")


@pytest.mark.parametrize("kind", cal.METHODS)
def test_model_sandwich_on_the_subset_of_the_design_matches_r_svyolr(kind):
    """R's bread is optim's numerical Hessian, so SEs agree to ~1e-4 (meat: test_calibration)."""
    data = _data()
    keep = (data["commercial_user"] == 1) & data[OLR_TERMS].notna().all(axis=1)
    sample = data[keep].reset_index(drop=True)
    res = fit_frame(sample, "approval", OLR_TERMS, weights="weight", weight_type="sampling",
                    variance_design=survey_design(data, WEIGHTING),
                    sample_rows=np.flatnonzero(keep), variance_method=kind)
    r = _r("olr", kind).set_index("term")
    ours = pd.concat([res.params, pd.Series(res.zeta, index=res.threshold_names)])
    ses = pd.concat([res.bse, res.thresholds_bse])
    np.testing.assert_allclose(ours[r.index], r["estimate"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ses[r.index], r["se"], rtol=1e-3)
    assert res.cov_type == f"sandwich ({kind})"


def _run(inputs, out: Path, weighting: dict | None) -> dict:  # noqa: F811
    ds.describe_survey(inputs["clean"], inputs["weights"], inputs["targets"],
                       load_config()["describe"], out / "d.json", out / "tables", weighting)
    return json.loads((out / "d.json").read_text())


def test_describe_stage_reports_the_calibration_modules_ses(inputs, tmp_path):  # noqa: F811
    res = _run(inputs, tmp_path, WEIGHTING)
    frame = ds.load_inputs(inputs["clean"], inputs["weights"])
    design = survey_design(frame, WEIGHTING)
    approve = ds.indicator(frame["approval"], [4, 5])
    users = frame["commercial_user"] == 1
    for key, dom in (("approve_any", None), ("approve_commercial_users", users)):
        for method in cal.METHODS:
            e = cal.weighted_mean_se(approve, design, domain=dom, method=method)
            assert res["variance_comparison"]["shares"][key][f"se_{method}"] == pytest.approx(
                100 * e.se, rel=1e-8)
        assert res["approval"][key]["se"] == pytest.approx(
            res["variance_comparison"]["shares"][key]["se_calibrated"], rel=1e-12)
    assert res["meta"]["variance_method"] == "calibrated"


def test_fixed_setting_reports_fixed_ses_and_says_so(inputs, tmp_path):  # noqa: F811
    calibrated = _run(inputs, tmp_path / "c", WEIGHTING)
    fixed = _run(inputs, tmp_path / "f", {**WEIGHTING, "variance": "fixed"})
    plain = _run(inputs, tmp_path / "p", None)
    assert fixed["meta"]["variance_method"] == "fixed"
    assert "taken as given" in fixed["meta"]["variance"]
    for key in ("approve_any", "approve_rural"):
        assert fixed["approval"][key]["se"] == pytest.approx(plain["approval"][key]["se"],
                                                             rel=1e-10)
        assert fixed["approval"][key]["se"] != calibrated["approval"][key]["se"]
    assert fixed["tests"]["approval_by_urban"]["f"] == pytest.approx(
        plain["tests"]["approval_by_urban"]["f"], rel=1e-10)


def test_composition_table_gives_raked_margins_against_target_without_interval(
        inputs, tmp_path):  # noqa: F811
    res = _run(inputs, tmp_path, WEIGHTING)
    table = pd.read_csv(tmp_path / "tables" / "composition.csv", dtype=str,
                        keep_default_na=False)
    raked = table["Variable"].isin(["Gender", "Age band", "Region"])
    assert (table.loc[raked, "95% CI"] == ds.RAKED_CELL).all()
    assert (table.loc[raked, "Target %"] != "").all()
    assert table.loc[~raked, "95% CI"].str.fullmatch(r"\d+\.\d–\d+\.\d").all()
    assert res["composition_target"]["female"]["raked"] is True


def test_a_configured_fpc_column_is_used_and_a_missing_one_is_named(inputs, tmp_path):  # noqa: F811
    frame = ds.load_inputs(inputs["clean"], inputs["weights"]).assign(fpc=20 * 800)
    approve = ds.indicator(frame["approval"], [4, 5])
    without = cal.weighted_mean_se(approve, survey_design(frame, WEIGHTING))
    with_fpc = cal.weighted_mean_se(approve, survey_design(frame, WEIGHTING,
                                                           design={"fpc": "fpc"}))
    assert with_fpc.se == pytest.approx(without.se * np.sqrt(1 - 1 / 20), rel=1e-10)
    with pytest.raises(DesignError, match="design.strata: column 'stratum'"):
        survey_design(frame, WEIGHTING, design={"strata": "stratum"})


def test_schema_defaults_to_calibrated_and_refuses_other_conventions():
    config = load_config()
    assert config["weighting"]["variance"] == "calibrated"
    bare = copy.deepcopy(config)
    bare["weighting"].pop("variance")
    bare.pop("design")
    filled = validate_config(bare)
    assert filled["weighting"]["variance"] == "calibrated"
    assert filled["design"] == {"cluster": None, "strata": None, "fpc": None}
    bare["weighting"]["variance"] = "replicate"
    with pytest.raises(ConfigError):
        validate_config(bare)


def test_model_stage_reports_calibrated_sandwich_and_both_conventions():
    frame = synthetic_clean(1500).assign(weight=1.0)
    frame["approval"] = frame["approval"].fillna(4)
    spec = {"outcome": "approval", "outcome_levels": [1, 2, 3, 4, 5], "weight": "weight",
            "weight_type": "sampling", "sample_filter": {"commercial_user": 1},
            "models": [{"id": "m1", "add": ["age10", "male", "urban"]}]}
    fill_defaults(spec, read_yaml(SCHEMA_PATH)["properties"]["models"])  # as the config gets them
    frame["weight"] = cal.calibration([frame[m] for m in WEIGHTING["margins"]],
                                      np.ones(len(frame))).weights
    out = mdl.fit_models(frame, spec, WEIGHTING)
    comparison = out["variance_comparison"]["coefficients"]
    assert out["models"]["m1"]["cov_type"] == "sandwich (calibrated)"
    assert out["models"]["m1"]["coefficients"]["male"]["se"] == pytest.approx(
        comparison["male"]["se_calibrated"], rel=1e-12)
    assert comparison["male"]["se_calibrated"] < comparison["male"]["se_fixed"]


def test_the_sampling_design_and_interval_method_reach_the_words_the_methods_print(
        inputs, tmp_path):  # noqa: F811
    """The Methods print the design, its degrees of freedom and the interval method from
    the numbers tree (analysis.paper.numbers), never as typed text: strata and a Wald
    interval change them, and the table notes with them."""
    from analysis.paper.numbers import rao_scott_design

    def describe(out: Path, design: dict | None, ci_method: str) -> dict:
        settings = {**load_config()["describe"], "ci_method": ci_method}
        ds.describe_survey(inputs["clean"], inputs["weights"], inputs["targets"], settings,
                           out / "d.json", out / "tables", WEIGHTING, design)
        return json.loads((out / "d.json").read_text())

    plain = rao_scott_design(describe(tmp_path / "p", None, "logit"), 800)
    assert plain["design_df_whole_sample"] == 799
    assert "without clusters, strata or a finite-population" in plain["design_words"]
    assert plain["whole_sample_df_words"] == "one less than the number of valid respondents"
    assert plain["ci_words"] == "on the logit scale"
    strat = rao_scott_design(describe(tmp_path / "s", {"strata": "region"}, "wald"), 800)
    assert strat["design_df_whole_sample"] == 800 - 3
    assert strat["design_words"] == "with strata from the column region"
    assert strat["whole_sample_df_words"] == ("the number of valid respondents less the "
                                              "number of strata")
    assert strat["ci_words"] == "as Wald intervals on the percentage scale"
    notes = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "s/tables").glob("*.md"))
    assert "as Wald intervals" in notes and "logit scale" not in notes
