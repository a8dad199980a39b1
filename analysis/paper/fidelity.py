"""Replication fidelity: each published value next to the value the pipeline rebuilt.

On the shipped simulated stand-in this is a parameter-recovery check of the
pipeline (were the published figures that the simulation was calibrated to
recovered by cleaning, weighting, estimation and coding?); on the real data it
is a replication check. Tolerances and the mapping from published names to model
terms live in the config section ``fidelity``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Row = dict[str, Any]
SIG_LEVEL = 0.05


class FidelityError(KeyError):
    """A rebuilt value that the comparison needs is missing from the results."""


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise FidelityError(f"rebuilt value '{path}' is missing (no '{part}')")
        node = node[part]
    return node


def _row(key: str, entry: Mapping[str, Any], rebuilt: float, tol: float, kind: str) -> Row:
    published = float(entry["value"])
    diff = rebuilt - published
    within = rebuilt <= published + 1e-9 if kind == "at_most" else abs(diff) <= tol + 1e-9
    return {
        "key": key, "where": entry.get("where", ""), "unit": entry.get("unit", "n"),
        "published": published, "rebuilt": rebuilt, "difference": diff,
        "tolerance": tol, "rule": kind, "within": bool(within),
    }


def _design_rows(pub: Mapping, numbers: Mapping, tol: Mapping) -> list[Row]:
    d = pub["survey"]["design"]
    return [
        _row("survey.design.n_valid", d["n_valid"], _get(numbers, "cleaning.valid"),
             tol["n_valid_absolute"], "absolute"),
        _row("survey.design.completion_rate", d["completion_rate"],
             100 * _get(numbers, "cleaning.completion_rate"), tol["percent_points"], "points"),
        _row("survey.design.max_weight", d["max_weight"],
             _get(numbers, "weighting.weight_max"), 0.0, "at_most"),
        _row("survey.design.margin_of_error", d["margin_of_error"],
             100 * _get(numbers, "weighting.margin_of_error"),
             tol["margin_of_error_points"], "points"),
    ]


def _percent_rows(pub: Mapping, numbers: Mapping, tol: Mapping) -> list[Row]:
    rows = []
    sections = ("composition_weighted", "use", "approval", "other", "who_should_manage",
                "responsible_data_use")
    for section in sections:
        for name, entry in pub["survey"][section].items():
            key = f"survey.{section}.{name}"
            if entry.get("unit") == "n":
                rebuilt = _get(numbers, f"{key}.n")
                rows.append(_row(key, entry, rebuilt,
                                 tol["count_relative"] * float(entry["value"]), "relative"))
                continue
            points = tol["composition_points" if section == "composition_weighted"
                         else "percent_points"]
            rows.append(_row(key, entry, _get(numbers, f"{key}.pct"), points, "points"))
    return rows


def _coef(numbers: Mapping, model: str, term: str) -> Mapping[str, float]:
    return _get(numbers, f"models.{model}.coefficients.{term}")


def _logodds_rows(pub: Mapping, numbers: Mapping, cfg: Mapping) -> list[Row]:
    rows = []
    for name, entry in pub["survey"]["ordered_logit"].items():
        coef = _coef(numbers, cfg["model"], cfg["terms"][name])
        row = _row(f"survey.ordered_logit.{name}", entry, coef["coef"],
                   cfg["tolerances"]["logodds_z"] * coef["se"], "z")
        row["se"] = coef["se"]
        rows.append(row)
    return rows


SIGN_RULES: dict[str, Callable[[float, float], bool]] = {
    "positive_sig": lambda b, p: b > 0 and p < SIG_LEVEL,
    "negative_sig": lambda b, p: b < 0 and p < SIG_LEVEL,
    "not_sig": lambda b, p: p >= SIG_LEVEL,
    "negative_not_sig": lambda b, p: b < 0 and p >= SIG_LEVEL,
    "positive_not_sig": lambda b, p: b > 0 and p >= SIG_LEVEL,
}


def _sign_rows(pub: Mapping, numbers: Mapping, cfg: Mapping) -> list[Row]:
    rows = []
    for name, expected in pub["survey"]["signs"].items():
        terms = cfg["sign_terms"][name]
        coefs = [_coef(numbers, cfg["model"], t) for t in terms]
        ok = all(SIGN_RULES[expected](c["coef"], c["p"]) for c in coefs)
        rows.append({
            "key": f"survey.signs.{name}", "where": "S text", "unit": "sign",
            "published": expected.replace("_", ", ").replace("sig", "p < .05")
                                 .replace("not, p < .05", "p ≥ .05"),
            "rebuilt": "; ".join(f"{t} {c['coef']:+.3f} (p {c['p']:.3f})"
                                 for t, c in zip(terms, coefs, strict=True)),
            "difference": None, "tolerance": None, "rule": "sign", "within": ok,
        })
    return rows


def _interview_rows(pub: Mapping, numbers: Mapping) -> list[Row]:
    rows = []
    iv = pub["interviews"]
    for name, entry in iv["design"].items():
        rows.append(_row(f"interviews.design.{name}", entry,
                         _get(numbers, f"interviews.design.{name}"), 0.0, "exact"))
    for name, entry in iv["demographics"].items():
        rows.append(_row(f"interviews.demographics.{name}", {**entry, "where": "I Table A1"},
                         _get(numbers, f"interviews.demographics.{name}"), 0.0, "exact"))
    for name, entry in iv["barriers"].items():
        rows.append(_row(f"interviews.barriers.{name}", {**entry, "where": "I Table 1"},
                         _get(numbers, f"interviews.barriers.{name}.n"), 0.0, "exact"))
    return rows


def _design_count_rows(pub: Mapping, numbers: Mapping, rebuilt: Mapping[str, str]) -> list[Row]:
    """Design counts of a strand that publishes nothing else (``rebuilt``: name -> key)."""
    design = pub.get("civilized_cities", {}).get("design", {})
    return [_row(f"civilized_cities.design.{name}", entry, _get(numbers, rebuilt[name]), 0.0,
                 "exact") for name, entry in design.items()]


def compare_with_published(
    numbers: Mapping[str, Any], published: Mapping[str, Any], cfg: Mapping[str, Any]
) -> dict[str, Any]:
    """Every rebuilt value against its published value; context figures are not rebuilt."""
    tol = cfg["tolerances"]
    rows = (
        _design_rows(published, numbers, tol)
        + _percent_rows(published, numbers, tol)
        + _logodds_rows(published, numbers, cfg)
        + _sign_rows(published, numbers, cfg)
        + _interview_rows(published, numbers)
        + _design_count_rows(published, numbers, cfg["design_counts"])
    )
    within = sum(r["within"] for r in rows)
    return {
        "rows": rows,
        "n_compared": len(rows),
        "n_within": within,
        "n_outside": len(rows) - within,
        "pct_within": 100.0 * within / len(rows),
        "not_rebuilt": sorted(f"interviews.context.{k}"
                              for k in published["interviews"]["context"]),
        "design_only": _design_only(published, rows),
    }


def _design_only(published: Mapping[str, Any], rows: list[Row]) -> dict[str, int]:
    """How many values a design-only strand publishes, and how many of them are compared."""
    strand = published.get("civilized_cities", {})
    n_published = sum(1 for section in strand.values() for entry in section.values()
                      if isinstance(entry, Mapping) and "value" in entry)
    n_compared = sum(1 for r in rows if r["key"].startswith("civilized_cities."))
    return {"n_published": n_published, "n_compared": n_compared}
