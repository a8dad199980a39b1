"""The variables file: every value a paper quotes, formatted once, by key.

A study gathers its results into one tree (``numbers.json``, raw values, read by the
claim checks). The Quarto variables file ``_variables.yml`` mirrors that tree with
*formatted* strings, so the prose only ever writes ``{{< var a.b.c >}}`` and never
formats a number by hand. The format of each leaf is chosen by the first matching
pattern of an ordered list of ``{pattern, format}`` rules (fnmatch on the dotted key).
This module is the one number and p-value formatter of a paperkit project: tables
and figures format through it too.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import platform
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

from paperkit.io import read_json, write_json, write_yaml


class NumbersError(ValueError):
    """A value cannot be put into the paper (NaN, infinite, or of an unknown type)."""


def format_p(value: float) -> str:
    """APA style for the text: ``= .023``, or ``< .001`` below the smallest shown value."""
    if value < 0.001:
        return "< .001"
    return "= " + p_digits(value)


def p_digits(value: float) -> str:
    """The p-value's digits as tables and figures print them: ``.023``, ``< .001``."""
    if value < 0.001:
        return "< .001"
    text = f"{value:.3f}"
    return text[1:] if text.startswith("0") else text


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "integer": lambda v: f"{round(v):,}",
    "percent": lambda v: f"{v:.1f}%",
    "percent0": lambda v: f"{v:.0f}%",
    "percent2": lambda v: f"{v:.2f}%",
    "fraction_percent": lambda v: f"{100 * v:.1f}%",
    "fraction_percent2": lambda v: f"{100 * v:.2f}%",
    # a confidence level (0.95 -> "95%", 0.9 -> "90%", 0.995 -> "99.5%")
    "level": lambda v: f"{100 * v:g}%",
    "decimal1": lambda v: f"{v:,.1f}",
    "decimal2": lambda v: f"{v:,.2f}",
    "decimal3": lambda v: f"{v:,.3f}",
    "scientific": lambda v: f"{v:.1e}",
    "p_value": format_p,
    "words": lambda v: spell_small(v),
    "text": str,
}
#: Formats of a whole list of names (a setting the prose states, such as raking margins).
LIST_FORMATTERS: dict[str, Callable[[list[Any]], str]] = {
    "list": lambda items: join_names(items),
    "labels": lambda items: "; ".join(lower_initial(str(i)) for i in items),
    "label_list": lambda items: join_names([lower_initial(str(i)) for i in items]),
}


