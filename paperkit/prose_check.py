"""Check that every number in the manuscript's prose comes from the pipeline.

Numbers may enter ``paper/index.qmd`` only through ``{{< var key >}}`` shortcodes that
read the variables file the ``numbers`` stage writes. A number typed by hand goes stale
the moment the data or a model changes, silently. This module finds every hand-typed
numeric literal in the prose, inline code, displayed code and raw blocks, the figure and
table captions (those of the notebooks the manuscript embeds included) and the
front-matter fields that reach an output (title, abstract, keywords, ...), in digits, in
English number words and in Chinese numerals, and fails the build on each one that an
explicit allowlist does not excuse.

Spelled-out proportions ("four in five", "two thirds", "a majority") encode results as
well but cannot be told apart from harmless words by form alone; they must sit inside a
claim span ``[...]{.claim #clm-id}`` so that :mod:`paperkit.claims` checks them.

Allowlist format (``paper/_number_allowlist.yml``), every entry with a reason::

    literals:                 # exact tokens, allowed anywhere or only inside ``context``
      - {value: "2018", reason: survey fieldwork year, context: '\\b(?:in|spring) 2018\\b'}
    patterns:                 # regexes; literals inside a match are allowed
      - {regex: '\\b[Mm]odels? \\d+(?:(?:, | and | to )\\d+)*', reason: model numbers}
"""

from __future__ import annotations

import argparse
import ast
import bisect
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paperkit import ipynb, qmd
from paperkit.io import read_yaml, write_json

#: Front-matter fields whose text reaches an output (the title block, the PDF/HTML/JATS
#: metadata): every number in them is checked. Author blocks (names, ORCID iDs,
#: affiliations) and settings (format, bibliography, ...) are not prose of results; a
#: ``date`` is checked unless it is a plain calendar date or a Quarto keyword.
FRONT_MATTER_FIELDS = ("title", "subtitle", "abstract", "keywords", "description",
                       "subject", "summary", "thanks", "abstract-title", "date", "notes",
                       "pagetitle", "title-meta", "subtitle-meta", "description-meta")
_PLAIN_DATE = re.compile(r"^\s*[\"']?(?:\d{4}-\d{2}-\d{2}|today|last-modified|now)[\"']?\s*$")
CAPTION_OPTIONS = ("fig-cap", "tbl-cap", "fig-subcap", "tbl-subcap", "fig-alt", "lst-cap")

KIND_LITERAL = "literal"
KIND_SPELLED = "spelled-proportion"
KIND_VAR = "unknown-var"
KIND_WORDS = "number-in-words"


class ProseCheckError(ValueError):
    """The manuscript contains numbers the pipeline did not produce."""


class AllowlistError(ValueError):
    """The number allowlist is malformed."""


