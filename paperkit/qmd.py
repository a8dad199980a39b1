"""The one reader of Quarto source: front matter, code fences, includes, shortcodes, embeds.

The self-render (paperkit/render.py), the Quarto driver (paperkit/quarto.py), the number
check (paperkit/prose_check.py) and the provenance table (paperkit/provenance.py) all read
``index.qmd`` through this module, so they agree on what is prose, what is code and which
file and line a thing came from. Every line carries its source file and line number, also
after ``{{< include >}}`` expansion, so that every error can name the line an author edits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperkit import ipynb
from paperkit.io import YamlError, parse_yaml

# {{< name args >}}; the optional extra braces of {{{< x >}}} (Quarto's literal escape).
SHORTCODE = re.compile(r"(\{?)\{\{<\s*([\w-]+)(.*?)>\}\}(\}?)")
FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


class QmdError(ValueError):
    """The Quarto source cannot be read; the message starts with file:line."""


@dataclass(frozen=True)
class Line:
    """One source line and where it came from (after include expansion too)."""

    text: str
    path: Path
    lineno: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.lineno}"


@dataclass(frozen=True)
class Shortcode:
    """One ``{{< name args >}}`` occurrence."""

    name: str
    args: str
    line: Line
    column: int
    standalone: bool  # the shortcode is the only thing on its line
    escaped: bool  # {{{< x >}}}: Quarto prints it literally

    @property
    def where(self) -> str:
        return self.line.where

    @property
    def first_arg(self) -> str:
        parts = self.args.split()
        return parts[0].strip("\"'") if parts else ""


@dataclass(frozen=True)
class Embed:
    """``{{< embed notebook.ipynb#label flag=value >}}``."""

    notebook: str
    label: str
    flags: dict[str, str]
    shortcode: Shortcode


@dataclass
class Document:
    """A .qmd file: parsed front matter and body lines (includes optionally expanded)."""

    path: Path
    front: dict[str, Any]
    front_lines: list[Line] = field(default_factory=list)
    body: list[Line] = field(default_factory=list)
    # An .ipynb read as a document: each code cell's stored outputs, by its fence line.
    outputs: dict[Line, list[Any]] | None = None

    @property
    def lines(self) -> list[Line]:
        return [*self.front_lines, *self.body]


# ----------------------------------------------------------------------------- lines



def read_lines(path: Path) -> list[Line]:
    """The file's lines, numbered from 1."""
    try:
        text = Path(path).read_text(encoding="utf-8").replace("\r\n", "\n")
    except FileNotFoundError as exc:
        raise QmdError(f"{path}:1: file not found") from exc
    return [Line(t, Path(path), i) for i, t in enumerate(text.split("\n"), start=1)]


def front_matter_end(texts: Sequence[str]) -> int:
    """Index of the line closing the YAML front matter, or -1 without front matter."""
    if not texts or texts[0].rstrip("\r\n") != "---":
        return -1
    for i in range(1, len(texts)):
        if texts[i].rstrip("\r\n") in ("---", "..."):
            return i
    return -1


def split_front_matter(lines: list[Line]) -> tuple[list[Line], int]:
    """(front matter lines without delimiters, index of the first body line)."""
    texts = [line.text for line in lines]
    end = front_matter_end(texts)
    if end < 0:
        if texts and texts[0].strip() == "---":
            raise QmdError(f"{lines[0].where}: front matter is not closed by '---'")
        return [], 0
    return lines[1:end], end + 1


def parse_front_matter(front_lines: list[Line], path: Path) -> dict[str, Any]:
    """The front matter as a mapping; YAML errors name the line of the file."""
    text = "\n".join(line.text for line in front_lines)
    try:  # a leading newline for the opening '---': line numbers are the file's
        data = parse_yaml("\n" + text, str(path)) if text.strip() else {}
    except YamlError as exc:  # "file: line N: problem" -> "file:N: front matter: problem"
        where = re.match(r"(.*): line (\d+): (.*)", str(exc), re.DOTALL)
        raise QmdError(f"{where[1]}:{where[2]}: front matter: {where[3]}" if where
                       else f"{path}: front matter: {exc}") from exc
    if not isinstance(data, dict):
        raise QmdError(f"{path}:2: front matter must be a YAML mapping")
    return data


# ----------------------------------------------------------------------------- fences


def fence_spans(texts: Sequence[str], start: int = 0) -> list[tuple[int, int]]:
    """(opening, closing) line indices of fenced code blocks (CommonMark fences).

    An unclosed fence runs to the end of the document (closing index = len(texts)).
    """
    spans, i = [], start
    while i < len(texts):
        m = FENCE_OPEN.match(texts[i].rstrip("\r\n"))
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        fence = m.group(2)
        close = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
        j = i + 1
        while j < len(texts) and not close.match(texts[j].rstrip("\r\n")):
            j += 1
        spans.append((i, j))
        i = j + 1
    return spans


def in_code(texts: Sequence[str], start: int = 0) -> list[bool]:
    """For each line: is it part of a fenced code block (fence lines included)?"""
    flags = [False] * len(texts)
    for open_i, close_i in fence_spans(texts, start):
        for k in range(open_i, min(close_i, len(texts) - 1) + 1):
            flags[k] = True
    return flags


# ----------------------------------------------------------------------------- shortcodes


def shortcodes(
    lines: Sequence[Line], names: Sequence[str] | None = None, *, code: bool = False
) -> Iterator[Shortcode]:
    """Shortcodes in order; ``names`` restricts the kinds.

    Fenced code is skipped unless ``code``: Quarto expands inline shortcodes such as
    ``var`` inside code too, but block shortcodes (include, embed) only in prose.
    """
    skip = in_code([line.text for line in lines]) if not code else [False] * len(lines)
    for line, is_code in zip(lines, skip, strict=True):
        if is_code or "{{<" not in line.text:
            continue
        for m in SHORTCODE.finditer(line.text):
            open_extra, name, args, close_extra = m.groups()
            if names is not None and name not in names:
                continue
            alone = not (line.text[: m.start()] + line.text[m.end():]).strip()
            yield Shortcode(name, args.strip(), line, m.start() + 1, alone,
                            bool(open_extra and close_extra))


def shortcode_path(raw: str, base: Path, root: Path | None = None) -> Path:
    """The file a shortcode argument names: '/x' from the project ``root``, else from
    ``base``, the directory of the document being rendered. As in Quarto, this holds
    inside included files too: their text is inlined before paths are resolved."""
    raw = raw.strip().strip("\"'")
    if raw.startswith("/"):
        return ((root or base) / raw.lstrip("/")).resolve()
    return (base / raw).resolve()


def embed_of(sc: Shortcode) -> Embed:
    """Parse an embed shortcode's arguments."""
    parts = sc.args.split()
    if not parts or "#" not in parts[0]:
        raise QmdError(f"{sc.where}: embed needs 'notebook.ipynb#label', got '{sc.args}'")
    notebook, label = parts[0].strip("\"'").rsplit("#", 1)
    flags = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    return Embed(notebook, label, flags, sc)


def embeds(lines: Sequence[Line]) -> list[Embed]:
    """Every embed shortcode of the lines, in order."""
    return [embed_of(sc) for sc in shortcodes(lines, ("embed",))]


def expand_includes(
    lines: list[Line], base: Path, stack: Sequence[Path] = (),
    follow: Callable[[Path], bool] = lambda path: True, root: Path | None = None,
) -> list[Line]:
    """Replace include lines by the included file's body, recursively, keeping origins.

    Paths are relative to ``base``, the rendered document's directory (see
    :func:`shortcode_path`). ``follow(path)`` decides which includes are expanded; the
    others stay as written.
    """
    out: list[Line] = []
    code = in_code([line.text for line in lines])
    for line, is_code in zip(lines, code, strict=True):
        found = None if is_code else next(shortcodes([line], ("include",)), None)
        if found is None or found.escaped:
            out.append(line)
            continue
        if not found.standalone:
            raise QmdError(f"{line.where}: shortcode 'include' must stand on a line of its own")
        target = shortcode_path(found.first_arg, base, root)
        if not follow(target):
            out.append(line)
            continue
        if not target.is_file():
            raise QmdError(f"{line.where}: include file '{found.first_arg}' not found ({target})")
        if target in stack:
            raise QmdError(f"{line.where}: include of '{found.first_arg}' is circular")
        included = read_lines(target)
        _, start = split_front_matter(included)
        out.append(Line("", line.path, line.lineno))
        out.extend(expand_includes(included[start:], base, [*stack, target], follow, root))
        out.append(Line("", line.path, line.lineno))
    return out


def read_document(
    path: Path, root: Path | None = None, *, includes: bool = True,
    follow: Callable[[Path], bool] = lambda path: True,
) -> Document:
    """Read a .qmd: front matter parsed, body with includes expanded when ``includes``.

    ``root`` is the project directory ('/x' paths); it defaults to the file's directory."""
    path = Path(path)
    root = Path(root) if root else path.parent
    lines = read_lines(path)
    front_lines, body_start = split_front_matter(lines)
    front = parse_front_matter(front_lines, path)
    body = lines[body_start:]
    if includes:
        body = expand_includes(body, path.parent, [path.resolve()], follow, root)
    return Document(path, front, front_lines, body)


def problem_pattern(kind: str, ident: str) -> re.Pattern[str]:
    """How the source spells what a renderer's problem report names (both renderers)."""
    esc = re.escape(ident)
    patterns = {
        "unknown-variable": r"\{\{<\s*var\s+" + esc + r"\s*>\}\}",
        "unknown-meta": r"\{\{<\s*meta\s+" + esc + r"\s*>\}\}",
        "unresolved-xref": rf"(?<![\w@])-?@\{{?{esc}(?![\w-])",
        "unknown-citation": rf"(?<![\w@])-?@\{{?{esc}(?![\w-])",
        "unnumbered-section-xref": rf"(?<![\w@])-?@\{{?{esc}(?![\w-])",
        "unsupported-xref": rf"(?:(?<![\w@])-?@\{{?|#){esc}(?![\w-])",
        "missing-image": rf"\]\(<?{esc}",
        "unsupported-class": rf"\.{esc}(?![\w-])",
        "unsupported-attribute": rf"(?<![\w-]){esc}\s*=",
    }
    return re.compile(patterns.get(kind, rf"#{esc}(?![\w-])"))  # labels: #fig-x, nb#fig-x


def locate(kind: str, ident: str, lines: Sequence[Line]) -> list[Line]:
    """The source lines that a problem report (kind, id) is about, in order."""
    pattern = problem_pattern(kind, ident)
    return [line for line in lines if pattern.search(line.text)]


FLOAT_LABEL = re.compile(r"#((?:fig|tbl)-[\w-]+)")
CELL_LABEL = re.compile(r"^#\|\s*label:\s*((?:fig|tbl)-[\w-]+)\s*$")
FLOAT_NAMES = {"fig": "Figure", "tbl": "Table"}


def float_numbers(lines: Sequence[Line]) -> dict[str, str]:
    """'fig-x' -> 'Figure 3': figures and tables numbered in order of appearance, as Quarto
    numbers them. Labels come from attributes ({#fig-x}), embeds (nb.ipynb#fig-x) and
    code-cell options (#| label: fig-x)."""
    code = in_code([line.text for line in lines])
    numbers: dict[str, str] = {}
    counts = dict.fromkeys(FLOAT_NAMES, 0)
    for line, is_code in zip(lines, code, strict=True):
        match = CELL_LABEL.match(line.text.strip()) if is_code else None
        found = [match.group(1)] if match else ([] if is_code else FLOAT_LABEL.findall(line.text))
        for label in found:
            if label not in numbers:
                kind = label[:3]
                counts[kind] += 1
                numbers[label] = f"{FLOAT_NAMES[kind]} {counts[kind]}"
    return numbers



IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)(\{[^}]*\})?")


