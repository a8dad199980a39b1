"""Reading raw exports: encodings, labelled formats and the ways exports break."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from analysis.survey.reader import SurveyReadError, read_survey
from tests.buildutil import ROOT
from tests.fixtures.survey_bad import corrupt, mini

FIXTURES = ROOT / "tests" / "fixtures" / "survey_bad"
CODEBOOK = mini.CODEBOOK
HEADER = mini.HEADER
ROWS = mini.ROWS


def good_bytes(newline: str = "\n") -> bytes:
    return ("\ufeff" + newline.join([HEADER, *ROWS]) + newline).encode("utf-8")


def write(tmp_path: Path, data: bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bom_csv_reads_with_encoding_reported_and_blanks_as_na(tmp_path):
    data = read_survey(write(tmp_path, good_bytes()), CODEBOOK.columns)
    assert data.encoding.startswith("utf-8-sig")
    assert list(data.frame.columns) == HEADER.split(",")
    assert data.frame.loc[1, "respondent_id"] == "R0000002"
    assert pd.isna(data.frame.loc[1, "end_time"])
    assert data.lines.tolist() == [2, 3, 4]


def test_crlf_and_plain_utf8_read_identically(tmp_path):
    crlf = read_survey(write(tmp_path, good_bytes("\r\n"), "a.csv"))
    plain = read_survey(write(tmp_path, good_bytes()[3:], "b.csv"))
    assert plain.encoding == "utf-8"
    pd.testing.assert_frame_equal(crlf.frame, plain.frame)


def test_gb18030_csv_with_chinese_text_is_detected_and_decoded(tmp_path):
    text = "respondent_id,province_zh,comment\nR1,北京,信用很好\nR2,新疆维吾尔自治区,不知道\n"
    data = read_survey(write(tmp_path, text.encode("gb18030")))
    assert data.encoding == "gb18030"
    assert data.frame["province_zh"].tolist() == ["北京", "新疆维吾尔自治区"]
    assert data.frame.loc[0, "comment"] == "信用很好"


def test_gbk_encoded_file_reads_as_gb18030(tmp_path):
    text = "respondent_id,comment\nR1,芝麻信用\n"
    assert read_survey(write(tmp_path, text.encode("gbk"))).frame.loc[0, "comment"] == "芝麻信用"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (corrupt.wrong_encoding, r"wrong encoding.*invalid byte 0xe9 on line 3"),
        (corrupt.utf16, r"wrong encoding.*UTF-16"),
        (corrupt.semicolon_delimited, r"wrong delimiter.*semicolon"),
        (corrupt.truncated_last_line, r"truncated last line 4.*of 9 fields"),
        (corrupt.excel_title_row, r"header row offset.*line 3"),
        (corrupt.header_only, r"header only"),
        (corrupt.empty, r"empty file"),
    ],
)
def test_broken_export_fails_with_a_message_naming_the_problem(tmp_path, damage, message):
    path = write(tmp_path, damage(good_bytes()))
    with pytest.raises(SurveyReadError, match=message) as info:
        read_survey(path, CODEBOOK.columns)
    assert str(path) in str(info.value)


def test_missing_final_newline_is_reported_as_possible_truncation(tmp_path):
    path = write(tmp_path, good_bytes().rstrip(b"\n"))
    with pytest.raises(SurveyReadError, match="truncated last line 4.*newline"):
        read_survey(path)


def test_ragged_row_in_the_middle_is_reported_with_its_line(tmp_path):
    lines = good_bytes().decode("utf-8").splitlines()
    lines[2] = lines[2] + ",extra"
    path = write(tmp_path, ("\n".join(lines) + "\n").encode("utf-8"))
    with pytest.raises(SurveyReadError, match="line 3 has 10"):
        read_survey(path)


def test_title_row_is_detected_without_a_codebook(tmp_path):
    path = write(tmp_path, corrupt.excel_title_row(good_bytes()))
    with pytest.raises(SurveyReadError, match="header row offset"):
        read_survey(path)


def test_unsupported_extension_is_rejected(tmp_path):
    with pytest.raises(SurveyReadError, match="unsupported file type"):
        read_survey(write(tmp_path, b"x", "export.xlsx"))


def _labelled_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "respondent_id": ["R0000001", "R0000002"],
            "gender": [1.0, 0.0],
            "approval": [5.0, 3.0],
        }
    )


LABELS = {
    "gender": {0: "female", 1: "male"},
    "approval": {1: "strongly disapprove", 3: "neither", 5: "strongly approve"},
}


def test_sav_keeps_value_and_variable_labels(tmp_path):
    path = tmp_path / "export.sav"
    pyreadstat.write_sav(
        _labelled_frame(), str(path), variable_value_labels=LABELS,
        column_labels=["Vendor ID", "Gender", "Approval of SCSs"],
    )
    data = read_survey(path)
    assert data.format == "sav"
    assert data.value_labels == LABELS
    assert data.variable_labels["approval"] == "Approval of SCSs"
    assert data.frame["approval"].tolist() == [5.0, 3.0]
    assert data.frame["respondent_id"].tolist() == ["R0000001", "R0000002"]


def test_dta_keeps_value_labels(tmp_path):
    path = tmp_path / "export.dta"
    pyreadstat.write_dta(_labelled_frame(), str(path), variable_value_labels=LABELS)
    data = read_survey(path)
    assert data.format == "dta"
    assert data.value_labels == LABELS
    assert data.lines.tolist() == [1, 2]


def test_sav_without_cases_is_header_only(tmp_path):
    path = tmp_path / "export.sav"
    pyreadstat.write_sav(_labelled_frame().iloc[:0], str(path))
    with pytest.raises(SurveyReadError, match="header only"):
        read_survey(path)