@dataclass(frozen=True)
class Finding:
    """One offending literal, located precisely enough to fix it."""

    path: str
    line: int
    column: int
    literal: str
    kind: str = KIND_LITERAL
    context: str = ""

    @property
    def message(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.kind == KIND_VAR:
            return f"{where}: {{{{< var {self.literal} >}}}} {self.context}"
        if self.kind == KIND_WORDS:
            return (f"{where}: number in words '{self.literal}' is not produced by the "
                    "pipeline; write it with {{< var key >}}, or put it in a claim span "
                    "[...]{.claim #clm-id} whose assertion checks it")
        if self.kind == KIND_SPELLED:
            return (
                f"{where}: spelled-out proportion '{self.literal}' encodes a result; mark it "
                "as a checked claim ([...]{.claim #clm-...} plus an entry in claims.yml)"
            )
        return (
            f"{where}: literal '{self.literal}' in prose is not produced by the pipeline "
            "(use {{< var ... >}})"
        )


@dataclass(frozen=True)
class Allowed:
    """A literal the allowlist (or a claim's assertion) excused, kept for the report."""

    path: str
    line: int
    literal: str
    reason: str


@dataclass(frozen=True)
class ClaimSpan:
    """A ``[text]{.claim #clm-id}`` span: offsets into the document text."""

    claim_id: str | None
    classes: tuple[str, ...]
    start: int
    end: int
    text_start: int
    text_end: int
    line: int
    path: str


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    allowed: list[Allowed] = field(default_factory=list)
    used_entries: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- allowlist


def validate_allowlist(allow: Any, source: str = "<allowlist>") -> dict[str, list[dict]]:
    """Return a normalised allowlist; raise AllowlistError naming entry and rule."""
    if allow is None:
        return {"literals": [], "patterns": []}
    if not isinstance(allow, dict):
        raise AllowlistError(f"{source}: top level must be a mapping with literals/patterns")
    unknown = sorted(set(allow) - {"literals", "patterns"})
    if unknown:
        raise AllowlistError(f"{source}: unknown key(s) {unknown}; allowed: literals, patterns")
    out: dict[str, list[dict]] = {"literals": [], "patterns": []}
    for section, key in (("literals", "value"), ("patterns", "regex")):
        entries = allow.get(section) or []
        if not isinstance(entries, list):
            raise AllowlistError(f"{source}: '{section}' must be a list")
        for i, entry in enumerate(entries):
            where = f"{source}: {section}[{i}]"
            optional = {"context"} if section == "literals" else set()
            if not isinstance(entry, dict) or not {key, "reason"} <= set(entry) <= {
                    key, "reason", *optional}:
                extra = " (and optionally 'context')" if optional else ""
                raise AllowlistError(f"{where}: needs exactly the keys '{key}' and "
                                     f"'reason'{extra}")
            reason = entry["reason"]
            if not isinstance(reason, str) or not reason.strip():
                raise AllowlistError(f"{where}: 'reason' must be a non-empty string")
            value = str(entry[key])
            if section == "patterns":
                _check_pattern(value, where)
            clean = {key: value, "reason": reason}
            if "context" in entry:
                context = str(entry["context"])
                _check_pattern(context, f"{where}: context")
                clean["context"] = context
            out[section].append(clean)
    return out


#: Numbers on their own: a pattern that matches any of them excuses numbers, not a phrase.
_BARE_NUMBERS = ("7", "42", "3.5", "0.05", "61%", "61.3%", "1,234", ".5")


def _check_pattern(regex: str, where: str) -> None:
    """A pattern must name the words around the numbers it excuses; one that matches a
    bare number (``\\d+``, ``.*``) would excuse every number of the paper."""
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise AllowlistError(f"{where}: invalid regex {regex!r}: {exc}") from exc
    bare = [n for n in _BARE_NUMBERS if compiled.search(n)]
    if bare:
        raise AllowlistError(
            f"{where}: pattern {regex!r} matches a bare number ({bare[0]!r}); a pattern must "
            "spell out the words around the numbers it allows"
        )


def load_allowlist(path: str | Path | None) -> dict[str, list[dict]]:
    """Read and validate an allowlist YAML file (None: empty allowlist)."""
    if path is None:
        return validate_allowlist(None)
    return validate_allowlist(read_yaml(path), source=str(path))


def _entry_label(section: str, entry: dict) -> str:
    return f"{section}: {entry.get('value', entry.get('regex'))}"


# --------------------------------------------------------------------------- masking


def _blank(s: str) -> str:
    """Replace everything but newlines by spaces, so offsets and lines survive masking."""
    return re.sub(r"[^\n]", " ", s)


def _sub_blank(pattern: str | re.Pattern[str], text: str, flags: int = 0, group: int = 0) -> str:
    rx = re.compile(pattern, flags) if isinstance(pattern, str) else pattern

    def repl(m: re.Match[str]) -> str:
        if group == 0:
            return _blank(m.group(0))
        s, e = m.span(group)
        whole_s = m.start(0)
        g = m.group(0)
        return g[: s - whole_s] + _blank(g[s - whole_s : e - whole_s]) + g[e - whole_s :]

    return rx.sub(repl, text)


def _front_matter_end(lines: list[str]) -> int:
    """Index of the closing front-matter delimiter line, or -1 without front matter."""
    return qmd.front_matter_end(lines)


_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:(.*)$", re.S)
_BLOCK_HEADER = re.compile(r"^\s*[|>][-+]?\d?[-+]?\s*$")


def _mask_front_matter(lines: list[str], fields: Sequence[str]) -> None:
    """Keep only the values of the prose fields (title, abstract, ...) of the YAML header."""
    end = _front_matter_end(lines)
    current = None
    for i in range(0, end + 1):
        line = lines[i]
        top = 0 < i < end and line[:1] not in " \t#" and line.strip()
        m = _TOP_KEY.match(line) if top else None
        if m:
            current = m.group(1)
        if 0 < i < end and current in fields:
            if m and current == "date" and _PLAIN_DATE.match(m.group(2)):
                lines[i] = _blank(line)
                continue
            if m:
                value = m.group(2)
                value = _blank(value) if _BLOCK_HEADER.match(value) else value
                lines[i] = _blank(line[: m.start(2)]) + value
            elif line.lstrip()[:1] == "#":
                lines[i] = _blank(line)
            continue
        lines[i] = _blank(line)


_CELL_CAPTION = re.compile(r"^(\s*#\|\s*(?:" + "|".join(CAPTION_OPTIONS) + r")\s*:)(.*)$", re.S)


def _fence_kind(opening: str) -> str:
    """'cell' (```{python}: executed, its code hidden or computing), 'raw' (```{=html}:
    passed to the output as written) or 'display' (``` or ```text: shown as written)."""
    m = qmd.FENCE_OPEN.match(opening.rstrip("\r\n"))
    info = m.group(3).strip() if m else ""
    if info.startswith("{="):
        return "raw"
    return "cell" if info.startswith("{") else "display"


def _mask_fenced_code(lines: list[str], start: int, keep_captions: bool) -> None:
    """Blank fenced code blocks; with ``keep_captions`` (the prose check) keep what the
    reader sees as written: caption cell options, raw blocks (``{=html}``: their tags
    are masked later) and the numbers of displayed code blocks."""
    for open_i, close_i in qmd.fence_spans(lines, start):
        kind = _fence_kind(lines[open_i]) if keep_captions else "cell"
        lines[open_i] = _blank(lines[open_i])
        for i in range(open_i + 1, min(close_i, len(lines))):
            if kind == "raw":
                continue
            if kind == "display":
                lines[i] = _keep_numbers(lines[i])
                continue
            cap = _CELL_CAPTION.match(lines[i]) if keep_captions else None
            lines[i] = _blank(cap.group(1)) + cap.group(2) if cap else _blank(lines[i])
        if close_i < len(lines):
            lines[close_i] = _blank(lines[close_i])


def _keep_numbers(code: str) -> str:
    """Blank code except the numbers standing on their own in it."""
    out = list(_blank(code))
    for num in _CODE_NUMBER.finditer(code):
        out[num.start():num.end()] = code[num.start():num.end()]
    return "".join(out)


def mask_code(text: str) -> str:
    """Blank code blocks, inline code and HTML comments; the rest is left as written."""
    lines = text.splitlines(keepends=True)
    fm_end = _front_matter_end(lines)
    _mask_fenced_code(lines, fm_end + 1, keep_captions=False)
    out = "".join(lines)
    out = _sub_blank(r"<!--.*?-->", out, re.S)
    return _sub_blank(_INLINE_CODE, out)


_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(?:[^\n]|\n(?![ \t]*\n))+?(?<!`)\1(?!`)")
_LIST_MARKER = re.compile(r"^([ \t]*)(\(?\d+[.)]|[a-zA-Z][.)]|\(?#[.)])(?=[ \t])")
_CITE_KEY = r"-?@(?:\{[^}\n]*\}|\w(?:[\w:.#$%&\-+?<>~/]*\w)?)"

# Ordered masking passes: each blanks one kind of non-prose text.
_MASKS: list[tuple[str, str, int]] = [
    ("html comment", r"<!--.*?-->", re.S),
    ("shortcode", r"\{\{\{?<.*?>\}\}\}?", re.S),
    ("citation", r"\[[^\[\]]*?(?<![\w.])-?@[^\[\]]*\](?![\(\[{])", 0),
    ("footnote marker", r"\[\^[^\]\s]+\]", 0),
    ("link target", r"(?<=\])\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)", 0),
    ("reference link", r"^ {0,3}\[[^\]\n]+\]:[ \t].*$", re.M),
    ("url", r"<?\b(?:https?|ftp|file)://[^\s<>)\]]+>?|\bwww\.[^\s<>)\]]+", 0),
    ("doi", r"\bdoi:\s*\S+|\b10\.\d{4,9}/[^\s<>)\]]+", re.I),
    ("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", 0),
    ("attributes", r"\{\s*[#.=-][^{}\n]*\}|\{[^{}\n]*=[^{}\n]*\}", 0),
    ("cross-ref or citation key", r"(?<![\w@])" + _CITE_KEY, 0),
    ("html tag", r"</?[A-Za-z][^<>\n]*>", 0),
    ("html entity", r"&#?\w+;", 0),
    ("div fence", r"^ {0,3}:{3,}.*$", re.M),
    ("heading number", r"^(#{1,6}[ \t]+)(\d+(?:\.\d+)*\.?)(?=\s)", re.M),
]


#: A number standing on its own in inline code (not part of a name such as ``q19_1``).
_CODE_NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:[.,]\d+)*|\.\d+)(?: ?%)?(?![\w])")


