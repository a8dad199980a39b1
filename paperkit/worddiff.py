"""A word-level diff of two Quarto articles that understands the document.

The result is the *current* article as Markdown in which inserted words are highlighted
(``[...]{.mark}``) and deleted words struck through (``~~...~~``): both are plain pandoc
Markdown, which Quarto and the self-render (paperkit.render) write to highlight and
strike-through in the PDF (typst) and the DOCX alike, without Word's tracked changes.

What "understands the document" means here:

* blocks first: paragraphs are aligned as a whole, so a moved paragraph is shown once,
  at its new place, marked as moved (and word-diffed against where it came from), not as
  a deletion plus an insertion; code, div fences, tables and embedded objects are not
  prose: they are kept as they are now (tables and figures are compared as objects by
  :mod:`paperkit.diff`, which marks their captions);
* within a paragraph, words are compared, and citations (``[@a; @b]``, ``@a``),
  cross-references (``@fig-x``), shortcodes (``{{< var key >}}``), inline code and math
  are atoms: never split, never half-marked;
* Markdown structure of the current text (span brackets, attributes, emphasis markers,
  list and heading markers) is never inside a mark, so the marked text parses as the
  current text does; deleted structure is dropped, deleted atoms are printed as text
  (a deleted variable as its old value), since they may no longer resolve;
* a number whose value changed (an unchanged ``{{< var key >}}`` with a new value) shows
  its old value struck through, then the new one highlighted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from paperkit import qmd

INSERT_OPEN, INSERT_CLOSE = "[", "]{.mark}"
MOVED_LABEL = "[\\[moved\\]]{.mark}"
CHANGED_LABEL = "[\\[changed\\]]{.mark}"
PAIR_RATIO = 0.4  # two paragraphs at least this similar are one edited paragraph

TOKEN = re.compile(
    r"""(?P<struct_line>^[ \t]*(?:[-*+]|\d+[.)])[ \t]+|^\#{1,6}[ \t]+|^>[ \t]?|^:[ \t]+)
      |(?P<shortcode>\{\{<.*?>\}\})
      |(?P<cite>\[[^\[\]]*-?@[^\[\]]*\](?![({]))
      |(?P<code>`+[^`]*`+)
      |(?P<math>\$[^$\s][^$]*\$)
      |(?P<closer>\]\{[^}]*\}|\]\([^)]*\)|\])
      |(?P<attr>\{[#.][^}]*\})
      |(?P<opener>!?\[)
      |(?P<emph>\*{1,3}|_{1,3}(?=\S)|(?<=\S)_{1,3}|~~)
      |(?P<ref>-?@[\w:.#$%&+?<>~/-]*\w)
      |(?P<space>\s+)
      |(?P<word>[^\s\[\]*`{@$]+|[{@$])
    """,
    re.MULTILINE | re.VERBOSE,
)
STRUCTURE = {"struct_line", "closer", "attr", "opener", "emph"}
VAR = re.compile(r"^\{\{<\s*var\s+(\S+)\s*>\}\}$")
ESCAPE = re.compile(r"([\\`*_{}\[\]<>#@$~|^])")


@dataclass(frozen=True)
class Token:
    """One token of a paragraph: its text, kind and the whitespace before it."""

    text: str
    kind: str
    space: str = ""

    @property
    def structural(self) -> bool:
        """Markdown structure (brackets, attributes, emphasis, line markers), never marked."""
        return self.kind in STRUCTURE


def tokenize(text: str) -> list[Token]:
    """The paragraph as tokens; whitespace is kept with the token that follows it."""
    tokens: list[Token] = []
    space = ""
    for match in TOKEN.finditer(text):
        kind = match.lastgroup or "word"
        if kind == "space":
            space += match.group()
            continue
        tokens.append(Token(match.group(), kind, space))
        space = ""
    if space:
        tokens.append(Token("", "end", space))
    return tokens


def escape(text: str) -> str:
    """Markdown-escaped literal text (for deleted atoms that may no longer resolve)."""
    return ESCAPE.sub(r"\\\1", text)


Values = Mapping[str, tuple[str, str]]  # var key -> (old formatted value, new value)


def _old_text(token: Token, old_values: Callable[[str], str | None]) -> str:
    """How a deleted token is printed: words as they were, atoms as literal text."""
    if token.kind == "word":
        return token.text
    var = VAR.match(token.text)
    if var:
        value = old_values(var.group(1))
        return escape(value) if value is not None else escape(token.text)
    return escape(token.text)


def _struck(tokens: Sequence[Token], old_values: Callable[[str], str | None]) -> str:
    """Deleted tokens struck through, without their Markdown structure."""
    words = [_old_text(t, old_values) for t in tokens if not t.structural and t.text]
    return f"~~{' '.join(words)}~~" if words else ""


def _inserted(tokens: Sequence[Token]) -> str:
    """New tokens highlighted, structure outside the marks (so the text still parses)."""
    out, run = [], []

    def flush() -> None:
        if run:
            body = "".join(t.space + t.text for t in run).lstrip()
            lead = run[0].space
            out.append(f"{lead}{INSERT_OPEN}{body}{INSERT_CLOSE}")
            run.clear()

    for token in tokens:
        if token.structural or not token.text:
            flush()
            out.append(token.space + token.text)
        else:
            run.append(token)
    flush()
    return "".join(out)


def _equal(tokens: Sequence[Token], values: Values) -> str:
    """Unchanged tokens; a variable whose value moved shows old and new."""
    out = []
    for token in tokens:
        var = VAR.match(token.text)
        if var and var.group(1) in values and values[var.group(1)][0] != values[var.group(1)][1]:
            old = values[var.group(1)][0]
            out.append(f"{token.space}~~{escape(old)}~~ {INSERT_OPEN}{token.text}{INSERT_CLOSE}"
                       if old else f"{token.space}{INSERT_OPEN}{token.text}{INSERT_CLOSE}")
        else:
            out.append(token.space + token.text)
    return "".join(out)


def diff_paragraph(old: str, new: str, values: Values | None = None) -> str:
    """``new`` with the words inserted since ``old`` highlighted and the deleted struck."""
    values = values or {}

    def old_of(key: str) -> str | None:
        return values[key][0] if key in values else None

    a, b = tokenize(old), tokenize(new)
    matcher = difflib.SequenceMatcher(None, [t.text for t in a], [t.text for t in b],
                                      autojunk=False)
    out = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(_equal(b[j1:j2], values))
            continue
        struck = _struck(a[i1:i2], old_of) if op in ("delete", "replace") else ""
        if struck:
            out.append(a[i1].space + struck)
        if op in ("insert", "replace"):
            inserted = _inserted(b[j1:j2])
            out.append((" " + inserted.lstrip()) if struck and inserted.strip() else inserted)
    return "".join(out)


# ----------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Block:
    """A run of lines between blank lines (a fenced code block is one block)."""

    text: str
    prose: bool

    @property
    def key(self) -> str:
        """The block's words, whitespace normalised: what aligning compares."""
        return " ".join(self.text.split())


OBJECT_START = re.compile(r"^(?:\||\+[-=]|:::|<|\{\{<\s*(?:embed|include|pagebreak)\b|```"
                          r"|~~~|-{3,}\s*$|\*{3,}\s*$|!\[)")


def blocks(text: str) -> list[Block]:
    """The body's blocks; prose unless code, a fence, a table, raw HTML or an embed."""
    lines = text.split("\n")
    code = qmd.in_code(lines)
    out: list[Block] = []
    current: list[str] = []
    current_code = False

    def flush() -> None:
        if current:
            joined = "\n".join(current)
            out.append(Block(joined, not current_code and not OBJECT_START.match(joined.lstrip())))
            current.clear()

    for line, is_code in zip(lines, code, strict=True):
        if is_code != current_code:
            flush()
            current_code = is_code
        if not line.strip() and not is_code:
            flush()
            continue
        current.append(line)
    flush()
    return out


def _ratio(a: Block, b: Block) -> float:
    """How alike two blocks' words are (0 to 1)."""
    return difflib.SequenceMatcher(None, a.key.split(), b.key.split(), autojunk=False).ratio()


@dataclass
class Stats:
    """What the diff found, for the summary."""

    edited: int = 0
    inserted: int = 0
    deleted: int = 0
    moved: int = 0


def _pairs(old: Sequence[Block], new: Sequence[Block]) -> dict[int, int]:
    """Greedy best pairing of edited prose blocks (new index -> old index)."""
    scored = sorted(((_ratio(o, n), j, i) for j, n in enumerate(new) if n.prose
                     for i, o in enumerate(old) if o.prose), reverse=True)
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for ratio, j, i in scored:
        if ratio < PAIR_RATIO:
            break
        if j not in pairs and i not in used:
            pairs[j] = i
            used.add(i)
    return pairs


def diff_article(old: str, new: str, values: Values | None = None) -> tuple[str, Stats]:
    """The current body with every change marked, and counts of what changed."""
    values = values or {}
    old_blocks, new_blocks = blocks(old), blocks(new)
    matcher = difflib.SequenceMatcher(None, [b.key for b in old_blocks],
                                      [b.key for b in new_blocks], autojunk=False)
    opcodes = matcher.get_opcodes()
    removed = [i for op, i1, i2, _, _ in opcodes if op != "equal" for i in range(i1, i2)]
    added = [j for op, _, _, j1, j2 in opcodes if op != "equal" for j in range(j1, j2)]
    pairs = {added[j]: removed[i] for j, i in
             _pairs([old_blocks[i] for i in removed], [new_blocks[j] for j in added]).items()}
    region_of = {i: n for n, (op, i1, i2, _, _) in enumerate(opcodes) for i in range(i1, i2)}
    stats = Stats()
    out: list[str] = []
    for n, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            out += [_equal(tokenize(b.text), values) if b.prose else b.text
                    for b in new_blocks[j1:j2]]
            continue
        paired_old = set(pairs.values())
        for i in range(i1, i2):
            if i not in paired_old and old_blocks[i].prose:
                out.append(_struck(tokenize(old_blocks[i].text), _old_value(values)))
                stats.deleted += 1
        for j in range(j1, j2):
            block = new_blocks[j]
            if not block.prose:
                out.append(block.text)
            elif j in pairs:
                source = old_blocks[pairs[j]]
                moved = region_of.get(pairs[j]) != n
                body = diff_paragraph(source.text, block.text, values)
                if moved:
                    stats.moved += 1
                    body = _label(body, MOVED_LABEL)
                elif source.key != block.key:
                    stats.edited += 1
                out.append(body)
            else:
                out.append(_inserted(tokenize(block.text)))
                stats.inserted += 1
    return "\n\n".join(x for x in out if x) + "\n", stats


def _old_value(values: Values) -> Callable[[str], str | None]:
    """A variable's old printed value, or None when the base had no such variable."""
    return lambda key: values[key][0] if key in values else None


def _label(body: str, label: str) -> str:
    """``label`` after the paragraph's leading structure (heading or list marker)."""
    match = re.match(r"^(?:[ \t]*(?:[-*+]|\d+[.)])[ \t]+|\#{1,6}[ \t]+|>[ \t]?|:[ \t]+)", body)
    cut = match.end() if match else 0
    return f"{body[:cut]}{label} {body[cut:]}"


def mark_caption(text: str, label: str, note: str = CHANGED_LABEL) -> str:
    """The article with ``note`` at the start of the caption of ``label``: a table's
    ``: caption {#label}`` line or an image's ``![caption](file){#label}``."""
    caption = re.compile(rf"^(:[ \t]+)(.*\{{#{re.escape(label)}[ }}])", re.MULTILINE)
    marked = caption.sub(lambda m: f"{m.group(1)}{note} {m.group(2)}", text, count=1)
    if marked != text:
        return marked
    image = re.compile(rf"(!\[)([^\]]*\]\([^)]*\)\{{#{re.escape(label)}[ }}])")
    return image.sub(lambda m: f"{m.group(1)}{note} {m.group(2)}", text, count=1)


def _block_scalar(lines: Sequence[str], key: str) -> tuple[int, int] | None:
    """The body lines [start, end) of a top-level ``key: |`` block of front matter."""
    head = re.compile(rf"^{re.escape(key)}:\s*[|>][-+]?\s*$")
    for n, line in enumerate(lines):
        if head.match(line):
            end = n + 1
            while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t"):
                end += 1
            return n + 1, end
    return None


def diff_front_matter(old: Sequence[str], new: Sequence[str], values: Values | None = None,
                      keys: Sequence[str] = ("abstract",)) -> list[str]:
    """The current front matter with the Markdown block fields (the abstract) diffed."""
    out = list(new)
    for key in keys:
        a, b = _block_scalar(old, key), _block_scalar(out, key)
        if a is None or b is None:
            continue
        body = out[b[0]:b[1]]
        indent = re.match(r"^[ \t]*", next((x for x in body if x.strip()), "")).group()
        dedent = [x[len(indent):] if x.startswith(indent) else x.strip() for x in body]
        old_body = [x.strip() for x in old[a[0]:a[1]]]
        marked, _ = diff_article("\n".join(old_body), "\n".join(dedent), values)
        out[b[0]:b[1]] = [indent + x if x.strip() else "" for x in marked.rstrip("\n").split("\n")]
    return out
