"""Machine-checked qualitative claims: the prose may only say what the results show.

A sentence such as "older respondents approve more" is marked in the manuscript as a
pandoc span ``[older respondents approve more]{.claim #clm-age-positive}`` (it renders as
plain text). ``paper/claims.yml`` maps each id to a human description and an assertion
over ``results/numbers.json``::

    clm-age-positive:
      text: older respondents approve more (p < .05)
      assert: "models.m7.coef.age10.estimate > 0 and models.m7.coef.age10.p < 0.05"

When the data or a model change so that the sentence is no longer true, the build fails
naming the claim, where it is in the text and the values that contradict it.

Assertions are parsed with :mod:`ast` and interpreted here, never passed to ``eval``.
Allowed: numbers, True/False, comparisons, ``and``/``or``/``not``, ``+ - * /``, unary minus,
the functions in :data:`FUNCTIONS`, and dotted names resolving into numbers.json. A key that
is not a Python identifier is written as a subscript: ``models.m7.coef["income[T.>4000]"].p``.
``assert`` may also be a list of such strings; all must hold.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import functools
import math
import operator
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paperkit.io import read_json, read_yaml, write_json
from paperkit.prose_check import ClaimSpan, find_claim_spans, find_includes, mask_code
from paperkit.safe_ast import COMPARISONS

PathKey = tuple[str | int, ...]


class ClaimsError(ValueError):
    """One or more claims are false, unchecked or malformed."""


class UnsafeExpressionError(ValueError):
    """An assertion uses syntax outside the safe assertion language."""


class NameResolutionError(ValueError):
    """A dotted name in an assertion does not lead to a number in numbers.json."""


def _all_positive(*xs: float) -> bool:
    return len(xs) > 0 and all(x > 0 for x in xs)


def _all_negative(*xs: float) -> bool:
    return len(xs) > 0 and all(x < 0 for x in xs)


def _between(x: float, lo: float, hi: float) -> bool:
    return lo <= x <= hi


def _round(x: float, ndigits: float = 0) -> float:
    if ndigits != int(ndigits) or not 0 <= ndigits <= 15:
        raise ValueError(f"round(): ndigits must be an integer 0-15, not {ndigits}")
    return round(x, int(ndigits))


def _min(*xs: float) -> float:
    return min(xs)


def _max(*xs: float) -> float:
    return max(xs)


# name -> (function, minimum arity, maximum arity or None)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "abs": (abs, 1, 1),
    "min": (_min, 1, None),
    "max": (_max, 1, None),
    "round": (_round, 1, 2),
    "all_positive": (_all_positive, 1, None),
    "all_negative": (_all_negative, 1, None),
    "between": (_between, 3, 3),
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CMPOPS = COMPARISONS
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}


# --------------------------------------------------------------------------- parsing


def format_path(path: PathKey) -> str:
    """Render a path the way it would be written in an assertion."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]".replace("'", '"')
    return out


def _name_path(node: ast.AST, expr: str) -> PathKey:
    """Path of a dotted name; anything that is not a pure name/key chain is refused."""
    parts: list[str | int] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            key = node.slice
            ok = isinstance(key, ast.Constant) and type(key.value) in (str, int)
            if not ok:
                raise UnsafeExpressionError(
                    f"in {expr!r}: only a quoted key or an integer index may go in [...]"
                )
            parts.append(key.value)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            raise UnsafeExpressionError(
                f"in {expr!r}: attribute access or indexing on {type(node).__name__} is not "
                "allowed; only dotted names into numbers.json"
            )
    path = tuple(reversed(parts))
    for part in path:
        if isinstance(part, str) and part.startswith("__"):
            raise UnsafeExpressionError(f"in {expr!r}: name part {part!r} is not allowed")
    if isinstance(path[0], str) and path[0] in FUNCTIONS:
        raise UnsafeExpressionError(f"in {expr!r}: function {path[0]!r} used as a name")
    return path


