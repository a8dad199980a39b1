"""Overlap of the civilized-city and social-credit infrastructures in the documents.

Unit of analysis: a manual item or a website indicator x dimension *presence*: a unit
overlaps in a dimension when the tallied coder applied that dimension's code to it (once
or more). Dimensions are not mutually exclusive. Both coders code every unit, so a unit a
coder left uncoded is that coder's decision "no overlap"; intercoder reliability is
measured over all units x dimensions (Cohen's kappa per dimension, Krippendorff's alpha
over all decisions, "not defined" where a statistic is not).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.civilized.codebook import (
    CivilizedCodebook,
    CivilizedError,
    load_civilized_codebook,
    share,
)
from analysis.civilized.documents import Documents, read_documents
from analysis.project import REGISTER_COMMAND
from analysis.stats.agreement import two_coder_agreement
from paperkit.io import write_json, write_text
from paperkit.manifest import verify_registered
from paperkit.tables import pipe_table

UNIT_OF_ANALYSIS = (
    "unit x dimension presence: a manual item or website indicator overlaps in a dimension "
    "when the coder applied that dimension's code to it"
)
NOT_EXCLUSIVE = "Dimensions are not mutually exclusive: a unit can overlap in several."


def coder_ranking(documents: Documents) -> list[str]:
    """Coders by number of units they coded (descending), ties by name: rank 1 is primary."""
    counts = documents.long.groupby("coder")["unit"].nunique()
    return sorted(documents.coders, key=lambda c: (-int(counts.get(c, 0)), c))


def tally_coder(documents: Documents, rule: str) -> list[str]:
    """Whose coding counts: the primary coder, every coder (union), or the named one."""
    ranked = coder_ranking(documents)
    if rule == "union":
        return ranked
    if rule == "primary":
        return ranked[:1]
    if rule not in ranked:
        raise CivilizedError([f"config civilized.tally_coder: rule: {rule!r} is not a coder "
                              f"of the documents project {ranked}"])
    return [rule]


def presence_matrix(documents: Documents, coders: list[str], dims: list[str]) -> pd.DataFrame:
    """Units x dimensions, 1 where one of ``coders`` applied the dimension to the unit."""
    long = documents.long[documents.long["coder"].isin(coders)]
    matrix = pd.crosstab(long["unit"], long["code"]).clip(upper=1)
    return matrix.reindex(index=documents.units["unit"], columns=dims, fill_value=0).astype(int)


def tally(documents: Documents, codebook: CivilizedCodebook, coders: list[str]) -> dict[str, Any]:
    """Per dimension for manual items and indicators, and per NCCA category x dimension."""
    dims = list(codebook.dimensions)
    m = presence_matrix(documents, coders, dims)
    kind = documents.units.set_index("unit")["kind"]
    manual, sites = m[kind == "manual"], m[kind == "website"]
    category = documents.units.set_index("unit")["category_id"]
    out: dict[str, Any] = {"dimensions": {}, "categories": {}}
    for d in dims:
        out["dimensions"][d] = {"label": codebook.dimensions[d]["label"],
                                "manual_items": share(manual[d].sum(), len(manual)),
                                "indicators": share(sites[d].sum(), len(sites))}
    for part, frame in (("manual_items", manual), ("indicators", sites)):
        hits = frame.sum(axis=1)
        out.setdefault("any_dimension", {})[part] = share((hits > 0).sum(), len(frame))
        out.setdefault("all_dimensions", {})[part] = share((hits == len(dims)).sum(),
                                                             len(frame))
    for cat, labels in documents.categories.items():
        rows = manual[category[manual.index] == cat]
        out["categories"][cat] = {
            "label": labels["en"], "label_zh": labels["zh"], "n_items": len(rows),
            "dimensions": {d: share(rows[d].sum(), len(rows)) for d in dims},
            "any_dimension": share((rows.sum(axis=1) > 0).sum(), len(rows)),
        }
    top = max(out["categories"], key=lambda c: (out["categories"][c]["any_dimension"]["pct"],
                                                 -int(c) if c.isdigit() else 0))
    bottom = min(out["categories"], key=lambda c: out["categories"][c]["any_dimension"]["pct"])
    out["top_category"] = {"id": top, **out["categories"][top]}
    out["bottom_category"] = {"id": bottom, **out["categories"][bottom]}
    out["top_dimension"] = max(dims, key=lambda d: out["dimensions"][d]["manual_items"]["n"])
    return out


def reliability(documents: Documents, dims: list[str], source: str = "the coded documents"
                ) -> dict[str, Any]:
    """Agreement of the two coders with most codings over every unit x dimension."""
    ranked = coder_ranking(documents)
    if len(ranked) < 2:  # the paper reports agreement between two coders
        raise CivilizedError([
            f"{source}: rule: intercoder reliability needs two coders; the coded documents "
            f"hold codings of {', '.join(map(repr, ranked)) or 'no coder'} only: add the "
            "second coder's codings"])
    a, b = ranked[:2]
    first = presence_matrix(documents, [a], dims).to_numpy()
    second = presence_matrix(documents, [b], dims).to_numpy()
    return {"coders": [a, b], "n_cases": int(first.shape[0]),
            "unit": "unit x dimension presence over every manual item and website indicator",
            **two_coder_agreement(first, second, dims)}


def analyse(documents: Documents, codebook: CivilizedCodebook, settings: dict[str, Any],
            source: str = "the coded documents") -> dict[str, Any]:
    """Everything results/overlap.json holds, computed before anything is written."""
    dims = list(codebook.dimensions)
    coders = tally_coder(documents, settings["tally_coder"])
    units = documents.units
    n_websites = units.loc[units["kind"] == "website", "website_id"].nunique()
    return {
        **tally(documents, codebook, coders),
        "design": {
            "n_dimensions": len(dims),
            "n_manual_items": int((units["kind"] == "manual").sum()),
            "n_categories": len(documents.categories),
            "n_subcategories": sum(len(c["subcategories"])
                                   for c in documents.categories.values()),
            "n_pages": documents.accounting["pages"],
            "n_websites": int(n_websites),
            "n_indicators": int((units["kind"] == "website").sum()),
        },
        "dimension_order": dims,
        "category_order": list(documents.categories),
        "reliability": reliability(documents, dims, source),
        "tally_coder": {"rule": settings["tally_coder"], "coders": coders},
        "accounting": {k: v for k, v in documents.accounting.items() if k != "pages"},
        "unit_of_analysis": UNIT_OF_ANALYSIS,
        "notes": [NOT_EXCLUSIVE],
        "source": {"format": "REFI-QDA", "simulated": documents.simulated},
    }


# --- tables ------------------------------------------------------------------------------


def _pct(share: dict[str, Any]) -> str:
    return f"{share['n']} ({share['pct']:.0f}%)" if share["pct"] is not None else "0"


def markdown_tables(result: dict[str, Any]) -> dict[str, str]:
    """Overlap by dimension, by NCCA category x dimension, and reliability per dimension."""
    sim = " Simulated documents." if result["source"]["simulated"] else ""
    dims, design = result["dimension_order"], result["design"]
    by_dim = pipe_table(
        ["Dimension", "Manual items, n (%)", "Website indicators, n (%)"],
        [[result["dimensions"][d]["label"], _pct(result["dimensions"][d]["manual_items"]),
          _pct(result["dimensions"][d]["indicators"])] for d in dims]
        + [["Any dimension", _pct(result["any_dimension"]["manual_items"]),
            _pct(result["any_dimension"]["indicators"])],
           ["All three dimensions", _pct(result["all_dimensions"]["manual_items"]),
            _pct(result["all_dimensions"]["indicators"])]],
        "lrr", widths=(40, 20, 20),
    ) + (f"\nN = {design['n_manual_items']} manual items and {design['n_indicators']} "
         f"indicators of {design['n_websites']} websites. {NOT_EXCLUSIVE}{sim}\n")
    cats = result["categories"]
    by_cat = pipe_table(
        ["NCCA category", "Items", *[result["dimensions"][d]["label"] for d in dims], "Any"],
        [[f"{c['label']} ({c['label_zh']})", c["n_items"],
          *[_pct(c["dimensions"][d]) for d in dims], _pct(c["any_dimension"])]
         for c in (cats[k] for k in result["category_order"])],
        "lr" + "r" * (len(dims) + 1), widths=(28, 6, *([14] * len(dims)), 10),
    ) + ("\nManual items overlapping with social credit, n (% of the category). "
         f"{NOT_EXCLUSIVE}{sim}\n")
    rel = result["reliability"]
    alpha = rel.get("krippendorff_alpha_nominal")
    by_code = pipe_table(
        ["Dimension", "Agreement (%)", "Cohen's kappa"],
        [[result["dimensions"][d]["label"], f"{v['agreement_pct']:.1f}",
          "not defined" if v["kappa"] is None else f"{v['kappa']:.2f}"]
         for d, v in rel.get("per_code", {}).items()],
        "lrr", widths=(40, 14, 14),
    ) + (f"\n{rel.get('n_cases', 0)} units coded by both coders; unit: {UNIT_OF_ANALYSIS}. "
         "Kappa is not defined when both coders are constant on a dimension. Krippendorff's "
         f"alpha (nominal, all decisions): {'not defined' if alpha is None else f'{alpha:.2f}'}."
         f"{sim}\n")
    return {"overlap_dimensions": by_dim, "overlap_categories": by_cat,
            "overlap_reliability": by_code}


def tally_overlap(manual_csv: str | Path, websites_csv: str | Path, qdpx_path: str | Path,
                  codebook_path: str | Path, settings: dict[str, Any], out_json: str | Path,
                  out_tables_dir: str | Path,
                  registered: dict[str, str | None] | None = None) -> None:
    """Snakemake entry: read and validate, tally, then write the JSON and Markdown tables.

    ``settings`` is the ``civilized`` section of config/config.yaml; ``registered`` (path
    -> checksum from the raw-data manifest) is verified first. Nothing is written unless
    every check passes.
    """
    if registered is not None:
        verify_registered(registered, register_hint=REGISTER_COMMAND)
    codebook = load_civilized_codebook(codebook_path)
    documents = read_documents(manual_csv, websites_csv, qdpx_path, codebook)
    result = analyse(documents, codebook, settings, source=str(qdpx_path))
    result["source"]["sha256"] = {
        Path(p).name: hashlib.sha256(Path(p).read_bytes()).hexdigest()
        for p in (manual_csv, websites_csv, qdpx_path)}
    for stem, text in markdown_tables(result).items():
        write_text(Path(out_tables_dir) / f"{stem}.md", text)
    write_json(out_json, result)
