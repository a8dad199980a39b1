"""The full build, from raw data to the rendered manuscript, in a scratch copy.

These tests run Snakemake exactly as `make paper` does. They share one cold build
(module fixture) and then check incremental behaviour on it: a no-op rebuild does
nothing, a prose edit reruns only the manuscript steps, and a changed raw file
reruns exactly the rules downstream of it and changes the number in the paper.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.buildutil import make, planned_rules, project_env, snakemake

pytestmark = [pytest.mark.build, pytest.mark.slow, pytest.mark.xdist_group("build")]

# The appendix notebook shows the provenance table, which traces the article: it reruns too.
MANUSCRIPT_STEPS = {
    "all", "provenance", "notebook", "stage_paper", "check_numbers", "check_claims", "trace",
    "manuscript",
}


def _pdf_text(pdf) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    return " ".join(out.stdout.split())


def test_build_writes_the_paper_in_three_formats(built):
    out = built / "build" / "paper" / "_manuscript"
    for fmt in ("html", "pdf", "docx"):
        path = out / f"index.{fmt}"
        assert path.is_file() and path.stat().st_size > 10_000, path


def test_valid_n_in_the_pdf_equals_the_pipeline_value(built):
    variables = yaml.safe_load((built / "build/paper/_variables.yml").read_text())
    valid = variables["cleaning"]["valid"]
    assert valid in _pdf_text(built / "build/paper/_manuscript/index.pdf")


def test_noop_rebuild_runs_nothing(built):
    assert planned_rules(built) == set()


def test_a_second_make_paper_does_not_start_snakemake_until_a_file_changes(built):
    make(built)  # the fixture was built with another command line: Snakemake decides
    again = make(built)
    assert "Snakemake was not started" in again.stdout, again.stdout[-2000:]
    assert planned_rules(built) == set()  # and Snakemake agrees
    article = built / "paper" / "index.qmd"
    text = article.read_text()
    try:
        article.write_text(text.replace("\n# Introduction", "\n# Introduction\n\nNew.", 1))
        edited = make(built)
        assert "Snakemake was not started" not in edited.stdout
        assert "paper: rendering" in edited.stdout + edited.stderr
    finally:
        article.write_text(text)
        make(built)
    assert "Snakemake was not started" in make(built).stdout


def test_prose_edit_reruns_only_the_manuscript_steps(built):
    article = built / "paper" / "index.qmd"
    text = article.read_text()
    edited = text.replace("\n# Introduction", "\n# Introduction\n\nAn added sentence.", 1)
    assert edited != text
    article.write_text(edited)
    try:
        assert planned_rules(built) == MANUSCRIPT_STEPS
    finally:
        article.write_text(text)
        snakemake(built, "--touch")


def test_touching_a_raw_file_without_changing_it_reruns_nothing(built):
    raw = built / "data/raw/survey/scs_survey_2018_export.csv"
    raw.touch()
    assert planned_rules(built) == set()


@pytest.fixture
def changed(built, tmp_path):
    """A private copy of the built project (mtimes kept), free to change and rebuild."""
    return shutil.copytree(built, tmp_path / "project", symlinks=True)


def test_changed_raw_survey_reruns_its_downstream_rules_and_changes_the_paper(changed):
    built = changed
    raw = built / "data/raw/survey/scs_survey_2018_export.csv"
    lines = raw.read_bytes().splitlines(keepends=True)
    raw.write_bytes(b"".join(lines[:-40]))  # the last 40 questionnaires never arrived
    unregistered = snakemake(built, "--dry-run", check=False)
    assert unregistered.returncode != 0  # the pre-flight verifies the raw data, dry run too
    failed = snakemake(built, check=False)
    assert failed.returncode != 0
    assert re.search(r"data/raw/survey/scs_survey_2018_export.csv: changed since it was "
                     r"registered[\s\S]*make register-data", failed.stderr + failed.stdout)
    subprocess.run([sys.executable, "-m", "analysis", "register-data",
                    "data/raw/survey/scs_survey_2018_export.csv"],
                   cwd=built, env=project_env(built), check=True, capture_output=True)
    before = yaml.safe_load((built / "build/paper/_variables.yml").read_text())
    planned = planned_rules(built)
    assert {"clean", "weight", "describe", "model", "numbers", "manuscript"} <= planned
    assert not planned & {"themes", "figures_themes"}
    snakemake(built)
    after = yaml.safe_load((built / "build/paper/_variables.yml").read_text())
    assert after["cleaning"]["valid"] != before["cleaning"]["valid"]
    assert after["cleaning"]["valid"] in _pdf_text(built / "build/paper/_manuscript/index.pdf")


def test_one_recoded_document_changes_the_overlap_count_in_the_paper(changed):
    """Design C: one coding of the stand-in project moved to another dimension."""
    import re

    from tests.robustness.corpus import _rewrite_project_xml

    built = changed
    rel = "data/raw/civilized/civilized_documents.qdpx"

    def recode(xml: str) -> str:
        guid = {m.group(2): m.group(1)
                for m in re.finditer(r'<Code guid="([^"]+)" name="([^"]+)"', xml)}
        old = guid["Criteria and indices of project development"]
        new = guid["Data sharing between the systems"]
        return xml.replace(f'targetGUID="{old}"', f'targetGUID="{new}"', 1)

    (built / rel).write_bytes(_rewrite_project_xml((built / rel).read_bytes(), recode))
    subprocess.run([sys.executable, "-m", "analysis", "register-data", rel], cwd=built,
                   env=project_env(built), check=True, capture_output=True)
    key = ("overlap", "dimensions", "criteria_indices", "manual_items", "n")

    def count() -> int:
        node = yaml.safe_load((built / "build/paper/_variables.yml").read_text())
        for part in key:
            node = node[part]
        return int(node)

    before = count()
    planned = planned_rules(built)
    assert {"overlap", "figures_civilized", "numbers", "manuscript"} <= planned
    assert not planned & {"clean", "model", "themes", "residents"}
    snakemake(built)
    assert count() == before - 1
    assert f"criteria and indices of project development ({count()} items" in \
        _pdf_text(built / "build/paper/_manuscript/index.pdf")