def _check_node(node: ast.AST, expr: str, names: list[PathKey]) -> None:
    """Refuse every node outside the assertion language; collect the names it uses."""
    if isinstance(node, ast.Expression):
        _check_node(node.body, expr, names)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _check_node(value, expr, names)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check_node(node.operand, expr, names)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check_node(node.left, expr, names)
        _check_node(node.right, expr, names)
    elif isinstance(node, ast.Compare) and all(type(op) in _CMPOPS for op in node.ops):
        for sub in [node.left, *node.comparators]:
            _check_node(sub, expr, names)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        return
    elif isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
        path = _name_path(node, expr)
        if path not in names:
            names.append(path)
    elif isinstance(node, ast.Call):
        _check_call(node, expr, names)
    else:
        what = type(getattr(node, "op", node)).__name__
        raise UnsafeExpressionError(
            f"in {expr!r}: {what} is not allowed (use numbers, dotted names, comparisons, "
            f"and/or/not, + - * / and the functions {', '.join(sorted(FUNCTIONS))})"
        )


def _check_call(node: ast.Call, expr: str, names: list[PathKey]) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        shown = ast.unparse(node.func)
        raise UnsafeExpressionError(
            f"in {expr!r}: call to unknown function {shown!r}; allowed: "
            f"{', '.join(sorted(FUNCTIONS))}"
        )
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise UnsafeExpressionError(f"in {expr!r}: keyword or starred arguments are not allowed")
    _, lo, hi = FUNCTIONS[node.func.id]
    if len(node.args) < lo or (hi is not None and len(node.args) > hi):
        wanted = f"{lo}" if hi == lo else f"{lo} or more" if hi is None else f"{lo} to {hi}"
        raise UnsafeExpressionError(
            f"in {expr!r}: {node.func.id}() takes {wanted} argument(s), got {len(node.args)}"
        )
    for arg in node.args:
        _check_node(arg, expr, names)


@dataclass(frozen=True)
class Assertion:
    """A validated assertion: its source, syntax tree and the names it reads."""

    source: str
    tree: ast.Expression
    names: tuple[PathKey, ...]


