"""One title everywhere: the paper's (paper/index.qmd) is that of CITATION.cff, which the
replication package's README and RO-Crate take, and of the Python package."""

from __future__ import annotations

import tomllib

import yaml

from paperkit import qmd
from tests.buildutil import ROOT


def test_the_paper_citation_file_and_package_carry_the_same_title():
    article = ROOT / "paper" / "index.qmd"
    front, _ = qmd.split_front_matter(qmd.read_lines(article))
    title = qmd.parse_front_matter(front, article)["title"]
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["title"] == title
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["description"].startswith(title)