def _mask_inline_code(text: str) -> str:
    """Blank inline code except the numbers in it: `` `61.3%` `` or `` `{python} 0.613` ``
    shows a hand-typed number in the paper as surely as prose does."""

    return _INLINE_CODE.sub(lambda m: _keep_numbers(m.group(0)), text)


def _mask_list_markers(text: str) -> str:
    """Blank ordered-list markers (a list starts after a blank line or another item)."""
    lines = text.splitlines(keepends=True)
    prev_blank, in_list = True, False
    for i, line in enumerate(lines):
        m = _LIST_MARKER.match(line)
        if m and (prev_blank or in_list):
            lines[i] = line[: m.start(2)] + _blank(m.group(2)) + line[m.end(2) :]
            in_list = True
        elif line.strip() and line[:1] not in " \t" and prev_blank:
            in_list = False
        prev_blank = not line.strip()
    return "".join(lines)


def mask_non_prose(text: str, fields: Sequence[str] = FRONT_MATTER_FIELDS) -> str:
    """Blank everything that is not prose a reader sees as the author's words.

    Offsets and line numbers are preserved, so a finding in the masked text points to the
    same place in the source.
    """
    lines = text.splitlines(keepends=True)
    fm_end = _front_matter_end(lines)
    _mask_front_matter(lines, fields)
    _mask_fenced_code(lines, fm_end + 1, keep_captions=True)
    out = "".join(lines)
    for _name, pattern, flags in _MASKS:
        if _name == "citation":  # after comments and shortcodes, before the rest
            out = _mask_inline_code(out)
        group = 2 if _name == "heading number" else 0
        out = _sub_blank(pattern, out, flags, group)
    return _mask_list_markers(out)


