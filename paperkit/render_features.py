"""What the self-render implements of Quarto, and the refusals for the rest.

The self-render (paperkit/render.py) must give the paper Quarto gives or stop, naming the
file, the line and the Quarto feature it does not implement. This module holds the
source-level half of that rule: the refusals that can be decided on the Quarto source
(executable code cells, unimplemented cross-reference kinds, .qmd embeds, an .ipynb
article) and the Quarto meanings the renderer gives to front matter (`date` keywords,
the citation processor of the typst output). The AST-level half is in
paperkit/filters/crossref.lua. docs/self-render.md lists both for authors.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paperkit import qmd

NOT_IMPLEMENTED = "not implemented by the self-render (render with Quarto)"

# Cross-reference prefixes Quarto knows and the self-render refuses, with the feature's name.
XREF_FEATURES = {
    **dict.fromkeys(("nte", "tip", "wrn", "imp", "cau"), "callout cross-references"),
    **dict.fromkeys(("thm", "lem", "cor", "prp", "cnj", "def", "exm", "exr", "sol", "rem",
                     "alg"), "theorem cross-references"),
    "lst": "code listing cross-references",
}


class UnsupportedFeature(qmd.QmdError):
    """The source uses a Quarto feature the self-render does not implement."""


def xref_feature(ident: str) -> str:
    """'thm-x' -> 'theorem cross-references (@thm-)'."""
    prefix = ident.split("-", 1)[0].lower()
    return f"{XREF_FEATURES.get(prefix, 'cross-references')} (@{prefix}-)"


def _cell_feature(cell: qmd.Cell) -> str:
    if cell.language in qmd.DIAGRAM_ENGINES:
        return f"diagram cells (```{{{cell.language}}}) are {NOT_IMPLEMENTED}"
    if cell.language == "ojs":
        return f"Observable JS cells (```{{ojs}}) are {NOT_IMPLEMENTED}"
    if cell.inline:
        return (f"inline code (`{{{cell.language}}} ...`) is {NOT_IMPLEMENTED}; it would "
                "print the code instead of its value")
    return (f"executable code cells (```{{{cell.language}}}) are {NOT_IMPLEMENTED}; execute "
            "the code in a notebook and embed its outputs with "
            "{{< embed notebook.ipynb#label >}}")


def refuse_code_cells(lines: Sequence[qmd.Line]) -> None:
    """Stop on every executable cell of the article (its labels included: a `#| label:`
    inside a cell is part of the cell, not an undefined cross-reference)."""
    cells = qmd.code_cells(lines)
    if cells:
        raise UnsupportedFeature("\n".join(f"{c.where}: {_cell_feature(c)}" for c in cells))


def refuse_notebook(path: Path, where: str, what: str) -> None:
    """Only executed .ipynb notebooks are read (their stored outputs, as Quarto does)."""
    if Path(path).suffix.lower() != ".ipynb":
        raise UnsupportedFeature(
            f"{where}: {what} '{Path(path).name}' is a Quarto document that Quarto would "
            f"execute first; embedding or rendering {Path(path).suffix} notebooks is "
            f"{NOT_IMPLEMENTED}: embed an executed .ipynb instead")


def refuse_ipynb_article(article: Path, where: str) -> None:
    if article.suffix.lower() == ".ipynb":
        raise UnsupportedFeature(f"{where}: a Jupyter notebook as the article "
                                 f"({article.name}) is {NOT_IMPLEMENTED}")


# ----------------------------------------------------------------------------- dates

DATE_KEYWORDS = ("today", "now", "last-modified")


def keyword_date(value: Any, article: Path) -> dt.date | None:
    """Quarto's `date: today | now | last-modified`: the day of the render, or the day
    the article was last modified; SOURCE_DATE_EPOCH, when set, stands for both (a
    reproducible build). None for other values."""
    if not (isinstance(value, str) and value.strip() in DATE_KEYWORDS):
        return None
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env.isdigit():
        return dt.datetime.fromtimestamp(int(env), dt.UTC).date()
    if value.strip() == "last-modified":
        return dt.date.fromtimestamp(Path(article).stat().st_mtime)
    return dt.date.today()


# ----------------------------------------------------------------------------- citations


def typst_native_citations(meta: dict[str, Any], typst_options: dict[str, Any]) -> bool:
    """Quarto's typst output lets typst process citations (its numbered default style,
    a "Bibliography" heading, or the `csl`/`bibliographystyle` given) unless the typst
    format sets `citeproc: true`; the other formats always use pandoc's citeproc."""
    return bool(meta.get("bibliography")) and not typst_options.get("citeproc")
