"""Claims and headline estimates of one specification, through paperkit's evaluator.

A claim's names are looked up first: a name the specification's numbers tree lacks is
recorded as ``missing``, as is a null (the summary then decides, against the baseline,
whether the specification does not compute it -- "not applicable" -- or the claim is
broken). A name that holds no number otherwise (NaN, text) is an ``error``. Only a claim whose
names all resolve is evaluated, by :func:`paperkit.claims.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paperkit.claims import (
    Claim,
    ClaimsError,
    NameResolutionError,
    PathKey,
    UnsafeExpressionError,
    evaluate,
    format_path,
    parse_assertion,
    resolve,
)


def present(numbers: Any, path: PathKey) -> bool:
    """Does ``path`` lead to a value in the numbers tree? A null is absent: the stages
    write null for what a specification does not have (an uncapped run's cap)."""
    node = numbers
    for part in path:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
            node = node[part]
        else:
            return False
    return node is not None


def evaluate_claim(claim: Claim, numbers: Any) -> dict[str, Any]:
    """``{"status": holds|fails|missing|error, "missing": [...], "detail": ...}``."""
    try:
        parsed = [parse_assertion(expr) for expr in claim.asserts]
    except (UnsafeExpressionError, ClaimsError) as exc:  # the claim check names the cause
        return {"status": "error", "missing": [], "detail": str(exc)}
    names = list(dict.fromkeys(p for a in parsed for p in a.names))
    missing = [format_path(p) for p in names if not present(numbers, p)]
    if missing:
        return {"status": "missing", "missing": missing, "detail": ""}
    try:
        holds = all(evaluate(a, numbers)[0] for a in parsed)
    except (NameResolutionError, UnsafeExpressionError, ClaimsError) as exc:
        return {"status": "error", "missing": [], "detail": str(exc)}
    return {"status": "holds" if holds else "fails", "missing": [], "detail": ""}


def evaluate_claims(claims: Mapping[str, Claim], numbers: Any) -> dict[str, dict[str, Any]]:
    """Every claim of the claims file in this specification's numbers tree."""
    return {cid: evaluate_claim(claim, numbers) for cid, claim in claims.items()}


def headline_estimates(headline: Sequence[Mapping[str, str]], numbers: Any
                       ) -> dict[str, dict[str, float] | None]:
    """Value and interval of each headline estimate; None where the spec lacks it."""
    out: dict[str, dict[str, float] | None] = {}
    for entry in headline:
        values = {}
        for part in ("value", "lower", "upper"):
            path = parse_assertion(entry[part]).names[0]
            try:
                values[part] = float(resolve(numbers, path))
            except NameResolutionError:
                values = {}
                break
        out[entry["id"]] = values or None
    return out


def headline_paths(headline: Sequence[Mapping[str, str]]) -> list[PathKey]:
    """Every name the headline estimates read (checked when the config is read)."""
    paths = []
    for entry in headline:
        for part in ("value", "lower", "upper"):
            names = parse_assertion(entry[part]).names
            if len(names) != 1 or parse_assertion(entry[part]).source != format_path(names[0]):
                raise UnsafeExpressionError(
                    f"robustness.headline {entry['id']}.{part}: {entry[part]!r} must be one "
                    "dotted name into numbers.json")
            paths.append(names[0])
    return paths
