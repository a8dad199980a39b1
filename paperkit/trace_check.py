"""Check the rendered HTML as a reader meets it: every number of the text is traceable.

The source check (:mod:`paperkit.prose_check`) finds numbers typed into the Quarto
sources; this one reads the finished HTML, where a number can also arrive by other
routes (a filter, a template, a metadata field). Every number of the body text must sit
in an element with ``data-var`` (a value of the variables file, see
``paperkit/filters/datavar.lua``) or be excused: by the project's number allowlist
(``_number_allowlist.yml``) or, inside a checked claim, by a constant of its assertion.
Figures and tables with their notes (traced by the provenance appendix), the appendix,
references, the
table of contents, code, citations, cross-reference links and section numbers
are not body text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from paperkit.io import read_yaml
from paperkit.notebooks import stage_assets
from paperkit.prose_check import (
    _LITERAL,
    _claim_allows,
    _claim_constants,
    _numeric_value,
    load_allowlist,
)
from paperkit.render import RenderError, render_manuscript

SKIP_TAGS = {"script", "style", "nav", "figure", "table", "pre", "code", "math", "svg",
             "aside", "footer"}
# Not body text: the values themselves, sections, citations, references; the title
# block's names, dates and notes (ORCIDs); Quarto's page furniture.
SKIP_CLASSES = {"data-var", "appendix", "header-section-number", "citation", "date",
                "author", "affiliation", "title-notes", "csl-bib-body", "footnotes",
                "quarto-appendix-contents", "quarto-title-meta", "quarto-alternate-formats",
                "quarto-alternate-notebooks"}
SKIP_IDS = {"refs", "quarto-appendix", "TOC", "toc", "quarto-header", "quarto-sidebar",
            "quarto-margin-sidebar"}
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "section", "dd", "dt",
          "blockquote", "header", "figcaption", "caption"}
CLAIM_ID = re.compile(r"^(clm-[\w-]+?)(?:-text)?$")


class UntracedNumberError(ValueError):
    """The HTML shows numbers that neither come from a variable nor are allowed."""


@dataclass(frozen=True)
class Untraced:
    literal: str
    context: str


def _classes(el: Any) -> set[str]:
    return set((el.get("class") or "").split())


def _skipped(el: Any) -> bool:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in SKIP_TAGS or _classes(el) & SKIP_CLASSES or el.get("id") in SKIP_IDS:
        return True
    if el.get("data-var") is not None:
        return True
    if tag == "div" and any(child.tag == "table" for child in el):
        return True  # a table float with its note
    return tag == "a" and (el.get("href") or "").startswith("#")


def _segments(el: Any, claim: str | None = None) -> Iterator[tuple[str, str | None]]:
    """Body text as (text, enclosing claim id) pieces; block ends become line breaks."""
    if "claim" in _classes(el):
        match = CLAIM_ID.match(el.get("id") or "")
        claim = match.group(1) if match else claim
    if el.text:
        yield el.text, claim
    for child in el:
        if isinstance(child.tag, str) and not _skipped(child):
            yield from _segments(child, claim)
            if child.tag in BLOCKS:
                yield "\n", None
        if child.tail:
            yield child.tail, claim


def untraced_numbers(html: str | bytes, allow: Mapping[str, list[dict]],
                     claims: Mapping[str, Any] | None = None) -> list[Untraced]:
    """Numbers of the body text of ``html`` that are neither a data-var value nor excused."""
    tree = etree.HTML(html.encode() if isinstance(html, str) else html)
    body = tree.find("body") if tree is not None else None
    if body is None:
        return []
    pieces = list(_segments(body))
    text = "".join(t for t, _ in pieces)
    owner: list[tuple[int, int, str | None]] = []
    pos = 0
    for piece, claim in pieces:
        owner.append((pos, pos + len(piece), claim))
        pos += len(piece)
    windows = [(m.start(), m.end()) for e in allow.get("patterns", [])
               for m in re.finditer(e["regex"], text, re.M)]
    exact = {e["value"] for e in allow.get("literals", [])}
    consts = _claim_constants(dict(claims)) if claims else {}
    found = []
    for m in _LITERAL.finditer(text):
        literal = " ".join(m.group(0).split())
        if not any(ch.isdigit() for ch in literal) or literal in exact:
            continue
        if any(s <= m.start() and m.end() <= e for s, e in windows):
            continue
        claim = next((c for s, e, c in owner if s <= m.start() < e), None)
        if claim and _claim_allows(_numeric_value(literal), consts.get(claim, set())):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        context = " ".join(text[line_start:line_end if line_end >= 0 else None].split())
        found.append(Untraced(literal, context[:160]))
    return found


def check_html(html_path: Path, allowlist: Path | None, claims: Path | None) -> None:
    """Raise UntracedNumberError listing every untraced number of the HTML's body text."""
    allow = load_allowlist(allowlist if allowlist and allowlist.exists() else None)
    claim_data = read_yaml(claims) if claims and claims.exists() else None
    found = untraced_numbers(Path(html_path).read_bytes(), allow,
                             claim_data if isinstance(claim_data, dict) else None)
    if found:
        lines = "\n".join(f"- {u.literal!r} in: {u.context}" for u in found)
        raise UntracedNumberError(
            f"{html_path}: {len(found)} number(s) of the text come from no variable and are "
            f"not in the number allowlist ({allowlist}):\n{lines}")


def render_traced(project_dir: Path, formats: Sequence[str], out_dir: Path | None = None,
                  engine: str = "auto", source_dir: Path | None = None) -> dict[str, Path]:
    """Render, then check the HTML's numbers; on failure no output of this run is left."""
    outputs = render_manuscript(project_dir, list(formats), out_dir, engine=engine,
                                source_dir=source_dir)
    if "html" in outputs:
        source = Path(source_dir) if source_dir else Path(project_dir)
        try:
            check_html(outputs["html"], source / "_number_allowlist.yml",
                       source / "claims.yml")
        except UntracedNumberError as exc:
            for path in outputs.values():
                Path(path).unlink(missing_ok=True)
            raise RenderError(str(exc)) from exc
    return outputs


def render_paper(assets: Sequence[str], stage: str | Path, source: str | Path,
                 formats: Sequence[str], out_dir: str | Path, engine: str) -> dict[str, Path]:
    """The workflow's render step: put the images the article shows into the stage, then
    render it; every number of the HTML must be traceable, or nothing of this run is left."""
    stage_assets(assets, stage)
    return render_traced(Path(stage), list(formats), Path(out_dir), engine=engine,
                         source_dir=Path(source))
