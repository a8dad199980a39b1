"""Tests of the simulated survey stand-in: layout, messiness, reproducibility, calibration."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.project import PROJECT_ROOT, load_config
from analysis.standin import survey as ss

CONFIG = load_config()
SEED = CONFIG["simulation"]["survey_seed"]
N_STARTED = CONFIG["simulation"]["survey_n_started"]
EXPORT = PROJECT_ROOT / CONFIG["paths"]["raw_survey"]
CODEBOOK = PROJECT_ROOT / CONFIG["paths"]["survey_codebook"]
PUBLISHED = yaml.safe_load((PROJECT_ROOT / CONFIG["paths"]["published_values"])
                           .read_text(encoding="utf-8"))["survey"]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The committed export, read as plain CSV (independent of analysis.survey.reader)."""
    return pd.read_csv(EXPORT, dtype={"respondent_id": str}, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def codebook() -> dict:
    return yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ reproducibility


def test_committed_export_is_byte_identical_to_a_regeneration_from_the_seed(tmp_path):
    path = ss.write_survey(tmp_path, SEED, N_STARTED)
    assert path.read_bytes() == EXPORT.read_bytes()


def test_cli_writes_the_same_bytes_as_the_committed_export(tmp_path):
    ss.main(["--seed", str(SEED), "--n-started", str(N_STARTED), "--out", str(tmp_path)])
    assert (tmp_path / ss.EXPORT_NAME).read_bytes() == EXPORT.read_bytes()


def test_committed_side_files_match_the_generator(tmp_path):
    ss.write_side_files(tmp_path, SEED, N_STARTED)
    for rel in ("data/codebook/survey_codebook.yaml", "data/codebook/provinces.csv",
                "data/targets/population_margins.yaml",
                "data/reference/simulation_parameters.yaml"):
        assert (tmp_path / rel).read_bytes() == (PROJECT_ROOT / rel).read_bytes(), rel


def test_other_seed_gives_other_answers_same_seed_same_answers():
    a = ss.simulate_survey(500, 1)
    pd.testing.assert_frame_equal(a, ss.simulate_survey(500, 1))
    assert not a.equals(ss.simulate_survey(500, 2))


def test_export_is_registered_in_the_raw_manifest():
    manifest = (PROJECT_ROOT / CONFIG["paths"]["raw_manifest"]).read_text(encoding="utf-8")
    import hashlib

    digest = hashlib.sha256(EXPORT.read_bytes()).hexdigest()
    assert f"{digest}  {CONFIG['paths']['raw_survey']}" in manifest.splitlines()


# ------------------------------------------------------------------ layout


def test_export_is_utf8_with_bom_and_unix_line_ends():
    data = EXPORT.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfrespondent_id,start_time,end_time,finished,province,age")
    assert b"\r\n" not in data


def test_columns_are_exactly_the_codebook_variables_in_order(raw, codebook):
    assert list(raw.columns) == list(codebook["variables"])
    assert codebook["dataset"]["simulated"] is True


def test_every_answer_is_an_allowed_code_or_in_range(raw, codebook):
    for name, var in codebook["variables"].items():
        values = raw[name].dropna()
        if var["type"] in ("categorical", "binary"):
            allowed = set(var["codes"]) | set(var["missing_codes"])
            bad = set(values.astype(int)) - allowed
            assert not bad, f"{name}: codes {bad} not in codebook"
        elif var["type"] == "integer":
            lo, hi = var["range"]
            assert values.between(lo, hi).all(), name


def test_provinces_are_the_31_mainland_provinces_in_three_regions():
    table = pd.read_csv(PROJECT_ROOT / CONFIG["paths"]["provinces"])
    assert list(table.columns) == ["code", "province_en", "province_zh", "region"]
    assert len(table) == 31 and table["code"].is_unique
    assert table["region"].value_counts().to_dict() == {"West": 12, "East": 11, "Central": 8}


def test_partial_rows_have_no_end_time_and_blank_later_questions(raw):
    partial = raw[raw["finished"] == 0]
    finished = raw[raw["finished"] == 1]
    assert partial["end_time"].isna().all() and finished["end_time"].notna().all()
    assert partial["q26_mutual_mistrust"].isna().all()
    assert partial["q1_gender"].notna().any() and partial["q1_gender"].isna().any()
    assert partial[["province", "age", "start_time"]].notna().all().all()


def test_score_block_is_blank_for_respondents_without_a_commercial_scs(raw):
    finished = raw[raw["finished"] == 1]
    nonuser = (finished["q8_use_sesame"] == 0) & (finished["q8_use_tencent"] == 0)
    block = [c for c in raw.columns if c.startswith(("q12_", "q13_", "q14_", "q15_", "q16_",
                                                     "q17_", "q18_"))]
    assert finished.loc[nonuser, block].isna().all().all()
    assert finished.loc[~nonuser, block].notna().all().all()
    assert finished.loc[finished["q8_use_tencent"] == 0, "q11_tencent_score"].isna().all()


def test_likert_grid_has_ten_consecutive_five_point_items(codebook):
    names = list(codebook["variables"])
    grid = ss.CLEANING_RULES["straight_liner"]["grid"]
    start = names.index(grid[0])
    assert names[start:start + len(grid)] == grid and len(grid) >= 8
    for name in grid:
        assert set(codebook["variables"][name]["codes"]) == {1, 2, 3, 4, 5}
    assert codebook["variables"]["q19_1"]["clean_name"] == "fn_honest"


def test_clean_names_cover_the_contract_variables(codebook):
    clean = {v["clean_name"] for v in codebook["variables"].values() if v["clean_name"]}
    for name in ("resp_id", "age", "gender", "province", "urban", "income", "education",
                 "employment", "smartphone_time", "posting_freq", "ccp_member",
                 "confidence_gov", "use_sesame", "use_tencent", "use_local_pilot", "use_none",
                 "use_dont_know", "lives_in_pilot_locality", "sesame_score", "tencent_score",
                 "score_vs_peers", "knows_calc", "received_info", "joined_auto", "score_fair",
                 "adv_credit_access", "dis_dating", "fn_honest", "fn_regulations",
                 "fn_quality_of_life", "who_should_run", "resp_central", "resp_private",
                 "mutual_mistrust", "approval"):
        assert name in clean, name


# ------------------------------------------------------------------ messiness and exclusions


def test_exclusion_rules_leave_2209_valid_rows_at_64_percent_completion(raw):
    flags = ss.exclusion_flags(raw)
    assert len(raw) == N_STARTED
    assert raw["finished"].mean() == pytest.approx(0.64, abs=0.001)
    assert int(flags["valid"].sum()) == PUBLISHED["design"]["n_valid"]["value"]
    for rule in ("speeder", "straight_liner", "inconsistent", "duplicate"):
        assert flags[rule].sum() >= 10, rule


def test_exclusions_are_caught_by_the_rules_as_planted(raw):
    flags = ss.exclusion_flags(raw)
    counts = ss.exclusion_counts(N_STARTED)
    assert int(flags["speeder"].sum()) == counts["speeder"]
    assert int(flags["inconsistent"].sum()) == counts["inconsistent"]
    assert int(flags["duplicate"].sum()) == counts["duplicate"]
    only_straight = flags["straight_liner"] & ~flags["speeder"]
    assert int(only_straight.sum()) == counts["straight_liner"]


def test_duplicates_repeat_an_earlier_respondent_id(raw):
    flags = ss.exclusion_flags(raw)
    dup_ids = raw.loc[flags["duplicate"], "respondent_id"]
    first = raw[~flags["duplicate"]].set_index("respondent_id")
    later = raw[flags["duplicate"]].set_index("respondent_id")
    assert (pd.to_datetime(later.loc[dup_ids, "start_time"])
            > pd.to_datetime(first.loc[dup_ids, "start_time"])).all()


def test_valid_rows_have_refusals_and_blank_cells_the_cleaning_must_keep(raw):
    valid = raw[ss.exclusion_flags(raw)["valid"]]
    assert (valid["q24_ccp_member"] == 99).sum() > 10
    assert (valid["q25_confidence_gov"] == 99).sum() > 10
    assert (valid["q5_income"] == 4).mean() == pytest.approx(0.09, abs=0.02)
    assert valid["q7_posting_freq"].isna().sum() > 0
    users = valid[valid["q8_use_sesame"] == 1]
    assert users["q10_sesame_score"].isna().sum() > 10


def test_commercial_users_among_valid_rows_are_in_the_published_range(raw):
    valid = raw[ss.exclusion_flags(raw)["valid"]]
    users = ((valid["q8_use_sesame"] == 1) | (valid["q8_use_tencent"] == 1)).sum()
    assert 1549 <= users <= 1770


def test_exclusion_counts_reject_tiny_samples():
    with pytest.raises(ValueError, match="n_started"):
        ss.exclusion_counts(10)


# ------------------------------------------------------------------ large samples


# Their speed is measured in bench/ (medians, side by side), never asserted here.
def test_large_samples_scale_the_exclusions():
    frame = ss.simulate_survey(100_000, 7)
    flags = ss.exclusion_flags(frame)
    counts = ss.exclusion_counts(100_000)
    assert int(flags["valid"].sum()) == counts["valid"]


@pytest.mark.slow
def test_a_million_rows_simulate_with_the_scaled_exclusions():
    frame = ss.simulate_survey(1_000_000, 3)
    assert len(frame) == 1_000_000
    assert int(ss.exclusion_flags(frame)["valid"].sum()) == ss.exclusion_counts(1_000_000)["valid"]


def test_clean_sample_has_the_cleaned_layout_with_skip_logic_as_missing():
    clean = ss.simulate_clean_sample(3000, 5)
    assert len(clean) == 3000 and clean["resp_id"].is_unique
    assert list(clean["age_band"].cat.categories) == ["14-30", "31-50", "51-65"]
    assert list(clean["region"].cat.categories) == ["East", "Central", "West"]
    assert set(clean["income"].cat.categories) == {"<1000", "1000-4000", ">4000", "undisclosed"}
    nonusers = clean["commercial_user"] == 0
    assert clean.loc[nonusers, "score_fair"].isna().all()
    assert clean.loc[~nonusers, "score_fair"].notna().all()
    assert clean["approval"].between(1, 5).all()
    assert clean["score_magnitude"].dropna().between(0, 1).all()


def test_clean_sample_passes_the_projects_cleaned_file_schema():
    from analysis.survey.validation import validate_clean

    clean = ss.simulate_clean_sample(2000, 6)
    validate_clean(clean, "simulate_clean_sample(2000, 6)")
    assert list(clean.columns) == ss.CLEAN_COLUMNS


# ------------------------------------------------------------------ calibration


def _clean_minimal(raw: pd.DataFrame, codebook: dict) -> pd.DataFrame:
    """Valid rows, codebook clean names, missing codes as NA; enough for the calibration."""
    valid = raw[ss.exclusion_flags(raw)["valid"].to_numpy()]
    out = pd.DataFrame(index=valid.index)
    for name, var in codebook["variables"].items():
        if var["clean_name"] and var["type"] != "string":
            col = valid[name].astype("Float64")
            out[var["clean_name"]] = col.mask(col.isin(list(var["missing_codes"])))
    regions = ss.provinces_table().set_index("code")["region"]
    out["region"] = valid["province"].map(regions)
    out["age_band"] = pd.cut(valid["age"], [13, 30, 50, 65], labels=list(ss.AGE_BANDS))
    out["age_band"] = out["age_band"].astype(str)
    out["male"] = out["gender"]
    out["gender"] = np.where(out["male"] == 1, "male", "female")
    out["commercial_user"] = ((out["use_sesame"] == 1) | (out["use_tencent"] == 1)).astype(int)
    adv = [c for c in out if c.startswith("adv_")]
    dis = [c for c in out if c.startswith("dis_")]
    out["received_benefits"] = out[adv].max(axis=1)
    out["received_disadvantages"] = out[dis].max(axis=1)
    out["score_magnitude"] = ((out["sesame_score"] - 350) / 600).fillna(
        out["tencent_score"] / 850)
    return out.reset_index(drop=True)


@pytest.fixture(scope="module")
def weighted(raw, codebook):
    from analysis.stats.raking import rake

    clean = _clean_minimal(raw, codebook)
    weights = rake(clean, ss.POPULATION_MARGINS, cap=2.0).weights.to_numpy()
    return clean, weights / weights.mean()


def _pct(weights: np.ndarray, hit: pd.Series, among: pd.Series | None = None) -> float:
    hit = hit.fillna(False).to_numpy(dtype=bool)
    base = np.ones(len(hit), bool) if among is None else among.fillna(False).to_numpy(bool)
    return 100 * float((weights * (hit & base)).sum() / (weights * base).sum())


def test_weights_are_capped_for_older_western_respondents_with_deff_near_1_13(weighted):
    clean, w = weighted
    deff = 1 + w.var()
    assert 1.05 <= deff <= 1.25
    capped = clean[w > 1.999]
    assert len(capped) > 0
    assert (capped["region"] == "West").all() and (capped["age_band"] != "14-30").all()


def test_weighted_composition_within_one_point_of_the_published_figures(weighted):
    clean, w = weighted
    pub = {k: v["value"] for k, v in PUBLISHED["composition_weighted"].items()}
    got = {
        "male": _pct(w, clean["male"] == 1), "age_51_65": _pct(w, clean["age_band"] == "51-65"),
        "age_14_30": _pct(w, clean["age_band"] == "14-30"),
        "region_west": _pct(w, clean["region"] == "West"),
        "region_east": _pct(w, clean["region"] == "East"),
        "urban": _pct(w, clean["urban"] == 1),
        "income_undisclosed": _pct(w, clean["income"] == 4),
        "income_lt1000": _pct(w, clean["income"] == 1),
        "edu_high": _pct(w, clean["education"] == 4), "edu_low": _pct(w, clean["education"] == 2),
        "employed": _pct(w, clean["employment"] == 1),
        "in_education": _pct(w, clean["employment"] == 3),
    }
    for key, value in got.items():
        assert value == pytest.approx(pub[key], abs=1.0), key


def test_weighted_use_and_approval_within_three_points_of_the_published_figures(weighted):
    clean, w = weighted
    approval, user = clean["approval"], clean["commercial_user"] == 1
    got = {
        ("use", "sesame"): _pct(w, clean["use_sesame"] == 1),
        ("use", "tencent"): _pct(w, clean["use_tencent"] == 1),
        ("use", "sesame_and_tencent"): _pct(w, (clean["use_sesame"] == 1)
                                            & (clean["use_tencent"] == 1)),
        ("use", "local_government"): _pct(w, clean["use_local_pilot"] == 1),
        ("use", "none"): _pct(w, clean["use_none"] == 1),
        ("use", "dont_know"): _pct(w, clean["use_dont_know"] == 1),
        ("approval", "approve_any"): _pct(w, approval >= 4),
        ("approval", "approve_strongly"): _pct(w, approval == 5),
        ("approval", "neutral"): _pct(w, approval == 3),
        ("approval", "disapprove_any"): _pct(w, approval <= 2),
        ("approval", "doubters"): _pct(w, approval <= 3),
        ("approval", "strong_commercial_users"): _pct(w, approval == 5, user),
        ("approval", "approve_urban"): _pct(w, approval >= 4, clean["urban"] == 1),
        ("approval", "approve_rural"): _pct(w, approval >= 4, clean["urban"] == 0),
    }
    for (group, key), value in got.items():
        assert value == pytest.approx(PUBLISHED[group][key]["value"], abs=3.0), key


def test_ordered_logit_of_model_7_recovers_the_published_log_odds(weighted):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    clean, _ = weighted
    users = clean[clean["commercial_user"] == 1]
    x = pd.DataFrame({"age10": users["age"] / 10, "male": users["male"],
                      "urban": users["urban"]})
    for code, label in ((2, "1000-4000"), (3, ">4000"), (4, "undisclosed")):
        x[f"income[{label}]"] = users["income"] == code
    for code, label in ((2, "low"), (3, "medium"), (4, "high")):
        x[f"education[{label}]"] = users["education"] == code
    x["region[Central]"] = users["region"] == "Central"
    x["region[West]"] = users["region"] == "West"
    terms = [t for t in ss.TRUE_BETA if t not in x]
    for term in terms:
        x[term] = users[term]
    x = x.astype(float)
    keep = x.notna().all(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = OrderedModel(users.loc[keep, "approval"].astype(int).to_numpy(), x[keep],
                           distr="logit").fit(method="bfgs", disp=False, maxiter=5000)
    for key, published in PUBLISHED["ordered_logit"].items():
        term = {"confidence_government": "confidence_gov",
                "fn_abide_regulations": "fn_regulations",
                "fn_honest_accountable": "fn_honest"}.get(key, key)
        assert ss.TRUE_BETA[term][0] == published["value"]
        assert abs(fit.params[term] - published["value"]) < 2 * fit.bse[term], term
