"""Tests of the interview-theme tallies, reliability and figures (analysis/interviews/themes.py)."""

from __future__ import annotations

import copy
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from analysis.figures.style import save_figure
from analysis.figures.themes import FIGURE_STEMS, barrier_chart, make_theme_figures
from analysis.interviews.mapping import MappingError
from analysis.interviews.study import StudyError, build_study
from analysis.interviews.themes import (
    analyse,
    load_barrier_codebook,
    load_study_mapping,
    project_from_tidy,
    tally_themes,
)
from analysis.project import PROJECT_ROOT, ConfigError, load_config, validate_config
from analysis.qda.coding import QdaError, case_code_matrix
from analysis.qda.qdpx import read_qdpx
from paperkit.io import read_json, read_yaml

RAW = PROJECT_ROOT / "data" / "raw" / "interviews"
QDPX = RAW / "scs_interviews.qdpx"
PUBLISHED = read_yaml(PROJECT_ROOT / "data" / "reference" / "published_values.yaml")["interviews"]
SETTINGS = load_config()["themes"]
# the codebook and mapping files, as the rule passes them in
BOOKS = (PROJECT_ROOT / SETTINGS["codebook"], PROJECT_ROOT / SETTINGS["mapping"])


@pytest.fixture(scope="module")
def codebook():
    return load_barrier_codebook(PROJECT_ROOT / SETTINGS["codebook"])


@pytest.fixture(scope="module")
def mapping(codebook):
    return load_study_mapping(PROJECT_ROOT / SETTINGS["mapping"], codebook)


@pytest.fixture(scope="module")
def project():
    return read_qdpx(QDPX)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("themes")
    tally_themes(QDPX, *BOOKS, SETTINGS, out / "themes.json", out / "tables")
    return out


@pytest.fixture(scope="module")
def figures(built):
    """Draw the figures once from a copy of the JSON alone (no access to the .qdpx needed)."""
    json_copy = built / "only" / "themes.json"
    json_copy.parent.mkdir()
    json_copy.write_bytes((built / "themes.json").read_bytes())
    return make_theme_figures(json_copy, built / "fig")


def _analyse(project, codebook, mapping=None, **overrides):
    mapping = mapping or load_study_mapping(PROJECT_ROOT / SETTINGS["mapping"], codebook)
    return analyse(project, codebook, {**SETTINGS, **overrides}, mapping)


def test_tally_reproduces_published_table1_exactly(built):
    result = read_json(built / "themes.json")
    for key, spec in PUBLISHED["barriers"].items():
        assert result["barriers"][key]["n"] == spec["value"], key
        assert result["barriers"][key]["category"] == spec["category"]
        assert result["barriers"][key]["denominator"] == 39
    assert result["denominator"]["n"] == PUBLISHED["design"]["non_participants"]["value"]


def test_demographics_reproduce_published_table_a1_exactly(built):
    result = read_json(built / "themes.json")
    expected = {k: v["value"] for k, v in PUBLISHED["demographics"].items()}
    assert result["demographics"] == expected


def test_design_counts_match_published(built):
    result = read_json(built / "themes.json")
    assert result["design"] == {k: v["value"] for k, v in PUBLISHED["design"].items()}


def test_percentages_use_the_explicit_denominator(built):
    result = read_json(built / "themes.json")
    for bar in result["barriers"].values():
        assert bar["pct"] == round(100 * bar["n"] / 39, 2)


def test_code_is_counted_once_per_interviewee_however_often_applied(project, mapping):
    study = build_study(project, mapping)
    primary = [s for s in project.segments if project.users[s.coder] == "Coder A"]
    per_case_code: dict[tuple[str, str], int] = {}
    case_of = project.case_of_source()
    for s in primary:
        if study.keys[s.code].startswith("status:"):
            continue
        k = (case_of[s.source], study.keys[s.code])
        per_case_code[k] = per_case_code.get(k, 0) + 1
    repeated = [k for k, n in per_case_code.items() if n > 1]
    assert repeated, "stand-in should contain barriers applied twice to one interviewee"
    long = study.long
    matrix = case_code_matrix(
        long[long["coder"] == "Coder A"], sorted(project.cases), sorted(set(study.keys.values()))
    )
    assert set(np.unique(matrix.to_numpy())) <= {0, 1}
    for case, code in repeated:
        assert matrix.at[case, code] == 1


