"""The paper's appendix tables, built from pipeline files (never typed by hand).

Codebook (from the codebook YAML), exclusion flow (from the cleaning log),
replication fidelity and software versions (from the numbers file). Each is a
Markdown pipe table, which pandoc and Quarto render in HTML, PDF and DOCX alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.survey import status
from paperkit.io import read_json, read_yaml, write_text
from paperkit.tables import cell, pipe_table
from paperkit.variables import sanitize_key

PUBLISHED_SIGN = {"positive_sig": "positive, p < .05", "negative_sig": "negative, p < .05",
                  "not_sig": "p ≥ .05", "negative_not_sig": "negative, p ≥ .05",
                  "positive_not_sig": "positive, p ≥ .05"}


def _codes(codes: Mapping[Any, Any] | None) -> str:
    if not codes:
        return ""
    return "; ".join(f"{k} {v}" for k, v in codes.items())


def codebook_table(codebook: Mapping[str, Any]) -> str:
    """One row per variable: block, name, question (English; Chinese), type and codes."""
    blocks = codebook.get("blocks", {})
    rows = []
    for name, var in codebook["variables"].items():
        kind = var["type"] + (f" {var['range'][0]}–{var['range'][1]}" if var.get("range") else "")
        codes = "; ".join(p for p in (kind, _codes(var.get("codes"))) if p)
        if var.get("missing_codes"):
            codes += f"; missing: {_codes(var['missing_codes'])}"
        question = var["question_en"] + (f" ({var['question_zh']})" if var.get("question_zh")
                                         else "")
        rows.append([blocks.get(var["block"], var["block"]), f"`{name}`", question, codes])
    header = ["Block", "Variable", "Question (English; Chinese)", "Type and codes"]
    return pipe_table(header, rows, widths=(12, 18, 44, 26))


def civilized_codebook_table(codebook: Mapping[str, Any]) -> str:
    """One row per code of design C: part, theme or root, code, definition and example."""
    docs, ivs = codebook["documents"], codebook["interviews"]
    rows = [["Documents", docs["root"], d["label"], f"`{k}`", d["definition"].strip(),
             d["example"].strip()] for k, d in docs["dimensions"].items()]
    rows += [["Interviews", c["theme"], c["label"], f"`{k}`", c["definition"].strip(),
              c["example"].strip()] for k, c in ivs["codes"].items()]
    header = ["Part", "Theme", "Code", "Key", "Definition", "Example"]
    # The key column holds the longest unbreakable piece of a key (it breaks after "_"),
    # in code type, with room to spare: no key runs into the definition beside it.
    piece = max(len(part) for k in [*docs["dimensions"], *ivs["codes"]] for part in k.split("_"))
    return pipe_table(header, rows, widths=(9, 12, 14, max(13, piece + 6), 28, 24))


def rule_reason(rule: Mapping[str, Any]) -> str:
    """The rule's reason as the reader reads it: its settings filled in (``{k}``,
    ``{fraction_of_median:.0%}``) from the same config entry the cleaning applied."""
    reason = str(rule.get("reason", ""))
    try:
        return reason.format(**{k: v for k, v in rule.items() if k != "reason"})
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"cleaning rule reason {reason!r}: placeholder {exc} is not a setting "
                         "of the rule") from None


def flow_table(flow: Mapping[str, Any]) -> str:
    """Started -> completed -> excluded by first rule -> valid, with all failures per rule."""
    rows = [["Questionnaires started", f"{flow['started']:,}", ""],
            ["Completed", f"{flow['completed']:,}", ""]]
    for rule in flow["rule_order"]:
        reason = rule_reason(flow["rules"].get(rule, {}))
        rows.append([f"Excluded: {rule.replace('_', ' ')}",
                     f"−{flow['excluded_by_first_rule'][rule]:,}",
                     f"{reason} (rows failing this rule in all: {flow['failed_by_rule'][rule]:,})"])
    rows.append(["**Valid respondents**", f"**{flow['valid']:,}**", ""])
    return pipe_table(["Step", "n", "Rule"], rows, "lrl", widths=(24, 8, 60))


def _num(value: Any, unit: str, decimals: int | None = None) -> str:
    if isinstance(value, str) or value is None:
        return "" if value is None else str(value)
    if unit in ("n",) and float(value).is_integer():
        return f"{value:,.0f}"
    if decimals is None:
        decimals = {"logodds": 3, "weight": 2}.get(unit, 1)
    return f"{round(value, decimals) + 0.0:,.{decimals}f}"  # + 0.0: no "-0.0"


def fidelity_table(fidelity: Mapping[str, Any]) -> str:
    """Published vs rebuilt for every value the simulation was calibrated to."""
    rows = []
    for row in fidelity["rows"]:
        unit = row["unit"]
        tol = {"points": "± {t:.1f} pt", "absolute": "± {t:.0f}", "relative": "± {t:.0f}",
               "z": "± {t:.2f} (z × SE)", "exact": "exact", "at_most": "at most",
               "sign": "sign and p"}[row["rule"]]
        dec = 2 if row["key"].endswith("margin_of_error") else None
        published = (PUBLISHED_SIGN.get(row["published"], row["published"]) if unit == "sign"
                     else _num(row["published"], unit, dec))
        rows.append([f"`{row['key']}`", row["where"], published, _num(row["rebuilt"], unit, dec),
                     "" if row["difference"] is None else _num(row["difference"], unit, dec),
                     tol.format(t=row["tolerance"] or 0), "yes" if row["within"] else "**no**"])
    header = ["Value", "Source", "Published", "Rebuilt", "Difference", "Tolerance", "Within"]
    return pipe_table(header, rows, "lllrrll", widths=(30, 16, 12, 18, 9, 11, 6))


def variance_table(numbers: Mapping[str, Any], key_terms: Sequence[str]) -> str:
    """Headline SEs with calibrated and with fixed weights, and their ratio.

    Survey shares (percent, SEs in points) from the describe stage, and the key
    coefficients (log-odds) of the model the models stage compared, both computed there.
    """
    survey = numbers["survey"]["variance_comparison"]
    rows = [[s["label"], _num(s["pct"], "points"), _num(s["se_calibrated"], "", 2),
             _num(s["se_fixed"], "", 2), _num(s["ratio"], "", 3)]
            for s in (survey["shares"][key] for key in survey["order"])]
    models = numbers["models"]
    comparison, labels = models["variance_comparison"], models.get("labels", {})
    for term in key_terms:
        c = comparison["coefficients"][sanitize_key(term)]
        rows.append([f"{labels.get(sanitize_key(term), term)} ({comparison['model']}, log-odds)",
                     _num(c["coef"], "logodds"), _num(c["se_calibrated"], "", 3),
                     _num(c["se_fixed"], "", 3), _num(c["ratio"], "", 3)])
    header = ["Estimate", "Value", "SE, calibrated", "SE, fixed weights", "Ratio"]
    table = pipe_table(header, rows, "lrrrr", widths=(40, 10, 14, 16, 8))
    return f"{table.rstrip()}\n\n{cell(variance_note(numbers), literal=True)}\n"


def variance_note(numbers: Mapping[str, Any]) -> str:
    """N, weighting and data status of the variance table (the data's own flags)."""
    survey, models = numbers["survey"], numbers["models"]
    margins = ", ".join(m.replace("_", " ") for m in survey["meta"].get("raking_margins", []))
    note = (f"Weights raked to the population margins of {margins}. Shares: N = "
            f"{survey['design']['n_valid']:,} valid respondents (standard errors in "
            f"percentage points); coefficients: one common sample of N = "
            f"{models['common_sample_n']:,} commercial users.")
    return status.with_status(note, survey["meta"]["simulated"] or models["simulated"])


def software_table(software: Mapping[str, str]) -> str:
    rows = [[name, version] for name, version in sorted(software.items())]
    return pipe_table(["Software", "Version"], rows)


def write_appendix_tables(
    numbers_path: str, codebook_path: str, flow_path: str, out_dir: str,
    civilized_codebook_path: str, key_terms: Sequence[str] = (),
) -> list[Path]:
    """Write the codebooks, flow, fidelity, variance and software tables into ``out_dir``.

    ``key_terms``: the model coefficients whose SEs variance.md compares.
    """
    numbers = read_json(numbers_path)
    tables = {
        "codebook": codebook_table(read_yaml(codebook_path)),
        "civilized_codebook": civilized_codebook_table(read_yaml(civilized_codebook_path)),
        "flow": flow_table(read_json(flow_path)),
        "fidelity": fidelity_table(numbers["fidelity"]),
        "variance": variance_table(numbers, key_terms),
        "software": software_table(numbers["software"]),
    }
    written = []
    for name, text in tables.items():
        path = Path(out_dir) / f"{name}.md"
        write_text(path, text)
        written.append(path)
    return written
