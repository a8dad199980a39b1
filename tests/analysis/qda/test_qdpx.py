"""Tests of the REFI-QDA reader and the tidy-export readers (analysis/qda/qdpx.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from analysis.project import PROJECT_ROOT
from analysis.qda.qdpx import (
    QdpxError,
    read_case_code_csv,
    read_participants,
    read_qdc,
    read_qdpx,
    read_segments_csv,
    validate_qde,
)

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "refi"
XSD = FIXTURES / "Project-mrt2019.xsd"
RAW = PROJECT_ROOT / "data" / "raw" / "interviews"
QDPX = RAW / "scs_interviews.qdpx"
PRIVACY_CODE = "00000000-0000-4000-8000-000000000011"
SOURCE_TEXT = (FIXTURES / "minimal_source.txt").read_text(encoding="utf-8")
PHRASE = "I worry about where my data go."


def _minimal_qde(start: int, end: int, coderef: str = PRIVACY_CODE) -> bytes:
    template = (FIXTURES / "minimal.qde").read_text(encoding="utf-8")
    filled = template.replace("START", str(start)).replace("END", str(end))
    return filled.replace("CODEREF", coderef).encode("utf-8")


def _zip(tmp_path: Path, qde: bytes, name: str = "p.qdpx") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde)
        zf.writestr("sources/minimal.txt", SOURCE_TEXT.encode("utf-8"))
    return path


def _phrase_span() -> tuple[int, int]:
    start = SOURCE_TEXT.index(PHRASE)
    return start, start + len(PHRASE)


def test_stand_in_project_validates_against_published_refi_project_xsd():
    with zipfile.ZipFile(QDPX) as zf:
        validate_qde(zf.read("project.qde"), XSD)


def test_minimal_fixture_validates_and_xsd_rejects_a_broken_guid():
    validate_qde(_minimal_qde(*_phrase_span()), XSD)
    with pytest.raises(QdpxError, match="XSD"):
        validate_qde(_minimal_qde(*_phrase_span(), coderef="not-a-guid"), XSD)


def test_reader_detects_namespace_and_version_from_root_element():
    project = read_qdpx(QDPX)
    assert project.namespace == "urn:QDA-XML:project:1.0"
    assert project.version == "1.0"
    assert len(project.cases) == 44 and len(project.sources) == 44
    assert set(project.users.values()) == {"Coder A", "Coder B"}


def test_selection_positions_count_unicode_code_points_end_exclusive(tmp_path):
    # the source has curly quotes, an ellipsis, a dash and Chinese characters before the
    # phrase, so UTF-8 byte offsets would land elsewhere
    start, end = _phrase_span()
    assert len(SOURCE_TEXT[:start].encode("utf-8")) != start
    project = read_qdpx(_zip(tmp_path, _minimal_qde(start, end)))
    (segment,) = project.segments
    assert (segment.start, segment.end) == (start, end)
    assert project.segment_text(segment) == PHRASE
    assert project.users[segment.coder] == "Coder A"
    assert project.codes[segment.code].path == (
        "Concerns",
        "Personal information privacy and safety",
    )


def test_every_stand_in_segment_matches_the_text_in_the_segments_export():
    project = read_qdpx(QDPX)
    names = {code.name for code in project.codes.values()}
    exported = read_segments_csv(RAW / "scs_interviews_segments.csv", names)
    case_name = {src: project.cases[c].name for src, c in project.case_of_source().items()}
    from_qdpx = sorted(
        (case_name[s.source], project.users[s.coder], project.codes[s.code].name, s.start, s.end)
        for s in project.segments
    )
    from_csv = sorted((s.case, s.coder, s.code, s.start, s.end) for s in exported)
    assert from_qdpx == from_csv


def test_malformed_xml_is_an_error_naming_file_and_line(tmp_path):
    path = _zip(tmp_path, (FIXTURES / "malformed.qde").read_bytes())
    with pytest.raises(QdpxError, match=r"p\.qdpx!project\.qde: malformed XML at line \d+"):
        read_qdpx(path)


def test_coderef_to_unknown_code_is_an_error_naming_the_selection(tmp_path):
    unknown = "00000000-0000-4000-8000-0000000000ff"
    path = _zip(tmp_path, _minimal_qde(*_phrase_span(), coderef=unknown))
    with pytest.raises(QdpxError) as err:
        read_qdpx(path)
    message = str(err.value)
    assert "PlainTextSelection 00000000-0000-4000-8000-000000000030" in message
    assert f"CodeRef targetGUID {unknown} names no Code" in message


def test_selection_outside_its_source_text_is_an_error(tmp_path):
    path = _zip(tmp_path, _minimal_qde(10, len(SOURCE_TEXT) + 5))
    with pytest.raises(QdpxError, match="lies outside source 'T1'"):
        read_qdpx(path)


def test_reversed_selection_is_an_error_but_a_zero_length_one_is_read(tmp_path):
    with pytest.raises(QdpxError, match=r"selection \[30, 20\) lies outside source 'T1'"):
        read_qdpx(_zip(tmp_path, _minimal_qde(30, 20), "reversed.qdpx"))
    (segment,) = read_qdpx(_zip(tmp_path, _minimal_qde(20, 20))).segments
    assert (segment.start, segment.end) == (20, 20)


def test_doctype_declarations_are_refused(tmp_path):
    qde = _minimal_qde(*_phrase_span()).replace(
        b"<Project", b'<!DOCTYPE p [<!ENTITY x "y">]>\n<Project', 1
    )
    with pytest.raises(QdpxError, match="DOCTYPE/ENTITY"):
        read_qdpx(_zip(tmp_path, qde))


def test_not_a_zip_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.qdpx"
    path.write_bytes(b"not a zip")
    with pytest.raises(QdpxError, match="broken.qdpx: not a readable .qdpx"):
        read_qdpx(path)


def test_wrong_namespace_is_an_error(tmp_path):
    qde = _minimal_qde(*_phrase_span()).replace(b"urn:QDA-XML:project:1.0", b"urn:other:1.0")
    with pytest.raises(QdpxError, match="not in a urn:QDA-XML:project:<version> namespace"):
        read_qdpx(_zip(tmp_path, qde))


def test_bare_codebook_qdc_holds_the_same_code_tree_as_the_project():
    from_qdc = {c.path for c in read_qdc(RAW / "scs_interviews_codebook.qdc").values()}
    from_project = {c.path for c in read_qdpx(QDPX).codes.values()}
    assert from_qdc == from_project
    assert len([p for p in from_qdc if len(p) == 3 and p[0] == "Barriers"]) == 14


def test_unknown_code_in_segments_csv_is_an_error_naming_row_and_column():
    names = {"Personal information privacy and safety"}
    with pytest.raises(QdpxError) as err:
        read_segments_csv(FIXTURES / "bad_segments_unknown_code.csv", names)
    assert "bad_segments_unknown_code.csv: row 3, column 'code'" in str(err.value)
    assert "'Fear of ghosts'" in str(err.value)


def test_unknown_code_column_in_case_code_csv_is_an_error(tmp_path):
    path = tmp_path / "cc.csv"
    path.write_text("case,Known,Typo code\nA,1,0\n", encoding="utf-8")
    with pytest.raises(QdpxError, match="column 'Typo code': unknown code"):
        read_case_code_csv(path, {"Known"})


def test_case_code_csv_reads_presence_per_case(tmp_path):
    path = tmp_path / "cc.csv"
    path.write_text("case,X,Y\nA,2,0\nB,0,1\n", encoding="utf-8")
    assert read_case_code_csv(path, {"X", "Y"}) == {"A": {"X"}, "B": {"Y"}}


def test_participants_file_requires_every_demographic_column(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("case,Gender\nA,Male\n", encoding="utf-8")
    assert read_participants(path, ["Gender"]) == {"A": {"Gender": "Male"}}
    with pytest.raises(QdpxError, match=r"lacks required column\(s\) \['Region'\]"):
        read_participants(path, ["Gender", "Region"])
