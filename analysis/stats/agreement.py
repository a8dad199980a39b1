"""Intercoder agreement: Cohen's kappa, Krippendorff's alpha, and both for two coders.

Used by every strand that double-codes qualitative material (the interview barriers, the
civilized-city documents and interviews). Pure functions of arrays: no paths, no settings.
"Not defined" is a result, returned as ``None``, never a silent 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class AgreementInputError(ValueError):
    """Ratings these estimators cannot handle (missing codes, more than two coders)."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _binary_ratings(values: Any, name: str) -> np.ndarray:
    """One coder's 0/1 decisions as a 1-D float array; refuse what kappa cannot take."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise AgreementInputError(
            f"Cohen's kappa compares exactly two coders: '{name}' has shape {arr.shape}, not "
            "one decision per unit (for more than two coders use Krippendorff's alpha)")
    missing = [i for i, v in enumerate(arr) if _missing(v)]
    if missing:
        raise AgreementInputError(
            f"Cohen's kappa needs a decision of both coders on every unit: '{name}' has no "
            f"code for unit(s) {missing[:5]} (drop those units or use Krippendorff's alpha, "
            "which allows missing values)")
    bad = sorted({str(v) for v in arr if v not in (0, 1)})
    if bad:
        raise AgreementInputError(f"Cohen's kappa here takes 0/1 decisions: '{name}' has "
                                  f"value(s) {bad}")
    return arr.astype(float)


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

    Raises
    ------
    AgreementInputError
        A unit without a decision of one coder, a value other than 0/1, ratings of more
        than two coders (a 2-D array) or of different lengths.
    """
    a, b = _binary_ratings(a, "first coder"), _binary_ratings(b, "second coder")
    if len(a) != len(b):
        raise AgreementInputError(f"Cohen's kappa needs the same units for both coders: "
                                  f"{len(a)} decisions against {len(b)}")
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

    Raises
    ------
    AgreementInputError
        A missing value (None or NaN) left in a unit: it would count as a code of its own.
    """
    for number, values in enumerate(units):
        if any(_missing(v) for v in values):
            raise AgreementInputError(
                f"Krippendorff's alpha: unit {number} holds a missing value {list(values)}; "
                "drop missing values from each unit first (they are not a code)")
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
    for name, matrix in (("first", first), ("second", second)):
        flat = np.asarray(matrix, dtype=object).ravel()
        if any(_missing(v) for v in flat) or not set(flat.tolist()) <= {0, 1}:
            raise AgreementInputError(
                f"the {name} coder's matrix must hold a 0/1 decision for every unit and code "
                "(a code missing from one coder's set is a 0, not a blank)")
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
