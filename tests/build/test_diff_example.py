"""paperkit.diff on the example paper: causes, caching and the errors an author meets."""

from __future__ import annotations

import csv
import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.buildutil import ROOT, SNAKEMAKE, project_env

EXAMPLE = ROOT / "examples" / "minimal-paper"
pytestmark = [pytest.mark.build, pytest.mark.xdist_group("example")]
GIT_ENV = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@b"}


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def _diff(project: Path, base: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paperkit.diff", "--base", base, "--cores", "1"],
                          cwd=project, env=project_env(project), capture_output=True, text=True)


def _rows(project: Path) -> list[dict[str, str]]:
    with (project / "build" / "diff" / "numbers.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example paper in a repository: v1 built and tagged, v2 with one tree remeasured
    and one sentence reworded."""
    project = tmp_path_factory.mktemp("diff-example") / "minimal-paper"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(
        "results", "figures", "build", "logs", ".snakemake", "__pycache__"))
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "v1")
    _git(project, "tag", "v1")
    proc = subprocess.run([SNAKEMAKE, "--cores", "1"], cwd=project, env=project_env(project),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = project / "data" / "trees.csv"
    text = data.read_text(encoding="utf-8")
    assert "T01,oak,33.0,17.6" in text
    data.write_text(text.replace("T01,oak,33.0,17.6", "T01,oak,33.0,19.6"), encoding="utf-8")
    article = project / "paper" / "index.qmd"
    article.write_text(article.read_text(encoding="utf-8").replace(
        "are oaks", "are oak trees", 1), encoding="utf-8")
    _git(project, "commit", "-qam", "v2")
    return project


def test_changed_numbers_name_the_changed_data_file_and_the_text_is_marked(example):
    proc = _diff(example, "v1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["key"]: r for r in _rows(example)}
    assert rows["species.oak.mean_height"]["causes"] == "data:data/trees.csv"
    assert rows["species.oak.mean_height"]["old"] != rows["species.oak.mean_height"]["new"]
    assert "n_trees" not in rows  # the count did not change
    marked = (example / "build" / "diff" / "_stage" / "index.qmd").read_text(encoding="utf-8")
    assert "~~oaks~~ [oak trees]{.mark}" in marked
    assert "[\\[changed\\]]{.mark} Height against girth" in marked  # the figure moved too
    for name in ("index-changes.pdf", "index-changes.docx", "changes.html"):
        assert (example / "build" / "diff" / name).stat().st_size > 0
    html = (example / "build" / "diff" / "changes.html").read_text(encoding="utf-8")
    assert re.search(r"<code>data:data/trees.csv</code><ul><li>analyse( → [a-z_]+)*</li>", html)


def test_a_second_diff_against_the_same_base_builds_nothing_there(example):
    # The first diff here too: the test holds alone (pytest-xdist reruns what a crashed
    # worker left on another worker, with a fresh fixture).
    first = _diff(example, "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    proc = _diff(example, "v1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "building the base" not in proc.stderr
    assert "base build (cached)" in proc.stdout


def test_an_unknown_revision_is_named(example):
    proc = _diff(example, "v9")
    assert proc.returncode == 1
    assert "unknown revision 'v9'" in proc.stderr


def test_a_base_that_does_not_build_names_the_rule_and_the_text_diff_is_kept(example):
    script = example / "scripts" / "analyse.py"
    good = script.read_text(encoding="utf-8")
    script.write_text("raise SystemExit('broken on purpose')\n", encoding="utf-8")
    _git(example, "commit", "-qam", "broken")
    _git(example, "tag", "broken")
    script.write_text(good, encoding="utf-8")
    _git(example, "commit", "-qam", "fixed")
    proc = _diff(example, "broken")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "rule analyse failed" in proc.stderr
    assert _rows(example) == []  # the base's numbers were not made: nothing compared
    commit = subprocess.run(["git", "rev-parse", "broken"], cwd=example, check=True,
                            capture_output=True, text=True).stdout.strip()
    stamp = example / "build" / "diff-base" / commit / ".paperkit-diff.json"
    assert {"analyse", "manuscript"} <= set(json.loads(stamp.read_text())["pending"])
    html = (example / "build" / "diff" / "changes.html").read_text(encoding="utf-8")
    assert "did not build" in html and "analyse" in html
    assert (example / "build" / "diff" / "index-changes.pdf").is_file()


def test_uncommitted_changes_are_compared_and_said(example):
    article = example / "paper" / "index.qmd"
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("are oak trees", "are oak trees in all", 1),
                       encoding="utf-8")
    try:
        proc = _diff(example, "v1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "uncommitted changes" in proc.stderr
        marked = (example / "build" / "diff" / "_stage" / "index.qmd").read_text("utf-8")
        assert "[oak trees in all]{.mark}" in marked
    finally:
        article.write_text(text, encoding="utf-8")