# --------------------------------------------------------------------------- claim spans


def _matching_bracket(text: str, start: int) -> int:
    """Offset of the ']' closing the '[' at ``start`` within one paragraph, or -1."""
    depth, j = 0, start
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
        elif c == "\n" and text[j + 1 : j + 2] == "\n":
            return -1
        j += 1
    return -1


def _parse_attributes(attrs: str) -> tuple[str | None, tuple[str, ...], dict[str, str]]:
    ident, classes, kv = None, [], {}
    for tok in re.findall(r'[^\s=]+=(?:"[^"]*"|\'[^\']*\'|\S+)|\S+', attrs):
        if tok.startswith("#"):
            ident = tok[1:]
        elif tok.startswith("."):
            classes.append(tok[1:])
        elif "=" in tok:
            k, v = tok.split("=", 1)
            kv[k] = v.strip("\"'")
    return ident, tuple(classes), kv


def find_claim_spans(text: str, path: str = "<text>") -> list[ClaimSpan]:
    """Spans that are, or look meant to be, claims: class ``.claim`` or id ``clm-...``.

    Code and HTML comments are ignored, so an example span in a code block is not a claim.
    """
    visible = mask_code(text)
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    spans = []
    for m in re.finditer(r"\[", visible):
        s = m.start()
        if s > 0 and visible[s - 1] in "\\!":
            continue
        e = _matching_bracket(visible, s)
        if e < 0 or visible[e + 1 : e + 2] != "{":
            continue
        close = visible.find("}", e + 1)
        if close < 0:
            continue
        ident, classes, _ = _parse_attributes(visible[e + 2 : close])
        if "claim" not in classes and not (ident or "").startswith("clm-"):
            continue
        line = bisect.bisect_left(newlines, s) + 1
        spans.append(ClaimSpan(ident, classes, s, close + 1, s + 1, e, line, path))
    return spans


