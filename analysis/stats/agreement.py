"""Intercoder agreement: Cohen's kappa, Krippendorff's alpha, and both for two coders.

Used by every strand that double-codes qualitative material (the interview barriers, the
civilized-city documents and interviews). Pure functions of arrays: no paths, no settings.
"Not defined" is a result, returned as ``None``, never a silent 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float | None:
    """Cohen's kappa of two binary ratings of the same units.

    Parameters
    ----------
    a, b : array_like of 0/1
        The two coders' decisions, one entry per unit, in the same order.

    Returns
    -------
    float or None
        ``(p_o - p_e) / (1 - p_e)``; None when chance agreement ``p_e`` is 1 (both
        coders constant on the same value), where kappa is not defined.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    po = float(np.mean(a == b))
    pe = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    if np.isclose(pe, 1.0):
        return None
    return (po - pe) / (1 - pe)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Any]]) -> float | None:
    """Krippendorff's alpha for nominal data from the values each unit received.

    Parameters
    ----------
    units : sequence of sequences
        Per unit, the values the coders gave it (missing values already dropped). Units
        with fewer than two values are not pairable and do not count.

    Returns
    -------
    float or None
        ``1 - (n - 1) D_o / D_e`` from the coincidence matrix; None when all pairable
        values are identical (no variation: alpha is not defined).
    """
    coincidence: dict[tuple[Any, Any], float] = {}
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, c in enumerate(values):
            for j, k in enumerate(values):
                if i != j:
                    coincidence[(c, k)] = coincidence.get((c, k), 0.0) + 1.0 / (m - 1)
    totals: dict[Any, float] = {}
    for (c, _k), w in coincidence.items():
        totals[c] = totals.get(c, 0.0) + w
    n = sum(totals.values())
    disagree = sum(w for (c, k), w in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if expected == 0:
        return None
    return 1.0 - (n - 1) * disagree / expected


def two_coder_agreement(
    first: np.ndarray, second: np.ndarray, codes: Sequence[str]
) -> dict[str, Any]:
    """Agreement of two coders on units x codes presence matrices.

    Parameters
    ----------
    first, second : ndarray of 0/1, shape (n_units, n_codes)
        Whether each coder applied each code to each unit; rows are the same units.
    codes : sequence of str
        Names of the columns.

    Returns
    -------
    dict
        ``per_code`` (percent agreement, kappa or None, counts of both / first only /
        second only), ``n_units`` (unit x code decisions), ``overall_agreement_pct`` and
        ``krippendorff_alpha_nominal`` over all decisions (None where not defined).
    """
    first, second = np.asarray(first, dtype=int), np.asarray(second, dtype=int)
    if first.shape != second.shape or first.shape[1:] != (len(codes),):
        raise ValueError(f"matrices of shapes {first.shape} and {second.shape} do not "
                         f"match each other and {len(codes)} codes")
    per_code = {}
    for j, code in enumerate(codes):
        a, b = first[:, j], second[:, j]
        kappa = cohen_kappa(a, b) if len(a) else None
        per_code[code] = {
            "agreement_pct": round(100 * float((a == b).mean()), 2) if len(a) else None,
            "kappa": None if kappa is None else round(kappa, 4),
            "kappa_defined": kappa is not None,
            "n_both": int(((a == 1) & (b == 1)).sum()),
            "n_coder1_only": int(((a == 1) & (b == 0)).sum()),
            "n_coder2_only": int(((a == 0) & (b == 1)).sum()),
        }
    pairs = [[int(x), int(y)] for x, y in zip(first.ravel(), second.ravel(), strict=True)]
    alpha = krippendorff_alpha_nominal(pairs)
    return {
        "n_units": len(pairs),
        "overall_agreement_pct": round(100 * float((first == second).mean()), 2)
        if pairs else None,
        "krippendorff_alpha_nominal": None if alpha is None else round(alpha, 4),
        "per_code": per_code,
    }
