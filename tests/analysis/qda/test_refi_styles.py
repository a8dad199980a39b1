"""The interview strand reads what NVivo, ATLAS.ti, MAXQDA, QualCoder and Taguette write.

The stand-in project is re-exported in each tool's style (tests/refi_styles.py) and read
through a mapping file alone: the tally, demographics and reliability must equal the
stand-in's, every segment must hold the same text and start and end on word boundaries,
and every coding must be accounted for.
"""

from __future__ import annotations

import copy
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import yaml

from analysis.interviews.mapping import MappingError
from analysis.interviews.study import StudyError, build_study
from analysis.interviews.themes import (
    ThemesError,
    analyse,
    load_barrier_codebook,
    load_study_mapping,
)
from analysis.project import PROJECT_ROOT, load_config
from analysis.qda.positions import on_boundary
from analysis.qda.qdpx import QdpxError, read_qdc, read_qdpx, source_kinds, validate_qde
from paperkit.deidentify import deidentify_project
from tests.refi_styles import STYLES, mapping_for, stand_in_interviews, write_style

SETTINGS = load_config()["themes"]
QDPX = PROJECT_ROOT / "data" / "raw" / "interviews" / "scs_interviews.qdpx"
XSD = PROJECT_ROOT / "tests" / "fixtures" / "refi" / "Project-mrt2019.xsd"
COMPARED = ("barriers", "design", "demographics", "reliability", "cooccurrence")
EXPECTED_CONVENTION = {
    "nvivo_windows": "utf16",
    "nvivo_mac": "utf16",
    "nvivo_lf": "utf16_lf2",
    "atlas": "code_points_crlf1",
    "maxqda": "code_points",
    "qualcoder": "code_points",
}


@pytest.fixture(scope="module")
def codebook():
    return load_barrier_codebook(PROJECT_ROOT / SETTINGS["codebook"])


@pytest.fixture(scope="module")
def stand_in(codebook):
    mapping = load_study_mapping(PROJECT_ROOT / SETTINGS["mapping"], codebook)
    project = read_qdpx(QDPX)
    study = build_study(project, mapping)
    return project, study, analyse(project, codebook, SETTINGS, mapping)


@pytest.fixture(scope="module")
def exports(tmp_path_factory, codebook, stand_in):
    """name -> (qdpx path, mapping path, participants CSV or None), written once."""
    project, study, _result = stand_in
    interviews = stand_in_interviews(project, study.keys)
    out = tmp_path_factory.mktemp("refi_styles")
    made = {}
    for name, style in STYLES.items():
        qdpx = write_style(style, codebook, interviews, out / f"{name}.qdpx")
        mapping = mapping_for(style, codebook, out, interviews)
        people = mapping.pop("_participants", None)
        mapping_path = out / f"{name}_mapping.yaml"
        mapping_path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
        made[name] = (qdpx, mapping_path, people)
    return made


def _read(exports, codebook, name, **changes):
    qdpx, mapping_path, people = exports[name]
    raw = yaml.safe_load(mapping_path.read_text(encoding="utf-8"))
    raw.update(changes)
    path = mapping_path.with_name(f"{name}_changed.yaml")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    mapping = load_study_mapping(path, codebook)
    project = read_qdpx(qdpx, mapping.positions, mapping.min_word_boundary_share)
    return project, mapping, {**SETTINGS, "participants": people}


@pytest.mark.parametrize("name", sorted(STYLES))
def test_each_tool_style_reads_to_the_stand_in_tally_with_a_mapping_file_only(
    name, exports, codebook, stand_in
):
    project, mapping, settings = _read(exports, codebook, name)
    result = analyse(project, codebook, settings, mapping)
    for key in COMPARED:
        assert result[key] == stand_in[2][key], (name, key)


