"""Linearization variance that knows the weights were raked (calibrated), as R ``survey``.

Why this module exists: raking forces the weighted sample to reproduce known population
margins, so any estimate that moves with those margins is less variable than a variance
that treats the weights as fixed admits. The standard remedy (Deville & Sarndal 1992) is to
replace each unit's influence value by its residual from a weighted regression on the
calibration variables. This module does exactly what R ``survey`` 4.1 does in
``svyrecvar`` for its two kinds of stored calibration, so results can be checked against R:

* ``projection="calibrate"`` -- ``calibrate(calfun = "raking")``, bounded or not. R stores
  ``qr(X * sqrt(d))`` and ``g * sqrt(d)`` and replaces the influence values ``z`` by
  ``w * (e - X b)`` with ``e = z / w`` and ``b`` the regression of ``e`` on ``X`` weighted
  by the *base* weights ``d`` (all units, also those held at a bound).
* ``projection="rake"`` -- ``rake()``. R stores the margins and approximates the residual by
  10 backfitting sweeps ``e <- e - ave(e, margin)`` with *unweighted* category means. With
  equal base weights (this project's raking) and enough sweeps both projections coincide;
  with unequal base weights they differ, and only ``"calibrate"`` is the GREG residual.

Influence values follow R's convention: ``z_i`` is unit i's weighted contribution to the
estimator's linearization (``svymean``: ``w_i (y_i - mean) / sum(w)``), so that the
variance is the design variance of the totals of ``z``. That variance is the ultimate
cluster, with-replacement estimator of ``svyrecvar``: per stratum h with n_h PSUs,
``(1 - f_h) n_h / (n_h - 1) * sum_psu (t - mean_h t)(t - mean_h t)'``, where ``f_h`` comes
from R's ``fpc`` (population PSU counts, or sampling fractions when all are <= 1).

Domains keep every unit: a unit outside the domain (or with a missing answer) has z = 0 but
still counts as a PSU and still enters the calibration regression -- R's ``subset()`` of a
calibrated design does the same.

``method="fixed"`` gives the variance with the weights taken as given, from the same
code, so the two can be reported side by side (the study's ``weighting.variance``
chooses which one its results use).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from scipy import sparse, stats

Method = Literal["calibrated", "fixed"]
Projection = Literal["calibrate", "rake"]

Z95: Final[float] = float(stats.norm.ppf(0.975))
"""Two-sided 95% normal quantile, 1.959963984540054 (not the rounded 1.96)."""

R_RAKE_SWEEPS: Final[int] = 10
"""Backfitting sweeps R ``svyrecvar`` applies to a ``rake()`` design."""

METHODS: Final[tuple[str, ...]] = ("calibrated", "fixed")


class CalibrationVarianceError(ValueError):
    """Inputs that cannot give a design variance (lonely PSU, bad weights, bad fpc)."""


# --------------------------------------------------------------------------- containers


@dataclass(frozen=True)
class Calibration:
    """What a raking calibration leaves behind that its variance needs.

    Built by :func:`calibration`; units are grouped into cells (combinations of margin
    categories) so that the regression runs on a table of cells, not on n units.
    """

    codes: tuple[np.ndarray, ...]
    cells: np.ndarray
    cell_x: np.ndarray
    gram_pinv: np.ndarray
    base_weights: np.ndarray
    weights: np.ndarray
    projection: Projection
    sweeps: int
    gather: sparse.csc_matrix  # cells x n, d / w: gather @ z = per-cell sums of d * z / w
    spread: sparse.csr_matrix  # n x cells, w: spread @ f = w_i * f[cell(i)]


@dataclass(frozen=True)
class Design:
    """Final weights, PSUs, strata and fpc of a sample, plus its calibration if any."""

    weights: np.ndarray
    calibration: Calibration | None
    psu: np.ndarray | None
    psu_stratum: np.ndarray
    stratum_scale: np.ndarray
    n_psu: np.ndarray
    psu_sum: sparse.csc_matrix | None  # PSUs x n: psu_sum @ z = PSU totals
    psu_spread: sparse.csr_matrix | None  # PSUs x cells: psu_sum @ calibration.spread

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])


@dataclass(frozen=True)
class MeanEstimate:
    """A weighted mean (a proportion for 0/1 data) with SE, base size and design df."""

    estimate: float
    se: float
    n: int
    df: int


@dataclass(frozen=True)
class Shares:
    """Weighted shares of the levels of a categorical variable and their covariance."""

    levels: list[Any]
    estimate: np.ndarray
    vcov: np.ndarray
    n: int
    df: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))


@dataclass(frozen=True)
class CellProportions:
    """Cell shares of a two-way table (rows vary fastest) and their covariance.

    ``nu`` is the denominator df that R ``svychisq`` uses with this design: PSUs minus
    strata over the rows the design keeps (R drops out-of-domain rows of a design with
    fixed weights, but keeps them, weightless, in a calibrated one).
    """

    mean: np.ndarray
    vcov: np.ndarray
    row_levels: list[Any]
    col_levels: list[Any]
    n: int
    nu: int


# --------------------------------------------------------------------------- building


def margin_codes(margins: Mapping[str, Any] | Sequence[Any]) -> list[np.ndarray]:
    """Integer category codes (0..K-1, sorted labels) of each raking margin.

    Missing values are refused: a unit without a margin category could not have been raked.
    """
    columns = list(margins.values()) if isinstance(margins, Mapping) else list(margins)
    out = []
    for j, col in enumerate(columns):
        codes, _ = pd.factorize(pd.Series(np.asarray(col, dtype=object)), sort=True)
        if (codes < 0).any():
            raise CalibrationVarianceError(f"margin {j}: missing category at row "
                                           f"{int(np.flatnonzero(codes < 0)[0])}")
        out.append(codes.astype(np.intp))
    return out


def margin_matrix(codes: Sequence[np.ndarray]) -> np.ndarray:
    """One-hot indicators of every category of every margin (n x sum K_m, rank-deficient).

    This is the calibration model matrix ``X``; its column space equals that of R's
    ``model.matrix(~ m1 + m2 + ...)``, which is all that the residuals depend on.
    """
    blocks = []
    for c in codes:
        block = np.zeros((c.shape[0], int(c.max()) + 1))
        block[np.arange(c.shape[0]), c] = 1.0
        blocks.append(block)
    return np.hstack(blocks)


def _cells(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Cell index of each unit and the (cell x margin) category codes of each cell."""
    sizes = [int(c.max()) + 1 for c in codes]
    key = np.ravel_multi_index(tuple(codes), sizes) if len(codes) > 1 else codes[0]
    present = np.flatnonzero(np.bincount(key, minlength=math.prod(sizes)))
    remap = np.full(math.prod(sizes), -1, dtype=np.intp)
    remap[present] = np.arange(present.shape[0])
    cell_codes = np.column_stack(np.unravel_index(present, sizes))
    return remap[key], cell_codes


