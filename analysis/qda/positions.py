"""How a coding tool counted text positions, found from the text itself.

REFI-QDA says ``startPosition``/``endPosition`` count Unicode code points. Tools differ:
NVivo counts UTF-16 code units (an emoji or a rare CJK character outside the Basic
Multilingual Plane is two) and a stored CRLF as two characters; ATLAS.ti stores CRLF in
the text file but counts it as one. Reading a project in the wrong convention cuts every
segment after the first such character at the wrong place, without any error.

So every convention is tried on every text selection and judged by the text: a
convention that puts a position outside the text or inside a surrogate pair or a CRLF is
impossible; among the possible ones, the one whose segments start and end on word
boundaries (and whose selection names, where a tool writes the start of the quotation
there, match the text) wins. Where the texts let conventions differ, the winner must
still put most segment ends on word boundaries, or reading stops: a wrong guess fails
loudly instead of cutting quietly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Convention:
    key: str
    label: str
    utf16: bool
    crlf_as_one: bool
    lf_as_two: bool = False  # a bare LF counted as the CRLF the tool had in memory


CONVENTIONS = (
    Convention("code_points", "Unicode code points (the REFI-QDA standard)", False, False),
    Convention("utf16", "UTF-16 code units, CRLF counted as two (NVivo)", True, False),
    Convention("code_points_crlf1", "code points, CRLF counted as one (ATLAS.ti)", False, True),
    Convention("utf16_crlf1", "UTF-16 code units, CRLF counted as one", True, True),
    Convention("utf16_lf2", "UTF-16 code units, a stored LF counted as CRLF", True, False, True),
    Convention("code_points_lf2", "code points, a stored LF counted as CRLF", False, False, True),
)
BY_KEY = {c.key: c for c in CONVENTIONS}
# Tie-breakers when the texts cannot tell conventions apart, by the tool named in
# Project/@origin (case-insensitive substring).
PRIOR_BY_ORIGIN = {"nvivo": "utf16", "atlas": "code_points_crlf1"}


class PositionError(ValueError):
    """No counting convention fits the selections of a project."""


@dataclass(frozen=True)
class RawSelection:
    """A text selection as written in the file: positions in the tool's own units."""

    layer: str  # guid of the text (TextSource, PDF Representation or Transcript)
    guid: str
    start: int
    end: int
    where: str  # file!member and the source element, for messages
    kind: str
    source_name: str
    name: str = ""


@dataclass(frozen=True)
class Detected:
    convention: Convention
    distinguishable: bool  # False when no text holds a character the conventions differ on
    boundary_share: float  # share of segment ends on word boundaries under the convention
    scores: dict[str, float | None]  # per convention: boundary share, None if impossible


def index_map(text: str, conv: Convention) -> list[int] | None:
    """Python string index of each position in ``conv``'s units; -1 inside a character.

    None when the convention counts like code points on this text (no astral character,
    no CR), the common case, so no table is needed.
    """
    if not any(ord(ch) > 0xFFFF or ch == "\r" or ch == "\n" and conv.lf_as_two
               for ch in text):
        return None
    out: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        out.append(i)
        if conv.utf16 and ord(ch) > 0xFFFF:
            out.append(-1)
        if conv.lf_as_two and ch == "\n" and (i == 0 or text[i - 1] != "\r"):
            out.append(-1)
        if conv.crlf_as_one and ch == "\r" and i + 1 < n and text[i + 1] == "\n":
            i += 2
        else:
            i += 1
    out.append(n)
    return out


def to_index(table: list[int] | None, pos: int, text: str) -> int | None:
    """Python index of unit position ``pos``; None if outside the text or mid-character."""
    if table is None:
        return pos if 0 <= pos <= len(text) else None
    if not 0 <= pos < len(table) or table[pos] < 0:
        return None
    return table[pos]


def _wordish(ch: str) -> bool:
    # East Asian wide characters are words of their own: a boundary on either side.
    return ch.isalnum() and unicodedata.east_asian_width(ch) not in ("W", "F")


def on_boundary(text: str, i: int) -> bool:
    """True if index ``i`` does not split a word, a surrogate-free character pair or CRLF."""
    if i <= 0 or i >= len(text):
        return True
    before, after = text[i - 1], text[i]
    if before == "\r" and after == "\n":
        return False
    return not (_wordish(before) and _wordish(after))