@pytest.mark.parametrize("name", sorted(STYLES))
def test_position_convention_is_found_and_segments_hold_the_stand_in_texts(
    name, exports, codebook, stand_in
):
    project, mapping, _settings = _read(exports, codebook, name)
    assert project.positions.convention.key == EXPECTED_CONVENTION[name]
    assert project.positions.distinguishable
    keys, _ignored = build_study(project, mapping).keys, None
    base_project, base_study, _result = stand_in
    case_of = base_project.case_of_source()

    def texts(p, k, name_of):
        return Counter(
            (name_of(s), k[s.code], p.segment_text(s).replace("\r\n", "\n"))
            for s in p.segments if s.code in k and s.layer is not None
        )

    expected = texts(base_project, base_study.keys,
                     lambda s: base_project.cases[case_of[s.source]].name)
    got = texts(project, keys, lambda s: _interview_name(project.sources[s.source].name))
    assert got == expected
    for seg in project.segments:
        if seg.layer is not None and seg.start != seg.end:
            text = project.texts[seg.layer]
            assert on_boundary(text, seg.start) and on_boundary(text, seg.end), seg


@pytest.mark.parametrize("name", sorted(n for n, s in STYLES.items() if "1.0" in s.namespace))
def test_tool_style_exports_are_valid_refi_qda_projects(name, exports):
    qdpx, _mapping, _people = exports[name]
    with zipfile.ZipFile(qdpx) as zf:
        validate_qde(zf.read(STYLES[name].member), XSD)


def _interview_name(source_name: str) -> str:
    return source_name.split(".")[0]


@pytest.mark.parametrize(("name", "wrong", "message"), [
    ("nvivo_windows", "code_points", r"lies outside source 'INT-\d\d' .* UTF-16 units"),
    ("atlas", "code_points", r"only \d+% of the \d+ segment ends fall on word boundaries"),
    ("qualcoder", "utf16", r"falls inside a character \(a UTF-16 surrogate pair"),
])
def test_a_wrong_position_convention_fails_loudly(name, wrong, message, exports, codebook):
    with pytest.raises(QdpxError, match=message):
        _read(exports, codebook, name, positions={"convention": wrong})


def test_every_coding_is_accounted_for_by_kind(exports, codebook):
    project, mapping, _settings = _read(exports, codebook, "nvivo_mac")
    study = build_study(project, mapping)
    assert sum(study.accounting.values()) == len(project.segments)
    assert study.accounting["case membership (case codes)"] == 44
    assert study.accounting["ignored (ignore_codes)"] == 44  # the closing words
    assert study.not_interviewees == {
        "excluded by interviewees.exclude_documents": ["Interview guide"]}


def test_atlas_project_xml_named_after_the_project_pdf_texts_and_a_source_in_two_cases(
    exports, codebook
):
    project, mapping, _settings = _read(exports, codebook, "atlas")
    assert project.member == "SCS interviews.qde"
    assert source_kinds(project) == {"PDFSource": 44, "TextSource": 1}
    study = build_study(project, mapping)
    assert len(study.units) == 44
    assert study.not_interviewees["case excluded by interviewees.exclude_cases"] == [
        "Pilot group"]


def test_maxqda_audio_transcript_and_document_variables_are_read(exports, codebook):
    project, mapping, _settings = _read(exports, codebook, "maxqda")
    kinds = Counter(s.kind for s in project.segments)
    assert kinds["TranscriptSelection"] > 0 and kinds["AudioSelection"] == 1
    audio = next(s for s in project.sources.values() if s.kind == "AudioSource")
    assert re.fullmatch(r"[A-Z]+-\d\d\.m4a", audio.name)
    assert audio.variables["Gender"] in ("Male", "Female")
    assert all(re.fullmatch(r"[A-Z]+-\d\d(\.m4a)?", case.name) for case in project.cases.values())


def test_qualcoder_inline_text_and_picture_source_are_read(exports, codebook):
    project, _mapping, _settings = _read(exports, codebook, "qualcoder")
    assert source_kinds(project)["PictureSource"] == 1
    assert any(s.kind == "PictureSource" and s.name == "Field site photo.jpg"
               for s in project.sources.values())


def test_a_document_that_is_not_an_interview_stops_the_build_unless_excluded(
    exports, codebook
):
    project, mapping, settings = _read(exports, codebook, "nvivo_windows",
                                       interviewees={"exclude_documents": []})
    with pytest.raises((ThemesError, StudyError), match="Interview guide"):
        analyse(project, codebook, settings, mapping)