def _cell_design(cell_codes: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Full-rank one-hot design per cell: all levels of margin 1, levels 2.. of the rest."""
    cols = [(cell_codes[:, 0][:, None] == np.arange(sizes[0])).astype(float)]
    for m in range(1, cell_codes.shape[1]):
        cols.append((cell_codes[:, m][:, None] == np.arange(1, sizes[m])).astype(float))
    return np.hstack(cols)


def calibration(
    margins: Mapping[str, Any] | Sequence[Any],
    weights: Any,
    base_weights: Any = None,
    *,
    projection: Projection = "calibrate",
    sweeps: int = R_RAKE_SWEEPS,
) -> Calibration:
    """Describe a raking calibration for its variance.

    Parameters
    ----------
    margins
        The raking variables (one array of categories per margin, or a mapping of them).
    weights
        Final weights after raking (bounded or not).
    base_weights
        Weights before raking, ``d``; ``None`` means 1 for everyone (this project's raking).
        They weight the calibration regression, as in R ``calibrate``.
    projection
        ``"calibrate"``: exact GREG residual (R ``calibrate``, bounded or not).
        ``"rake"``: R ``rake()``'s backfitting approximation, ``sweeps`` sweeps.
    sweeps
        Sweeps of the ``"rake"`` projection; R uses 10.

    Returns
    -------
    Calibration
    """
    if projection not in ("calibrate", "rake"):
        raise CalibrationVarianceError(f"projection must be 'calibrate' or 'rake', "
                                       f"not {projection!r}")
    codes = margin_codes(margins)
    w = _positive(weights, "weights")
    d = np.ones_like(w) if base_weights is None else _positive(base_weights, "base_weights")
    for name, arr in (("base_weights", d), *((f"margin {j}", c) for j, c in enumerate(codes))):
        if arr.shape != w.shape:
            raise CalibrationVarianceError(f"{name}: {arr.shape[0]} values for {w.shape[0]} "
                                           "weights")
    cells, cell_codes = _cells(codes)
    cell_x = _cell_design(cell_codes, [int(c.max()) + 1 for c in codes])
    d_cell = np.bincount(cells, d, minlength=cell_x.shape[0])
    gram = cell_x.T @ (cell_x * d_cell[:, None])
    spread = _unit_to_cell(cells, w, cell_x.shape[0])
    gather = _unit_to_cell(cells, d / w, cell_x.shape[0]).T  # CSC: one streaming pass
    return Calibration(tuple(codes), cells, cell_x, np.linalg.pinv(gram, hermitian=True), d, w,
                       projection, int(sweeps), gather, spread)


def _unit_to_cell(cells: np.ndarray, values: np.ndarray, n_cells: int) -> sparse.csr_matrix:
    """n x cells sparse matrix with ``values[i]`` in column ``cells[i]`` of row i.

    Sparse products do the per-cell sums and the spreading back to units in one streaming
    pass each over an n x k block, which keeps the calibrated variance near the fixed one.
    """
    n = cells.shape[0]
    return sparse.csr_matrix((values, cells, np.arange(n + 1)), shape=(n, n_cells))


def _positive(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1)
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        raise CalibrationVarianceError(f"{name}: must be positive and finite; bad at row "
                                       f"{int(np.flatnonzero(bad)[0])}")
    return arr


def survey_design(
    weights: Any,
    *,
    calibration: Calibration | None = None,
    clusters: Any = None,
    strata: Any = None,
    fpc: Any = None,
) -> Design:
    """A one-stage (ultimate cluster) design, as R ``svydesign(ids, strata, fpc, weights)``.

    Parameters
    ----------
    weights
        Final weights (those of ``calibration`` when given).
    calibration
        From :func:`calibration`; needed for ``method="calibrated"``.
    clusters
        PSU ids (``None``: every unit is its own PSU, ``ids = ~1``).
    strata
        Stratum of every unit (``None``: one stratum).
    fpc
        R's ``fpc``: population number of PSUs in the unit's stratum, or the sampling
        fraction when every value is <= 1; ``None`` samples with replacement.
    """
    w = _positive(weights, "weights")
    n = w.shape[0]
    if calibration is not None and not np.allclose(calibration.weights, w, rtol=1e-12,
                                                   atol=0):
        raise CalibrationVarianceError("weights differ from the calibration's final weights")
    stratum = _codes(strata, n, "strata")
    if clusters is None and strata is None:  # every unit a PSU: no totals to form
        n_psu = np.array([n])
        return Design(w, calibration, None, stratum, _stratum_scale(n_psu, stratum, fpc, n),
                      n_psu, None, None)
    psu_raw = np.arange(n) if clusters is None else _codes(clusters, n, "clusters")
    _, first, psu = np.unique(stratum * (int(psu_raw.max()) + 1) + psu_raw,
                              return_index=True, return_inverse=True)
    psu_stratum = stratum[first]
    n_psu = np.bincount(psu_stratum)
    scale = _stratum_scale(n_psu, stratum, fpc, n)
    psu_sum = sparse.csc_matrix((np.ones(n), (psu, np.arange(n))), shape=(first.shape[0], n))
    spread = None if calibration is None else (psu_sum @ calibration.spread).tocsr()
    return Design(w, calibration, psu, psu_stratum, scale, n_psu, psu_sum, spread)


def _codes(values: Any, n: int, name: str) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.intp)
    codes, _ = pd.factorize(pd.Series(np.asarray(values)), sort=True)
    if codes.shape[0] != n or (codes < 0).any():
        raise CalibrationVarianceError(f"{name}: need {n} non-missing values")
    return codes.astype(np.intp)


def _stratum_scale(n_psu: np.ndarray, stratum: np.ndarray, fpc: Any, n: int) -> np.ndarray:
    """Per stratum (1 - f_h) * n_h / (n_h - 1), as R ``onestrat``.

    A stratum sampled completely (f_h = 1) contributes nothing; any other stratum with a
    single PSU is an error, R's default ``lonely.psu = "fail"``.
    """
    keep = np.ones(n_psu.shape[0]) if fpc is None else _fpc_keep(n_psu, stratum, fpc, n)
    lonely = np.flatnonzero((n_psu < 2) & (keep >= 1e-7))
    if lonely.size:
        raise CalibrationVarianceError(f"stratum {int(lonely[0])} has only one PSU "
                                       "(R: lonely.psu = 'fail')")
    return np.where(keep < 1e-7, 0.0, keep * n_psu / np.maximum(n_psu - 1, 1))


def _fpc_keep(n_psu: np.ndarray, stratum: np.ndarray, fpc: Any, n: int) -> np.ndarray:
    """1 - f_h from R's fpc: PSU counts of the population, or fractions when all are <= 1."""
    f = np.asarray(fpc, dtype=float).reshape(-1)
    if f.shape[0] != n or not np.all(np.isfinite(f) & (f > 0)):
        raise CalibrationVarianceError(f"fpc: need {n} positive values")
    per = np.zeros(n_psu.shape[0])
    per[stratum] = f
    if np.any(per[stratum] != f):
        raise CalibrationVarianceError("fpc varies within a stratum")
    popsize = n_psu / per if np.all(f <= 1) else per
    if np.any(popsize < n_psu):
        raise CalibrationVarianceError("fpc implies more than 100% sampling")
    return (popsize - n_psu) / popsize


# --------------------------------------------------------------------------- influence


def _as_matrix(z: Any, n: int) -> np.ndarray:
    arr = np.asarray(z, dtype=float)
    arr = arr.reshape(n, -1) if arr.ndim < 2 else arr
    if arr.shape[0] != n:
        raise CalibrationVarianceError(f"influence values have {arr.shape[0]} rows, design {n}")
    return arr


def _cell_fitted(z: np.ndarray, cal: Calibration) -> np.ndarray:
    """Fitted values X b per cell, b the base-weighted regression of e = z / w on X."""
    return cal.cell_x @ (cal.gram_pinv @ (cal.cell_x.T @ np.asarray(cal.gather @ z)))


def _calibrate_z(z: np.ndarray, cal: Calibration) -> np.ndarray:
    """z - w * X b: the GREG residuals in R's weighted scale (a new array)."""
    out = np.asarray(cal.spread @ _cell_fitted(z, cal))
    return np.subtract(z, out, out=out)


def _residual_rake(e: np.ndarray, cal: Calibration) -> np.ndarray:
    """R rake(): ``sweeps`` sweeps of e <- e - (unweighted mean of e in the category).

    Kept to reproduce R's ``rake()`` SEs; it converges to the *unweighted* least-squares
    residual, which equals the GREG one only when the base weights are equal.
    """
    e = e.copy()
    counts = [np.bincount(c).astype(float) for c in cal.codes]
    for _ in range(cal.sweeps):
        for c, k in zip(cal.codes, counts, strict=True):
            for j in range(e.shape[1]):
                e[:, j] -= (np.bincount(c, e[:, j], minlength=k.shape[0]) / k)[c]
    return e


def calibrated_influence(z: Any, calibration: Calibration) -> np.ndarray:
    """Influence values adjusted for calibration: ``w * residual(z / w)`` (R svyrecvar).

    Parameters
    ----------
    z
        Influence values (n, or n x k), R's weighted convention (module docstring).
    calibration
        From :func:`calibration`.

    Returns
    -------
    numpy.ndarray
        n x k adjusted influence values; their design variance is the calibrated variance.
    """
    w = calibration.weights
    x = _as_matrix(z, w.shape[0])
    if calibration.projection == "calibrate":
        return _calibrate_z(x, calibration)
    return _residual_rake(x / w[:, None], calibration) * w[:, None]


def greg_influence(z: Any, x: Any, weights: Any, base_weights: Any) -> np.ndarray:
    """Reference GREG adjustment on an explicit model matrix, literally as R computes it.

    ``qr.resid(qr(X * sqrt(d)), z / (g * sqrt(d))) * g * sqrt(d)`` with ``g = w / d``:
    slower than :func:`calibrated_influence` (no cells) but for any ``X``, e.g. to check it.
    """
    w = _positive(weights, "weights")
    d = _positive(base_weights, "base_weights")
    xs = np.asarray(x, dtype=float) * np.sqrt(d)[:, None]
    scale = (w / np.sqrt(d))[:, None]
    target = _as_matrix(z, w.shape[0]) / scale
    coef = np.linalg.lstsq(xs, target, rcond=None)[0]
    return (target - xs @ coef) * scale


# --------------------------------------------------------------------------- variance


def design_variance(z: Any, design: Design) -> np.ndarray:
    """Design variance of the totals of ``z``: R ``svyrecvar`` without calibration.

    Per stratum, PSU totals are centred on their stratum mean and their cross-products
    scaled by ``(1 - f_h) n_h / (n_h - 1)``.
    """
    x = _as_matrix(z, design.n)
    if design.psu_sum is None:
        return _totals_variance(x, design, owned=False)
    return _totals_variance(np.asarray(design.psu_sum @ x), design, owned=True)


def _totals_variance(totals: np.ndarray, design: Design, *, owned: bool) -> np.ndarray:
    """Centre PSU totals within strata and sum their scaled cross-products.

    ``owned``: ``totals`` is scratch space of the caller and is centred in place.
    """
    if design.psu_sum is None:
        centred = np.subtract(totals, totals.mean(axis=0), out=totals if owned else None)
        return (centred.T @ centred) * design.stratum_scale[0]
    sums = np.column_stack([np.bincount(design.psu_stratum, totals[:, j],
                                        minlength=design.n_psu.shape[0])
                            for j in range(totals.shape[1])])
    means = sums / design.n_psu[:, None]
    centred = np.subtract(totals, means[design.psu_stratum], out=totals if owned else None)
    return (centred * design.stratum_scale[design.psu_stratum][:, None]).T @ centred


def _check_method(method: str, design: Design) -> None:
    if method not in METHODS:
        raise CalibrationVarianceError(f"method must be one of {METHODS}, not {method!r}")
    if method == "calibrated" and design.calibration is None:
        raise CalibrationVarianceError("method='calibrated' needs a design with a calibration")


def influence_vcov(z: Any, design: Design, *, method: Method = "calibrated") -> np.ndarray:
    """Variance matrix of an estimator from its influence values (n x k -> k x k).

    Parameters
    ----------
    z
        Influence values, R's weighted convention (module docstring).
    design
        From :func:`survey_design`.
    method
        ``"calibrated"`` adjusts ``z`` for the design's calibration first (without
        materialising the adjusted values for clustered designs: PSU totals of ``z`` minus
        PSU totals of the fitted part); ``"fixed"`` takes the weights as given.

    Returns
    -------
    numpy.ndarray
        k x k variance matrix, R ``svyrecvar``.
    """
    _check_method(method, design)
    cal = design.calibration
    if method == "fixed" or cal.projection == "rake":
        return design_variance(z if method == "fixed" else calibrated_influence(z, cal), design)
    x = _as_matrix(z, design.n)
    if design.psu_sum is None:
        return _totals_variance(_calibrate_z(x, cal), design, owned=True)
    totals = np.asarray(design.psu_sum @ x) - design.psu_spread @ _cell_fitted(x, cal)
    return _totals_variance(totals, design, owned=True)


def _vcov_from_e(e: np.ndarray, design: Design, method: Method) -> np.ndarray:
    """Variance from unweighted residuals e = z / w."""
    return influence_vcov(e * design.weights[:, None], design, method=method)


def degrees_of_freedom(design: Design, base: Any = None) -> int:
    """R ``degf``: PSUs minus strata among the units of ``base`` (default: all units)."""
    keep = np.ones(design.n, bool) if base is None else np.asarray(base, bool)
    if design.psu is None:
        return int(keep.sum()) - int(keep.any())
    n_psus = design.psu_stratum.shape[0]
    psus = np.flatnonzero(np.bincount(design.psu[keep], minlength=n_psus))
    strata = np.bincount(design.psu_stratum[psus], minlength=design.n_psu.shape[0])
    return int(psus.shape[0] - np.count_nonzero(strata))


# --------------------------------------------------------------------------- estimators


def _base(y: Any, domain: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Values (NaN -> 0) and the base mask: in the domain and not missing."""
    if isinstance(y, np.ndarray) and y.dtype.kind in "fiub":
        yv = y.astype(float, copy=False).reshape(-1)
    else:
        values = pd.to_numeric(pd.Series(y).reset_index(drop=True), errors="raise")
        yv = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if yv.shape[0] != n:
        raise CalibrationVarianceError(f"y has {yv.shape[0]} values, design {n}")
    base = np.isfinite(yv) & _in_domain(domain, n)
    return np.where(base, yv, 0.0), base


def _in_domain(domain: Any, n: int) -> np.ndarray:
    """Domain membership as a bool array (missing = outside); everyone when ``None``."""
    if domain is None:
        return np.ones(n, dtype=bool)
    if isinstance(domain, np.ndarray) and domain.dtype == bool and domain.ndim == 1:
        mask = domain  # already what the conversion below makes
    else:
        mask = pd.Series(domain).reset_index(drop=True).fillna(False).astype(bool).to_numpy()
    if mask.shape[0] != n:
        raise CalibrationVarianceError(f"domain has {mask.shape[0]} values, design {n}")
    return mask


def weighted_mean_se(
    y: Any, design: Design, *, domain: Any = None, method: Method = "calibrated"
) -> MeanEstimate:
    """Weighted mean of ``y`` (proportion for 0/1) over a domain, with its SE.

    Matches R ``svymean(~y, subset(design, domain), na.rm = TRUE)`` and ``svyby``; the
    domain is never dropped from the design (see the module docstring).

    Parameters
    ----------
    y
        Values for every unit of the design; missing values leave the base.
    design
        From :func:`survey_design`.
    domain
        Boolean mask of the domain (missing = outside); ``None`` for everyone.
    method
        ``"calibrated"`` (residuals on the raking margins) or ``"fixed"`` (weights as given).

    Returns
    -------
    MeanEstimate
        Estimate, SE, base size and R's ``degf`` of the base (the t df of svyciprop).
    """
    yv, base = _base(y, domain, design.n)
    wb = np.where(base, design.weights, 0.0)
    total = float(wb.sum())
    n_base = int(base.sum())
    if n_base == 0:
        return MeanEstimate(math.nan, math.nan, 0, 0)
    mean = float(wb @ yv) / total
    e = np.where(base, (yv - mean) / total, 0.0)[:, None]
    var = _vcov_from_e(e, design, method)[0, 0]
    return MeanEstimate(mean, math.sqrt(max(var, 0.0)), n_base, degrees_of_freedom(design, base))


def domain_means_se(
    y: Any, groups: Any, design: Design, *, method: Method = "calibrated"
) -> dict[Any, MeanEstimate]:
    """Mean of ``y`` in each level of ``groups`` (sorted), as R ``svyby(~y, ~g, svymean)``."""
    g = pd.Series(np.asarray(groups, dtype=object))
    return {level: weighted_mean_se(y, design, domain=(g == level).to_numpy(), method=method)
            for level in sorted(g.dropna().unique(), key=str)}


def _one_hot(codes: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((codes.shape[0], size))
    out[np.arange(codes.shape[0]), codes] = 1.0
    return out


def _shares_e(codes: np.ndarray, size: int, base: np.ndarray, design: Design
              ) -> tuple[np.ndarray, np.ndarray]:
    """Shares of each code among the base and their residuals e (n x size)."""
    wb = np.where(base, design.weights, 0.0)
    total = wb.sum()
    mm = _one_hot(np.where(base, codes, 0), size)
    mean = wb @ mm / total
    return mean, np.where(base[:, None], (mm - mean) / total, 0.0)


def category_shares_se(
    values: Any, design: Design, *, domain: Any = None, method: Method = "calibrated"
) -> Shares:
    """Weighted shares of every level (sorted) of a categorical variable, with covariance.

    Matches R ``svymean(~factor(v), design)`` (missing values leave the base).
    """
    s = pd.Series(np.asarray(values, dtype=object))
    base = s.notna().to_numpy() & _in_domain(domain, design.n)
    codes, levels = pd.factorize(s.where(base), sort=True)
    mean, e = _shares_e(codes, len(levels), base, design)
    return Shares(list(levels), mean, _vcov_from_e(e, design, method), int(base.sum()),
                  degrees_of_freedom(design, base))


def _codes_in(values: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the sorted levels found in ``base`` (-1 outside it), factorising the base
    rows alone rather than a pandas copy of every row."""
    found, levels = pd.factorize(values[base], sort=True)
    codes = np.full(values.shape[0], -1, dtype=np.intp)
    codes[base] = found
    return codes, levels


def cell_proportions_vcov(
    rows: Any, cols: Any, design: Design, *, domain: Any = None,
    method: Method = "calibrated",
) -> CellProportions:
    """Covariance of the cell shares of rows x cols, for the Rao-Scott correction.

    Cells are ordered as in ``analysis.stats.proportions.rao_scott_test`` and R ``svychisq``:
    levels sorted, rows varying fastest, over the complete cases of the domain. The
    returned ``vcov`` replaces the fixed-weight covariance computed there; ``nu`` is R's
    denominator df for this design and method.
    """
    r, c = np.asarray(rows, dtype=object), np.asarray(cols, dtype=object)
    base = ~(pd.isna(r) | pd.isna(c)) & _in_domain(domain, design.n)
    r_codes, r_levels = _codes_in(r, base)
    c_codes, c_levels = _codes_in(c, base)
    nr, nc = len(r_levels), len(c_levels)
    mean, e = _shares_e(r_codes + nr * c_codes, nr * nc, base, design)
    nu = degrees_of_freedom(design, None if method == "calibrated" else base)
    return CellProportions(mean, _vcov_from_e(e, design, method), list(r_levels),
                           list(c_levels), int(base.sum()), nu)


def sandwich_vcov(
    scores: Any, hessian_inv: Any, design: Design, *, method: Method = "calibrated"
) -> np.ndarray:
    """Sandwich covariance ``A V(S) A'`` of an M-estimator, as R ``svyolr``/``svyglm``.

    Parameters
    ----------
    scores
        Per-unit weighted score contributions S (n x p), summing to ~0 at the estimate.
    hessian_inv
        The bread A: inverse of minus the Hessian of the weighted log-likelihood.
    design
        The design; ``method="calibrated"`` calibrates S like any influence values
        (the adjustment is linear, so calibrating S or S A is the same).

    Returns
    -------
    numpy.ndarray
        p x p covariance matrix.
    """
    a = np.asarray(hessian_inv, dtype=float)
    return a @ influence_vcov(scores, design, method=method) @ a.T