# --------------------------------------------------------------------------- scanning

_LITERAL = re.compile(r"(?<![\w.,])[^\W\d_]*(?:\d+(?:[.,]\d+)*|\.\d+)\w*(?: ?%)?")

_NUMW = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred)"
)
_NUMWC = _NUMW + r"(?:[ -]" + _NUMW + r")?"
_FRACTION = r"(?:half|third|quarter|fifth|sixth|eighth|tenth)s?"
_FRACTION_PL = r"(?:halves|thirds|quarters|fifths|sixths|eighths|tenths)"
_SPELLED = re.compile(
    r"\b(?:"
    + rf"{_NUMWC}\s+(?:in|out\s+of)\s+(?:every\s+)?{_NUMWC}"
    + rf"|(?:{_NUMWC}|a)[ -]{_FRACTION}\s+of"
    + rf"|{_NUMWC}[ -]{_FRACTION_PL}"
    + r"|half\s+(?:of|the|all)"
    + rf"|{_NUMWC}\s+(?:per\s?cent|percent)"
    + rf"|(?:twice|thrice|{_NUMWC}\s+times)\s+as"
    + r"|(?:an?|the)\s+(?:\w+\s+)?majority"
    + r")\b",
    re.I,
)


#: Numbers written in words that no prose needs for anything but a quantity: English
#: words from thirteen up (compounds such as "fifty-seven", "two thousand"), any number
#: word with "percent", and Chinese numerals (五十七, 两千二百零九, 百分之五十七, 三点五).
_BIG_WORD = (r"(?:thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|"
             r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|"
             r"billion)")
_SMALL_WORD = r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_ANY_WORD = rf"(?:{_BIG_WORD}|{_SMALL_WORD})"
_WORDS = re.compile(
    rf"\b(?:{_ANY_WORD}(?:(?:[ -]|\s+and\s+){_ANY_WORD})*\s+(?:per\s?cent|percent)"
    rf"|(?:{_ANY_WORD}[ -])*{_BIG_WORD}(?:(?:[ -]|\s+and\s+){_ANY_WORD})*)\b",
    re.I,
)
_ZH_DIGIT = "零〇一二三四五六七八九两"
_ZH_NUMBER = re.compile(
    rf"百分之[{_ZH_DIGIT}十百千万亿点]+"
    rf"|[{_ZH_DIGIT}]*[十百千万亿][{_ZH_DIGIT}十百千万亿点]*"
    rf"|[{_ZH_DIGIT}]+点[{_ZH_DIGIT}]+"
    rf"|[{_ZH_DIGIT}]{{2,}}(?=[成%％个人名位岁年])"
)


def _numbers_in_words(masked: str) -> list[re.Match[str]]:
    """English number words (thirteen and up, or with 'percent') and Chinese numerals."""
    zh = [m for m in _ZH_NUMBER.finditer(masked) if len(m.group(0)) >= 2]
    return [*_WORDS.finditer(masked), *zh]