def test_denominator_is_configurable(project, codebook):
    everyone = _analyse(project, codebook, denominator="all")
    participants = _analyse(project, codebook, denominator="participants")
    assert everyone["denominator"]["n"] == 44 and participants["denominator"]["n"] == 5
    for key, spec in PUBLISHED["barriers"].items():
        n_all, n_part = everyone["barriers"][key]["n"], participants["barriers"][key]["n"]
        assert n_all == spec["value"] + n_part
    assert sum(b["n"] for b in participants["barriers"].values()) > 0


def test_union_of_coders_counts_at_least_the_primary_coding(project, codebook):
    primary = _analyse(project, codebook, tally_coder="primary")
    union = _analyse(project, codebook, tally_coder="union")
    assert primary["tally_coder"]["coders"] == ["Coder A"]
    assert all(union["barriers"][k]["n"] >= primary["barriers"][k]["n"] for k in union["barriers"])
    assert any(union["barriers"][k]["n"] > primary["barriers"][k]["n"] for k in union["barriers"])


def test_unknown_tally_coder_is_an_error(project, codebook):
    with pytest.raises(QdaError, match=r"themes\.tally_coder: 'Coder Z' is not a coder"):
        _analyse(project, codebook, tally_coder="Coder Z")


def test_reliability_on_double_coded_subset(built):
    rel = read_json(built / "themes.json")["reliability"]
    assert rel["coders"] == ["Coder A", "Coder B"]
    assert rel["n_cases"] == 11 and rel["n_units"] == 11 * 14
    assert 0.6 < rel["krippendorff_alpha_nominal"] < 1.0
    undefined = [k for k, v in rel["per_code"].items() if not v["kappa_defined"]]
    assert undefined, "stand-in has a code both coders applied to every double-coded case"
    for key in undefined:
        assert rel["per_code"][key]["kappa"] is None
        assert rel["per_code"][key]["agreement_pct"] == 100.0
    md = (built / "tables" / "reliability.md").read_text(encoding="utf-8")
    assert "not defined" in md and "Krippendorff's alpha" in md


def test_markdown_table1_states_denominator_and_non_exclusivity(built):
    md = (built / "tables" / "table1_barriers.md").read_text(encoding="utf-8")
    assert md.startswith("| Category | Barrier | n | % |")
    assert "| Efforts | Complicated registration process | 36 | 92 |" in md
    assert "N = 39 interviewees not taking part" in md
    assert "not mutually exclusive" in md and "Simulated interviews." in md
    categories = re.findall(r"^\| (\w+) \|", md, flags=re.M)[1:]
    order = ["Awareness", "Efforts", "Concerns", "Usefulness", "Voluntariness"]
    assert sorted(categories, key=order.index) == categories


def test_cooccurrence_diagonal_equals_tallies(built):
    result = read_json(built / "themes.json")
    matrix = np.array(result["cooccurrence"]["matrix"])
    diag = {k: matrix[i, i] for i, k in enumerate(result["cooccurrence"]["codes"])}
    assert diag == {k: v["n"] for k, v in result["barriers"].items()}
    assert (matrix == matrix.T).all()


def test_outputs_are_byte_identical_across_runs(built, tmp_path):
    tally_themes(QDPX, *BOOKS, SETTINGS, tmp_path / "themes.json", tmp_path / "tables")
    assert (tmp_path / "themes.json").read_bytes() == (built / "themes.json").read_bytes()
    for path in sorted((built / "tables").iterdir()):
        assert (tmp_path / "tables" / path.name).read_bytes() == path.read_bytes()


def test_tidy_exports_give_the_same_results_as_the_qdpx(project, codebook, mapping):
    tidy = project_from_tidy(
        RAW / "scs_interviews_segments.csv", RAW / "scs_interviews_participants.csv", codebook,
        mapping,
    )
    a, b = _analyse(project, codebook), _analyse(tidy, codebook)
    for key in ("barriers", "design", "demographics", "reliability", "cooccurrence"):
        assert a[key] == b[key], key


def _rezip_without_case_variables(tmp_path: Path, project) -> tuple[Path, str]:
    """The stand-in with the VariableValues of its first case removed."""
    with zipfile.ZipFile(QDPX) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    qde = entries["project.qde"].decode("utf-8")
    guid = next(iter(project.cases))
    start = qde.index(f'<Case guid="{guid}"')
    end = qde.index("<SourceRef", start)
    entries["project.qde"] = (qde[: qde.index(">", start) + 1] + qde[end:]).encode("utf-8")
    path = tmp_path / "no_demo.qdpx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path, guid