def test_unmapped_code_stops_the_build_naming_coding_code_and_source(exports, codebook):
    project, mapping, _settings = _read(exports, codebook, "qualcoder", ignore_codes=[])
    with pytest.raises(StudyError) as err:
        build_study(project, mapping)
    message = str(err.value)
    assert "44 coding(s) cannot be tallied" in message
    assert "code 'Closing remarks'" in message and "in no entry of" in message
    assert "coding " in message and "in source 'INT-" in message


def test_coding_on_a_category_code_is_an_error_not_a_silent_drop(stand_in, codebook):
    project, study, _result = stand_in
    broken = copy.deepcopy(project)
    category = next(g for g, c in broken.codes.items() if c.path == ("Barriers", "Efforts"))
    seg = broken.segments[0]
    broken.segments.append(type(seg)(seg.source, category, seg.coder, seg.start, seg.end,
                                     seg.selection, seg.layer, seg.kind, "extra-coding"))
    mapping = load_study_mapping(PROJECT_ROOT / SETTINGS["mapping"], codebook)
    with pytest.raises(StudyError) as err:
        build_study(broken, mapping)
    assert "'Barriers/Efforts'" in str(err.value)
    assert "a category code (isCodable=false)" in str(err.value)
    assert "coding extra-coding in source 'INT-" in str(err.value)


def test_status_can_come_from_case_variables(stand_in, codebook, tmp_path):
    project, study, result = stand_in
    changed = copy.deepcopy(project)
    part = set(study.long[study.long["code"] == "status:participant"]["case"])
    for guid, case in changed.cases.items():
        case.variables["SCS participation"] = "Yes" if guid in part else "No"
    raw = yaml.safe_load((PROJECT_ROOT / SETTINGS["mapping"]).read_text(encoding="utf-8"))
    codes = [raw["status"][k]["code"] for k in ("participant", "non_participant")]
    raw["status"]["participant"] = {"variable": "SCS participation", "values": ["yes"]}
    raw["status"]["non_participant"] = {"variable": "SCS participation", "values": ["no"]}
    raw["ignore_codes"] = codes
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    mapping = load_study_mapping(path, codebook)
    again = analyse(changed, codebook, SETTINGS, mapping)
    assert again["design"] == result["design"] and again["barriers"] == result["barriers"]


def test_mapping_file_is_validated_and_lists_every_problem(codebook, tmp_path):
    raw = yaml.safe_load((PROJECT_ROOT / SETTINGS["mapping"]).read_text(encoding="utf-8"))
    raw["barriers"]["a_new_barrier"] = raw["barriers"].pop("concerns_fairness")
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_study_mapping(path, codebook)
    assert "'concerns_fairness' is not mapped" in str(err.value)
    assert "'a_new_barrier' is not a barrier key" in str(err.value)
    raw["barriers"]["concerns_fairness"] = raw["barriers"].pop("a_new_barrier")
    raw["positions"] = {"convention": "bytes"}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MappingError, match=r"positions.convention"):
        load_study_mapping(path, codebook)


def test_participants_csv_keyed_by_name_names_the_missing_row(exports, codebook, tmp_path):
    project, mapping, settings = _read(exports, codebook, "nvivo_windows")
    lines = Path(settings["participants"]).read_text(encoding="utf-8").splitlines()
    short = tmp_path / "people.csv"
    missing = lines[7].split(",")[0]
    short.write_text("\n".join(line for line in lines if not line.startswith(missing)),
                     encoding="utf-8")
    with pytest.raises(StudyError, match=rf"'{missing}': no row for '{missing}'"):
        analyse(project, codebook, {**settings, "participants": str(short)}, mapping)


def _rezip(path: Path, tmp_path: Path, edit, rename: dict[str, str] | None = None) -> Path:
    out = tmp_path / f"edited_{path.name}"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            name = (rename or {}).get(info.filename, info.filename)
            if name.endswith(".qde"):
                data = edit(data.decode("utf-8")).encode("utf-8")
            dst.writestr(name, data)
    return out


