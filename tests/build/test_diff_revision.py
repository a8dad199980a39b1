"""`make diff BASE=<tag>` in a fresh repository, as an author revising the paper uses it."""

from __future__ import annotations

import csv
import re
import subprocess
import zipfile

import pytest

from tests.buildutil import copy_project, make, make_command, project_env

pytestmark = [pytest.mark.build, pytest.mark.slow, pytest.mark.xdist_group("build")]

OLD_SENTENCE = "Two observations frame this paper."
NEW_SENTENCE = "Two observations frame this study."
STRANDS_NOT_REWEIGHTED = ("interviews.", "overlap.", "residents.")


def _git(project, *args):
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                   env={**project_env(project), "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
                        "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"})


def _diff(project, base):
    return subprocess.run([*make_command(project, "diff"), f"BASE={base}"], cwd=project,
                          env=project_env(project), capture_output=True, text=True)


@pytest.fixture(scope="module")
def revised(tmp_path_factory):
    """Built and tagged, then revised: fixed-weight SEs and one sentence reworded."""
    project = copy_project(tmp_path_factory.mktemp("diff") / "project")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "submitted")
    make(project, "paper")
    _git(project, "tag", "submitted")
    config = project / "config" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  variance: calibrated" in text
    config.write_text(text.replace("  variance: calibrated", "  variance: fixed", 1),
                      encoding="utf-8")
    article = project / "paper" / "index.qmd"
    text = article.read_text(encoding="utf-8")
    assert OLD_SENTENCE in text
    article.write_text(text.replace(OLD_SENTENCE, NEW_SENTENCE, 1), encoding="utf-8")
    _git(project, "commit", "-qam", "revised")
    proc = _diff(project, "submitted")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project


def test_the_highlighted_pdf_and_docx_are_written(revised):
    for name in ("index-changes.pdf", "index-changes.docx", "changes.html", "numbers.csv"):
        assert (revised / "build" / "diff" / name).stat().st_size > 0


def test_the_reworded_sentence_is_marked(revised):
    text = (revised / "build" / "diff" / "_stage" / "index.qmd").read_text(encoding="utf-8")
    assert "Two observations frame this ~~paper.~~ [study.]{.mark}" in text
    pdf = subprocess.run(["pdftotext", str(revised / "build" / "diff" / "index-changes.pdf"),
                          "-"], capture_output=True, text=True, check=True).stdout
    assert "frame this paper. study." in " ".join(pdf.split())
    with zipfile.ZipFile(revised / "build" / "diff" / "index-changes.docx") as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    assert re.search(r"<w:strike ?/></w:rPr><w:t[^>]*>paper\.</w:t>", xml)
    assert re.search(r"<w:highlight w:val=\"yellow\" ?/></w:rPr><w:t[^>]*>study\.</w:t>", xml)


def test_numbers_lists_the_changed_standard_errors_with_the_config_key_as_cause(revised):
    with (revised / "build" / "diff" / "numbers.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and set(rows[0]) == {"key", "old", "new", "causes"}
    moved = [r for r in rows if ".se" in r["key"] or "ci_" in r["key"] or "_ci" in r["key"]]
    assert moved, [r["key"] for r in rows][:20]
    assert all("config:weighting.variance" in r["causes"].split(";") for r in moved)
    assert all(r["old"] != r["new"] for r in rows)
    assert not [r["key"] for r in rows if r["key"].startswith(STRANDS_NOT_REWEIGHTED)]


def test_an_unknown_revision_is_named(revised):
    proc = _diff(revised, "no-such-tag")
    assert proc.returncode != 0
    assert "unknown revision 'no-such-tag'" in proc.stderr


def test_uncommitted_changes_are_compared_and_said(revised):
    article = revised / "paper" / "index.qmd"
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace(NEW_SENTENCE, "Two observations frame this work.", 1),
                       encoding="utf-8")
    try:
        proc = _diff(revised, "submitted")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "uncommitted changes" in proc.stderr
        html = (revised / "build" / "diff" / "changes.html").read_text(encoding="utf-8")
        assert "uncommitted changes" in html
        assert "base (" not in proc.stderr  # the base is cached: nothing rebuilt there
    finally:
        article.write_text(text, encoding="utf-8")