def _name_matches(name: str, segment: str) -> bool:
    """Tools such as QualCoder and MAXQDA name a selection after its first words."""
    stem = " ".join(name.strip().rstrip(".…").split())
    return len(stem) >= 8 and " ".join(segment.split()).startswith(stem[:40])


def _score(
    texts: dict[str, str], selections: list[RawSelection], conv: Convention
) -> tuple[float, int, int] | None:
    """(points, clean ends, ends) of a convention; None if it is impossible."""
    tables = {layer: index_map(text, conv) for layer, text in texts.items()}
    points, clean, ends = 0.0, 0, 0
    for sel in selections:
        text, table = texts[sel.layer], tables[sel.layer]
        start, end = to_index(table, sel.start, text), to_index(table, sel.end, text)
        if start is None or end is None:
            return None
        if start == end:
            continue
        ends += 2
        good = on_boundary(text, start) + on_boundary(text, end)
        clean += good
        points += good
        if sel.name and _name_matches(sel.name, text[start:end]):
            points += 4
    return points, clean, ends


def _prior(origin: str) -> list[str]:
    first = next((k for tool, k in PRIOR_BY_ORIGIN.items() if tool in origin.lower()), None)
    order = [c.key for c in CONVENTIONS]
    return ([first] if first else []) + [k for k in order if k != first]


def detect(
    texts: dict[str, str],
    selections: list[RawSelection],
    origin: str = "",
    wanted: str = "auto",
    min_share: float = 0.75,
) -> Detected:
    """Choose the counting convention of ``selections``; raise PositionError if none fits."""
    distinguishable = any(index_map(t, c) is not None for t in texts.values()
                          for c in CONVENTIONS)
    candidates = list(CONVENTIONS) if wanted == "auto" else [BY_KEY[wanted]]
    results = {c.key: _score(texts, selections, c) for c in candidates}
    possible = {k: r for k, r in results.items() if r is not None}
    if not possible:
        raise PositionError(_no_fit_message(texts, selections, candidates))
    rank = {k: i for i, k in enumerate(_prior(origin))}
    best = max(possible, key=lambda k: (possible[k][0], -rank[k]))
    _points, clean, ends = possible[best]
    share = clean / ends if ends else 1.0
    scores = {k: (None if r is None else round(r[1] / r[2], 4) if r[2] else 1.0)
              for k, r in results.items()}
    # Texts on which every convention counts alike (no astral character, CR or LF; a
    # replication package's withheld transcripts) involve no guess: only the range check.
    if share < min_share and distinguishable:
        raise PositionError(
            f"read as {BY_KEY[best].label}, only {share:.0%} of the {ends} segment ends fall "
            f"on word boundaries (need {min_share:.0%}); shares per convention: {scores}. "
            "The positions fit no known counting convention: check that the project was "
            "exported with its own text files, or set positions.convention in the mapping file"
        )
    return Detected(BY_KEY[best], distinguishable, share, scores)


def _no_fit_message(
    texts: dict[str, str], selections: Iterable[RawSelection], candidates: list[Convention]
) -> str:
    """Name the first selection that no tried convention can place in its text, and why."""
    tables: dict[tuple[str, str], list[int] | None] = {}
    for sel in selections:
        text = texts[sel.layer]
        placed, in_range = False, False
        for conv in candidates:
            table = tables.setdefault((sel.layer, conv.key), index_map(text, conv))
            size = len(text) if table is None else len(table) - 1
            in_range |= sel.end <= size
            placed |= all(to_index(table, p, text) is not None for p in (sel.start, sel.end))
        if placed:
            continue
        units = len(text.encode("utf-16-le")) // 2
        why = ("falls inside a character (a UTF-16 surrogate pair or a CRLF)" if in_range
               else "lies outside")
        return (
            f"{sel.where}: {sel.kind} {sel.guid}: selection [{sel.start}, {sel.end}) {why} "
            f"source {sel.source_name!r} of {len(text)} characters ({units} UTF-16 units) "
            f"under every position convention tried ({', '.join(c.key for c in candidates)})"
        )
    return "no position convention places every selection inside its text"