def image_paths(lines: Sequence[Line]) -> list[str]:
    """Paths of the images the prose shows (``![caption](figures/x.png){#fig-x}``), in order;
    images in code blocks are text, not images."""
    code = in_code([line.text for line in lines])
    found = [m.group(1) for line, is_code in zip(lines, code, strict=True) if not is_code
             for m in IMAGE.finditer(line.text)]
    return list(dict.fromkeys(p for p in found if "://" not in p))


def image_labels(lines: Sequence[Line]) -> list[tuple[str, str, Line]]:
    """(label, path, line) of every labelled image of the prose (``![..](p){#fig-x}``)."""
    code = in_code([line.text for line in lines])
    out = []
    for line, is_code in zip(lines, code, strict=True):
        if is_code:
            continue
        for m in IMAGE.finditer(line.text):
            label = re.search(r"#((?:fig|tbl)-[\w-]+)", m.group(2) or "")
            if label and "://" not in m.group(1):
                out.append((label.group(1), m.group(1), line))
    return out


# ----------------------------------------------------------------------------- code cells

# ```{python}, ```{r label="x"}, ```{mermaid}: a cell Quarto executes (or draws); not
# ```{=html} (raw), ```{.python} (a plain code block with a class) or ```{#id .cls}.
CELL_FENCE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})\s*\{([A-Za-z][\w-]*)[\s,}]")
# `{python} expr` / `r expr`: inline code Quarto's engines evaluate.
INLINE_CELL = re.compile(r"`\{([A-Za-z][\w-]*)\}\s[^`]*`")
DIAGRAM_ENGINES = ("mermaid", "dot")


