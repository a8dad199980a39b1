"""Weighted proportions, their standard errors and confidence intervals, Rao-Scott tests.

Checked against R ``survey`` 4.1 in tests/analysis/survey/test_describe.py (fixtures made by
tests/fixtures/r/make_describe_fixtures.R):

* **Percentages and standard errors.** Without a design (``design=None``) the weights are
  treated as given: R ``svydesign(ids = ~1, weights = ~w)`` (one stage, no strata,
  with-replacement linearization). A percentage is the weighted mean of a 0/1 indicator and
  its variance is ``n/(n-1) * sum(z_i^2)`` with ``z_i = w_i (y_i - p) / sum(w)``, exactly
  ``svymean``. With a design of :mod:`analysis.stats.calibration` (PSUs, strata, fpc, the
  raking calibration) the SE is that design's, ``method="calibrated"`` (R's calibrated
  design, ``calibrate()``) or ``"fixed"`` (the raked weights taken as given).
* **Domains** are estimated on the subset of the design, as R
  ``svymean(~y, subset(design, domain))`` does for this design; rows with a missing answer
  are dropped from the base (the item's own non-response).
* **Confidence intervals.** ``"logit"``: R ``svyciprop(method = "logit")``, a Wald interval
  on the logit scale with t(n-1) quantiles, inside [0, 100] near the bounds; ``"wald"``:
  R ``confint(svymean(...))``, p +- z * SE.
* **Crosstab tests.** Rao-Scott second-order correction of the Pearson chi-square of the
  weighted table, referred to an F distribution: R ``svychisq(statistic = "F")``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats import calibration as cal

CI_METHODS = ("logit", "wald")



@dataclass(frozen=True)
class Estimate:
    """A weighted percentage with its uncertainty and its unweighted/weighted counts."""

    pct: float
    se: float
    ci: tuple[float, float]
    n: int
    weighted_n: float
    count: int
    weighted_count: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "pct": json_round(self.pct),
            "se": json_round(self.se),
            "ci": [json_round(self.ci[0]), json_round(self.ci[1])],
            "n": self.n,
            "weighted_n": json_round(self.weighted_n),
            "count": self.count,
            "weighted_count": json_round(self.weighted_count),
        }


def domain_mask(domain: Any) -> np.ndarray:
    """A domain indicator as booleans; a missing value is outside the domain."""
    if isinstance(domain, pd.Series) and domain.dtype == bool:
        return domain.to_numpy(copy=True)  # nothing missing: what the conversion gives
    if isinstance(domain, np.ndarray) and domain.dtype == bool:
        return domain.copy()
    return pd.Series(domain).fillna(False).astype(bool).to_numpy()


def json_round(x: float) -> float | None:
    """Round to 10 decimals so that JSON bytes do not carry last-bit noise; NaN -> null."""
    return None if x is None or not math.isfinite(x) else round(float(x), 10)


def _values(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as floats (NaN where missing) and where it is not missing (NA of ``Float64``).

    A ``Float64`` Series (what :func:`indicator` makes) is read as it is; anything else is
    converted to ``Float64`` first, so both give the same values and mask.
    """
    if not (isinstance(y, pd.Series) and isinstance(y.dtype, pd.Float64Dtype)):
        y = pd.to_numeric(pd.Series(y).reset_index(drop=True), errors="raise").astype("Float64")
    values = y.array
    return values.to_numpy(dtype=float, na_value=np.nan), ~values.isna()


def _weights(w: Any) -> np.ndarray:
    """Weights as a float array."""
    if isinstance(w, np.ndarray) and w.ndim == 1 and w.dtype.kind in "fiub":
        return w.astype(float)
    if isinstance(w, pd.Series) and w.dtype == np.float64:
        return w.to_numpy(dtype=float, copy=True)
    return pd.Series(w).reset_index(drop=True).astype(float).to_numpy()


