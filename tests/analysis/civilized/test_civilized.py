"""Tests of design C's readers and tallies (analysis/civilized/)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from analysis.civilized.codebook import CivilizedError, load_civilized_codebook
from analysis.civilized.documents import read_documents
from analysis.civilized.overlap import analyse, tally_overlap
from analysis.civilized.residents import analyse as analyse_residents
from analysis.civilized.residents import read_residents, tally_residents
from analysis.project import PROJECT_ROOT, load_config
from analysis.qda.qdpx import read_qdpx
from paperkit.io import read_json
from tests.robustness.corpus import _rewrite_project_xml, coding_on_the_root_code

CONFIG = load_config()
PATHS = CONFIG["paths"]
SETTINGS = CONFIG["civilized"]
CODEBOOK = load_civilized_codebook(PROJECT_ROOT / SETTINGS["codebook"])
MANUAL = PROJECT_ROOT / PATHS["civilized_manual"]
WEBSITES = PROJECT_ROOT / PATHS["civilized_websites"]
DOCUMENTS = PROJECT_ROOT / PATHS["civilized_documents"]
INTERVIEWS = PROJECT_ROOT / PATHS["civilized_interviews"]
PROVINCES = PROJECT_ROOT / PATHS["provinces"]


@pytest.fixture(scope="module")
def documents():
    return read_documents(MANUAL, WEBSITES, DOCUMENTS, CODEBOOK)


@pytest.fixture(scope="module")
def result(documents):
    return analyse(documents, CODEBOOK, SETTINGS)


def _copy(tmp_path: Path, path: Path, data: bytes) -> Path:
    out = tmp_path / path.name
    out.write_bytes(data)
    return out


def test_every_coding_is_assigned_to_a_unit(result):
    acc = result["accounting"]
    assert acc["codings_read"] == acc["codings_assigned"] > 0


def test_overlap_counts_equal_a_direct_count_of_the_coder_of_record(result):
    project = read_qdpx(DOCUMENTS)
    coder = next(g for g, name in project.users.items() if name == SETTINGS["tally_coder"])
    label = {c.guid: c.name for c in project.codes.values()}
    manual = {s.guid for s in project.sources.values() if not s.name.startswith("SCSP")}
    for key, dim in CODEBOOK.dimensions.items():
        units = {seg.source for seg in project.segments
                 if seg.coder == coder and label[seg.code] == dim["label"]
                 and seg.source in manual}
        assert result["dimensions"][key]["manual_items"]["n"] == len(units)


def test_category_tallies_add_up_to_the_dimension_tallies(result):
    for key, dim in result["dimensions"].items():
        by_cat = sum(c["dimensions"][key]["n"] for c in result["categories"].values())
        assert by_cat == dim["manual_items"]["n"]
    assert sum(c["n_items"] for c in result["categories"].values()) == \
        result["design"]["n_manual_items"]


def test_design_counts_match_the_published_design(result):
    assert result["design"]["n_dimensions"] == 3
    project, cases, long = read_residents(INTERVIEWS, CODEBOOK, PROVINCES)
    design = analyse_residents(project, cases, long, CODEBOOK, SETTINGS)["design"]
    assert (design["n_interviews"], design["n_cities"]) == (30, 20)


def test_reliability_reports_kappa_per_dimension_and_alpha_overall(result):
    rel = result["reliability"]
    assert sorted(rel["coders"]) == ["Coder A", "Coder B"]
    assert rel["n_units"] == 3 * (result["design"]["n_manual_items"]
                                  + result["design"]["n_indicators"])
    assert set(rel["per_code"]) == set(CODEBOOK.dimensions)
    assert 0 < rel["krippendorff_alpha_nominal"] <= 1


def test_resident_reliability_says_not_defined_where_kappa_is(tmp_path):
    tally_residents(INTERVIEWS, PROVINCES, PROJECT_ROOT / SETTINGS["codebook"], SETTINGS,
                    tmp_path / "r.json", tmp_path / "t")
    rel = read_json(tmp_path / "r.json")["reliability"]
    undefined = [k for k, v in rel["per_code"].items() if v["kappa"] is None]
    md = (tmp_path / "t/residents_reliability.md").read_text(encoding="utf-8")
    assert undefined and md.count("not defined") >= len(undefined)


def _recode_first(xml: str, old_label: str, new_label: str) -> str:
    """Point the first coding of ``old_label`` on a manual item at ``new_label``."""
    guid = {m.group(2): m.group(1) for m in re.finditer(r'<Code guid="([^"]+)" name="([^"]+)"',
                                                         xml)}
    return xml.replace(f'targetGUID="{guid[old_label]}"', f'targetGUID="{guid[new_label]}"', 1)


def test_changing_one_coding_changes_the_overlap_count(tmp_path, result):
    dims = CODEBOOK.dimensions
    recoded = _copy(tmp_path, DOCUMENTS, _rewrite_project_xml(
        DOCUMENTS.read_bytes(),
        lambda xml: _recode_first(xml, dims["criteria_indices"]["label"],
                                  dims["data_sharing"]["label"])))
    changed = analyse(read_documents(MANUAL, WEBSITES, recoded, CODEBOOK), CODEBOOK, SETTINGS)
    before = {k: v["manual_items"]["n"] for k, v in result["dimensions"].items()}
    after = {k: v["manual_items"]["n"] for k, v in changed["dimensions"].items()}
    assert after["criteria_indices"] == before["criteria_indices"] - 1
    assert after["data_sharing"] in (before["data_sharing"], before["data_sharing"] + 1)


def test_every_problem_is_reported_at_once_and_nothing_is_written(tmp_path):
    manual = MANUAL.read_text(encoding="utf-8").splitlines(keepends=True)
    manual[3] = manual[3].replace(",11\n", ",eleven\n").replace(",12\n", ",twelve\n")
    manual[5] = manual[5].replace("诚信建设", "Integrity", 1)
    bad_manual = _copy(tmp_path, MANUAL, "".join(manual).encode("utf-8"))

    def edit(xml: str) -> str:
        xml = xml.replace('name="1.1.1"', 'name="1.1.1 draft"', 1)
        sel = re.search(r'<TextSource [^>]*name="SCSP-01"[\s\S]*?(startPosition="\d+" '
                        r'endPosition="\d+")', xml)
        return xml[: sel.start(1)] + 'startPosition="0" endPosition="5"' + xml[sel.end(1):]

    bad_project = _copy(tmp_path, DOCUMENTS, _rewrite_project_xml(DOCUMENTS.read_bytes(), edit))
    with pytest.raises(CivilizedError) as err:
        tally_overlap(bad_manual, WEBSITES, bad_project, PROJECT_ROOT / SETTINGS["codebook"],
                      SETTINGS, tmp_path / "o.json", tmp_path / "tables")
    message = str(err.value)
    assert "line 4, column 'page'" in message
    assert "line 6, column 'category_zh'" in message and "labelled differently" in message
    assert "TextSource '1.1.1 draft': rule: names neither a manual item" in message
    assert "no text source for manual item '1.1.1'" in message
    assert "must lie on exactly one indicator line" in message
    assert len(err.value.problems) >= 5
    assert not (tmp_path / "o.json").exists() and not (tmp_path / "tables").exists()


def test_a_coding_on_a_code_outside_the_codebook_is_reported_not_dropped(tmp_path):
    bad = _copy(tmp_path, DOCUMENTS, coding_on_the_root_code(DOCUMENTS.read_bytes()))
    with pytest.raises(CivilizedError, match="coded with 'Overlap with social credit', which is "
                                             "not a code of the codebook"):
        read_documents(MANUAL, WEBSITES, bad, CODEBOOK)


def test_a_region_contradicting_the_province_table_is_an_error(tmp_path):
    def edit(xml: str) -> str:
        return xml.replace("<TextValue>West</TextValue>", "<TextValue>East</TextValue>", 1)

    bad = _copy(tmp_path, INTERVIEWS, _rewrite_project_xml(INTERVIEWS.read_bytes(), edit))
    with pytest.raises(CivilizedError, match=r"region 'East' contradicts .*provinces.csv"):
        read_residents(bad, CODEBOOK, PROVINCES)


def test_an_unknown_tally_coder_is_an_error_naming_the_setting(documents):
    with pytest.raises(CivilizedError, match="civilized.tally_coder: rule: 'Coder Z'"):
        analyse(documents, CODEBOOK, {**SETTINGS, "tally_coder": "Coder Z"})


def test_a_codebook_code_without_definition_is_an_error(tmp_path):
    text = (PROJECT_ROOT / SETTINGS["codebook"]).read_text(encoding="utf-8")
    bad = tmp_path / "codebook.yaml"
    bad.write_text(text.replace("definition: The award is taken to be for clean",
                                "definition_: The award is taken to be for clean"), "utf-8")
    with pytest.raises(CivilizedError, match=r"interviews.codes.ncca_environment: rule: needs "
                                             r"a non-empty 'definition'"):
        load_civilized_codebook(bad)


def test_no_transcript_text_or_case_name_reaches_any_output(tmp_path):
    tally_residents(INTERVIEWS, PROVINCES, PROJECT_ROOT / SETTINGS["codebook"], SETTINGS,
                    tmp_path / "r.json", tmp_path / "t")
    project = read_qdpx(INTERVIEWS)
    outputs = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
    assert [c.name for c in project.cases.values() if c.name in outputs] == []
    sentences = {line for s in project.sources.values() for line in s.text.split("\n")
                 if line.startswith("Respondent:") and len(line) > 40}
    assert sentences and not any(s[12:] in outputs for s in sentences)


def test_outputs_are_byte_identical_across_runs(tmp_path):
    for run in ("a", "b"):
        tally_overlap(MANUAL, WEBSITES, DOCUMENTS, PROJECT_ROOT / SETTINGS["codebook"],
                      SETTINGS, tmp_path / run / "o.json", tmp_path / run / "t")
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")
                                         ).read_bytes()
    shutil.rmtree(tmp_path / "b")
