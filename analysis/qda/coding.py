"""Whose coding counts, the case x code matrix and intercoder reliability.

``long`` is one row per coding: the case, the code and the coder (from
:func:`analysis.qda.qdpx.read_qdpx` through a strand's mapping of codes). The unit of
analysis of every tally is case x code presence.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.stats.agreement import two_coder_agreement


class QdaError(ValueError):
    """Coded data cannot be tallied as configured; the message names the setting."""


def coder_ranking(long: pd.DataFrame) -> list[str]:
    """Coders by number of cases coded (descending), ties by name: rank 1 is 'primary'."""
    counts = long.groupby("coder")["case"].nunique()
    return sorted(counts.index, key=lambda c: (-counts[c], c))


def select_coding(long: pd.DataFrame, rule: str, setting: str = "tally_coder"
                  ) -> tuple[pd.DataFrame, list[str]]:
    """Keep the coding that counts: per case the top-ranked coder (``primary``), every
    coder (``union``), or one coder by name; ``setting`` names the config key in errors."""
    ranking = coder_ranking(long)
    if rule == "union":
        return long, ranking
    if rule == "primary":
        rank = {c: i for i, c in enumerate(ranking)}
        best = long.assign(r=long["coder"].map(rank)).groupby("case")["r"].transform("min")
        return long[long["coder"].map(rank) == best], ranking[:1]
    if rule not in ranking:
        raise QdaError(f"{setting}: {rule!r} is not a coder in the project {ranking}")
    return long[long["coder"] == rule], [rule]


def case_code_matrix(long: pd.DataFrame, cases: list[str], codes: list[str]) -> pd.DataFrame:
    """Cases x codes, 1 if the code is present for the case (any segment), else 0."""
    matrix = pd.crosstab(long["case"], long["code"]).clip(upper=1)
    return matrix.reindex(index=cases, columns=codes, fill_value=0).astype(int)


def reliability(long: pd.DataFrame, codes: list[str], source: str,
                unit: str = "case x code presence over the double-coded cases") -> dict[str, Any]:
    """Agreement, kappa per code and overall alpha on the cases coded by the two coders
    who share the most cases (``unit`` says what was compared, for the report).

    The paper reports intercoder agreement, so a project without a second coder stops
    here, naming ``source`` and the coders found, rather than printing no value or an
    alpha computed over nothing.
    """
    ranking = coder_ranking(long)
    coded = long.groupby("coder")["case"].apply(set)
    pairs = [(a, b) for i, a in enumerate(ranking) for b in ranking[i + 1 :]]
    shared: list[str] = []
    if pairs:
        a, b = max(pairs, key=lambda p: len(coded[p[0]] & coded[p[1]]))
        shared = sorted(coded[a] & coded[b])
    if not shared:
        raise QdaError(
            f"{source}: intercoder reliability: no transcript was coded by two coders (coders with "
            f"codings: {', '.join(map(repr, ranking)) or 'none'}); the paper reports "
            "agreement between two coders: add the second coder's codings to the project "
            "(docs/INTERVIEWS.md)")
    ma = case_code_matrix(long[long["coder"] == a], shared, codes)
    mb = case_code_matrix(long[long["coder"] == b], shared, codes)
    agreement = two_coder_agreement(ma.to_numpy(), mb.to_numpy(), codes)
    return {"coders": [a, b], "n_cases": len(shared), "unit": unit, **agreement}