def test_case_without_demographics_is_an_error_and_writes_nothing(tmp_path, project):
    path, guid = _rezip_without_case_variables(tmp_path, project)
    out = tmp_path / "out"
    with pytest.raises(StudyError, match=r"'INT-\d\d': no value for variable 'Age group'"):
        tally_themes(path, *BOOKS, SETTINGS, out / "themes.json", out / "tables")
    assert not out.exists() or not any(out.rglob("*"))


def test_participants_file_supplies_demographics_when_cases_have_none(tmp_path, project):
    path, _guid = _rezip_without_case_variables(tmp_path, project)
    participants = PROJECT_ROOT / "data/raw/interviews/scs_interviews_participants.csv"
    settings = {**SETTINGS, "participants": str(participants)}
    tally_themes(path, *BOOKS, settings, tmp_path / "t.json", tmp_path / "tables",
                 participants=[participants])
    expected = {k: v["value"] for k, v in PUBLISHED["demographics"].items()}
    assert read_json(tmp_path / "t.json")["demographics"] == expected


def test_missing_codes_in_project_are_all_reported_at_once(project, mapping):
    broken = copy.deepcopy(project)
    for name in ("Fairness of the scoring system", "Participation is not mandatory"):
        del broken.codes[next(g for g, c in broken.codes.items() if c.name == name)]
    with pytest.raises(MappingError) as err:
        build_study(broken, mapping)
    message = str(err.value)
    assert "2 mapping entries do not fit" in message
    assert "barriers.concerns_fairness: no code 'Barriers/Concerns/Fairness of the" in message
    assert "barriers.voluntariness_not_mandatory: no code" in message


def test_no_transcript_text_or_case_name_reaches_any_output(built, figures, project):
    outputs = [*built.rglob("*.*"), *figures]
    text = "\n".join(
        p.read_bytes().decode("utf-8", errors="replace") for p in outputs if p.is_file()
    )
    assert (built / "themes.json").read_text(encoding="utf-8") in text
    for case in project.cases.values():
        assert case.name not in text and case.guid not in text
    sentences = {
        part.strip()
        for source in project.sources.values()
        for part in re.split(r"(?<=[.?!])\s+|\n", source.text)
        if len(part.strip()) >= 25
    }
    assert len(sentences) > 30
    leaked = [s for s in sentences if s in text]
    assert leaked == []
    for segment in project.segments:
        assert project.segment_text(segment).strip() not in text


def test_figures_are_drawn_from_the_json_alone_as_png(figures):
    assert sorted(p.name for p in figures) == sorted(f"{stem}.png" for stem in FIGURE_STEMS)


def test_barrier_figure_shows_its_note_and_barrier_labels(built, tmp_path):
    """The text, read from an SVG copy of the figure (PNG pixels hold no text)."""
    fig = barrier_chart(read_json(built / "themes.json"))
    svg = save_figure(fig, tmp_path / "barriers", ("svg",))[0].read_text("utf-8")
    assert "N = 39 non-participants. Simulated interviews." in svg
    assert "Complicated registration process" in svg


@pytest.mark.slow
def test_figures_are_byte_identical_across_runs(built, figures, tmp_path):
    again = make_theme_figures(built / "only" / "themes.json", tmp_path)
    for p, q in zip(figures, again, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_config_themes_section_rejects_unknown_denominator():
    config = load_config()
    bad = {**config, "themes": {**config["themes"], "denominator": "everyone"}}
    with pytest.raises(ConfigError, match="themes.denominator"):
        validate_config(bad)
    extra = {**config, "themes": {**config["themes"], "unknown_key": 1}}
    with pytest.raises(ConfigError, match="themes"):
        validate_config(extra)


def test_case_code_export_gives_table1_among_non_participants(codebook):
    from analysis.qda.qdpx import read_case_code_csv

    labels = {b["label"]: k for k, b in codebook.barriers.items()}
    raw_mapping = read_yaml(PROJECT_ROOT / SETTINGS["mapping"])["status"]
    status = {k: rule["code"].split("/")[-1] for k, rule in raw_mapping.items()}
    names = set(labels) | set(status.values())
    matrix = read_case_code_csv(RAW / "scs_interviews_case_codes.csv", names)
    others = [codes for codes in matrix.values() if status["non_participant"] in codes]
    assert len(matrix) == 44 and len(others) == 39
    counts = {key: sum(label in codes for codes in others) for label, key in labels.items()}
    assert counts == {k: v["value"] for k, v in PUBLISHED["barriers"].items()}
