"""Raking (iterative proportional fitting) with optional weight bounds.

Why a module of our own: the Python alternatives either only check bounds (samplics), trim
once without re-raking (balance), or reset base weights and merely print non-convergence
(weightipy). Here every failure is an exception and the margins always hold on return.

Semantics
---------
Unbounded raking returns ``w_i = d_i * exp(eta_m1[k1(i)] + eta_m2[k2(i)] + ...)`` with the
margins met; this is the fixed point of R ``survey::rake()`` and of
``survey::calibrate(calfun = "raking")``.

Bounded raking returns the *exact* solution of the bounded raking calibration problem,

    w_i = clip(d_i * exp(x_i' eta), lo_i, hi_i)   with every margin met,

i.e. the minimiser of the raking distance sum w log(w/d) - w + d subject to the margins and
lo_i <= w_i <= hi_i. This is what R ``calibrate(calfun = "raking", bounds = ...)`` solves
with Newton steps; where R converges, both give the same weights (the solution is unique).
It is also the limit of "rake, cap, re-rake" done properly: a unit sits at the cap exactly
when its raked weight would exceed it. We reach it by block coordinate ascent on the dual:
each margin step sets, per category, the factor r that solves
``sum_i clip(c_i * r, lo_i, hi_i) = target`` exactly (a monotone piecewise-linear equation).

``bounds_relative_to="mean"`` (default, the survey's "maximum weight 2.0"): ``lo = floor *
mean``, ``hi = cap * mean`` where mean = total / n is fixed by the targets; this equals R
``calibrate(..., bounds = c(floor, cap) * mean, bounds.const = TRUE)``.
``bounds_relative_to="base"``: ``floor <= w_i / d_i <= cap``, R's default ``bounds``.

Differences from R (survey 4.1.1), checked by tests/fixtures/r/make_rake_fixtures.R:
R's Newton iteration uses ``dF = exp(u)`` while ``u < bound - 1`` (log scale compared with
the bound), so units between the cap and e^(cap - 1) count as free in its Jacobian; it may
then need more iterations or fail where this solver converges, but wherever R converges the
weights coincide (fixtures agree to ~1e-12). R also rescales the base weights, and with
them the meaning of ``bounds``, when every population/sample ratio exceeds 20; rescale the
base weights to the population total first to compare. Unlike R's ``trim=``, which
redistributes the trimmed weight and breaks the margins, a cap here never breaks them.

All units of one cell (combination of margin categories) with the same base weight share a
weight, so the iterations run on that small table ("atoms"), not on the units.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from analysis.stats.calibration import Z95

Targets = Mapping[str, Mapping[Any, float]]
TargetType = Literal["proportion", "total"]
BoundsBase = Literal["mean", "base"]

PROPORTION_SUM_TOL = 1e-6
_AT_BOUND_RTOL = 1e-9


class WeightingError(ValueError):
    """Inputs that cannot be raked as asked (bad targets, data, or infeasible bounds)."""


class RakingConvergenceError(WeightingError):
    """Raking stopped at the iteration limit with margins still off target."""


@dataclass(frozen=True)
class RakeDiagnostics:
    """Quality of a set of raked weights; ``to_dict`` gives plain JSON types."""

    n: int
    iterations: int
    max_margin_error: float
    tolerance: float
    cap: float | None
    floor: float | None
    bounds_relative_to: str
    n_at_cap: int
    n_at_floor: int
    weight_sum: float
    weight_mean: float
    weight_min: float
    weight_max: float
    design_effect: float
    effective_n: float
    margin_of_error: float
    #: The confidence level of ``margin_of_error`` (a sentence quoting it states this).
    margin_of_error_level: float = 0.95
    margins: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: Respondents whose weight the cap holds down, by category of each margin: who the
    #: cap affects is a result a paper states, so it is recorded, not assumed.
    at_cap_by_margin: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class RakeResult:
    weights: pd.Series
    diagnostics: RakeDiagnostics


@dataclass(frozen=True)
class _Margin:
    name: str
    labels: tuple[str, ...]
    totals: np.ndarray  # population totals, same order as labels


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# --------------------------------------------------------------------------- targets / data


def _check_targets(
    targets: Targets, target_type: TargetType
) -> list[tuple[str, tuple[str, ...], np.ndarray]]:
    if target_type not in ("proportion", "total"):
        raise WeightingError(f"target_type must be 'proportion' or 'total', not {target_type!r}")
    if not targets:
        raise WeightingError("no margins given: targets is empty")
    out = []
    for name, cats in targets.items():
        if not isinstance(cats, Mapping) or not cats:
            raise WeightingError(f"margin '{name}': targets must be a non-empty mapping")
        labels = tuple(str(k) for k in cats)
        if len(set(labels)) != len(labels):
            raise WeightingError(f"margin '{name}': duplicate category labels {labels}")
        values = np.array([float(v) for v in cats.values()])
        bad = [lab for lab, v in zip(labels, values, strict=True) if not (np.isfinite(v) and v > 0)]
        if bad:
            raise WeightingError(f"margin '{name}': targets must be positive and finite: {bad}")
        if target_type == "proportion" and abs(values.sum() - 1.0) > PROPORTION_SUM_TOL:
            raise WeightingError(
                f"margin '{name}': proportion targets sum to {values.sum():.10g}, not 1"
            )
        out.append((str(name), labels, values))
    return out


def _encode(column: pd.Series, name: str, labels: tuple[str, ...]) -> np.ndarray:
    """Map a column to target-category codes; refuse missing or untargeted categories."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        uniques = [str(c) for c in column.cat.categories]
    else:
        codes, uniq = pd.factorize(column, use_na_sentinel=True)
        uniques = [str(u) for u in uniq]
    if (codes < 0).any():
        rows = column.index[codes < 0]
        raise WeightingError(
            f"column '{name}': {len(rows)} missing value(s) in a raking variable, "
            f"first at row(s) {list(rows[:5])}"
        )
    position = {lab: i for i, lab in enumerate(labels)}
    present = np.bincount(codes, minlength=len(uniques)) > 0
    unknown = [u for u, p in zip(uniques, present, strict=True) if p and u not in position]
    if unknown:
        raise WeightingError(
            f"column '{name}': categories {unknown} occur in the data but have no target "
            f"(targets: {list(labels)})"
        )
    lookup = np.array([position.get(u, -1) for u in uniques], dtype=np.int64)
    out = lookup[codes] if len(lookup) else codes.astype(np.int64)
    counts = np.bincount(out, minlength=len(labels))
    empty = [lab for lab, c in zip(labels, counts, strict=True) if c == 0]
    if empty:
        raise WeightingError(
            f"margin '{name}': target > 0 but no respondents in categories {empty} (empty cell)"
        )
    return out