def _base(y: Any, w: Any, domain: Any = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Values and weights of the base (in domain, y not NA) and the design's size n."""
    values, keep, wv = _aligned(y, w)
    if domain is not None:
        keep = keep & domain_mask(domain)
    return values[keep], wv[keep], len(wv)


def _aligned(y: Any, w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values of y, where they are not missing, and the weights, checked to match."""
    values, present = _values(y)
    wv = _weights(w)
    if len(values) != len(wv):
        raise ValueError(f"indicator has {len(values)} values but weights have {len(wv)}")
    return values, present, wv


def weighted_mean_se(y: Any, w: Any, domain: Any = None) -> tuple[float, float, int]:
    """Weighted mean of y over a domain, its linearization SE and the base n.

    ``y`` and ``w`` cover the whole design (every respondent); NA in ``y`` or False in
    ``domain`` leaves a row out of the base. As in R ``svymean(~y, subset(des, ...))`` the
    rows outside the base contribute zero to the variance but still count as PSUs: the
    factor is n_design / (n_design - 1), with n_design = len(w).
    """
    return _mean_se(*_base(y, w, domain))


def _mean_se(yv: np.ndarray, wv: np.ndarray, n_design: int) -> tuple[float, float, int]:
    """:func:`weighted_mean_se` of the base's values and weights."""
    n = len(yv)
    if n == 0:
        return math.nan, math.nan, 0
    total = wv.sum()
    mean = float(np.dot(wv, yv) / total)
    if n_design < 2:
        return mean, math.nan, n
    z = wv * (yv - mean) / total
    return mean, float(math.sqrt(n_design / (n_design - 1) * np.dot(z, z))), n


def proportion_ci(
    p: float, se: float, n: int, level: float = 0.95, method: str = "logit"
) -> tuple[float, float]:
    """Confidence interval of a proportion: R svyciprop(method="logit") or confint(svymean)."""
    if method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, got {method!r}")
    if not (math.isfinite(p) and math.isfinite(se)):
        return math.nan, math.nan
    if method == "wald":
        z = _normal_quantile(0.5 + level / 2)
        return float(p - z * se), float(p + z * se)
    if p <= 0.0 or p >= 1.0:
        return p, p
    t = _t_quantile(0.5 + level / 2, n - 1)
    centre, half = math.log(p / (1 - p)), t * se / (p * (1 - p))
    return _expit(centre - half), _expit(centre + half)


@functools.lru_cache(maxsize=1024)
def _normal_quantile(q: float) -> float:
    """Memoised: a describe step asks for the same quantile hundreds of times."""
    return stats.norm.ppf(q)


@functools.lru_cache(maxsize=1024)
def _t_quantile(q: float, df: int) -> float:
    """Memoised: a describe step asks for a handful of (level, df) pairs hundreds of times."""
    return stats.t.ppf(q, df=df)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def weighted_proportion(
    y: Any, w: Any, domain: Any = None, level: float = 0.95, ci_method: str = "logit",
    *, design: cal.Design | None = None, method: cal.Method = "fixed",
) -> Estimate:
    """Weighted percentage of a 0/1 indicator over a domain.

    Without ``design``: :func:`weighted_mean_se`, weights as given. With ``design`` (its
    weights are ``w``): :func:`analysis.stats.calibration.weighted_mean_se` with ``method``,
    and the logit interval uses R's design df (``svyciprop``), which is n - 1 for ids = ~1.
    """
    values, keep, w_all = _aligned(y, w)  # converted once for both estimators
    in_domain = None if domain is None else domain_mask(domain)
    if in_domain is not None:
        keep = keep & in_domain
    yv, wv = values[keep], w_all[keep]
    if np.any((yv != 0) & (yv != 1)):
        raise ValueError("indicator must be 0/1 (or NA)")
    if design is None:
        p, se, n = _mean_se(yv, wv, len(w_all))
        lo, hi = proportion_ci(p, se, n, level, ci_method)
    else:
        e = cal.weighted_mean_se(values, design, domain=in_domain, method=method)
        p, se, n = e.estimate, e.se, e.n
        lo, hi = proportion_ci(p, se, e.df + 1, level, ci_method)
    return Estimate(
        pct=100 * p,
        se=100 * se,
        ci=(100 * lo, 100 * hi),
        n=n,
        weighted_n=float(wv.sum()),
        count=int(yv.sum()),
        weighted_count=float(np.dot(wv, yv)),
    )


def indicator(values: pd.Series, codes: Iterable[Any]) -> pd.Series:
    """1 where ``values`` is one of ``codes``, 0 elsewhere, NA where ``values`` is missing.

    Built as one masked array rather than by converting and then assigning NA, which
    costs a copy and an indexed assignment per call (the describe step makes hundreds).
    """
    hits = values.isin(list(codes))
    missing = values.isna().to_numpy() | hits.isna().to_numpy()
    data = hits.to_numpy(dtype=float, na_value=0.0)
    return pd.Series(pd.arrays.FloatingArray(data, missing), index=values.index,
                     name=values.name)


@dataclass(frozen=True)
class RaoScottResult:
    """Rao-Scott second-order (F) test of independence in a weighted two-way table."""

    f: float
    ndf: float
    ddf: float
    p_value: float
    pearson: float
    mean_deff: float
    n: int
    rows: str
    cols: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "statistic": "F",
            "method": "Rao-Scott second-order correction (R svychisq, statistic='F')",
            "f": json_round(self.f),
            "ndf": json_round(self.ndf),
            "ddf": json_round(self.ddf),
            "p_value": json_round(self.p_value),
            "pearson_chisq": json_round(self.pearson),
            "mean_deff": json_round(self.mean_deff),
            "n": self.n,
            "rows": self.rows,
            "cols": self.cols,
        }


def rao_scott_test(
    rows: Any, cols: Any, w: Any, domain: Any = None, row_name: str = "rows",
    col_name: str = "cols", *, design: cal.Design | None = None,
    method: cal.Method = "fixed",
) -> RaoScottResult:
    """Rao-Scott F test of rows x cols, as R svychisq(statistic="F").

    Computed on the complete cases of the domain, i.e. R ``svychisq(~r + c, subset(des,
    domain & !is.na(r) & !is.na(c)))``: N and the denominator df use those n rows, while
    the cell-share covariance keeps the design's n_design = len(w) PSUs, as R does. With
    ``design`` the cell-share covariance and the denominator df are that design's
    (:func:`analysis.stats.calibration.cell_proportions_vcov`, ``method``).
    """
    r, c = pd.Series(rows).to_numpy(), pd.Series(cols).to_numpy()
    w_all = pd.Series(w).to_numpy(dtype=float)
    n_design = len(w_all)
    if not len(r) == len(c) == n_design:
        raise ValueError(f"rows, cols and weights have {len(r)}, {len(c)} and {n_design} "
                         "values")
    keep = ~(pd.isna(r) | pd.isna(c) | np.isnan(w_all))  # complete cases ...
    if domain is not None:
        keep &= domain_mask(domain)  # ... of the domain
    n = int(keep.sum())
    r_codes, r_levels = pd.factorize(r[keep], sort=True)
    c_codes, c_levels = pd.factorize(c[keep], sort=True)
    nr, nc = len(r_levels), len(c_levels)
    if nr < 2 or nc < 2 or n < 2:
        return RaoScottResult(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, n,
                              row_name, col_name)
    wv = w_all[keep]
    cell = r_codes + nr * c_codes  # rows vary fastest, as R interaction(rows, cols)
    if design is None:
        mean, vcov = _cell_vcov(cell, wv, nr * nc, n_design)
        nu = n - 1
    else:
        cells = cal.cell_proportions_vcov(rows, cols, design, domain=domain, method=method)
        mean, vcov, nu = cells.mean, cells.vcov, cells.nu
    return _rao_scott_statistic(cell, wv, (nr, nc), mean, vcov, nu, (row_name, col_name))


def _rao_scott_statistic(cell: np.ndarray, wv: np.ndarray, shape: tuple[int, int],
                         mean: np.ndarray, vcov: np.ndarray, nu: float,
                         names: tuple[str, str]) -> RaoScottResult:
    """The F statistic from the complete cases' cell codes (rows fastest) and weights, and
    the cell shares' mean and covariance (R ``svychisq``'s second-order correction)."""
    nr, nc = shape
    n, total = len(cell), wv.sum()
    grid_r, grid_c = np.arange(nr * nc) % nr, np.arange(nr * nc) // nr
    row_d = (grid_r[:, None] == np.arange(1, nr)).astype(float)
    col_d = (grid_c[:, None] == np.arange(1, nc)).astype(float)
    x1 = np.column_stack([np.ones(nr * nc), row_d, col_d])
    inter = np.column_stack([row_d[:, i] * col_d[:, j] for j in range(nc - 1)
                             for i in range(nr - 1)])
    cmat = inter - x1 @ np.linalg.lstsq(x1, inter, rcond=None)[0]
    inv_mean = np.where(mean == 0, 0.0, 1.0 / np.where(mean == 0, 1.0, mean))
    denom = cmat.T @ (np.diag(inv_mean) / n) @ cmat
    numr = cmat.T @ np.diag(inv_mean) @ vcov @ np.diag(inv_mean) @ cmat
    delta = np.linalg.solve(denom, numr)
    tr, tr2 = float(np.trace(delta)), float(np.trace(delta @ delta))
    d0 = tr**2 / tr2

    table = np.bincount(cell, weights=wv, minlength=nr * nc).reshape(nc, nr).T * n / total
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    pearson = float(((table - expected) ** 2 / expected).sum())
    f = pearson / tr
    p_value = float(stats.f.sf(f, d0, d0 * nu))
    return RaoScottResult(f, d0, d0 * nu, p_value, pearson, tr / delta.shape[0], n, *names)


def _cell_vcov(cell: np.ndarray, wv: np.ndarray, k: int, n_design: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Cell shares and their fixed-weight covariance over n_design PSUs (ids = ~1)."""
    mm = np.zeros((cell.shape[0], k))
    mm[np.arange(cell.shape[0]), cell] = 1.0
    total = wv.sum()
    mean = wv @ mm / total
    z = wv[:, None] * (mm - mean) / total
    return mean, n_design / (n_design - 1) * z.T @ z