def parse_assertion(expr: str) -> Assertion:
    """Parse and validate; raise UnsafeExpressionError for anything outside the language.

    Memoised on the text: the robustness grid checks the same few dozen assertions in
    every specification, and validating one (the tautology trials) costs far more than
    evaluating it. The result is shared, so callers must not modify its syntax tree.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise UnsafeExpressionError(f"assertion must be a non-empty string, got {expr!r}")
    return _parse_text(expr)


@functools.lru_cache(maxsize=4096)
def _parse_text(expr: str) -> Assertion:
    """:func:`parse_assertion` of a non-empty string (a refusal is raised, not cached)."""
    if len(expr) > 2000:
        raise UnsafeExpressionError("assertion longer than 2000 characters")
    expr = " ".join(expr.split())  # YAML folded blocks keep line breaks; one line parses
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpressionError(f"in {expr!r}: syntax error: {exc.msg}") from exc
    names: list[PathKey] = []
    _check_node(tree, expr, names)
    if not names:
        raise UnsafeExpressionError(
            f"in {expr!r}: refers to no result value; an assertion must test at least one "
            "value of numbers.json (one over constants alone, such as 1 == 1, checks nothing)"
        )
    _refuse_constant_tests(tree.body, expr)
    assertion = Assertion(expr.strip(), tree, tuple(names))
    _refuse_tautology(assertion)
    return assertion


_BOOL_FUNCTIONS = ("all_positive", "all_negative", "between")


def _reads_data(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name | ast.Attribute | ast.Subscript) and not (
        isinstance(n, ast.Name) and n.id in FUNCTIONS) for n in ast.walk(node))


def _is_test(node: ast.AST) -> bool:
    """A node whose value is true or false (not a number)."""
    return (isinstance(node, ast.Compare | ast.BoolOp)
            or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
            or isinstance(node, ast.Constant) and isinstance(node.value, bool)
            or isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _BOOL_FUNCTIONS)


def _refuse_constant_tests(node: ast.AST, expr: str) -> None:
    """A test over constants alone (``2 > 1``, ``True``, ``between(5, 1, 9)``) and a
    comparison of an expression with itself (``x >= x``) decide nothing about the data:
    an assertion holding one would be true (or false) whatever the results say."""
    for sub in ast.walk(node):
        if _is_test(sub) and not _reads_data(sub):
            raise UnsafeExpressionError(
                f"in {expr!r}: '{ast.unparse(sub)}' is a constant sub-expression: it is the "
                "same whatever the data; an assertion must test result values")
        if isinstance(sub, ast.BoolOp) or not isinstance(sub, ast.Compare):
            continue
        sides = [sub.left, *sub.comparators]
        for left, right in zip(sides, sides[1:], strict=False):
            if ast.dump(left) == ast.dump(right):
                raise UnsafeExpressionError(
                    f"in {expr!r}: '{ast.unparse(sub)}' compares "
                    f"'{ast.unparse(left)}' with itself: it is the same whatever the data")


def _refuse_tautology(assertion: Assertion, draws: int = 400) -> None:
    """Refuse an assertion that no values of the names it reads can make false (``x > 0
    or x <= 0``, ``abs(x) >= 0``): tried on values from -1e6 to 1e6, zero, and equal
    values, it never fails (deterministic: a fixed seed)."""
    rng = random.Random(20251207)
    pool = [0.0, 1.0, -1.0, 0.5, 100.0, -100.0, 1e6, -1e6, 1e-9]
    for i in range(draws):
        if i < len(pool):
            values = {p: pool[i] for p in assertion.names}
        else:
            values = {p: rng.choice(pool) if rng.random() < 0.3 else rng.uniform(-1e3, 1e3)
                      for p in assertion.names}
        try:
            result = _eval(assertion.tree, values)
        except (ArithmeticError, ValueError, TypeError):
            continue
        if result is not True:  # false, or not a test at all (evaluate() says so)
            return
    raise UnsafeExpressionError(
        f"in {assertion.source!r}: true whatever the values of "
        f"{', '.join(format_path(p) for p in assertion.names)} (it never failed on "
        f"{draws} trial values): it checks nothing; test what the claim says about the data")


# --------------------------------------------------------------------------- evaluation


def _available(node: Any) -> str:
    keys = sorted(map(str, node)) if isinstance(node, dict) else [f"0..{len(node) - 1}"]
    shown = ", ".join(keys[:40]) + (f", ... ({len(keys)} keys)" if len(keys) > 40 else "")
    return shown or "(none)"


def resolve(numbers: Any, path: PathKey) -> float:
    """Follow ``path`` into numbers.json; say which part is missing and what exists there."""
    node = numbers
    for i, part in enumerate(path):
        here = format_path(path[:i]) or "the top level of numbers.json"
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
            node = node[part]
        elif isinstance(node, dict | list):
            raise NameResolutionError(
                f"{format_path(path)}: {part!r} not found under {here} "
                f"(available: {_available(node)})"
            )
        else:
            raise NameResolutionError(
                f"{format_path(path)}: {here} is a value ({node!r}), it has no key {part!r}"
            )
    name = format_path(path)
    if isinstance(node, dict | list):
        raise NameResolutionError(
            f"{name}: is a {'mapping' if isinstance(node, dict) else 'list'}, not a number "
            f"(available: {_available(node)})"
        )
    if node is None:
        raise NameResolutionError(f"{name}: is null (missing value) in numbers.json")
    if not isinstance(node, int | float):
        raise NameResolutionError(f"{name}: is {type(node).__name__} {node!r}, not a number")
    if isinstance(node, float) and math.isnan(node):
        raise NameResolutionError(f"{name}: is NaN in numbers.json")
    return node


def _eval(node: ast.AST, values: dict[PathKey, float]) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, values)
    if isinstance(node, ast.BoolOp):
        results = [bool(_eval(v, values)) for v in node.values]
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, values))
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, values)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Call):
        func = FUNCTIONS[node.func.id][0]  # type: ignore[attr-defined]
        return func(*[_eval(a, values) for a in node.args])
    return values[_name_path(node, "")]


def evaluate(assertion: Assertion, numbers: Any) -> tuple[bool, dict[PathKey, float]]:
    """Truth value and the value of every name; every name must resolve, even if unused."""
    errors, values = [], {}
    for path in assertion.names:
        try:
            values[path] = resolve(numbers, path)
        except NameResolutionError as exc:
            errors.append(str(exc))
    if errors:
        raise NameResolutionError("; ".join(errors))
    try:
        result = _eval(assertion.tree, values)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise NameResolutionError(f"evaluation failed: {exc}") from exc
    if not isinstance(result, bool):
        raise UnsafeExpressionError(
            f"in {assertion.source!r}: evaluates to {result!r}, not true/false; "
            "an assertion must be a comparison or a test such as all_positive(...)"
        )
    return result, values


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    claim_id: str
    text: str
    asserts: tuple[str, ...]


def load_claims(path: str | Path) -> dict[str, Claim]:
    """Read claims.yml; raise ClaimsError naming the entry and the rule it breaks."""
    try:
        data = read_yaml(path)
    except yaml.YAMLError as exc:
        raise ClaimsError(str(exc)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClaimsError(f"{path}: top level must be a mapping of claim id -> entry")
    claims = {}
    for cid, entry in data.items():
        where = f"{path}: claim {cid!r}"
        if not isinstance(entry, dict) or not {"text", "assert"} <= set(entry):
            raise ClaimsError(f"{where}: needs the keys 'text' and 'assert'")
        extra = sorted(set(entry) - {"text", "assert"})
        if extra:
            raise ClaimsError(f"{where}: unknown key(s) {extra}; allowed: text, assert")
        if not isinstance(entry["text"], str) or not entry["text"].strip():
            raise ClaimsError(f"{where}: 'text' must be a non-empty string")
        asserts = entry["assert"]
        asserts = [asserts] if isinstance(asserts, str) else asserts
        if (
            not isinstance(asserts, list)
            or not asserts
            or not all(isinstance(a, str) for a in asserts)
        ):
            raise ClaimsError(f"{where}: 'assert' must be a string or a list of strings")
        claims[str(cid)] = Claim(str(cid), entry["text"].strip(), tuple(asserts))
    return claims


@dataclass(frozen=True)
class ClaimResult:
    """Outcome of one claim, or one problem tying text and claims file together.

    status: pass | fail (assertion false) | error (malformed, unresolved name) |
    unused (claim never cited in the text) | unmatched (span without a claim entry or id).
    """

    claim_id: str
    status: str
    text: str = ""
    span_text: str = ""
    locations: tuple[str, ...] = ()
    asserts: tuple[str, ...] = ()
    values: tuple[tuple[str, float], ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    @property
    def message(self) -> str:
        where = ", ".join(self.locations) or "not cited in the text"
        head = {
            "fail": "claim is false",
            "error": "claim cannot be checked",
            "unused": "claim is never used in the text",
            "unmatched": "claim span has no entry in the claims file",
        }.get(self.status, self.status)
        lines = [f"- {self.claim_id} ({where}): {head}"]
        if self.text:
            lines.append(f"    claim:  {self.text}")
        if self.span_text:
            lines.append(f"    span:   {self.span_text}")
        lines += [f"    assert: {a}" for a in self.asserts]
        if self.values:
            pad = "\n            "
            lines.append("    values: " + pad.join(f"{n} = {v!r}" for n, v in self.values))
        if self.detail:
            lines.append(f"    {self.detail}")
        return "\n".join(lines)


def _span_text(text: str, span: ClaimSpan) -> str:
    return " ".join(text[span.text_start : span.text_end].split())


_VAR = re.compile(r"\{\{<\s*var\s+([^\s>]+)\s*>\}\}")
# Words a full stop follows without ending the sentence ("et al. 2019", "cf. Table").
_ABBREVIATIONS = ("al", "approx", "cf", "ch", "eq", "eqs", "etc", "fig", "figs", "ibid",
                  "incl", "no", "nos", "p", "pp", "resp", "sec", "tab", "vol", "vs")
_SENTENCE_END = re.compile(
    # ., ? or ! -- not in "e.g." or "i.e.", not after an abbreviation or an initial --
    r"(?<![A-Za-z]\.[A-Za-z])(?<!\b[A-Za-z]\.[A-Za-z])(?<!\b[A-Z])"
    + "".join(rf"(?<!\b{a})(?<!\b{a.title()})" for a in _ABBREVIATIONS)
    # then closing quotes, brackets, emphasis or a span's attributes, then white space;
    + r"[.!?](?:[\]\)\"'\u201d\u2019*_]|\]\{[^{}\n]*\})*(?=\s|$)"
    # or a paragraph end, or a new line starting a heading, list item, table row or div.
    + r"|\n[ \t]*\n|\n(?=[ \t]*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|\||:::))"
)


# How far past a sentence end its pattern may read (a span's attributes, a blank line's
# indentation): a scan from a known end this far before a span finds what one from the
# text's start finds.
_LOOKAHEAD = 4096


def sentence_ends(text: str) -> list[int]:
    """Where each sentence of ``text`` ends, for :func:`sentence_bounds` (one scan of the
    whole text instead of one per claim span: a long article holds hundreds)."""
    return [m.end() for m in _SENTENCE_END.finditer(text)]


def sentence_bounds(text: str, start: int, end: int,
                    ends: Sequence[int] | None = None) -> tuple[int, int]:
    """Offsets of the sentence around ``text[start:end]`` (a claim span): from the end
    of the previous sentence (or paragraph) to the end of the one holding the span,
    which may be a full stop inside the span ("[... approve more.]{.claim #clm-x}").
    ``ends`` (:func:`sentence_ends` of ``text``) lets the scan start near the span."""
    begin = 0
    if ends:
        known = bisect.bisect_right(ends, start - _LOOKAHEAD)
        begin = ends[known - 1] if known else 0
    for m in _SENTENCE_END.finditer(text, begin, start):
        begin = m.end()
    inner = text.rfind("]", start, end)
    m = _SENTENCE_END.search(text, max(start, inner - 1))
    return begin, m.end() if m else len(text)


def _reads(claim: Claim) -> list[str]:
    """Dotted keys the claim's assertions read, in the order they first read them."""
    out: list[str] = []
    for expr in claim.asserts:
        try:
            names = parse_assertion(expr).names
        except UnsafeExpressionError:
            continue  # reported by the claim's own check
        out += [k for k in map(format_path, names) if k not in out]
    return out


