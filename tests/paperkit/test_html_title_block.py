"""The HTML's title block holds the authors with their affiliations, and the keywords
and contacts, before the table of contents (the self-render, paperkit/render.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lxml import etree

from paperkit.render import render_manuscript
from tests.paperkit.test_render import EPOCH, FIXTURE


def test_affiliations_and_keywords_sit_in_the_title_block_before_the_contents(tmp_path):
    project = tmp_path / "paper"
    shutil.copytree(FIXTURE, project)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        html = render_manuscript(project, ["html"], engine="self")["html"]
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    tree = etree.HTML(Path(html).read_bytes())
    header = tree.xpath("//header[@id='title-block-header']")[0]
    authors = [" ".join("".join(p.itertext()).split()) for p in header.xpath("p[@class='author']")]
    assert authors == ["Ada Example Free University Berlin", "Bo Sample Hertie School"]
    text = " ".join("".join(header.itertext()).split())
    assert "Keywords: social credit; China; survey" in text
    assert "ada@example.org" in text and "0000-0002-1825-0097" in text
    # nothing of the notes is left between the contents and the first section
    assert tree.xpath("//body/div[contains(@class, 'title-notes')]") == []
    toc = tree.xpath("//nav[@id='TOC']")
    assert not toc or header.getparent().index(header) < toc[0].getparent().index(toc[0])
