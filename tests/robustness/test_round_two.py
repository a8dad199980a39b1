"""Round two of the hostile corpus (issue 25), function-level cases that need no build.

Each case feeds one damaged input to the entry point a rule calls and checks that the
outcome is a result the paper can state truthfully, or a clear error that names the
file, the key or the row, and what to do -- never a crash, never a silent zero.
"""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis.civilized.codebook import CivilizedError
from analysis.civilized.residents import tally_residents
from analysis.interviews.mapping import MappingError
from analysis.interviews.qdpx import read_qdpx
from analysis.interviews.study import build_study
from analysis.interviews.themes import (
    ThemesError,
    load_barrier_codebook,
    load_study_mapping,
    tally_themes,
)
from analysis.project import load_config
from analysis.survey import describe as ds
from tests.test_describe import synthetic_clean, synthetic_weights

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"age_band": {"14-30": 0.55, "31-50": 0.42, "51-65": 0.03},
           "gender": {"female": 0.39, "male": 0.61},
           "region": {"East": 0.45, "Central": 0.35, "West": 0.20}}


def _describe(tmp_path: Path, frame) -> dict:
    clean, weights, targets = (tmp_path / "c.parquet", tmp_path / "w.parquet",
                               tmp_path / "t.yaml")
    frame.to_parquet(clean, index=False)
    synthetic_weights(frame).to_parquet(weights, index=False)
    targets.write_text(yaml.safe_dump({"margins": TARGETS, "source": "test"}))
    config = load_config()
    ds.describe_survey(clean, weights, targets, config["describe"], tmp_path / "d.json",
                       tmp_path / "tables", weighting=config["weighting"])
    return json.loads((tmp_path / "d.json").read_text())


def test_reversed_likert_with_an_empty_category_gives_an_undefined_ratio_not_a_crash(
        tmp_path: Path):
    frame = synthetic_clean()
    # Reversed and collapsed: nobody is left in the disapproving codes 1-2.
    frame["approval"] = (6 - frame["approval"]).clip(lower=3)
    res = _describe(tmp_path, frame)
    comparison = res["variance_comparison"]
    assert res["approval"]["disapprove_any"]["pct"] == 0
    assert comparison["shares"]["disapprove_any"]["ratio"] is None
    assert "disapprove_any" in comparison["undefined"]
    defined = [s["ratio"] for s in comparison["shares"].values() if s["ratio"] is not None]
    assert comparison["ratio_min"] == min(defined) and np.isfinite(comparison["ratio_max"])


# --------------------------------------------------------------------------- residents

RESIDENTS = ROOT / "data/raw/civilized/civilized_interviews.qdpx"


def _edit_qde(tmp_path: Path, edit) -> Path:
    """A copy of the residents' project with its project.qde edited."""
    with zipfile.ZipFile(RESIDENTS) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["project.qde"] = edit(files["project.qde"].decode()).encode()
    out = tmp_path / "residents.qdpx"
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out


def _tally(qdpx: Path, tmp_path: Path) -> None:
    tally_residents(qdpx, ROOT / "data/codebook/provinces.csv", load_config()["civilized"],
                    tmp_path / "r.json", tmp_path / "tables")


def _cases(qde: str) -> list[str]:
    return re.findall(r'<Case guid="[^"]+" name="R-0[12]">[\s\S]*?</Case>', qde)


def _source(case: str) -> str:
    return re.search(r'<SourceRef targetGUID="([^"]+)"', case).group(1)


def test_a_transcript_shared_by_two_residents_is_named_not_a_key_error(tmp_path: Path):
    def share(qde: str) -> str:  # R-02's Case points at R-01's transcript instead of its own
        first, second = _cases(qde)
        return qde.replace(second, second.replace(_source(second), _source(first)))

    with pytest.raises(CivilizedError) as err:
        _tally(_edit_qde(tmp_path, share), tmp_path)
    text = str(err.value)
    assert re.search(r"residents.qdpx: transcript 'R-01' \(GUID [0-9a-f-]+\): rule: one "
                     r"interviewee per transcript: it is held by 2 Cases, 'R-01'.*'R-02'", text)
    assert re.search(r"transcript 'R-02' \(GUID [0-9a-f-]+\): rule: every coded transcript "
                     r"belongs to an interviewee: no Case holds it", text)
    assert not (tmp_path / "r.json").exists()