def sentence_problems(text: str, path: str, spans: Sequence[ClaimSpan],
                      claims: dict[str, Claim]) -> list[ClaimResult]:
    """A claim's sentence prints only values its assertion reads, in the order it reads
    them: "higher in cities (68.5% against 81.9%)" with the two keys swapped, or a number
    the assertion never looks at anywhere in the sentence ("Approval is higher in cities
    (..), where 12.0% disapprove"), would read as checked while saying something else.
    A sentence holding several claims may print what any of them reads; a value inside
    one claim's span or the parenthesis after it must be read by that claim."""
    visible = mask_code(text)
    problems: list[ClaimResult] = []
    by_sentence: dict[tuple[int, int], list[ClaimSpan]] = {}
    ends = sentence_ends(visible)
    for span in spans:
        if span.claim_id in claims and "claim" in span.classes:
            bounds = sentence_bounds(visible, span.start, span.end, ends)
            by_sentence.setdefault(bounds, []).append(span)
    for (begin, end), members in by_sentence.items():
        printed = [m.group(1) for m in _VAR.finditer(visible, begin, end)]
        reads = {sp.claim_id: _reads(claims[sp.claim_id]) for sp in members}
        problems += _unread_values(visible, path, members, reads, printed)
        loc = (f"{path}:{members[0].line}",)
        for cid, keys in reads.items():
            order = [keys.index(k) for k in printed if k in keys]
            for a, b in zip(order, order[1:], strict=False):
                if b < a:
                    problems.append(ClaimResult(cid, "error", locations=loc, detail=(
                        f"its sentence prints {keys[a]} before {keys[b]}, but the assertion "
                        f"reads {keys[b]} first: print the values in the order the assertion "
                        "reads them (swapped, they say the opposite)")))
                    break
    return problems


