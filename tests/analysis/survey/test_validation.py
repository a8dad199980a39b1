"""Validation of raw exports against the codebook: every failure, with its location."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.survey.codebook import CodebookError, evaluate_condition, load_survey_codebook
from analysis.survey.reader import read_survey
from analysis.survey.validation import ValidationError, check_unique, validate_raw
from tests.buildutil import ROOT
from tests.fixtures.survey_bad import corrupt, mini

FIXTURES = ROOT / "tests" / "fixtures" / "survey_bad"
ROWS = [
    *mini.ROWS,
    "R0000003,2018-02-21 10:15:00,2018-02-21 10:31:00,1,35,0,1,9999,4",
]
CODEBOOK = mini.CODEBOOK
HEADER = mini.HEADER


def export(tmp_path: Path, data: bytes | None = None) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(data if data is not None else ("\n".join([HEADER, *ROWS]) + "\n").encode())
    return path


def failures(path: Path, **kwargs) -> list:
    with pytest.raises(ValidationError) as info:
        validate_raw(read_survey(path, CODEBOOK.columns), CODEBOOK, **kwargs)
    return info.value.issues


def test_valid_export_is_typed_per_codebook(tmp_path):
    typed = validate_raw(read_survey(export(tmp_path)), CODEBOOK)
    assert str(typed["age"].dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(typed["start_time"])
    assert typed["sesame_score"].tolist()[:1] == [612]
    assert pd.isna(typed.loc[1, "approval"])  # broke off: blank is allowed


def test_repeated_submission_of_an_id_is_not_a_format_error(tmp_path):
    typed = validate_raw(read_survey(export(tmp_path)), CODEBOOK)
    assert typed["respondent_id"].duplicated().sum() == 1


def test_out_of_range_code_names_file_line_id_column_value_and_rule(tmp_path):
    path = export(tmp_path, corrupt.set_cell(export(tmp_path).read_bytes(), 0, "approval", "7"))
    [issue] = failures(path)
    assert (issue.file, issue.line, issue.respondent_id) == (str(path), 2, "R0000001")
    assert (issue.column, issue.value) == ("approval", "7")
    assert issue.rule == "allowed codes [1, 2, 3, 4, 5]"
    assert "export.csv:2 (respondent_id R0000001) column 'approval': value '7'" in str(issue)


def test_all_failures_are_reported_at_once_with_a_count(tmp_path):
    data = export(tmp_path).read_bytes()
    data = corrupt.set_cell(data, 0, "age", "12")          # range
    data = corrupt.set_cell(data, 0, "gender", "x")         # type
    data = corrupt.set_cell(data, 2, "approval", "")        # required if finished
    data = corrupt.set_cell(data, 3, "end_time", "2018-02-21 10:00:00")  # before start
    data = corrupt.set_cell(data, 3, "sesame_score", "100")  # range, missing code allowed
    with pytest.raises(ValidationError) as info:
        validate_raw(read_survey(export(tmp_path, data)), CODEBOOK)
    got = {(i.line, i.column, i.rule.split(" ")[0]) for i in info.value.issues}
    assert got == {
        (2, "age", "range"), (2, "gender", "type:"), (4, "approval", "required"),
        (5, "end_time", "end_time"), (5, "sesame_score", "range"),
    }
    assert "validation failed with 5 problem(s)" in str(info.value)


def test_printed_list_is_capped_but_the_count_is_complete(tmp_path):
    rows = [f"R{i:07d},2018-02-20 10:00:00,,0,99,1,,," for i in range(60)]
    path = export(tmp_path, ("\n".join([HEADER, *rows]) + "\n").encode())
    with pytest.raises(ValidationError) as info:
        validate_raw(read_survey(path), CODEBOOK)
    assert len(info.value.issues) == 60
    assert "60 problem(s)" in str(info.value) and "... and 30 more" in str(info.value)


def test_skip_logic_requires_an_answer_only_when_the_question_was_asked(tmp_path):
    data = corrupt.set_cell(export(tmp_path).read_bytes(), 0, "sesame_score", "")
    [issue] = failures(export(tmp_path, data))
    assert issue.column == "sesame_score" and "asked if use_sesame == 1" in issue.rule


def test_missing_column_is_reported_once_by_name(tmp_path):
    path = export(tmp_path, corrupt.missing_column(export(tmp_path).read_bytes(), "age"))
    [issue] = failures(path)
    assert issue.column == "age" and issue.rule == "required column missing from the file"


def test_unknown_column_is_reported(tmp_path):
    lines = [HEADER + ",note"] + [r + ",x" for r in ROWS]
    [issue] = failures(export(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert issue.column == "note" and issue.rule == "column not in the codebook"


def test_identical_duplicated_record_is_a_format_error(tmp_path):
    path = export(tmp_path, corrupt.duplicated_record(export(tmp_path).read_bytes(), 0))
    issues = failures(path)
    assert {i.line for i in issues} == {2, 3}
    assert all(i.rule.startswith("unique per submission") for i in issues)


def test_strict_uniqueness_rejects_any_repeated_id(tmp_path):
    issues = failures(export(tmp_path), strict_unique=True)
    assert [(i.line, i.value) for i in issues] == [(4, "R0000003"), (5, "R0000003")]


def test_check_unique_names_the_repeated_ids():
    frame = pd.DataFrame({"resp_id": ["a", "b", "a"]})
    with pytest.raises(ValidationError, match="resp_id must not repeat") as info:
        check_unique(frame, "resp_id", "clean.parquet")
    assert len(info.value.issues) == 2


def test_asked_if_conditions_treat_blanks_as_not_asked():
    frame = pd.DataFrame({"a": [1, 0, None, 2], "b": [None, 1, 1, 3]})
    assert evaluate_condition("a == 1 or b in [3]", frame).tolist() == [True, False, False, True]
    assert evaluate_condition("a != 1", frame).tolist() == [False, True, False, True]
    assert evaluate_condition("not (a >= 1) and b == 1", frame).tolist() == [
        False, True, True, False]


def test_asked_if_refuses_code(tmp_path):
    text = (FIXTURES / "mini_codebook.yaml").read_text(encoding="utf-8").replace(
        '"use_sesame == 1"', '"__import__(\'os\').system(\'true\')"')
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError, match="not allowed"):
        load_survey_codebook(path)


def _labelled_export(tmp_path: Path, suffix: str, labels: dict) -> Path:
    """The mini export as an SPSS or Stata file carrying ``labels`` as its value labels."""
    import pyreadstat

    frame = pd.read_csv(export(tmp_path), dtype={"respondent_id": str, "start_time": str,
                                                  "end_time": str})
    frame[["start_time", "end_time"]] = frame[["start_time", "end_time"]].fillna("")
    path = tmp_path / f"export{suffix}"
    writer = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
    writer(frame, str(path), variable_value_labels=labels)
    return path


REVERSED = {
    "approval": {1: "strongly approve", 2: "somewhat approve", 3: "neither",
                 4: "somewhat disapprove", 5: "strongly disapprove"},
    "gender": {0: "male", 1: "female"},
}


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_file_whose_value_labels_reverse_the_codebook_is_refused(tmp_path, suffix):
    path = _labelled_export(tmp_path, suffix, REVERSED)
    issues = failures(path)
    found = {(i.column, i.value) for i in issues if i.rule.startswith("value label")}
    assert found == {("approval", 1), ("approval", 2), ("approval", 4), ("approval", 5),
                     ("gender", 0), ("gender", 1)}
    message = str(next(i for i in issues if (i.column, i.value) == ("approval", 1)))
    assert str(path) in message and "column 'approval'" in message
    assert "code 1 'strongly approve'" in message and "says 'strongly disapprove'" in message


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_file_whose_value_labels_match_the_codebook_passes(tmp_path, suffix):
    labels = {"approval": {c: lab.title() for c, lab in CODEBOOK["approval"].codes.items()},
              "gender": {0: "female", 1: "male"}}
    typed = validate_raw(read_survey(_labelled_export(tmp_path, suffix, labels)), CODEBOOK)
    assert typed["approval"].tolist()[:1] == [5]