@dataclass(frozen=True)
class Cell:
    """An executable code cell (or inline expression) and the line it starts on."""

    language: str
    line: Line
    inline: bool = False

    @property
    def where(self) -> str:
        return self.line.where


def code_cells(lines: Sequence[Line]) -> list[Cell]:
    """Every executable cell of the lines, block (```{python}) and inline (`{python} x`),
    in order. Quarto hands these to a Jupyter/knitr engine (or a diagram renderer)."""
    texts = [line.text for line in lines]
    code = in_code(texts)
    starts = {open_i for open_i, _ in fence_spans(texts)}
    cells = []
    for i, (line, is_code) in enumerate(zip(lines, code, strict=True)):
        if i in starts:
            m = CELL_FENCE.match(line.text + " ")
            if m:
                cells.append(Cell(m.group(1).lower(), line))
        elif not is_code:
            cells.extend(Cell(m.group(1).lower(), line, inline=True)
                         for m in INLINE_CELL.finditer(line.text))
    return cells


def cell_options(lines: Sequence[Line]) -> dict[str, Any]:
    """The `#|` options at the top of a code cell's lines, as YAML; errors name the line."""
    option_lines = []
    for line in lines:
        if not line.text.startswith("#|"):
            break
        option_lines.append(line)
    if not option_lines:
        return {}
    text = "\n".join(line.text[2:].removeprefix(" ") for line in option_lines)
    try:
        options = parse_yaml(text, str(option_lines[0].path))
    except YamlError as exc:
        raise QmdError(f"{option_lines[0].where}: cell options: {exc}") from exc
    if not isinstance(options, dict):
        raise QmdError(f"{option_lines[0].where}: cell options must be `#| key: value` lines")
    return options