@pytest.mark.parametrize("namespace", ["urn:QDA-XML:project:1:0", "urn:QDA-XML:project:0:4"])
def test_namespace_variants_are_read(namespace, tmp_path):
    path = _rezip(QDPX, tmp_path, lambda x: x.replace("urn:QDA-XML:project:1.0", namespace))
    assert len(read_qdpx(path).segments) == len(read_qdpx(QDPX).segments)


def test_an_unsupported_version_and_an_outside_path_say_what_is_wrong(tmp_path):
    v2 = _rezip(QDPX, tmp_path, lambda x: x.replace("project:1.0", "project:2.0"))
    with pytest.raises(QdpxError, match=r"unsupported REFI-QDA version '2.0'.*0.x, 1.x"):
        read_qdpx(v2)
    outside = _rezip(QDPX, tmp_path, lambda x: x.replace("internal://", "relative://", 1))
    with pytest.raises(QdpxError, match=r"points outside the .qdpx; export the project with"):
        read_qdpx(outside)


def test_a_project_without_codebook_is_read_and_its_codings_named(tmp_path):
    def drop(xml: str) -> str:
        start, end = xml.index("<CodeBook>"), xml.index("</CodeBook>") + len("</CodeBook>")
        return xml[:start] + xml[end:]

    bare = _rezip(QDPX, tmp_path, drop)
    with pytest.raises(QdpxError, match="CodeRef targetGUID .* names no Code in the CodeBook"):
        read_qdpx(bare)
    uncoded = _rezip(QDPX, tmp_path, lambda x: _strip_selections(drop(x)))
    project = read_qdpx(uncoded)
    assert project.codes == {} and project.segments == [] and len(project.sources) == 44


def _strip_selections(xml: str) -> str:
    return re.sub(r"<PlainTextSelection .*?</PlainTextSelection>", "", xml, flags=re.S)


def test_taguette_and_nvivo_codebooks_qdc_are_read(tmp_path):
    taguette = tmp_path / "codebook.qdc"
    taguette.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0" '
        'origin="Taguette 1.4.1"><Codes><Code guid="6D1F4E4A-1D5B-5D7E-9E2B-0B5F0E2C4A11" '
        'name="efforts.complicated registration" isCodable="true"/></Codes><Sets/></CodeBook>',
        encoding="utf-8",
    )
    (code,) = read_qdc(taguette).values()
    assert code.name == "efforts.complicated registration"
    nvivo = tmp_path / "nvivo.qdc"
    nvivo.write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?><CodeBook origin="NVivo 12 For'
        ' Mac" xmlns="urn:QDA-XML:codebook:1:0"><Codes><Code guid="a1" name="Barriers" '
        'isCodable="false"><Code guid="a2" name="Cost" isCodable="true"/></Code></Codes>'
        "</CodeBook>",
        encoding="utf-8",
    )
    assert {c.path for c in read_qdc(nvivo).values()} == {("Barriers",), ("Barriers", "Cost")}


def test_a_coding_of_the_last_words_of_a_text_is_read(exports, codebook):
    project, _mapping, _settings = _read(exports, codebook, "nvivo_windows")
    closing = [s for s in project.segments if project.codes[s.code].name == "Closing remarks"]
    assert all(s.end == len(project.texts[s.layer]) for s in closing)
    last_answers = {project.texts[s.layer].rsplit("Respondent: ", 1)[1] for s in closing}
    assert len(last_answers) == 1
    assert {project.segment_text(s) for s in closing} == last_answers