def lower_initial(label: str) -> str:
    """A label inside a sentence: ``Online habits`` -> ``online habits``; an initial
    acronym (``SCS characteristics``) stays as it is."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


SMALL_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine", "ten")


def spell_small(value: float) -> str:
    """A count as prose writes it: ``7`` -> ``seven`` up to ten, digits above."""
    n = round(value)
    return SMALL_NUMBERS[n] if 0 <= n < len(SMALL_NUMBERS) else f"{n:,}"


def join_names(items: list[Any]) -> str:
    """``[age_band, gender, region]`` -> ``age band, gender and region``."""
    names = [str(i).replace("_", " ") for i in items]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _default_format(value: Any) -> str:
    if isinstance(value, (bool, str)):
        return "text"
    return "integer" if isinstance(value, int) else "decimal2"


def format_value(key: str, value: Any, rules: Iterable[Mapping[str, str]]) -> str:
    """Format one leaf of the numbers tree; refuse NaN and infinities, naming the key."""
    if value is None:
        return "not defined"
    if isinstance(value, float) and not math.isfinite(value):
        raise NumbersError(f"results value '{key}' is {value}; the paper cannot quote it")
    if not isinstance(value, (int, float, str, bool)):
        raise NumbersError(f"results value '{key}' has unsupported type {type(value).__name__}")
    fmt = _default_format(value)
    if not isinstance(value, (str, bool)):
        fmt = next((r["format"] for r in rules if fnmatch.fnmatchcase(key, r["pattern"])), fmt)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return FORMATTERS[fmt](value)


def format_tree(tree: Any, rules: list[Mapping[str, str]], prefix: str = "") -> Any:
    """Mirror ``tree`` with every leaf formatted; lists become dicts keyed by position."""
    if isinstance(tree, Mapping):
        return {str(k): format_tree(v, rules, f"{prefix}.{k}" if prefix else str(k))
                for k, v in tree.items()}
    if isinstance(tree, list):
        fmt = next((r["format"] for r in rules if fnmatch.fnmatchcase(prefix, r["pattern"])), "")
        if fmt in LIST_FORMATTERS:
            return LIST_FORMATTERS[fmt](tree)
        return {str(i): format_tree(v, rules, f"{prefix}.{i}") for i, v in enumerate(tree)}
    return format_value(prefix, tree, rules)


KEY_REPLACEMENTS = (("<=", "le"), (">=", "ge"), ("<", "lt"), (">", "gt"), ("%", "pct"))


@functools.lru_cache(maxsize=65536)
def sanitize_key(key: str) -> str:
    """Make a result key usable in ``{{< var >}}`` and claim assertions.

    Model terms such as ``income[>4000]`` become ``income_gt4000``; only lower-case
    letters, digits and underscores remain. Memoised: a numbers tree repeats the same
    few hundred keys thousands of times (the robustness grid sanitises one per
    specification).
    """
    text = key.lower()
    for old, new in KEY_REPLACEMENTS:
        text = text.replace(old, new)
    text = re.sub(r"[^a-z0-9_]+", "_", text).strip("_")
    return text or "_"


_LEAVES = (str, int, float, bool, type(None))


def sanitize_tree(tree: Any, path: str = "") -> Any:
    """Sanitise every mapping key; two keys that collide are an error naming both."""
    if type(tree) in _LEAVES:  # most nodes: skip the (slow) abstract Mapping check
        return tree
    if isinstance(tree, Mapping):
        out: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for key, value in tree.items():
            new = sanitize_key(str(key))
            if new in out:
                raise NumbersError(
                    f"keys '{origin[new]}' and '{key}' under '{path}' both become '{new}'"
                )
            origin[new] = str(key)
            out[new] = sanitize_tree(value, f"{path}.{new}" if path else new)
        return out
    if isinstance(tree, list):
        return [sanitize_tree(v, path) for v in tree]
    return tree


def software_versions(packages: Iterable[str]) -> dict[str, str]:
    """Versions of the interpreter, of ``packages`` and of pandoc, for a software appendix."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import pypandoc

        versions["pandoc"] = pypandoc.get_pandoc_version()
    except (ImportError, OSError):
        versions["pandoc"] = "not installed"
    if versions.get("typst", "not installed") != "not installed":
        versions["typst"] = typst_as_seen(versions["typst"])
    return versions


def _check_finite(tree: Any, path: str = "") -> None:
    """A NaN or infinite value cannot be quoted (nor written as JSON): stop naming its key."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            _check_finite(value, f"{path}.{key}" if path else str(key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            _check_finite(value, f"{path}[{i}]")
    elif isinstance(tree, float) and not math.isfinite(tree):
        raise NumbersError(f"results value '{path}' is {tree}; the paper cannot quote it")


def write_numbers(numbers: Mapping[str, Any], out_numbers: str) -> None:
    """Write a study's numbers file (keys sanitised, as the ``var`` shortcodes spell them);
    a NaN or infinite value stops it, naming the key, and nothing is written."""
    clean = sanitize_tree(numbers)
    _check_finite(clean)
    write_json(out_numbers, clean)


def write_variables(numbers_path: str, rules: list[Mapping[str, str]], out_variables: str
                    ) -> None:
    """Write the variables file: every value of the numbers file, formatted by ``rules``."""
    write_yaml(out_variables, format_tree(sanitize_tree(read_json(numbers_path)), rules))


def typst_as_seen(wheel: str) -> str:
    """The typst version a reader sees (the PDF's Creator names the compiler), with the
    Python wheel that ships it, whose version number may differ."""
    import typst

    match = re.search(rb"/Creator ?\(Typst ([0-9][\w.+-]*)\)", typst.compile(b""))
    compiler = match.group(1).decode() if match else "unknown"
    return wheel if compiler == wheel else f"{compiler} (Python wheel typst {wheel})"