def _numeric_value(literal: str) -> float | None:
    m = re.search(r"\d+(?:[.,]\d+)*|\.\d+", literal)
    if not m or re.search(r"[^\W\d_]", literal):
        return None
    token = m.group(0)
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", token):
        token = token.replace(",", "")
    return None if "," in token else float(token)


def _claim_constants(claims: dict[str, Any] | None) -> dict[str, set[float]]:
    """Numeric constants of each claim's assertion(s); unparsable ones give none."""
    out: dict[str, set[float]] = {}
    for cid, entry in (claims or {}).items():
        exprs = entry.get("assert") if isinstance(entry, dict) else None
        exprs = [exprs] if isinstance(exprs, str) else exprs or []
        consts: set[float] = set()
        for expr in exprs:
            try:
                tree = ast.parse(str(expr), mode="eval")
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
                    consts.add(float(node.value))
        out[str(cid)] = consts
    return out


def _claim_allows(value: float | None, consts: set[float]) -> bool:
    if value is None:
        return False
    return any(abs(value - c) < 1e-12 or abs(value / 100 - c) < 1e-12 for c in consts)


def find_includes(text: str, base: Path) -> list[Path]:
    """Hand-written files pulled in by ``{{< include ... >}}``: their prose is checked too."""
    lines = [qmd.Line(t, base / "_", i) for i, t in enumerate(text.split("\n"), start=1)]
    return [base / sc.first_arg for sc in qmd.shortcodes(lines, ("include",)) if not sc.escaped]


