"""The example paper: paperkit alone builds a second, unrelated paper (proof of reuse)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paperkit.test_render import html_text
from tests.buildutil import ROOT, SNAKEMAKE, project_env

EXAMPLE = ROOT / "examples" / "minimal-paper"
pytestmark = [pytest.mark.build, pytest.mark.xdist_group("example")]


def _snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, "--cores", "1", *args], cwd=project,
                          env=project_env(project), capture_output=True, text=True)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("example") / "minimal-paper"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(
        "results", "figures", "build", "logs", ".snakemake", "__pycache__"))
    proc = _snakemake(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project


def test_example_builds_html_and_pdf_with_the_numbers_of_its_analysis(example):
    numbers = json.loads((example / "results/numbers.json").read_text())
    html = html_text(example / "build/paper/_manuscript/index.html").replace("\u00a0", " ")
    assert (example / "build/paper/_manuscript/index.pdf").stat().st_size > 10_000
    assert f"We measured {numbers['n_trees']} trees" in html
    assert f"{numbers['slope_m_per_step']:.2f} m for every" in html
    assert "Figure 1" in html


def test_example_imports_nothing_of_the_study():
    for path in EXAMPLE.rglob("*.py"):
        text = path.read_text()
        assert "import analysis" not in text and "from analysis" not in text, path


def test_a_hand_typed_number_stops_the_example_naming_file_and_line(example, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns(".snakemake"))
    article = project / "paper/index.qmd"
    article.write_text(article.read_text().replace("{{< var n_trees >}} trees (", "24 trees ("))
    proc = _snakemake(project)
    assert proc.returncode != 0
    assert "paper/index.qmd:7: literal '24'" in proc.stdout + proc.stderr


def test_data_that_falsify_the_claim_stop_the_example(example, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns(".snakemake"))
    data = project / "data/trees.csv"
    rows = data.read_text().splitlines()
    flipped = [rows[0]] + [",".join([*r.split(",")[:3], str(60 - float(r.split(",")[3]))])
                           for r in rows[1:]]
    data.write_text("\n".join(flipped) + "\n")
    proc = _snakemake(project)
    assert proc.returncode != 0
    assert "clm-height-rises" in proc.stdout + proc.stderr


def test_editing_the_example_plot_code_reruns_the_analysis_and_the_paper(example, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(example, project)
    with (project / "trees.py").open("a") as fh:
        fh.write("\n# restyled\n")
    proc = _snakemake(project, "--dry-run")
    text = proc.stdout + proc.stderr
    assert "analyse" in text and "paper" in text and "Nothing to be done" not in text
