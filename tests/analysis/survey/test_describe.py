"""Tests of analysis/survey/describe.py: estimators against R survey, and the descriptive stage."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pypandoc
import pytest
import yaml
from scipy import stats

from analysis.project import ConfigError, load_config, validate_config
from analysis.stats import proportions as pr
from analysis.stats.raking import WeightingError
from analysis.survey import describe as ds
from analysis.survey.weighting import read_targets
from tests.buildutil import FIXTURES, ROOT

FIX = FIXTURES / "r"
PUBLISHED = ROOT / "data" / "reference" / "published_values.yaml"
TOL = 1e-8


# --------------------------------------------------------------------------- synthetic data


def synthetic_clean(n: int = 800, seed: int = 7) -> pd.DataFrame:
    """A random frame in the cleaned layout of docs/CONTRACT.md (not calibrated to anything)."""
    rng = np.random.default_rng(seed)

    def cat(levels: list[str], p: list[float], ordered: bool = False) -> pd.Categorical:
        return pd.Categorical(rng.choice(levels, n, p=p), categories=levels, ordered=ordered)

    def binary(p: float) -> np.ndarray:
        return (rng.random(n) < p).astype(int)

    age = rng.integers(14, 66, n)
    gender = rng.choice(["female", "male"], n, p=[0.4, 0.6])
    sesame, tencent = binary(0.58), binary(0.31)
    commercial = sesame | tencent
    frame = pd.DataFrame({
        "resp_id": [f"R{i:07d}" for i in range(n)],
        "age": age,
        "age10": age / 10,
        "age_band": pd.Categorical(np.where(age <= 30, "14-30", np.where(age <= 50, "31-50",
                                                                           "51-65")),
                                   categories=["14-30", "31-50", "51-65"], ordered=True),
        "gender": pd.Categorical(gender, categories=["female", "male"]),
        "male": (gender == "male").astype(int),
        "province": "Beijing",
        "region": cat(["East", "Central", "West"], [0.5, 0.32, 0.18]),
        "urban": binary(0.8),
        "income": cat(["<1000", "1000-4000", ">4000", "undisclosed"], [0.3, 0.45, 0.16, 0.09],
                      True),
        "education": cat(["none", "low", "medium", "high"], [0.02, 0.14, 0.14, 0.70], True),
        "employment": cat(["employed", "not employed", "in education", "self-employed",
                           "other"], [0.68, 0.07, 0.12, 0.07, 0.06]),
        "use_sesame": sesame,
        "use_tencent": tencent,
        "use_local_pilot": binary(0.07),
        "use_none": np.where(commercial == 1, 0, binary(0.6)),
        "use_dont_know": binary(0.08),
        "commercial_user": commercial,
        "lives_in_pilot_locality": binary(0.43),
        "mutual_mistrust": binary(0.76),
        "fn_honest": rng.integers(1, 6, n),
        "who_should_run": pd.Categorical(rng.choice(
            list(ds.WHO_SHOULD_RUN), n, p=[0.58, 0.09, 0.17, 0.02, 0.01, 0.13])),
        "approval": rng.choice([1, 2, 3, 4, 5], n, p=[0.004, 0.01, 0.19, 0.31, 0.486]),
    })
    for col in ds.RESPONSIBLE:
        frame[col] = binary(0.3)
    users_only = {"score_vs_peers": rng.integers(1, 6, n), "knows_calc": rng.integers(1, 4, n)}
    for k in ds.ADV_ITEMS:
        users_only[f"adv_{k}"] = binary(0.3)
        users_only[f"dis_{k}"] = binary(0.05)
    users_only["received_benefits"] = np.max([users_only[f"adv_{k}"] for k in ds.ADV_ITEMS], 0)
    users_only["received_disadvantages"] = np.max([users_only[f"dis_{k}"]
                                                   for k in ds.ADV_ITEMS], 0)
    for col, values in users_only.items():
        frame[col] = pd.array(np.where(commercial == 1, values, 0), dtype="Int64")
        frame.loc[commercial == 0, col] = pd.NA
    frame["approval"] = frame["approval"].astype("Int64")
    frame.loc[rng.random(n) < 0.02, "approval"] = pd.NA  # a little item non-response
    frame.attrs["simulated"] = True  # the data-status flag the clean stage stores
    return frame


def synthetic_weights(frame: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.4, 2.0, len(frame))
    return pd.DataFrame({"resp_id": frame["resp_id"], "weight": w / w.mean()})


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    frame = synthetic_clean()
    clean, weights, targets = (tmp_path / "clean.parquet", tmp_path / "weights.parquet",
                               tmp_path / "targets.yaml")
    frame.to_parquet(clean, index=False)
    synthetic_weights(frame).to_parquet(weights, index=False)
    targets.write_text(yaml.safe_dump({"margins": {
        "age_band": {"14-30": 0.55, "31-50": 0.42, "51-65": 0.03},
        "gender": {"female": 0.39, "male": 0.61},
        "region": {"East": 0.45, "Central": 0.35, "West": 0.20}}, "source": "test"}))
    return {"clean": clean, "weights": weights, "targets": targets}


def run(inputs: dict[str, Path], out: Path, settings: dict | None = None) -> dict:
    cfg = settings if settings is not None else load_config()["describe"]
    ds.describe_survey(inputs["clean"], inputs["weights"], inputs["targets"], cfg,
                       out / "descriptives.json", out / "tables")
    return json.loads((out / "descriptives.json").read_text())


# --------------------------------------------------------------------------- against R


def _r_means() -> pd.DataFrame:
    return pd.read_csv(FIX / "describe_means.csv", keep_default_na=False)


def _r_data() -> pd.DataFrame:
    return pd.read_csv(FIX / "describe_data.csv")


def _domain(case: str, data: pd.DataFrame) -> pd.Series | None:
    return {"dom1": data["dom"] == 1, "a_x": data["a"] == "x",
            "b_s": data["b"] == "s"}.get(case)


@pytest.mark.parametrize("case", ["all", "dom1", "a_x", "b_s", "rare_all", "dom_all"])
def test_proportion_se_and_cis_match_r_svymean_and_svyciprop(case: str) -> None:
    data, ref = _r_data(), _r_means().set_index("case").loc[case]
    y = data[ref["variable"]]
    wald = pr.weighted_proportion(y, data["w"], _domain(case, data), ci_method="wald")
    logit = pr.weighted_proportion(y, data["w"], _domain(case, data), ci_method="logit")
    assert wald.n == int(ref["n"])
    assert wald.pct / 100 == pytest.approx(float(ref["estimate"]), abs=TOL)
    assert wald.se / 100 == pytest.approx(float(ref["se"]), abs=TOL)
    assert wald.ci[0] / 100 == pytest.approx(float(ref["wald_lo"]), abs=TOL)
    assert wald.ci[1] / 100 == pytest.approx(float(ref["wald_hi"]), abs=TOL)
    # R's logit interval comes from an IRLS fit (svyglm), converged to about 1e-10.
    assert logit.ci[0] / 100 == pytest.approx(float(ref["logit_lo"]), abs=1e-8)
    assert logit.ci[1] / 100 == pytest.approx(float(ref["logit_hi"]), abs=1e-8)


def test_factor_level_shares_match_r_svymean_of_a_factor() -> None:
    data, ref = _r_data(), _r_means()
    for _, row in ref[ref["case"].str.startswith("share_")].iterrows():
        level = row["case"].removeprefix("share_")
        est = pr.weighted_proportion(pr.indicator(data["a"], [level]), data["w"],
                                     ci_method="wald")
        assert est.pct / 100 == pytest.approx(float(row["estimate"]), abs=TOL)
        assert est.se / 100 == pytest.approx(float(row["se"]), abs=TOL)
        assert est.ci[0] / 100 == pytest.approx(float(row["wald_lo"]), abs=TOL)


@pytest.mark.parametrize("case", ["a_by_b", "y_by_a", "y_by_dom", "b_by_a_in_dom1"])
def test_rao_scott_f_test_matches_r_svychisq(case: str) -> None:
    data = _r_data()
    ref = pd.read_csv(FIX / "describe_chisq.csv").set_index("case").loc[case]
    domain = data["dom"] == 1 if case.endswith("in_dom1") else None
    res = pr.rao_scott_test(data[ref["rows"]], data[ref["cols"]], data["w"], domain)
    assert res.n == ref["n"]
    for ours, theirs in [(res.f, "f"), (res.ndf, "ndf"), (res.ddf, "ddf"),
                         (res.p_value, "p_value"), (res.pearson, "pearson")]:
        assert ours == pytest.approx(float(ref[theirs]), rel=TOL, abs=TOL), theirs


def test_unit_weights_give_the_binomial_standard_error() -> None:
    y = pd.Series([1, 0, 0, 1, 1, 1, 0, 1, 1, 0, pd.NA], dtype="Float64")
    est = pr.weighted_proportion(y, np.ones(len(y)), ci_method="wald")
    p, n = 0.6, 10
    assert est.pct == pytest.approx(60)
    # every row is a PSU of the design: the NA row counts in n_design = 11
    assert est.se / 100 == pytest.approx(math.sqrt(11 / 10 * p * (1 - p) / n))
    assert (est.n, est.count, est.weighted_count) == (10, 6, 6.0)


def test_rao_scott_with_unit_weights_uses_the_ordinary_pearson_statistic() -> None:
    rng = np.random.default_rng(3)
    r, c = rng.integers(0, 3, 500), rng.integers(0, 2, 500)
    res = pr.rao_scott_test(r, c, np.ones(500))
    table = pd.crosstab(r, c).to_numpy()
    assert res.pearson == pytest.approx(stats.chi2_contingency(table, correction=False)[0])
    assert res.mean_deff == pytest.approx(1.0, abs=0.02)


def test_logit_interval_stays_inside_0_100_where_wald_crosses_zero() -> None:
    y = np.zeros(200)
    y[:2] = 1
    w = np.r_[2.0, 2.0, np.full(198, 0.5)]
    wald = pr.weighted_proportion(y, w, ci_method="wald")
    logit = pr.weighted_proportion(y, w)
    assert wald.ci[0] < 0 < logit.ci[0] < logit.pct < logit.ci[1] < 100


def test_indicator_keeps_missing_answers_out_of_the_base() -> None:
    values = pd.Series([5, 4, pd.NA, 2], dtype="Int64")
    assert pr.indicator(values, [4, 5]).tolist() == [1, 1, pd.NA, 0]


def test_non_binary_indicator_is_refused() -> None:
    with pytest.raises(ValueError, match="0/1"):
        pr.weighted_proportion([0, 1, 2], [1, 1, 1])


# --------------------------------------------------------------------------- the stage


def test_json_has_a_key_for_every_published_survey_percentage(inputs, tmp_path) -> None:
    res = run(inputs, tmp_path)
    published = yaml.safe_load(PUBLISHED.read_text())["survey"]
    sections = ["composition_weighted", "use", "approval", "other", "who_should_manage",
                "responsible_data_use"]
    for section in sections:
        for key, spec in published[section].items():
            assert key in res[section], f"{section}.{key}"
            if spec["unit"] == "pct":
                assert set(res[section][key]) >= {"pct", "se", "ci", "n", "weighted_n"}
    assert res["design"]["n_valid"] == 800
    assert res["other"]["commercial_users_n"]["n"] == int(
        pd.read_parquet(inputs["clean"])["commercial_user"].sum())


def test_estimates_equal_direct_weighted_means_of_the_microdata(inputs, tmp_path) -> None:
    res = run(inputs, tmp_path)
    f = pd.read_parquet(inputs["clean"]).merge(pd.read_parquet(inputs["weights"]), on="resp_id")
    answered = f[f["approval"].notna()]

    def wmean(mask: pd.Series, sub: pd.DataFrame) -> float:
        return 100 * float(np.average(mask, weights=sub["weight"]))

    assert res["approval"]["approve_any"]["pct"] == pytest.approx(
        wmean(answered["approval"] >= 4, answered))
    rural = answered[answered["urban"] == 0]
    assert res["approval"]["approve_rural"]["pct"] == pytest.approx(
        wmean(rural["approval"] >= 4, rural))
    assert res["approval"]["approve_rural"]["n"] == len(rural)
    users = f[(f["commercial_user"] == 1) & (f["urban"] == 1)]
    assert res["other"]["credit_easy_urban"]["pct"] == pytest.approx(
        wmean(users["adv_credit_access"] == 1, users))
    assert res["composition_weighted"]["male"]["pct"] == pytest.approx(wmean(f["male"] == 1, f))
    assert res["composition_unweighted"]["male"]["pct"] == pytest.approx(
        100 * f["male"].mean())
    assert res["composition_target"]["region_west"] == {"pct": 20.0, "raked": True}
    dist = res["approval_distribution"]
    assert sum(v["pct"] for v in dist.values()) == pytest.approx(100)
    assert res["approval"]["approve_any"]["pct"] == pytest.approx(
        dist["somewhat_approve"]["pct"] + dist["strongly_approve"]["pct"])


def test_group_and_doubter_tests_are_reported_for_every_grouping(inputs, tmp_path) -> None:
    res = run(inputs, tmp_path)
    for var in ds.APPROVAL_GROUPS:
        t = res["tests"][f"approval_by_{var}"]
        assert t["statistic"] == "F" and 0 <= t["p_value"] <= 1 and t["ddf"] > t["ndf"] > 0
        assert set(res["approval_by_group"][var]) == set(ds.CATEGORY_KEYS[var].values())
    assert res["tests"]["received_benefits_by_urban"]["n"] == res["other"][
        "commercial_users_n"]["n"]
    prof = res["doubters_profile"]
    assert sum(prof["doubters"][k]["pct"] for k in ("female", "male")) == pytest.approx(100)


def test_two_builds_give_identical_bytes(inputs, tmp_path) -> None:
    run(inputs, tmp_path / "a")
    run(inputs, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert len(files) == 1 + 2 * 10
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_markdown_tables_are_pipe_tables_that_pandoc_renders(inputs, tmp_path) -> None:
    run(inputs, tmp_path)
    for md in sorted((tmp_path / "tables").glob("*.md")):
        text = md.read_text()
        assert "<" not in text.replace("<1000", "").replace("< .001", ""), md.name
        table, _, note = text.partition("\n\n")
        assert "N = " in note and "Simulated data" in note, md.name  # N and data status
        widths = {line.count(" | ") for line in table.splitlines() if not line.startswith("|:")
                  and not line.startswith("|-")}
        assert len(widths) == 1, md.name
        html = pypandoc.convert_text(text, "html", format="markdown")
        assert "<table" in html, md.name
        csv = pd.read_csv(md.with_suffix(".csv"))
        assert html.count("<tr") == len(csv) + 1, md.name


def test_wald_setting_changes_only_the_intervals(inputs, tmp_path) -> None:
    cfg = load_config()["describe"]
    logit = run(inputs, tmp_path / "l", cfg)
    wald = run(inputs, tmp_path / "w", {**cfg, "ci_method": "wald"})
    a, b = logit["use"]["sesame"], wald["use"]["sesame"]
    assert a["pct"] == b["pct"] and a["se"] == b["se"] and a["ci"] != b["ci"]
    assert b["ci"][1] - b["pct"] == pytest.approx(b["pct"] - b["ci"][0])


# --------------------------------------------------------------------------- bad input


def test_missing_weight_names_the_respondent_and_writes_nothing(inputs, tmp_path) -> None:
    w = pd.read_parquet(inputs["weights"]).iloc[1:]
    w.to_parquet(inputs["weights"], index=False)
    with pytest.raises(ds.DescribeInputError, match=r"weights.parquet.*R0000000"):
        run(inputs, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_non_positive_weight_is_refused_with_row_and_column(inputs, tmp_path) -> None:
    w = pd.read_parquet(inputs["weights"])
    w.loc[5, "weight"] = 0.0
    w.to_parquet(inputs["weights"], index=False)
    with pytest.raises(ds.DescribeInputError, match=r"row 5, column 'weight'.*positive"):
        run(inputs, tmp_path / "out")


def test_unknown_category_is_refused_with_file_row_and_column(inputs, tmp_path) -> None:
    f = pd.read_parquet(inputs["clean"])
    f["region"] = f["region"].astype(object)
    f.loc[3, "region"] = "North"
    f.to_parquet(inputs["clean"], index=False)
    with pytest.raises(ds.DescribeInputError,
                       match=r"clean.parquet: row 3, column 'region': value 'North'"):
        run(inputs, tmp_path / "out")


def test_missing_column_is_refused(inputs, tmp_path) -> None:
    pd.read_parquet(inputs["clean"]).drop(columns="approval").to_parquet(inputs["clean"])
    with pytest.raises(ds.DescribeInputError, match=r"missing column.*approval"):
        run(inputs, tmp_path / "out")


def test_targets_in_percent_are_read_as_proportions_and_bad_sums_refused(tmp_path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump({"margins": {"gender": {"female": 39, "male": 61}}}))
    bad.write_text(yaml.safe_dump({"margins": {"gender": {"female": 0.39, "male": 0.5}}}))
    assert read_targets(good) == {"gender": {"female": 0.39, "male": 0.61}}
    with pytest.raises(WeightingError, match=r"bad.yaml: margins.gender: the shares sum to 0.89"):
        read_targets(bad)


def test_config_schema_rejects_unknown_describe_keys_and_bad_ci_method() -> None:
    cfg = load_config()
    for change in ({"ci_method": "exact"}, {"surprise": 1}, {"approve_codes": [6]}):
        broken = copy.deepcopy(cfg)
        broken["describe"].update(change)
        with pytest.raises(ConfigError, match="describe"):
            validate_config(broken)