def _unread_values(text: str, path: str, members: list[ClaimSpan],
                   reads: dict[str | None, list[str]], printed: list[str]) -> list[ClaimResult]:
    """Values the sentence prints that its claims do not read: first those in a claim's
    own span or parenthesis, then any other in the sentence."""
    problems, named = [], set()
    for sp in members:
        loc = (f"{path}:{sp.line}",)
        for key in dict.fromkeys(_VAR.findall(text, sp.start, _claim_end(text, sp))):
            if key not in reads[sp.claim_id]:
                named.add(key)
                problems.append(ClaimResult(sp.claim_id or "", "error", locations=loc, detail=(
                    f"the claim prints {{{{< var {key} >}}}} (in its span or the "
                    "parenthesis after it), a value its assertion does not read: "
                    "test it in the assertion or move it out of the claim")))
    read_any = {k for keys in reads.values() for k in keys}
    ids = " / ".join(sp.claim_id or "" for sp in members)
    for key in dict.fromkeys(printed):
        if key not in read_any and key not in named:
            problems.append(ClaimResult(ids, "error", locations=(f"{path}:{members[0].line}",),
                                        detail=(
                f"the claim's sentence prints {{{{< var {key} >}}}}, a value its assertion "
                "does not read: test it in the assertion, or give it a sentence of its own "
                "(a claim's sentence may print only what the claim checks)")))
    return problems


