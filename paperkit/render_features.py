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
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paperkit import layout, qmd

NOT_IMPLEMENTED = "not implemented by the self-render (render with Quarto)"

# Cross-reference prefixes Quarto knows and the self-render refuses, with the feature's name.
XREF_FEATURES = {
    **dict.fromkeys(("sol", "rem"), "solution and remark cross-references"),
    "alg": "algorithm cross-references",
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
        return (f"inline {cell.language} code (`{{{cell.language}}} ...`) is {NOT_IMPLEMENTED}: "
                "only Python expressions are evaluated")
    return (f"executable {cell.language} code cells (```{{{cell.language}}}) are "
            f"{NOT_IMPLEMENTED}: only Python cells are executed")


def refuse_code_cells(lines: Sequence[qmd.Line]) -> None:
    """Stop on every cell of the lines that paperkit/cells.py does not execute (its labels
    included: a `#| label:` inside a cell is part of the cell, not an undefined
    cross-reference)."""
    cells = qmd.code_cells(lines)
    if cells:
        raise UnsupportedFeature("\n".join(f"{c.where}: {_cell_feature(c)}" for c in cells))


def refuse_notebook(path: Path, where: str, what: str) -> None:
    """Notebooks other than .ipynb (stored outputs, as Quarto reads them) and .qmd
    (executed, paperkit/cells.py) are refused."""
    if Path(path).suffix.lower() != ".ipynb":
        raise UnsupportedFeature(
            f"{where}: {what} '{Path(path).name}': embedding {Path(path).suffix} files is "
            f"{NOT_IMPLEMENTED} (only .ipynb and .qmd notebooks)")


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


# ----------------------------------------------------------------------------- front matter

# crossref options the self-render implements (crossref.lua reads them); others refused.
CROSSREF_OPTIONS = {f"{kind}-{word}" for kind in ("fig", "tbl", "sec", "eq")
                    for word in ("prefix", "title")}
# Front matter Quarto prints into the paper (title block, appendix) or uses to number
# and localise it, which the self-render does not implement.
PRINTED_KEYS = {
    "citation": "the citation appendix (`citation:`)",
    "license": "the license appendix (`license:`)",
    "copyright": "the copyright appendix (`copyright:`)",
    "funding": "the funding statement (`funding:`)",
    "doi": "the DOI in the title block (`doi:`)",
    "date-modified": "the modification date in the title block (`date-modified:`)",
    "number-depth": "`number-depth:`",
    "number-offset": "`number-offset:`",
    "shift-heading-level-by": "`shift-heading-level-by:`",
}
# ... of which these show in Quarto's HTML only (appendix, title block).
HTML_ONLY_KEYS = {"citation", "license", "copyright", "doi", "date-modified"}
# A Lua filter the self-render reproduces itself carries this line (paper/appendix.lua).
FILTER_MARKER = "-- paperkit: the self-render implements this filter"


def _key_where(key: str, lines: Sequence[qmd.Line], fallback: str) -> str:
    pattern = re.compile(rf"^\s*-?\s*{re.escape(key)}\s*:")
    return next((line.where for line in lines if pattern.match(line.text)), fallback)


def refuse_front_matter(meta: dict[str, Any], lines: Sequence[qmd.Line], root: Path,
                        fallback: str, formats: Sequence[str] = ("html",)) -> None:
    """Stop on front matter (document or _quarto.yml) with a meaning Quarto implements and
    the self-render does not: user filters, unknown crossref options, printed keys,
    a language other than English (Quarto would translate "Figure", "Note", ...)."""
    problems = []
    for key, feature in PRINTED_KEYS.items():
        if key in HTML_ONLY_KEYS and "html" not in formats:
            continue
        if meta.get(key) is not None:
            problems.append(f"{_key_where(key, lines, fallback)}: {feature} is {NOT_IMPLEMENTED}")
    crossref = meta.get("crossref")
    for key in sorted(crossref if isinstance(crossref, dict) else {}):
        if key not in CROSSREF_OPTIONS:
            implemented = ", ".join(sorted(CROSSREF_OPTIONS))
            problems.append(f"{_key_where(key, lines, fallback)}: crossref option '{key}' is "
                            f"{NOT_IMPLEMENTED} (implemented: {implemented})")
    lang = str(meta.get("lang") or "en")
    if not lang.lower().startswith("en"):
        problems.append(f"{_key_where('lang', lines, fallback)}: `lang: {lang}` (Quarto's "
                        f"translated labels such as 'Figure' and 'Note') is {NOT_IMPLEMENTED}")
    filters = meta.get("filters") or []
    for entry in filters if isinstance(filters, list) else [filters]:
        name = str(entry.get("path", entry) if isinstance(entry, dict) else entry)
        if layout.kit_source(name) is not None:
            continue  # paperkit's own filter (_paperkit/...): the self-render runs it too
        path = root / name
        if not (path.is_file() and FILTER_MARKER in path.read_text(encoding="utf-8")):
            problems.append(f"{_key_where('filters', lines, fallback)}: filter '{name}': running "
                            f"Quarto filters and extensions is {NOT_IMPLEMENTED}")
    if problems:
        raise UnsupportedFeature("\n".join(problems))


# Quarto's date forms (quarto.org/docs/reference/dates), tried in its order.
DATE_PATTERNS = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m-%d-%y", "%Y-%m-%d", "%d %B %Y",
                 "%B %d, %Y", "%b %d, %Y", "%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: Any) -> dt.date | None:
    """A front matter date in any of the forms Quarto parses; None when it is none."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    for pattern in DATE_PATTERNS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        return None


# Quarto's date styles (date-format); custom format strings are refused.
DATE_STYLES = {
    "full": lambda d: f"{d:%A}, {d:%B} {d.day}, {d.year}",
    "long": lambda d: f"{d:%B} {d.day}, {d.year}",
    "medium": lambda d: f"{d:%b} {d.day}, {d.year}",
    "short": lambda d: f"{d.month}/{d.day}/{d:%y}",
    "iso": lambda d: d.isoformat(),
}
