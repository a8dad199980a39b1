"""The stand-ins' one REFI-QDA writer (analysis/standin/refi.py) writes what the reader reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from analysis.project import PROJECT_ROOT
from analysis.qda.qdpx import read_qdc, read_qdpx, validate_qde
from analysis.standin import refi
from analysis.standin.refi import Code, Text

XSD = PROJECT_ROOT / "tests" / "fixtures" / "refi" / "Project-mrt2019.xsd"
ORIGIN = refi.Origin(prefix="test-refi", seed=7,
                     origin="tests/analysis/standin/test_standin_refi.py",
                     created="2024-01-02T03:04:05Z", zip_date=(2024, 1, 2, 0, 0, 0))
PATHS = {"late": ("Barriers", "Time"), "privacy": ("Concerns", "Privacy"),
         "rules": ("Concerns", "Rules")}


def _texts() -> list[Text]:
    first, second = Text("C-1", name="C-1 transcript"), Text("C-2")
    first.add("Intro. ")
    span = first.add("No time for it.")
    first.codings += [("late", *span, "Coder A"), ("late", 0, span[1], "Coder B")]
    second.codings.append(("privacy", *second.add("My data leak."), "Coder A"))
    return [first, second]


def _write(tmp_path: Path, **cases: object) -> Path:
    texts = _texts()
    qde = refi.project_xml(ORIGIN, "Test project", refi.code_tree(PATHS.values()), PATHS,
                           texts, **cases)
    validate_qde(qde, XSD)
    path = tmp_path / "test.qdpx"
    path.write_bytes(refi.qdpx_bytes(ORIGIN, qde, texts))
    return path


def test_code_tree_nests_paths_in_the_order_names_first_occur():
    assert refi.code_tree(PATHS.values()) == (
        Code("Barriers", (Code("Time"),)),
        Code("Concerns", (Code("Privacy"), Code("Rules"))),
    )


def test_project_reads_back_with_its_codings_coders_and_cases(tmp_path):
    values = [{"Age": "20-29", "City": "A"}, {"Age": "30-39", "City": "B"}]
    project = read_qdpx(_write(tmp_path, variables=["Age", "City"], cases=values))
    assert (project.name, project.origin) == ("Test project", ORIGIN.origin)
    assert sorted(project.users.values()) == ["Coder A", "Coder B"]
    assert {s.name for s in project.sources.values()} == {"C-1 transcript", "C-2"}
    read = sorted((project.users[s.coder], project.codes[s.code].path, project.segment_text(s))
                  for s in project.segments)
    assert read == [("Coder A", ("Barriers", "Time"), "No time for it."),
                    ("Coder A", ("Concerns", "Privacy"), "My data leak."),
                    ("Coder B", ("Barriers", "Time"), "Intro. No time for it.")]
    by_name = {c.name: c for c in project.cases.values()}
    assert by_name["C-2"].variables == values[1]
    assert [project.sources[g].name for g in by_name["C-1"].sources] == ["C-1 transcript"]


def test_project_without_cases_has_no_cases_or_variables(tmp_path):
    project = read_qdpx(_write(tmp_path))
    assert project.cases == {} and project.variables == {}
    assert len(project.segments) == 3


def test_descriptions_are_written_only_where_a_code_has_one(tmp_path):
    codes = (Code("Theme", (Code("Leaf", description="Definition: a leaf."),)),)
    qdc = refi.codebook_xml(ORIGIN, codes)
    assert qdc.count(b"<Description>") == 1 and b"Definition: a leaf." in qdc
    (tmp_path / "c.qdc").write_bytes(qdc)
    read = read_qdc(tmp_path / "c.qdc")
    assert sorted((c.path, c.codable) for c in read.values()) == [
        (("Theme",), False), (("Theme", "Leaf"), True)]


def test_same_origin_gives_the_same_bytes_and_another_seed_other_guids(tmp_path):
    codes = refi.code_tree(PATHS.values())
    again = dataclasses.replace(ORIGIN, seed=8)
    assert refi.codebook_xml(ORIGIN, codes) == refi.codebook_xml(ORIGIN, codes)
    assert ORIGIN.guid("code", "Barriers") != again.guid("code", "Barriers")
