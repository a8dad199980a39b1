"""A changed input reruns exactly the rules that depend on it, and nothing else.

On a copy of the session's finished build (tests/conftest.py ``built``, copied with
its modification times and Snakemake metadata, never modified), each input is touched
or changed in turn, the dry run's job table gives the rules Snakemake would rerun
(Snakemake's default rerun triggers: mtime, params, input, code), and the set is
compared with the one the Snakefile's dependencies imply. Each input is restored
afterwards and the build must again be up to date.

A touch that leaves the bytes unchanged reruns nothing for inputs under Snakemake's
checksum limit (--max-checksum-file-size, 1 MB): Snakemake compares the recorded input
checksum before trusting the newer mtime. That is tested too, on the targets file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.buildutil import planned_rules
from tests.fixtures.survey_bad import corrupt
from tests.robustness.conftest import MANIFEST, copy_of_build, register

pytestmark = [pytest.mark.slow, pytest.mark.build, pytest.mark.xdist_group("build")]

# the staged sources are copies of paper/ alone: data and code never restage them
PAPER = {"numbers", "variables", "appendix_tables", "notebook", "check_numbers",
         "check_claims", "trace", "manuscript", "all"}
# the robustness grid re-reads the raw survey, the interviews and the analysis settings
GRID = {"robustness_batch", "robustness_summary", "figures_robustness"}
ROBUST = {"robustness_shared"} | GRID
MODEL_DOWN = {"model", "model_table", "figures_models"}
WEIGHT_DOWN = {"weight", "describe", "figures_describe"} | MODEL_DOWN | PAPER
SURVEY_DOWN = {"clean"} | WEIGHT_DOWN
THEMES_DOWN = {"themes", "figures_themes"} | PAPER


def _append(suffix: bytes) -> Callable[[Path, str], None]:
    """Change the content (and so the mtime and checksum) by appending ``suffix``."""
    def change(project: Path, rel: str) -> None:
        path = project / rel
        path.write_bytes(path.read_bytes() + suffix)
    return change


def _edit_survey_cell(project: Path, rel: str) -> None:
    path = project / rel
    data = path.read_bytes()
    age = data.split(b"\n")[1].split(b",")[5]
    path.write_bytes(corrupt.set_cell(data, 0, "age", str(int(age) + 1)))


COMMENT = _append(b"\n# edited by the changed-inputs test\n")


def _set_config(section: str, key: str, value: object) -> Callable[[Path, str], None]:
    def change(project: Path, rel: str) -> None:
        path = project / rel
        config = yaml.safe_load(path.read_text())
        assert config[section][key] != value
        config[section][key] = value
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return change


CHANGES = {
    "raw survey": ("data/raw/survey/scs_survey_2018_export.csv", _edit_survey_cell,
                   SURVEY_DOWN | ROBUST),
    "survey codebook": ("data/codebook/survey_codebook.yaml", COMMENT, SURVEY_DOWN | ROBUST),
    "population targets": ("data/targets/population_margins.yaml", COMMENT,
                           WEIGHT_DOWN | GRID),
    "interview project": ("data/raw/interviews/scs_interviews.qdpx", _append(b"\0"),
                          THEMES_DOWN | ROBUST),
    "interview codebook": ("data/codebook/interview_codebook.yaml", COMMENT,
                           THEMES_DOWN | ROBUST),
    "interview mapping": ("data/codebook/interview_mapping.yaml", COMMENT,
                          THEMES_DOWN | ROBUST),
    "model spec (models.max_iter)": ("config/config.yaml", _set_config("models", "max_iter", 150),
                                     MODEL_DOWN | PAPER | ROBUST),
    # a cap the grid does not list becomes a further alternative (more specifications), and
    # the provenance table lists the grid's batches
    "weight cap (weighting.cap)": ("config/config.yaml", _set_config("weighting", "cap", 2.5),
                                   WEIGHT_DOWN | ROBUST | {"provenance"}),
    "figure code": ("analysis/figures/themes.py", COMMENT, {"figures_themes", "notebook",
                                                            "manuscript", "all"}),
}


@pytest.fixture(scope="module")
def project(built, tmp_path_factory) -> Path:
    return copy_of_build(built, tmp_path_factory.mktemp("changed"))


@pytest.mark.parametrize("name", list(CHANGES))
def test_changed_input_reruns_exactly_its_dependent_rules(project: Path, name: str):
    rel, change, expected = CHANGES[name]
    path, manifest = project / rel, project / MANIFEST
    original, stat = path.read_bytes(), path.stat()
    manifest_bytes, manifest_stat = manifest.read_bytes(), manifest.stat()
    change(project, rel)
    if rel.startswith("data/raw/"):  # a raw file replaced on purpose is registered
        register(project, rel)
    try:
        planned = planned_rules(project)
    finally:
        for file, data, st in ((path, original, stat), (manifest, manifest_bytes, manifest_stat)):
            file.write_bytes(data)
            os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns))
    missing, extra = sorted(expected - planned), sorted(planned - expected)
    assert planned == expected, f"{name}: not rerun {missing}; rerun without cause {extra}"
    assert planned_rules(project) == set(), f"restoring {rel} left the build out of date"


def test_changed_content_under_an_old_file_time_reruns_its_dependent_rules(project: Path):
    """`cp -p` of a changed targets file: newer content, the old mtime (paperkit/preflight.py)."""
    path = project / "data/targets/population_margins.yaml"
    original, stat = path.read_bytes(), path.stat()
    path.write_bytes(original + b"\n# edited, then copied back with cp -p\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    try:
        assert planned_rules(project) == WEIGHT_DOWN
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert planned_rules(project) == set()


def test_touching_a_small_input_without_changing_it_reruns_nothing(project: Path):
    path = project / "data/targets/population_margins.yaml"
    stat = path.stat()
    path.write_bytes(path.read_bytes())  # same bytes, newer mtime
    try:
        assert path.stat().st_mtime_ns > stat.st_mtime_ns
        assert planned_rules(project) == set()
    finally:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