def test_check_shows_convention_codes_and_problems_before_any_build(exports, codebook):
    from analysis.interviews.check import report_files

    qdpx, mapping_path, people = exports["nvivo_windows"]
    codebook_path = PROJECT_ROOT / SETTINGS["codebook"]
    lines, problems = report_files(qdpx, codebook_path, mapping_path, people, SETTINGS)
    text = "\n".join(lines)
    assert problems == []
    assert "text positions: UTF-16 code units, CRLF counted as two (NVivo)" in text
    assert "Cases: 0 (none: each document is one interviewee)" in text
    assert "not interviewees (excluded by interviewees.exclude_documents): Interview guide" in text
    assert "ignored: Closing remarks (44 codings)" in text
    raw = yaml.safe_load(mapping_path.read_text(encoding="utf-8"))
    raw["ignore_codes"] = []
    raw["barriers"]["concerns_fairness"] = "Barriers to joining/Concerns/fairness"
    broken = mapping_path.with_name("broken.yaml")
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    lines, problems = report_files(qdpx, codebook_path, broken, people, SETTINGS)
    text = "\n".join(lines)
    assert "UNMAPPED: Closing remarks (44 codings)" in text
    assert "concerns_fairness <- NOT FOUND" in text
    assert any("no code 'Barriers to joining/Concerns/fairness'" in p for p in problems)


def test_check_command_passes_on_the_stand_in():
    from analysis.__main__ import main

    said: list[str] = []
    assert main(["check-interviews"], echo=said.append) == 0
    out = "\n".join(said)
    assert "Sources: 44 (TextSource 44)" in out and "OK: `make paper`" in out


def test_status_can_come_from_the_participants_csv(exports, codebook, stand_in, tmp_path):
    project, mapping, settings = _read(exports, codebook, "nvivo_windows")
    study = build_study(project, mapping)
    part = {study.names[u] for u in set(study.long[study.long["code"] == "status:participant"]
                                        ["case"])}
    lines = Path(settings["participants"]).read_text(encoding="utf-8").splitlines()
    rows = [lines[0] + ",SCS"] + [
        f"{line},{'yes' if line.split(',')[0] in part else 'no'}" for line in lines[1:]]
    people = tmp_path / "people_status.csv"
    people.write_text("\n".join(rows) + "\n", encoding="utf-8")
    status = {k: {"variable": "SCS", "values": [v]}
              for k, v in (("participant", "Yes"), ("non_participant", "No"))}
    raw = yaml.safe_load(exports["nvivo_windows"][1].read_text(encoding="utf-8"))
    status["model_city"] = raw["status"]["model_city"]
    codes = [raw["status"][k]["code"] for k in ("participant", "non_participant")]
    project, mapping, _settings = _read(exports, codebook, "nvivo_windows", status=status,
                                        ignore_codes=["Closing remarks", *codes])
    result = analyse(project, codebook, {**settings, "participants": str(people)}, mapping)
    assert result["design"] == stand_in[2]["design"]


def test_texts_on_which_conventions_agree_need_only_fit_their_range(tmp_path):
    # a replication package replaces each transcript by a notice of the same length
    def withhold(data: bytes) -> bytes:
        return (b"[withheld] " * (len(data) // 11 + 1))[: len(data.decode("utf-8"))]

    out = tmp_path / "withheld.qdpx"
    with zipfile.ZipFile(QDPX) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, withhold(data) if info.filename.startswith("sources/")
                         else data)
    project = read_qdpx(out)
    assert not project.positions.distinguishable
    assert len(project.segments) == len(read_qdpx(QDPX).segments)


@pytest.mark.parametrize("name", sorted(STYLES))
def test_each_tool_style_de_identifies_to_a_project_with_the_same_codings(
    name, exports, codebook, tmp_path
):
    """The replication package's copy (transcripts withheld, cases renamed) still reads,
    whatever the tool named its project file or folders and however it counted positions
    (astral characters in the transcripts make UTF-16 and code-point counts differ)."""
    project, mapping, settings = _read(exports, codebook, name)
    result = deidentify_project(exports[name][0])
    names = result.names
    copy = tmp_path / f"{name}.qdpx"
    copy.write_bytes(result.data)
    withheld = read_qdpx(copy, mapping.positions, mapping.min_word_boundary_share)
    assert len(withheld.segments) == len(project.segments)
    assert Counter(s.code for s in withheld.segments) == Counter(s.code for s in project.segments)
    assert not {c.name for c in withheld.cases.values()} & set(names)
    assert withheld.texts and all(t.startswith("[Transcript withheld")
                                  for t in withheld.texts.values())