def _base_weights(data: pd.DataFrame, base_weights: str | Sequence[float] | None) -> np.ndarray:
    if base_weights is None:
        return np.ones(len(data))
    if isinstance(base_weights, str):
        if base_weights not in data.columns:
            raise WeightingError(f"base weight column '{base_weights}' not in the data")
        d = pd.to_numeric(data[base_weights], errors="coerce").to_numpy(dtype=float)
        label = f"column '{base_weights}'"
    else:
        d = np.asarray(base_weights, dtype=float)
        label = "base_weights"
    if d.shape != (len(data),):
        raise WeightingError(f"{label}: {d.shape[0]} base weights for {len(data)} rows")
    bad = ~(np.isfinite(d) & (d > 0))
    if bad.any():
        rows = data.index[bad]
        raise WeightingError(
            f"{label}: base weights must be positive and finite; bad at row(s) {list(rows[:5])}"
        )
    return d


# --------------------------------------------------------------------------- atoms


@dataclass
class _Atoms:
    unit_atom: np.ndarray  # atom index of every unit
    codes: list[np.ndarray]  # per margin, category code of every atom
    count: np.ndarray  # units per atom
    base: np.ndarray  # base weight of the atom's units
    cell: np.ndarray  # cell index (combination of margin categories) per atom
    n_cells: int


