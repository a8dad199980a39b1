"""The HTML's title block shows what Quarto's HTML shows, in its order and with its labels.

Quarto's HTML title block: title, subtitle, "Author(s)" and "Affiliation(s)" with each
author's affiliations (e-mail and ORCID as icon links, without words), "Published", the
links to the other formats ("Other Formats": inside the block in a manuscript, before it
in a single document), "Abstract", "Keywords". The self-render (paperkit/render.py,
paperkit/templates/html-title-block.html) is checked against stored expectations written
from Quarto 1.11's output, and against Quarto itself when it is on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from paperkit.quarto import quarto_version
from paperkit.render import render_manuscript
from tests.paperkit.test_render import EPOCH, FIXTURE

requires_quarto = pytest.mark.skipif(quarto_version() is None,
                                     reason="needs quarto >= 1.4 on PATH")

# tests/fixtures/render as Quarto 1.11's HTML shows its title block (two authors, two
# affiliations, one of them by reference; a manuscript declaring html, docx and typst)
MANUSCRIPT_TEXT = (
    "Approval of social credit systems among 2209 respondents A test manuscript "
    "Authors Affiliations Ada Example Free University Berlin Bo Sample Hertie School "
    "Published March 1, 2019 Other Formats MS Word Typst "
    "Abstract We find that 80.4 percent approve. Keywords social credit, China, survey")

SINGLE = """\
---
title: "A single document"
author:
  - name: A. Person
    email: a.person@example.org
date: 2024-01-02
keywords: [trust, data]
format:
  html: default
  typst: default
---

Some text.
"""
# Quarto 1.11 on SINGLE rendered to html and typst: the other format before the block
SINGLE_TEXT = ("Other Formats Typst A single document Author A. Person Published "
               "January 2, 2024 Keywords trust, data")


def title_words(path: Path) -> list[str]:
    """The words of the title block, with the other formats' links placed before it."""
    tree = etree.HTML(Path(path).read_bytes())
    header = tree.xpath("//header[@id='title-block-header']")[0]
    before = [el for el in tree.xpath("//*[contains(@class, 'quarto-alternate-formats')]")
              if header not in el.iterancestors() and el.getparent() is not None
              and _precedes(el, header)]
    words: list[str] = []
    for el in [*before, header]:
        words += " ".join(el.itertext()).split()
    return words


def _precedes(a: etree._Element, b: etree._Element) -> bool:
    order = {el: i for i, el in enumerate(a.getroottree().iter())}
    return order[a] < order[b]


@pytest.fixture(scope="module")
def manuscript(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("title") / "paper"
    shutil.copytree(FIXTURE, project)
    return project


def _self(project: Path, formats: list[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return render_manuscript(project, formats, engine="self")["html"]


def test_manuscript_title_block_has_quartos_labels_and_words(manuscript, monkeypatch):
    html = _self(manuscript, ["html"], monkeypatch)
    assert title_words(html) == MANUSCRIPT_TEXT.split(" ")
    tree = etree.HTML(html.read_bytes())
    header = tree.xpath("//header[@id='title-block-header']")[0]
    # contacts as links without words, as Quarto's icons
    assert header.xpath(".//a[@href='mailto:ada@example.org']")
    assert header.xpath(".//a[@href='https://orcid.org/0000-0002-1825-0097']")
    # each affiliation right after its author; nothing of the notes left in the body
    authors = header.xpath(".//p[@class='author' or @class='affiliation']")
    assert [" ".join("".join(p.itertext()).split()) for p in authors] == [
        "Ada Example", "Free University Berlin", "Bo Sample", "Hertie School"]
    assert tree.xpath("//*[contains(@class, 'title-notes')]") == []
    toc = tree.xpath("//nav[@id='TOC']")
    assert not toc or header.getparent().index(header) < toc[0].getparent().index(toc[0])


def test_single_document_labels_one_author_and_links_its_other_formats_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "single.qmd"
    doc.write_text(SINGLE, encoding="utf-8")
    html = _self(doc, ["html", "pdf"], monkeypatch)
    assert title_words(html) == SINGLE_TEXT.split(" ")


def test_format_links_rename_and_select_the_other_formats(manuscript, monkeypatch, tmp_path):
    project = tmp_path / "paper"
    shutil.copytree(manuscript, project)
    config = project / "_quarto.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "    embed-resources: true\n",
        "    embed-resources: true\n    format-links:\n      - docx\n"
        "      - format: typst\n        text: PDF\n"), encoding="utf-8")
    words = title_words(_self(project, ["html"], monkeypatch))
    assert words[words.index("Formats") + 1:words.index("Abstract")] == ["MS", "Word", "PDF"]


@requires_quarto
@pytest.mark.slow
def test_manuscript_title_block_words_are_quartos(manuscript, monkeypatch, tmp_path):
    ours = _self(manuscript, ["html"], monkeypatch)
    project = tmp_path / "paper"
    shutil.copytree(FIXTURE, project)
    theirs = render_manuscript(project, ["html", "pdf", "docx"], engine="quarto")["html"]
    assert title_words(ours) == title_words(theirs)


@requires_quarto
@pytest.mark.slow
def test_single_document_title_block_words_are_quartos(tmp_path, monkeypatch):
    doc = tmp_path / "ours" / "single.qmd"
    doc.parent.mkdir()
    doc.write_text(SINGLE, encoding="utf-8")
    ours = _self(doc, ["html", "pdf"], monkeypatch)
    other = tmp_path / "quarto" / "single.qmd"
    other.parent.mkdir()
    other.write_text(SINGLE, encoding="utf-8")
    subprocess.run(["quarto", "render", other.name, "--to", "html,typst"], cwd=other.parent,
                   check=True, capture_output=True)
    assert title_words(ours) == title_words(other.with_suffix(".html"))