def _claim_end(text: str, span: ClaimSpan) -> int:
    """End of what a claim states: its span, and a parenthesis right after it (the values
    it quotes, "[... higher in cities]{.claim #id} (x against y)")."""
    m = re.match(r"[ \t]*\n?[ \t]*\(", text[span.end:span.end + 8])
    if not m:
        return span.end
    depth, i = 0, span.end + m.end() - 1
    while i < len(text):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
        if text.startswith("\n\n", i):
            break
        i += 1
    return span.end


def _collect_spans(qmd_path: str | Path) -> tuple[list[tuple[ClaimSpan, str]], list[str]]:
    """Claim spans of the document and of the files it includes, with their text."""
    out: list[tuple[ClaimSpan, str]] = []
    todo, seen, files = [Path(qmd_path)], set(), []
    while todo:
        path = todo.pop(0)
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        if not path.is_file():
            raise FileNotFoundError(f"{path}: manuscript file not found")
        text = path.read_text(encoding="utf-8")
        files.append(str(path))
        out += [(s, _span_text(text, s)) for s in find_claim_spans(text, str(path))]
        todo.extend(find_includes(text, path.parent))
    return out, files


def _check_one(claim: Claim, numbers: Any, where: tuple[str, ...], span: str) -> ClaimResult:
    base = {"text": claim.text, "span_text": span, "locations": where, "asserts": claim.asserts}
    values: dict[str, float] = {}
    failed = []
    for expr in claim.asserts:
        try:
            ok, vals = evaluate(parse_assertion(expr), numbers)
        except (UnsafeExpressionError, NameResolutionError) as exc:
            return ClaimResult(claim.claim_id, "error", **base, detail=f"error: {exc}")
        values.update({format_path(p): v for p, v in vals.items()})
        if not ok:
            failed.append(expr)
    shown = tuple(sorted(values.items()))
    if failed:
        detail = "false: " + "; ".join(failed) if len(claim.asserts) > 1 else "result: false"
        return ClaimResult(claim.claim_id, "fail", **base, values=shown, detail=detail)
    return ClaimResult(claim.claim_id, "pass", **base, values=shown)