def _atoms(codes: list[np.ndarray], sizes: list[int], d: np.ndarray) -> _Atoms:
    """Group units into atoms: same cell and same base weight, hence the same final weight."""
    n_cells_full = math.prod(sizes)
    cell = np.ravel_multi_index(codes, sizes) if len(codes) > 1 else codes[0]
    if d.size and np.all(d == d[0]):
        key, dcode, d_uniq = cell, None, d[:1]
    else:
        d_uniq, dcode = np.unique(d, return_inverse=True)
        key = cell * len(d_uniq) + dcode
    key_space = n_cells_full * len(d_uniq)
    if key_space <= max(4 * len(key), 1 << 16):
        count_full = np.bincount(key, minlength=key_space)
        present = np.flatnonzero(count_full)
        remap = np.full(key_space, -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        unit_atom = remap[key]
        atom_key = present
        count = count_full[present]
    else:
        atom_key, unit_atom, count = np.unique(key, return_inverse=True, return_counts=True)
    atom_cell = atom_key // len(d_uniq)
    atom_base = d_uniq[atom_key % len(d_uniq)]
    atom_codes = list(np.unravel_index(atom_cell, sizes)) if len(codes) > 1 else [atom_cell]
    cells, cell_idx = np.unique(atom_cell, return_inverse=True)
    return _Atoms(
        unit_atom,
        [np.asarray(c) for c in atom_codes],
        count.astype(float),
        atom_base,
        cell_idx,
        len(cells),
    )


# --------------------------------------------------------------------------- feasibility


def _lp_feasible(
    at: _Atoms, margins: list[_Margin], lo: np.ndarray, hi: np.ndarray, subset: Sequence[int]
) -> bool:
    """Is there a cell table within the unit bounds that meets the margins in ``subset``?"""
    cell_lo = np.bincount(at.cell, at.count * lo, minlength=at.n_cells)
    cell_hi = np.bincount(at.cell, at.count * hi, minlength=at.n_cells)
    first_atom = np.zeros(at.n_cells, dtype=np.int64)
    first_atom[at.cell] = np.arange(len(at.cell))  # any atom of a cell has its categories
    rows, rhs = [], []
    for m in subset:
        cat = at.codes[m][first_atom]
        for k, total in enumerate(margins[m].totals):
            rows.append((cat == k).astype(float))
            rhs.append(total)
    scale = max(float(np.max(rhs)), 1.0)
    bounds = [
        (a / scale, None if math.isinf(b) else b / scale)
        for a, b in zip(cell_lo, cell_hi, strict=True)
    ]
    res = linprog(
        np.zeros(at.n_cells),
        A_eq=np.array(rows),
        b_eq=np.array(rhs) / scale,
        bounds=bounds,
        method="highs",
    )
    return res.status == 0


def _check_feasible(
    at: _Atoms, margins: list[_Margin], lo: np.ndarray, hi: np.ndarray, bound_text: str
) -> None:
    """Name the first margin (or smallest set of margins) the bounds make impossible."""
    for m, margin in enumerate(margins):
        cmin = np.bincount(at.codes[m], at.count * lo, minlength=len(margin.labels))
        cmax = np.bincount(at.codes[m], at.count * hi, minlength=len(margin.labels))
        for k, lab in enumerate(margin.labels):
            t = margin.totals[k]
            if t > cmax[k] * (1 + 1e-12) or t < cmin[k] * (1 - 1e-12):
                raise WeightingError(
                    f"margin '{margin.name}' category '{lab}' cannot be met with {bound_text}: "
                    f"target total {t:.6g}, attainable range [{cmin[k]:.6g}, {cmax[k]:.6g}]"
                )
    idx = range(len(margins))
    if len(margins) < 2 or _lp_feasible(at, margins, lo, hi, list(idx)):
        return
    for size in range(2, len(margins) + 1):
        for subset in itertools.combinations(idx, size):
            if not _lp_feasible(at, margins, lo, hi, subset):
                names = " and ".join(f"'{margins[m].name}'" for m in subset)
                raise WeightingError(
                    f"margins {names} cannot be met jointly with {bound_text}: no weights "
                    "within the bounds reproduce these targets on the observed cells"
                )


# --------------------------------------------------------------------------- core solver


def _solve_clipped(
    group: np.ndarray,
    c: np.ndarray,
    n: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    target: np.ndarray,
) -> np.ndarray:
    """Per group g, the r solving sum_{a in g} n_a * clip(c_a r, lo_a, hi_a) = target_g.

    f_g(r) is continuous, non-decreasing and piecewise linear with kinks at lo/c and hi/c;
    sort the kinks, accumulate slope and intercept, and interpolate on the crossing piece.
    """
    n_groups = len(target)
    b_floor = lo / c
    b_cap = hi / c
    ev_g = np.concatenate([group, group])
    ev_b = np.concatenate([b_floor, b_cap])
    ev_ds = np.concatenate([n * c, -n * c])
    ev_dc = np.concatenate([-n * lo, n * np.where(np.isinf(hi), 0.0, hi)])
    keep = np.isfinite(ev_b)
    ev_g, ev_b, ev_ds, ev_dc = ev_g[keep], ev_b[keep], ev_ds[keep], ev_dc[keep]
    order = np.lexsort((ev_b, ev_g))
    ev_g, ev_b, ev_ds, ev_dc = ev_g[order], ev_b[order], ev_ds[order], ev_dc[order]
    start = np.searchsorted(ev_g, np.arange(n_groups))
    end = np.searchsorted(ev_g, np.arange(n_groups), side="right")
    cs_s, cs_c = np.cumsum(ev_ds), np.cumsum(ev_dc)
    base_s = np.where(start > 0, cs_s[np.maximum(start - 1, 0)], 0.0)
    base_c = np.where(start > 0, cs_c[np.maximum(start - 1, 0)], 0.0)
    slope = cs_s - base_s[ev_g]
    const = np.bincount(group, n * lo, minlength=n_groups)[ev_g] + cs_c - base_c[ev_g]
    f_at = const + slope * ev_b
    reached = f_at >= target[ev_g]
    r = np.empty(n_groups)
    for g in range(n_groups):
        s, e = start[g], end[g]
        hits = np.flatnonzero(reached[s:e])
        j = s + hits[0] if hits.size else e  # first kink where f >= target
        if j == s:
            r[g] = ev_b[s]
            continue
        sl, co = slope[j - 1], const[j - 1]
        root = (target[g] - co) / sl if sl > 0 else ev_b[j - 1]
        upper = ev_b[j] if j < e else np.inf
        r[g] = min(max(root, ev_b[j - 1]), upper)
    return r


def _sweep(
    at: _Atoms,
    margins: list[_Margin],
    factors: list[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    bounded: bool,
) -> np.ndarray:
    """One pass over all margins; returns the unclipped atom weights after the pass."""
    u = at.base * _product(at, factors)
    for m, margin in enumerate(margins):
        code = at.codes[m]
        c = u / factors[m][code]
        if bounded:
            r = _solve_clipped(code, c, at.count, lo, hi, margin.totals)
        else:
            r = margin.totals / np.bincount(code, at.count * c, minlength=len(margin.labels))
        factors[m] = r
        u = c * r[code]
    return u


def _product(at: _Atoms, factors: list[np.ndarray]) -> np.ndarray:
    out = np.ones(len(at.count))
    for code, f in zip(at.codes, factors, strict=True):
        out = out * f[code]
    return out


def _margin_errors(at: _Atoms, margins: list[_Margin], w_atom: np.ndarray) -> list[np.ndarray]:
    return [
        np.abs(np.bincount(at.codes[m], at.count * w_atom, minlength=len(mg.labels)) - mg.totals)
        / mg.totals
        for m, mg in enumerate(margins)
    ]


# --------------------------------------------------------------------------- public API


def rake(
    data: pd.DataFrame,
    targets: Targets,
    *,
    base_weights: str | Sequence[float] | np.ndarray | None = None,
    target_type: TargetType = "proportion",
    cap: float | None = None,
    floor: float | None = None,
    bounds_relative_to: BoundsBase = "mean",
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> RakeResult:
    """Rake ``data`` to the margins in ``targets`` and return weights plus diagnostics.

    targets: ``{column: {category: value}}``; values are proportions (each margin summing to
    1; weights then sum to the total base weight, n without base weights) or population
    totals (``target_type="total"``; every margin must have the same total).
    base_weights: column name or array of design weights (default 1).
    cap / floor: bounds on the weights, relative to the mean weight (or to the base weight
    with ``bounds_relative_to="base"``). The margins are still met exactly; if the bounds
    make that impossible a WeightingError names the margin.
    tol: convergence when the largest relative margin error |achieved - target| / target is
    below ``tol``; RakingConvergenceError after ``max_iter`` sweeps otherwise.
    """
    if not isinstance(data, pd.DataFrame):
        raise WeightingError("data must be a pandas DataFrame")
    if len(data) == 0:
        raise WeightingError("data has no rows")
    if not (tol > 0) or max_iter < 1:
        raise WeightingError("tol must be > 0 and max_iter >= 1")
    if bounds_relative_to not in ("mean", "base"):
        raise WeightingError("bounds_relative_to must be 'mean' or 'base'")
    if cap is not None and not cap > 1:
        raise WeightingError(f"cap must be > 1 (relative to the {bounds_relative_to}), not {cap}")
    if floor is not None and not 0 < floor < 1:
        raise WeightingError(f"floor must be in (0, 1), not {floor}")
    checked = _check_targets(targets, target_type)
    missing_cols = [name for name, _, _ in checked if name not in data.columns]
    if missing_cols:
        raise WeightingError(f"raking variables {missing_cols} are not columns of the data")
    d = _base_weights(data, base_weights)
    n = len(data)
    if target_type == "proportion":
        total = float(d.sum())
        margins = [_Margin(nm, lab, v / v.sum() * total) for nm, lab, v in checked]
    else:
        margins = [_Margin(nm, lab, v) for nm, lab, v in checked]
        total = float(margins[0].totals.sum())
        for mg in margins[1:]:
            if abs(mg.totals.sum() - total) > 1e-9 * total:
                raise WeightingError(
                    f"margin '{mg.name}' totals sum to {mg.totals.sum():.10g} but margin "
                    f"'{margins[0].name}' to {total:.10g}; population totals must agree"
                )
    codes = [_encode(data[mg.name], mg.name, mg.labels) for mg in margins]
    at = _atoms(codes, [len(mg.labels) for mg in margins], d)

    mean = total / n
    if bounds_relative_to == "mean":
        lo = np.full(len(at.count), (floor or 0.0) * mean)
        hi = np.full(len(at.count), np.inf if cap is None else cap * mean)
        unit = f"mean weight {mean:.6g}"
    else:
        lo = (floor or 0.0) * at.base
        hi = at.base * (np.inf if cap is None else cap)
        unit = "base weights"
    bounded = cap is not None or floor is not None
    bound_text = f"cap {cap} and floor {floor} times the {unit}" if bounded else "no bounds"
    _check_feasible(at, margins, lo, hi, bound_text)

    factors = [np.ones(len(mg.labels)) for mg in margins]
    iteration = 0
    while iteration < max_iter:
        iteration += 1
        u = _sweep(at, margins, factors, lo, hi, bounded)
        w_atom = np.clip(u, lo, hi)
        errors = _margin_errors(at, margins, w_atom)
        worst = max(float(e.max()) for e in errors)
        if worst < tol:
            break
    if worst >= tol:
        off = [
            f"'{mg.name}' (max relative error {e.max():.3g} at '{mg.labels[int(e.argmax())]}')"
            for mg, e in zip(margins, errors, strict=True)
            if e.max() >= tol
        ]
        raise RakingConvergenceError(
            f"raking did not converge in {max_iter} iterations (tolerance {tol:g}); "
            f"margins off target: {', '.join(off)}"
        )
    weights = pd.Series(w_atom[at.unit_atom], index=data.index, name="weight")
    diag = _diagnostics(
        at, margins, w_atom, lo, hi, iteration, worst, tol, cap, floor, bounds_relative_to
    )
    return RakeResult(weights=weights, diagnostics=diag)


def _diagnostics(
    at: _Atoms,
    margins: list[_Margin],
    w_atom: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    iterations: int,
    worst: float,
    tol: float,
    cap: float | None,
    floor: float | None,
    rel: str,
) -> RakeDiagnostics:
    n = float(at.count.sum())
    wsum = float(np.dot(at.count, w_atom))
    wsq = float(np.dot(at.count, w_atom**2))
    deff = n * wsq / wsum**2
    at_cap = np.isfinite(hi) & (w_atom >= hi * (1 - _AT_BOUND_RTOL))
    at_floor = (lo > 0) & (w_atom <= lo * (1 + _AT_BOUND_RTOL))
    total = float(margins[0].totals.sum())
    margin_table, capped = {}, {}
    for m, mg in enumerate(margins):
        achieved = np.bincount(at.codes[m], at.count * w_atom, minlength=len(mg.labels))
        margin_table[mg.name] = {
            lab: {"target": float(t / total), "achieved": float(a / wsum)}
            for lab, t, a in zip(mg.labels, mg.totals, achieved, strict=True)
        }
        n_capped = np.bincount(at.codes[m][at_cap], at.count[at_cap], minlength=len(mg.labels))
        capped[mg.name] = {lab: int(k) for lab, k in zip(mg.labels, n_capped, strict=True)}
    return RakeDiagnostics(
        n=int(n),
        iterations=iterations,
        max_margin_error=worst,
        tolerance=tol,
        cap=cap,
        floor=floor,
        bounds_relative_to=rel,
        n_at_cap=int(at.count[at_cap].sum()),
        n_at_floor=int(at.count[at_floor].sum()),
        weight_sum=wsum,
        weight_mean=wsum / n,
        weight_min=float(w_atom.min()),
        weight_max=float(w_atom.max()),
        design_effect=deff,
        effective_n=n / deff,
        margin_of_error=Z95 * math.sqrt(deff * 0.25 / n),
        margins=margin_table,
        at_cap_by_margin=capped,
    )