def test_a_transcript_held_by_two_cases_stops_even_when_every_transcript_has_one(
        tmp_path: Path):
    def add(qde: str) -> str:
        first, second = _cases(qde)
        return qde.replace(second, second.replace(
            "</Case>", f'  <SourceRef targetGUID="{_source(first)}" />\n    </Case>'))

    with pytest.raises(CivilizedError, match=r"held by 2 Cases"):
        _tally(_edit_qde(tmp_path, add), tmp_path)


def test_a_missing_second_coder_stops_naming_the_file_and_the_coder_found(tmp_path: Path):
    def one_coder(qde: str) -> str:
        users = dict(re.findall(r'<User guid="([^"]+)" name="([^"]+)"', qde))
        (a, _), (b, _) = sorted(users.items(), key=lambda kv: kv[1])
        body = qde.split("</Users>", 1)
        return body[0] + "</Users>" + body[1].replace(b, a)

    with pytest.raises(ThemesError, match=r"residents.qdpx: intercoder reliability: no "
                       r"transcript was coded by two coders \(coders with codings: 'Coder A'\)"
                       r"[\s\S]*add the second coder's codings"):
        _tally(_edit_qde(tmp_path, one_coder), tmp_path)


# --------------------------------------------------------------------------- interviews

INTERVIEWS = ROOT / "data/raw/interviews/scs_interviews.qdpx"
ABUSE = "03f3b2fc-0dad-5de2-9212-513df93f082b"  # Barriers/Concerns/...abuse power


def _interviews(tmp_path: Path, edit) -> Path:
    with zipfile.ZipFile(INTERVIEWS) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["project.qde"] = edit(files["project.qde"].decode()).encode()
    out = tmp_path / "interviews.qdpx"
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out


def _themes(qdpx: Path, tmp_path: Path) -> None:
    tally_themes(qdpx, load_config()["themes"], tmp_path / "themes.json", tmp_path / "tables")


def test_a_barrier_code_also_used_as_a_case_code_stops_naming_code_guid_and_file(
        tmp_path: Path):
    def case_code(qde: str) -> str:  # INT-01's Case also references the barrier code
        first = re.search(r'<Case guid="[^"]+" name="INT-01">[\s\S]*?</Case>', qde).group(0)
        return qde.replace(first, first.replace(
            "</Case>", f'  <CodeRef targetGUID="{ABUSE}" />\n    </Case>'))

    with pytest.raises(MappingError) as err:
        _themes(_interviews(tmp_path, case_code), tmp_path)
    assert re.search(rf"barriers.concerns_abuse_of_power: code 'Barriers/Concerns/Possible use "
                     rf"of SCSs to abuse power' \(GUID {ABUSE}\) is the case code of 'INT-01' "
                     rf"in .*interviews.qdpx", str(err.value)), str(err.value)
    assert not (tmp_path / "themes.json").exists()


def test_a_code_both_mapped_and_ignored_stops_naming_code_guid_and_entry(tmp_path: Path):
    mapping = tmp_path / "mapping.yaml"
    text = (ROOT / load_config()["themes"]["mapping"]).read_text(encoding="utf-8")
    mapping.write_text(text + "ignore_codes:\n  - Barriers/Concerns/Possible use of SCSs to "
                              "abuse power\n", encoding="utf-8")
    settings = load_config()["themes"]
    codebook = load_barrier_codebook(ROOT / settings["codebook"])
    with pytest.raises(MappingError) as err:
        build_study(read_qdpx(INTERVIEWS), load_study_mapping(mapping, codebook))
    assert re.search(rf"mapping.yaml: 1 mapping entry does not fit .*interviews.qdpx[\s\S]*"
                     rf"ignore_codes: code 'Barriers/Concerns/Possible use of SCSs to abuse "
                     rf"power' \(GUID {ABUSE}\) is also mapped to "
                     rf"barriers.concerns_abuse_of_power", str(err.value)), str(err.value)


def test_case_membership_never_comes_from_a_code_mapped_to_a_theme():
    original = read_qdpx(INTERVIEWS).cases_of_segments()
    project = read_qdpx(INTERVIEWS)
    case = next(iter(project.cases.values()))
    project.cases[case.guid] = dataclasses.replace(case, codes=(*case.codes, ABUSE))
    assert project.cases_of_segments() != original  # read as a case code, it moves codings
    assert project.cases_of_segments({ABUSE}) == original