def _span_problems(spans: list[tuple[ClaimSpan, str]], claims: dict[str, Claim]) -> list:
    problems, seen = [], {}
    for span, text in spans:
        loc = f"{span.path}:{span.line}"
        if not span.claim_id:
            detail = "the span has class .claim but no id (write {.claim #clm-...})"
            problems.append(
                ClaimResult("(no id)", "unmatched", span_text=text, locations=(loc,), detail=detail)
            )
        elif "claim" not in span.classes:
            detail = "the span id starts with clm- but the span lacks the class .claim"
            problems.append(
                ClaimResult(
                    span.claim_id, "unmatched", span_text=text, locations=(loc,), detail=detail
                )
            )
        elif span.claim_id not in claims:
            detail = f"add '{span.claim_id}' with text and assert to the claims file"
            problems.append(
                ClaimResult(
                    span.claim_id, "unmatched", span_text=text, locations=(loc,), detail=detail
                )
            )
        elif span.claim_id in seen:
            detail = f"duplicate span id (first at {seen[span.claim_id]}); ids must be unique"
            problems.append(
                ClaimResult(span.claim_id, "error", span_text=text, locations=(loc,), detail=detail)
            )
        seen.setdefault(span.claim_id, loc)
    return problems


def check_claims(
    qmd_path: str | Path, claims_path: str | Path, numbers_json_path: str | Path
) -> list[ClaimResult]:
    """One result per claim (in claims-file order) followed by every span problem."""
    claims = load_claims(claims_path)
    try:
        numbers = read_json(numbers_json_path)
    except ValueError as exc:
        raise ClaimsError(f"{numbers_json_path}: not valid JSON: {exc}") from exc
    spans, files = _collect_spans(qmd_path)
    sentences = []
    for file in files:
        text = Path(file).read_text(encoding="utf-8")
        sentences += sentence_problems(text, file, [s for s, _ in spans if s.path == file],
                                       claims)
    results = []
    for cid, claim in claims.items():
        used = [(s, t) for s, t in spans if s.claim_id == cid and "claim" in s.classes]
        if not used:
            results.append(
                ClaimResult(
                    cid,
                    "unused",
                    text=claim.text,
                    asserts=claim.asserts,
                    detail=f"remove it from {claims_path} or cite it",
                )
            )
            continue
        where = tuple(f"{s.path}:{s.line}" for s, _ in used)
        results.append(_check_one(claim, numbers, where, used[0][1]))
    return results + _span_problems(spans, claims) + sentences


def format_results(results: Sequence[ClaimResult], qmd_path: str | Path) -> str:
    bad = [r for r in results if not r.ok]
    head = f"{len(bad)} of {len(results)} claim check(s) failed for {qmd_path}:"
    return "\n".join([head, *(r.message for r in bad)])


def assert_claims(
    qmd_path: str | Path, claims_path: str | Path, numbers_json_path: str | Path
) -> list[ClaimResult]:
    """Raise ClaimsError listing every failing claim; return the results otherwise."""
    results = check_claims(qmd_path, claims_path, numbers_json_path)
    if any(not r.ok for r in results):
        raise ClaimsError(format_results(results, qmd_path))
    return results


def report_data(results: Sequence[ClaimResult]) -> dict[str, Any]:
    """Deterministic record of what each claim was checked against."""
    return {
        "status": "ok" if all(r.ok for r in results) else "failed",
        "n_claims": len(results),
        "claims": [
            {
                "id": r.claim_id,
                "status": r.status,
                "text": r.text,
                "locations": list(r.locations),
                "assert": list(r.asserts),
                "values": dict(r.values),
            }
            for r in results
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: exit 1 listing every failing claim; write the report on success."""
    parser = argparse.ArgumentParser(
        prog="python -m paperkit.claims",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("qmd", help="manuscript, e.g. paper/index.qmd")
    parser.add_argument("claims", help="claims file, e.g. paper/claims.yml")
    parser.add_argument("numbers", help="raw results, e.g. results/numbers.json")
    parser.add_argument("--report", help="JSON report written on success")
    args = parser.parse_args(argv)
    try:
        results = assert_claims(args.qmd, args.claims, args.numbers)
    except (ClaimsError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.report:
        write_json(args.report, report_data(results))
    print(f"claims check passed: {len(results)} claim(s) hold for {args.qmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