def _scan_text(
    text: str,
    path: str,
    allow: dict[str, list[dict]],
    claim_consts: dict[str, set[float]],
    spelled: bool,
    result: ScanResult,
) -> None:
    masked = mask_non_prose(text)
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    src_lines = text.split("\n")

    def loc(offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(newlines, offset)
        start = newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    windows = [
        (m.start(), m.end(), _entry_label("patterns", e), e["reason"])
        for e in allow["patterns"]
        for m in re.finditer(e["regex"], masked, re.M)
    ]
    exact = {e["value"]: e for e in allow["literals"]}
    # A literal with a context is excused only inside a match of its context (a year
    # "in 2018", not "the 2018 respondents").
    contexts = {e["value"]: [m.span() for m in re.finditer(e["context"], masked, re.M)]
                for e in allow["literals"] if "context" in e}
    spans = [s for s in find_claim_spans(text, path) if s.claim_id]

    def excuse(s: int, e: int, literal: str) -> tuple[str, str] | None:
        if literal in exact and (literal not in contexts or any(
                cs <= s and e <= ce for cs, ce in contexts[literal])):
            return _entry_label("literals", exact[literal]), exact[literal]["reason"]
        for ws, we, label, reason in windows:
            if ws <= s and e <= we:
                return label, reason
        for sp in spans:
            consts = claim_consts.get(sp.claim_id or "", set())
            inside = sp.text_start <= s and e <= sp.text_end
            if inside and _claim_allows(_numeric_value(literal), consts):
                return f"claim: {sp.claim_id}", f"checked by the assertion of {sp.claim_id}"
        return None

    hits = [(m, KIND_LITERAL) for m in _LITERAL.finditer(masked)]
    if spelled:
        for m in _SPELLED.finditer(masked):
            in_claim = any(sp.text_start <= m.start() and m.end() <= sp.text_end for sp in spans)
            if not in_claim:
                hits.append((m, KIND_SPELLED))
    proportions = [m.span() for m in _SPELLED.finditer(masked)]
    for m in _numbers_in_words(masked):
        in_claim = any(sp.text_start <= m.start() and m.end() <= sp.text_end for sp in spans)
        overlaps = any(s < m.end() and m.start() < e for s, e in proportions)
        if not in_claim and not overlaps:  # a spelled proportion is reported as such
            hits.append((m, KIND_WORDS))
    for m, kind in sorted(hits, key=lambda h: h[0].start()):
        literal = re.sub(r"\s+", " ", m.group(0))
        line, col = loc(m.start())
        why = excuse(m.start(), m.end(), literal)
        if why:
            result.used_entries.add(why[0])
            result.allowed.append(Allowed(path, line, literal, why[1]))
            continue
        context = src_lines[line - 1].strip()
        result.findings.append(Finding(path, line, col, literal, kind, context))


def find_embedded_notebooks(text: str, base: Path, notebook_dir: Path | None = None
                            ) -> list[Path]:
    """Notebooks whose cells ``{{< embed nb.ipynb#label >}}`` puts into the document.

    ``notebook_dir``: where the notebooks' sources are, when the build stages them next
    to the article (the author edits these, so messages must name them).
    """
    found = re.findall(r"\{\{<\s*embed\s+([^\s>#]+\.ipynb)", mask_code(text))
    paths = [base / f.strip("\"'") for f in found]
    if notebook_dir is not None:
        paths = [Path(notebook_dir) / p.name for p in paths]
    return list(dict.fromkeys(paths))


def notebook_captions(path: Path) -> list[tuple[str, int, str]]:
    """(cell label, line in the cell, caption text) of every caption option of a notebook's
    code cells; the caption is what the paper prints under the embedded figure or table."""
    try:
        notebook = ipynb.read_notebook(path)
    except ipynb.NotebookReadError as exc:
        raise ProseCheckError(str(exc)) from exc
    out = []
    for cell in notebook.cells:
        for i, line in enumerate(cell.option_lines, 1):
            key = line[2:].split(":", 1)[0].strip()
            if key in CAPTION_OPTIONS and str(cell.options.get(key, "")).strip():
                out.append((cell.label or f"cell {cell.number}", i,
                            str(cell.options[key]).strip()))
    return out


def _scan_notebook(path: Path, allow: dict, consts: dict, result: ScanResult) -> None:
    result.files.append(str(path))
    for label, line, caption in notebook_captions(path):
        text = "\n" * (line - 1) + caption
        _scan_text(text, f"{path}#{label}", allow, consts, False, result)


def scan_document(
    qmd_path: str | Path,
    allow: dict | None = None,
    *,
    claims: dict[str, Any] | None = None,
    spelled: bool = True,
    follow_includes: bool = True,
    notebook_dir: Path | None = None,
) -> ScanResult:
    """Scan a document (and the files it includes) for literals and spelled proportions."""
    allow_n = validate_allowlist(allow)
    consts = _claim_constants(claims)
    result = ScanResult()
    todo, seen = [Path(qmd_path)], set()
    while todo:
        path = todo.pop(0)
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: manuscript file not found")
        text = path.read_text(encoding="utf-8")
        result.files.append(str(path))
        _scan_text(text, str(path), allow_n, consts, spelled, result)
        if follow_includes:
            todo.extend(find_includes(text, path.parent))
        for notebook in find_embedded_notebooks(text, path.parent, notebook_dir):
            if notebook.resolve() not in seen:
                seen.add(notebook.resolve())
                if not notebook.is_file():
                    raise FileNotFoundError(f"{path}: embedded notebook {notebook} not found")
                _scan_notebook(notebook, allow_n, consts, result)
    return result


def check_numeric_literals(
    qmd_path: str | Path,
    allow: dict | None = None,
    *,
    claims: dict[str, Any] | None = None,
    spelled: bool = True,
) -> list[Finding]:
    """Every hand-typed number (and unclaimed spelled proportion) the allowlist does not excuse.

    ``claims`` (the parsed claims.yml) lets a literal inside a claim span pass when the
    claim's assertion tests that very number, e.g. "[above 75%]{.claim #clm-x}" with
    ``assert: "... > 75"``: the build then fails if it stops being true.
    """
    return scan_document(qmd_path, allow, claims=claims, spelled=spelled).findings


def _var_problem(variables: Any, key: str) -> str | None:
    """Why ``key`` does not name one formatted value in the variables file, or None."""
    node, done = variables, []
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(done) or "the top level"
            keys = ", ".join(sorted(map(str, node))) if isinstance(node, dict) else "(a value)"
            return f"is not defined: '{part}' not found under {where} (available: {keys})"
        node, done = node[part], [*done, part]
    if isinstance(node, dict | list) or node is None:
        return "does not name a single value (it is a mapping, list or null)"
    return None


def check_var_keys(qmd_path: str | Path, variables_path: str | Path) -> list[Finding]:
    """Every ``{{< var key >}}`` whose key the numbers stage did not write.

    Quarto renders an unknown key as ``?var:key`` with only a warning, so a renamed result
    would otherwise reach the finished paper as garbage. Like Quarto, keys inside code
    are resolved (and so checked) too.
    """
    variables = read_yaml(variables_path) or {}
    doc = qmd.read_document(Path(qmd_path))
    findings = []
    for sc in qmd.shortcodes(doc.lines, ("var",), code=True):
        problem = None if sc.escaped else _var_problem(variables, sc.first_arg)
        if problem:
            msg = f"{problem} in {variables_path}"
            findings.append(Finding(str(sc.line.path), sc.line.lineno, sc.column, sc.first_arg,
                                    KIND_VAR, msg))
    return findings


def format_findings(findings: Iterable[Finding]) -> str:
    items = list(findings)
    lines = [f"{len(items)} number(s) in the prose are not produced by the pipeline:"]
    for f in items:
        lines.append(f"{f.message}\n    | {f.context}")
    return "\n".join(lines)


def assert_no_literals(
    qmd_path: str | Path,
    allow: dict | None = None,
    *,
    claims: dict[str, Any] | None = None,
    spelled: bool = True,
) -> ScanResult:
    """Raise ProseCheckError listing every offending literal; return the scan otherwise."""
    result = scan_document(qmd_path, allow, claims=claims, spelled=spelled)
    if result.findings:
        raise ProseCheckError(format_findings(result.findings))
    return result


def report_data(result: ScanResult, allow: dict) -> dict[str, Any]:
    """Deterministic summary of a passing check, for the build's report file."""
    allow_n = validate_allowlist(allow)
    entries = [_entry_label("literals", e) for e in allow_n["literals"]]
    entries += [_entry_label("patterns", e) for e in allow_n["patterns"]]
    return {
        "status": "ok" if not result.findings else "failed",
        "files": result.files,
        "n_findings": len(result.findings),
        "allowed": [
            {"file": a.path, "line": a.line, "literal": a.literal, "reason": a.reason}
            for a in result.allowed
        ],
        "unused_allowlist_entries": sorted(set(entries) - result.used_entries),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: exit 1 listing every stray number; write the report on success."""
    parser = argparse.ArgumentParser(prog="python -m paperkit.prose_check", description=__doc__)
    parser.add_argument("qmd", help="manuscript, e.g. paper/index.qmd")
    parser.add_argument("--allow", help="allowlist YAML, e.g. paper/_number_allowlist.yml")
    parser.add_argument("--claims", help="claims YAML: literals its assertions test may stay")
    parser.add_argument("--variables", help="Quarto variables file: every var key must exist")
    parser.add_argument("--report", help="JSON report written on success")
    parser.add_argument("--no-spelled", action="store_true", help="skip spelled proportions")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="folder of the embedded notebooks' sources (default: as embedded)")
    args = parser.parse_args(argv)
    try:
        allow = load_allowlist(args.allow)
        claims = read_yaml(args.claims) if args.claims else None
        claims = claims if isinstance(claims, dict) else None
        result = scan_document(args.qmd, allow, claims=claims, spelled=not args.no_spelled,
                               notebook_dir=args.notebooks)
        unknown = check_var_keys(args.qmd, args.variables) if args.variables else []
    except (AllowlistError, ProseCheckError, FileNotFoundError, yaml.YAMLError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if result.findings or unknown:
        parts = [format_findings(result.findings)] if result.findings else []
        if unknown:
            parts.append(f"{len(unknown)} var shortcode(s) name no value:")
            parts += [f.message for f in unknown]
        print("\n".join(parts), file=sys.stderr)
        return 1
    if args.report:
        write_json(args.report, report_data(result, allow))
    n_allowed = len(result.allowed)
    print(f"prose check passed: {', '.join(result.files)} ({n_allowed} allowlisted literal(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