def cell_blocks(lines: Sequence[Line]) -> list[tuple[int, int, Cell]]:
    """(opening index, closing index, cell) of every executable block cell."""
    texts = [line.text for line in lines]
    out = []
    for open_i, close_i in fence_spans(texts):
        m = CELL_FENCE.match(texts[open_i] + " ")
        if m:
            out.append((open_i, close_i, Cell(m.group(1).lower(), lines[open_i])))
    return out


def read_notebook(path: Path) -> Document:
    """Read a Jupyter notebook as Quarto reads an .ipynb document: front matter from a
    leading raw cell (or the top of the first markdown cell), markdown cells as markdown,
    code cells as ```{python} cells (with their `#|` options) whose stored outputs are
    kept in ``Document.outputs``. Lines are numbered within their cell:
    ``index.ipynb, cell 3:2``. The cells are read by :mod:`paperkit.ipynb`."""
    path = Path(path)
    try:
        notebook = ipynb.read_notebook(path)
    except ipynb.NotebookReadError as exc:
        raise QmdError(str(exc)) from exc
    front: dict[str, Any] = {}
    front_lines: list[Line] = []
    body: list[Line] = []
    outputs: dict[Line, list[Any]] = {}
    for cell in notebook.cells:
        where = Path(f"{path}, cell {cell.number}")
        lines = [Line(t, where, i) for i, t in enumerate(cell.source.split("\n"), start=1)]
        if cell.kind in ("raw", "markdown") and cell.number == 1 and \
                lines[0].text.strip() == "---":
            # front matter: a leading raw cell, or the top of the first markdown cell
            front_lines, start = split_front_matter(lines)
            front = parse_front_matter(front_lines, where)
            lines = lines[start:] if cell.kind == "markdown" else []
        if cell.kind == "markdown" and lines:
            body += [*lines, Line("", where, len(lines))]
        elif cell.kind == "code":
            fence = Line("```{" + notebook.language + "}", where, 1)
            outputs[fence] = list(cell.outputs)
            body += [fence, *lines, Line("```", where, len(lines)), Line("", where, len(lines))]
    return Document(path, front, front_lines, body, outputs)
