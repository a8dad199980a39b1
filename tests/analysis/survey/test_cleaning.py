"""Exclusion rules, the cleaned file and the all-or-nothing entry point clean_survey."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.project import PROJECT_ROOT, load_config
from analysis.survey.cleaning import (
    CleaningError,
    apply_rules,
    clean_survey,
    exclusion_log,
    longest_run,
)
from analysis.survey.codebook import load_survey_codebook
from analysis.survey.reader import SurveyReadError
from analysis.survey.validation import CLEAN_COLUMNS, ValidationError, validate_clean
from paperkit.manifest import ManifestError, register, registered, sha256_file
from tests.buildutil import FIXTURES
from tests.fixtures.survey_bad import corrupt

RAW = PROJECT_ROOT / "data/raw/survey/scs_survey_2018_export.csv"
CODEBOOK_PATH = PROJECT_ROOT / "data/codebook/survey_codebook.yaml"
PROVINCES = PROJECT_ROOT / "data/codebook/provinces.csv"
MANIFEST = PROJECT_ROOT / "data/raw/MANIFEST.sha256"
RULES = load_config()["cleaning"]["rules"]
needs_data = pytest.mark.skipif(not RAW.exists(), reason="simulated raw export not generated")

MINI = load_survey_codebook(FIXTURES / "survey_bad/mini_codebook.yaml")


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def times(*stamps: str | None) -> pd.Series:
    return pd.to_datetime(pd.Series(stamps), format="%Y-%m-%d %H:%M:%S")


# --- single rules on small frames --------------------------------------------------


def test_speeder_threshold_is_a_fraction_of_the_median_of_finished_rows():
    start = "2018-02-20 10:00:00"
    typed = frame(
        respondent_id=["a", "b", "c", "d", "e"],
        finished=pd.array([1, 1, 1, 1, 0], dtype="Int64"),
        start_time=times(start, start, start, start, start),
        # durations 1000, 1000, 399, 401 s; median of finished rows = 700 -> threshold 280
        end_time=times("2018-02-20 10:16:40", "2018-02-20 10:16:40", "2018-02-20 10:06:39",
                       "2018-02-20 10:04:00", None),
    )
    flags = apply_rules(typed, MINI, {"speeder": {"fraction_of_median": 0.4}})
    assert flags["speeder"].tolist() == [False, False, False, True, False]


def test_longest_run_counts_identical_consecutive_answers_and_blanks_break_runs():
    grid = pd.DataFrame([[3, 3, 3, 1, 1], [2, 2, None, 2, 2], [None] * 5, [4] * 5],
                        dtype="Float64")
    assert longest_run(grid).tolist() == [3, 2, 0, 5]


def test_straight_liner_uses_k_over_the_configured_grid_columns():
    typed = frame(g1=[1, 5, 2], g2=[1, 5, 2], g3=[1, 5, 3], other=[1, 5, 3])
    flags = apply_rules(typed, MINI, {"straight_liner": {"k": 3, "grid": ["g1", "g2", "g3"]}})
    assert flags["straight_liner"].tolist() == [True, True, False]


def test_inconsistent_checks_use_clean_names_and_only_the_configured_checks():
    cb = load_survey_codebook(CODEBOOK_PATH) if CODEBOOK_PATH.exists() else None
    if cb is None:
        pytest.skip("survey codebook not generated")
    typed = frame(
        q8_use_sesame=[1, 0, 0, 0], q8_use_tencent=[0, 0, 0, 0], q8_use_none=[1, 1, 1, 0],
        q8_use_local=[0, 0, 1, 0], q10_sesame_score=[None, 700, None, 700],
        q11_tencent_score=[None, None, None, None], q8_use_dontknow=[0, 0, 0, 0],
    ).astype("Int64")
    both = {"checks": ["use_none_with_commercial_use", "use_none_with_score"]}
    assert apply_rules(typed, cb, {"inconsistent": both})["inconsistent"].tolist() == [
        True, True, False, False]
    local = {"checks": ["use_none_with_local_pilot"]}
    assert apply_rules(typed, cb, {"inconsistent": local})["inconsistent"].tolist() == [
        False, False, True, False]


def test_duplicate_keeps_the_first_submission_by_start_time_not_by_file_order():
    typed = frame(
        respondent_id=["R1", "R2", "R1", "R1"],
        start_time=times("2018-03-02 10:00:00", "2018-03-01 09:00:00", "2018-03-01 08:00:00",
                         "2018-03-03 08:00:00"),
    )
    flags = apply_rules(typed, MINI, {"duplicate": {}})
    assert flags["duplicate"].tolist() == [True, False, False, True]


def test_exclusion_log_records_first_rule_in_config_order_and_all_rules():
    flags = pd.DataFrame({"incomplete": [False, False, True], "speeder": [True, False, False],
                          "straight_liner": [True, False, True]})
    log = exclusion_log(flags, pd.Series(["R1", "R2", "R3"]), pd.Series([2, 3, 4]))
    assert log.to_dict("records") == [
        {"respondent_id": "R1", "line": 2, "first_rule": "speeder",
         "all_rules": "speeder;straight_liner"},
        {"respondent_id": "R3", "line": 4, "first_rule": "incomplete",
         "all_rules": "incomplete;straight_liner"},
    ]


def test_unknown_rule_or_check_is_a_clear_error():
    typed = frame(respondent_id=["a"])
    with pytest.raises(CleaningError, match="unknown cleaning rule.*'speeders'"):
        apply_rules(typed, MINI, {"speeders": {}})
    with pytest.raises(CleaningError, match="unknown inconsistency check 'nonsense'"):
        apply_rules(typed, MINI, {"inconsistent": {"checks": ["nonsense"]}})
    with pytest.raises(CleaningError, match="needs column 'q19_1'"):
        apply_rules(typed, MINI, {"straight_liner": {"k": 2, "grid": ["q19_1", "q19_2"]}})


# --- the committed (simulated) export ----------------------------------------------


def run(tmp: Path, raw: Path = RAW, manifest: Path = MANIFEST, root: Path = PROJECT_ROOT,
        log_name: str = "exclusions.csv") -> dict[str, Path]:
    out = {"clean": tmp / "out/survey_clean.parquet", "log": tmp / f"out/{log_name}",
           "flow": tmp / "out/cleaning.json"}
    clean_survey(raw, CODEBOOK_PATH, PROVINCES, registered(manifest, [raw], root), RULES,
                 out["clean"], out["log"], out["flow"])
    return out


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> dict[str, Path]:
    if not RAW.exists():
        pytest.skip("simulated raw export not generated")
    return run(tmp_path_factory.mktemp("clean"))


@needs_data
def test_flow_on_committed_data_matches_the_generator_design(committed):
    flow = json.loads(committed["flow"].read_text())
    assert (flow["started"], flow["completed"], flow["valid"]) == (3673, 2351, 2209)
    assert flow["excluded_by_first_rule"] == {
        "incomplete": 1322, "speeder": 62, "straight_liner": 42, "inconsistent": 26,
        "duplicate": 12}
    assert flow["started"] - flow["excluded_total"] == flow["valid"]
    assert all(flow["failed_by_rule"][r] >= n for r, n in flow["excluded_by_first_rule"].items())
    assert flow["rule_order"] == list(RULES)


@needs_data
def test_cleaned_file_has_the_contract_layout_and_labels(committed):
    clean = pd.read_parquet(committed["clean"])
    validate_clean(clean, "roundtrip")
    assert list(clean.columns) == CLEAN_COLUMNS and len(clean) == 2209
    assert clean["resp_id"].is_unique
    assert list(clean["income"].cat.categories) == ["<1000", "1000-4000", ">4000", "undisclosed"]
    assert clean["income"].cat.ordered and not clean["gender"].cat.ordered
    users = clean["commercial_user"] == 1
    assert clean.loc[~users, "score_magnitude"].isna().all()
    assert clean.loc[users, "received_benefits"].notna().all()
    assert clean["score_magnitude"].dropna().between(0, 1).all()
    assert (clean["male"] == (clean["gender"] == "male").astype(int)).all()


@needs_data
def test_exclusion_log_lists_every_excluded_row_once(committed):
    log = pd.read_csv(committed["log"])
    flow = json.loads(committed["flow"].read_text())
    assert len(log) == flow["excluded_total"]
    assert log["line"].is_unique
    assert log["first_rule"].value_counts().to_dict() == {
        r: n for r, n in flow["excluded_by_first_rule"].items() if n}
    assert all(row.first_rule == row.all_rules.split(";")[0] for row in log.itertuples())


@needs_data
def test_outputs_are_byte_identical_across_runs_and_raw_is_untouched(committed, tmp_path):
    before = sha256_file(RAW)
    again = {"clean": tmp_path / "c.parquet", "log": tmp_path / "l.csv",
             "flow": tmp_path / "f.json"}
    # the Snakefile passes the whole config section; that is accepted as well
    clean_survey(RAW, CODEBOOK_PATH, PROVINCES, registered(MANIFEST, [RAW], PROJECT_ROOT),
                 {"rules": RULES}, again["clean"], again["log"], again["flow"])
    for key in ("clean", "log", "flow"):
        assert again[key].read_bytes() == committed[key].read_bytes(), key
    assert sha256_file(RAW) == before


# --- corrupted copies: a clear error and nothing written ----------------------------


def corrupted_project(tmp_path: Path, data: bytes) -> Path:
    raw = tmp_path / "data/raw/survey/export.csv"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(data)
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    return raw


def _first_id(data: bytes) -> str:
    return data.split(b"\n")[1].split(b",")[0].decode()


CORRUPTIONS = {
    "wrong encoding": (corrupt.wrong_encoding, SurveyReadError, r"wrong encoding.*0xe9 on line 3"),
    "utf-16": (corrupt.utf16, SurveyReadError, r"wrong encoding.*UTF-16"),
    "missing column": (lambda d: corrupt.missing_column(d, "age"), ValidationError,
                       r"column 'age' -- rule: required column missing"),
    "out-of-range code": (lambda d: corrupt.set_cell(d, 0, "q21_approval", "7"), ValidationError,
                          r"export.csv:2 \(respondent_id R\d+\) column 'q21_approval': "
                          r"value '7' -- rule: allowed codes \[1, 2, 3, 4, 5\]"),
    "duplicated id": (lambda d: corrupt.duplicated_record(d, 0), ValidationError,
                      r"export.csv:3 .*column 'respondent_id'.*unique per submission"),
    "truncated last line": (corrupt.truncated_last_line, SurveyReadError, r"truncated last line"),
    "excel header offset": (corrupt.excel_title_row, SurveyReadError,
                            r"header row offset: the column names are on line 3"),
    "wrong delimiter": (corrupt.semicolon_delimited, SurveyReadError, r"wrong delimiter"),
    "header only": (corrupt.header_only, SurveyReadError, r"header only"),
    "empty": (corrupt.empty, SurveyReadError, r"empty file"),
}


@needs_data
@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupted_raw_copy_fails_naming_the_problem_and_writes_nothing(tmp_path, name):
    damage, error, message = CORRUPTIONS[name]
    original = RAW.read_bytes()
    raw = corrupted_project(tmp_path, damage(original))
    damaged = raw.read_bytes()
    with pytest.raises(error, match=message):
        run(tmp_path, raw, tmp_path / "data/raw/MANIFEST.sha256", tmp_path)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert raw.read_bytes() == damaged
    assert RAW.read_bytes() == original


@needs_data
def test_unregistered_change_stops_before_reading_and_says_how_to_register(tmp_path):
    raw = corrupted_project(tmp_path, RAW.read_bytes())
    raw.write_bytes(corrupt.set_cell(raw.read_bytes(), 0, "age", "30"))
    with pytest.raises(ManifestError, match=r"data/raw/survey/export.csv: changed since it was "
                       r"registered[\s\S]*make register-data"):
        run(tmp_path, raw, tmp_path / "data/raw/MANIFEST.sha256", tmp_path)
    assert not (tmp_path / "out").exists()


@needs_data
def test_failure_after_partial_outputs_exist_leaves_old_outputs_untouched(tmp_path):
    out = run(tmp_path, log_name="exclusions.parquet")
    before = {k: p.read_bytes() for k, p in out.items()}
    raw = corrupted_project(tmp_path / "p", corrupt.set_cell(RAW.read_bytes(), 3, "age", "99"))
    with pytest.raises(ValidationError, match="range"):
        run(tmp_path, raw, tmp_path / "p/data/raw/MANIFEST.sha256", tmp_path / "p")
    assert {k: p.read_bytes() for k, p in out.items()} == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in out.values())


@needs_data
def test_validate_clean_rejects_a_missing_column_and_a_foreign_category(committed):
    clean = pd.read_parquet(committed["clean"])
    with pytest.raises(ValidationError, match="approval"):
        validate_clean(clean.drop(columns=["approval"]), "x.parquet")
    clean["region"] = clean["region"].cat.rename_categories({"West": "Western"})
    with pytest.raises(ValidationError, match="region"):
        validate_clean(clean, "x.parquet")


@needs_data
def test_validate_clean_names_duplicated_ids(committed):
    clean = pd.read_parquet(committed["clean"])
    doubled = pd.concat([clean, clean.iloc[:1]], ignore_index=True)
    with pytest.raises(ValidationError, match="resp_id") as info:
        validate_clean(doubled, "clean.parquet")
    assert clean["resp_id"].iloc[0] in str(info.value)


def _labelled_copy(path: Path, fmt: str) -> None:
    """The committed export as a vendor's SPSS/Stata file, value labels from the codebook."""
    import pyreadstat

    from analysis.survey.reader import read_survey
    from analysis.survey.validation import validate_raw

    cb = load_survey_codebook(CODEBOOK_PATH)
    typed = validate_raw(read_survey(RAW, cb.columns), cb)
    out = typed.apply(lambda s: s.astype("float64") if str(s.dtype) == "Int64" else s)
    out["respondent_id"] = out["respondent_id"].astype(object)
    labels = {n: {**v.codes, **v.missing_codes} for n, v in cb.variables.items() if v.codes}
    writer = pyreadstat.write_sav if fmt == "sav" else pyreadstat.write_dta
    writer(out, str(path), variable_value_labels=labels)


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_spss_and_stata_copies_clean_to_the_same_file_as_the_csv(tmp_path, committed, fmt):
    raw = tmp_path / f"data/raw/survey/export.{fmt}"
    raw.parent.mkdir(parents=True)
    _labelled_copy(raw, fmt)
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    out = run(tmp_path, raw, tmp_path / "data/raw/MANIFEST.sha256", tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(out["clean"]),
                                  pd.read_parquet(committed["clean"]))
    flow = json.loads(out["flow"].read_text())
    assert flow["valid"] == 2209 and flow["source"]["format"] == fmt
