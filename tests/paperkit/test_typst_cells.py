"""A table cell that opens with typst markup is printed as written in the PDF.

Pandoc's typst writer escapes "= " at the start of a paragraph but not of a table cell,
so a p-value printed "= .512" became a numbered heading ("B .512") in Quarto's PDF and a
heading in the self-render's. paperkit/filters/typst_cells.lua escapes it; both engines
run it (Quarto as the project's `_paperkit/typst_cells.lua`; skipped without Quarto).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paperkit.quarto import quarto_version
from paperkit.render import render_manuscript
from tests.paperkit.test_render import pdf_text

ARTICLE = """\
---
title: Cells
---

| Key | Value |
|-----|-------|
| p | = .512 |
| list | - x |
| enum | 1. y |
| term | / z |
| plain | =x |

: Values as printed {#tbl-values}

After the table.
"""
QUARTO_YML = """\
project:
  type: manuscript
filters:
  - _paperkit/typst_cells.lua
format:
  typst: default
"""


@pytest.mark.parametrize("engine", ["self", pytest.param("quarto", marks=[
    pytest.mark.slow,
    pytest.mark.skipif(quarto_version() is None, reason="needs quarto >= 1.4 on PATH")])])
def test_cells_opening_with_typst_markup_are_printed_as_written(tmp_path: Path,
                                                                engine: str) -> None:
    project = tmp_path / "paper"
    project.mkdir()
    (project / "index.qmd").write_text(ARTICLE, encoding="utf-8")
    (project / "_quarto.yml").write_text(QUARTO_YML, encoding="utf-8")
    text = " ".join(pdf_text(render_manuscript(project, ["pdf"], engine=engine)["pdf"]).split())
    # (pdftotext sets "- x" and "/ z" without their space; a list would show a bullet, a
    # term list "z:")
    for row in ("p = .512", "list -x", "enum 1. y", "term /z", "plain =x"):
        assert row in text.replace("- x", "-x").replace("/ z", "/z"), f"{row!r} not in {text!r}"
