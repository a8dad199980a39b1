"""The numbers stage: every value the paper quotes, raw and formatted.

``results/numbers.json`` gathers the results files of all stages under one tree
(raw values, read by the claim checks and the fidelity table). The Quarto
variables file ``_variables.yml`` mirrors that tree with *formatted* strings, so
the prose only ever writes ``{{< var survey.approval.approve_any.pct >}}`` and
never formats a number by hand. Formats are chosen per key by the ordered
patterns of the config section ``numbers.formats``.
"""

from __future__ import annotations

import fnmatch
import math
import platform
import re
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from paperkit.io import read_json, read_yaml, write_json, write_yaml

SOFTWARE = (
    "snakemake", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn",
    "pyarrow", "pandera", "pyreadstat", "nbclient", "great_tables", "pypandoc_binary", "typst",
)


class NumbersError(ValueError):
    """A value cannot be put into the paper (NaN, infinite, or of an unknown type)."""


def format_p(value: float) -> str:
    """APA style: no leading zero, '< .001' below the smallest shown value."""
    if value < 0.001:
        return "< .001"
    text = f"{value:.3f}"
    return "= " + (text[1:] if text.startswith("0") else text)


FORMATTERS = {
    "integer": lambda v: f"{round(v):,}",
    "percent": lambda v: f"{v:.1f}%",
    "percent0": lambda v: f"{v:.0f}%",
    "percent2": lambda v: f"{v:.2f}%",
    "fraction_percent": lambda v: f"{100 * v:.1f}%",
    "fraction_percent2": lambda v: f"{100 * v:.2f}%",
    "decimal1": lambda v: f"{v:,.1f}",
    "decimal2": lambda v: f"{v:,.2f}",
    "decimal3": lambda v: f"{v:,.3f}",
    "scientific": lambda v: f"{v:.1e}",
    "p_value": format_p,
    "text": str,
}


def _default_format(value: Any) -> str:
    if isinstance(value, (bool, str)):
        return "text"
    return "integer" if isinstance(value, int) else "decimal2"


def format_value(key: str, value: Any, rules: list[Mapping[str, str]]) -> str:
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
        return {str(i): format_tree(v, rules, f"{prefix}.{i}") for i, v in enumerate(tree)}
    return format_value(prefix, tree, rules)


KEY_REPLACEMENTS = (("<=", "le"), (">=", "ge"), ("<", "lt"), (">", "gt"), ("%", "pct"))


def sanitize_key(key: str) -> str:
    """Make a result key usable in ``{{< var >}}`` and claim assertions.

    Model terms such as ``income[>4000]`` become ``income_gt4000``; only lower-case
    letters, digits and underscores remain.
    """
    text = key.lower()
    for old, new in KEY_REPLACEMENTS:
        text = text.replace(old, new)
    text = re.sub(r"[^a-z0-9_]+", "_", text).strip("_")
    return text or "_"


def sanitize_tree(tree: Any, path: str = "") -> Any:
    """Sanitise every mapping key; two keys that collide are an error naming both."""
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


def software_versions() -> dict[str, str]:
    """Versions of the interpreter and key packages, for the paper's software appendix."""
    versions = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import pypandoc

        versions["pandoc"] = pypandoc.get_pandoc_version()
    except (ImportError, OSError):
        versions["pandoc"] = "not installed"
    return versions


def _drop_input_checksums(stage: Any) -> None:
    """Remove ``source.sha256`` of a stage result: a checksum of an input file, not a value.

    The replication package rebuilds from de-identified raw files (other checksums, same
    values); without this the numbers file would differ although every number is equal.
    Input checksums are kept in data/raw/MANIFEST.sha256 and the stage results.
    """
    source = stage.get("source") if isinstance(stage, Mapping) else None
    if isinstance(source, dict):
        source.pop("sha256", None)


def gather(
    inputs: Mapping[str, str], published_path: str, fidelity: Mapping[str, Any]
) -> dict[str, Any]:
    """Collect the stage results, the published values and the fidelity comparison."""
    from paperkit.fidelity import compare_with_published

    numbers: dict[str, Any] = {name: read_json(path) for name, path in sorted(inputs.items())}
    for stage in numbers.values():
        _drop_input_checksums(stage)
    models = numbers.get("models", {})
    if isinstance(models.get("models"), Mapping):  # models.m7... rather than models.models.m7
        numbers["models"] = {**{k: v for k, v in models.items() if k != "models"},
                             **models["models"]}
    published = read_yaml(published_path)
    numbers["fidelity"] = compare_with_published(numbers, published, fidelity)
    numbers["published"] = published
    numbers["software"] = software_versions()
    return sanitize_tree(numbers)


def write_numbers(
    inputs: Mapping[str, str],
    published_path: str,
    settings: Mapping[str, Any],
    fidelity: Mapping[str, Any],
    out_numbers: str,
    out_variables: str,
) -> None:
    """Write results/numbers.json (raw) and the Quarto variables file (formatted)."""
    numbers = gather(inputs, published_path, fidelity)
    variables = format_tree(numbers, list(settings["formats"]))
    write_json(out_numbers, numbers)
    write_yaml(out_variables, variables)
