"""Weighted ordered-logit (proportional-odds) models: fit, sandwich SEs, Brant test.

The parameterisation is that of R ``MASS::polr``: ``logit P(Y <= k) = zeta_k - x'beta``, so a
positive coefficient means higher categories (more approval) are more likely. The estimator is
Newton-Raphson with the analytic score and Hessian on the natural scale of the thresholds (the
log-likelihood is concave in (beta, zeta), so no reparameterisation or delta method is needed).

Weights must say what they mean (``weight_type``):

* ``"frequency"``: row ``i`` stands for ``w_i`` identical respondents; model-based SEs from the
  inverse information, as ``polr(weights=)``.
* ``"sampling"``: design weights; pseudo-ML with sandwich SEs ``H^-1 B H^-1`` where ``B`` is the
  cross-product of (cluster) score totals times ``m/(m-1)``, as ``survey::svyolr`` on a
  with-replacement design (no fpc, no strata). Given a ``variance_design`` of
  :mod:`analysis.stats.calibration` (strata, fpc, a raking calibration) and the positions
  of the fitted rows in it, ``B`` is that design's variance of the score totals instead
  (:func:`design_sandwich`): R ``svyolr`` on ``subset(design, ...)``, calibrated or fixed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, sparse, stats
from scipy.special import expit

from analysis.stats import calibration as cal
from analysis.stats.calibration import Z95

#: Level of every interval the model results carry: conf_int's default alpha 0.05 and Z95.
CI_LEVEL = 0.95

WEIGHT_TYPES = ("frequency", "sampling")


class ModelError(ValueError):
    """The data cannot be fitted as asked (bad input, constant column, empty category)."""


class SeparationError(ModelError):
    """The likelihood has no finite maximum or the Hessian is singular at the solution."""


class ConvergenceError(ModelError):
    """Newton-Raphson did not converge within ``max_iter`` iterations."""


# --------------------------------------------------------------------------------------------
# Design matrices from a DataFrame and a list of terms
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermSpec:
    """How one term becomes columns: numeric as is, categorical as treatment dummies."""

    name: str
    kind: str  # "numeric" | "categorical"
    levels: tuple[Any, ...] = ()
    reference: Any = None

    @property
    def columns(self) -> list[str]:
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}[{lev}]" for lev in self.levels if lev != self.reference]


@dataclass(frozen=True)
class Design:
    """The model matrix with the term specs needed to rebuild it for new data."""

    X: np.ndarray
    names: list[str]
    terms: list[TermSpec]

    def transform(self, newdata: pd.DataFrame) -> np.ndarray:
        return _columns(newdata, self.terms, check_levels=False)


def _is_categorical(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    )


def _term_spec(data: pd.DataFrame, term: str, reference: Mapping[str, Any]) -> TermSpec:
    if term not in data.columns:
        raise ModelError(f"term '{term}': no such column in the data")
    series = data[term]
    if not _is_categorical(series):
        if term in reference:
            raise ModelError(f"term '{term}' is numeric but a reference category was given")
        return TermSpec(term, "numeric")
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = tuple(series.cat.categories)
    else:
        levels = tuple(sorted(series.dropna().unique(), key=str))
    ref = reference.get(term, levels[0] if levels else None)
    if ref not in levels:
        raise ModelError(f"term '{term}': reference category {ref!r} is not one of {levels}")
    return TermSpec(term, "categorical", levels, ref)


def _columns(data: pd.DataFrame, specs: Sequence[TermSpec], check_levels: bool) -> np.ndarray:
    cols: list[np.ndarray] = []
    for spec in specs:
        series = data[spec.name]
        if spec.kind == "numeric":
            cols.append(series.to_numpy(dtype=float, na_value=np.nan))
            continue
        values = series.astype(object).to_numpy()
        unknown = set(pd.unique(values[pd.notna(values)])) - set(spec.levels)
        if unknown:
            raise ModelError(f"term '{spec.name}': categories {sorted(map(str, unknown))} unknown")
        for lev in spec.levels:
            if lev == spec.reference:
                continue
            dummy = (values == lev).astype(float)
            if check_levels and dummy.sum() == 0:
                raise ModelError(
                    f"term '{spec.name}': category {lev!r} has no respondents in the sample "
                    "(rule: every category of a categorical term must be observed)"
                )
            dummy[pd.isna(values)] = np.nan
            cols.append(dummy)
    if not cols:
        return np.empty((len(data), 0))
    return np.column_stack(cols)


def build_design(
    data: pd.DataFrame, terms: Sequence[str], reference: Mapping[str, Any] | None = None
) -> Design:
    """Expand terms to a float model matrix; categorical terms get treatment dummies."""
    reference = dict(reference or {})
    extra = set(reference) - set(terms)
    if extra:
        raise ModelError(f"reference categories given for terms not in the model: {sorted(extra)}")
    specs = [_term_spec(data, t, reference) for t in terms]
    X = _columns(data, specs, check_levels=True)
    names = [c for s in specs for c in s.columns]
    return Design(X, names, specs)


# --------------------------------------------------------------------------------------------
# The numerical core
# --------------------------------------------------------------------------------------------


@dataclass
class _Pieces:
    """Per-observation log-likelihood derivatives with respect to eta and the two cut-points."""

    logp: np.ndarray
    g_eta: np.ndarray
    g_up: np.ndarray
    g_lo: np.ndarray
    h_ee: np.ndarray | None = None
    h_eu: np.ndarray | None = None
    h_el: np.ndarray | None = None
    h_uu: np.ndarray | None = None
    h_ll: np.ndarray | None = None
    h_ul: np.ndarray | None = None


def _pieces(eta: np.ndarray, zeta: np.ndarray, y: np.ndarray, hessian: bool) -> _Pieces:
    cuts = np.concatenate(([-np.inf], zeta, [np.inf]))
    up = cuts[y + 1] - eta
    lo = cuts[y] - eta
    Fu, Fuc, Fl, Flc = expit(up), expit(-up), expit(lo), expit(-lo)
    # F(u) - F(l) loses digits in the upper tail; use the complements there.
    P = np.where(lo > 0, Flc - Fuc, Fu - Fl)
    fu, fl = Fu * Fuc, Fl * Flc
    with np.errstate(divide="ignore"):
        logp = np.log(P)
    g_eta = (fl - fu) / P
    g_up = fu / P
    g_lo = -fl / P
    out = _Pieces(logp, g_eta, g_up, g_lo)
    if hessian:
        fpu, fpl = fu * (Fuc - Fu), fl * (Flc - Fl)
        out.h_ee = (fpu - fpl) / P - g_eta**2
        out.h_eu = -fpu / P - g_eta * g_up
        out.h_el = fpl / P - g_eta * g_lo
        out.h_uu = fpu / P - g_up**2
        out.h_ll = -fpl / P - g_lo**2
        out.h_ul = -g_up * g_lo
    return out


def _zeta_matrix(y: np.ndarray, up: np.ndarray, lo: np.ndarray, n_cut: int) -> np.ndarray:
    """n x (K-1) matrix holding ``up`` in column y and ``lo`` in column y-1."""
    n = y.shape[0]
    M = np.zeros((n, n_cut))
    rows = np.arange(n)
    has_up = y < n_cut
    M[rows[has_up], y[has_up]] = up[has_up]
    has_lo = y > 0
    M[rows[has_lo], y[has_lo] - 1] += lo[has_lo]
    return M


def _score_hessian(X, y, w, beta, zeta) -> tuple[float, np.ndarray, np.ndarray]:
    k = zeta.shape[0]
    pc = _pieces(X @ beta, zeta, y, hessian=True)
    ll = float(w @ pc.logp)
    grad_b = X.T @ (w * pc.g_eta)
    wu, wl = w * pc.g_up, w * pc.g_lo
    grad_z = np.bincount(y, wu, minlength=k + 1)[:k] + np.bincount(y, wl, minlength=k + 1)[1:]
    c = -w * pc.h_ee
    H_bb = -(X.T @ (X * c[:, None]))
    H_bz = X.T @ _zeta_matrix(y, w * pc.h_eu, w * pc.h_el, k)
    diag = (
        np.bincount(y, w * pc.h_uu, minlength=k + 1)[:k]
        + np.bincount(y, w * pc.h_ll, minlength=k + 1)[1:]
    )
    H_zz = np.diag(diag)
    if k > 1:
        off = np.bincount(y, w * pc.h_ul, minlength=k + 1)[1:k]
        H_zz += np.diag(off, 1) + np.diag(off, -1)
    H = np.block([[H_bb, H_bz], [H_bz.T, H_zz]])
    return ll, np.concatenate([grad_b, grad_z]), H


def _scores(X, y, w, beta, zeta) -> tuple[np.ndarray, np.ndarray]:
    """Weighted per-observation scores: (w * dl/deta, n x (K-1) zeta part)."""
    pc = _pieces(X @ beta, zeta, y, hessian=False)
    return w * pc.g_eta, _zeta_matrix(y, w * pc.g_up, w * pc.g_lo, zeta.shape[0])


def _null_model(y: np.ndarray, w: np.ndarray, n_cat: int) -> tuple[np.ndarray, float]:
    """Thresholds-only fit in closed form: logits of weighted cumulative shares."""
    shares = np.bincount(y, w, minlength=n_cat) / w.sum()
    cum = np.cumsum(shares)[:-1]
    zeta = np.log(cum / (1 - cum))
    return zeta, float(np.bincount(y, w, minlength=n_cat) @ np.log(shares))


def _check_pd(H: np.ndarray, names: list[str]) -> None:
    """Raise SeparationError naming the variables that span the (near) null space of -H.

    The whole null space is used, not the eigenvector of the smallest eigenvalue: when the
    null space has more than one dimension, that eigenvector is any direction in it, set by
    rounding (a different number of BLAS threads names other variables). A variable is
    named when its row of an orthonormal basis of the null space has norm above 0.2, which
    does not depend on the basis; the names follow the order of the model's terms.
    """
    neg = -H
    d = np.sqrt(np.clip(np.diag(neg), 1e-300, None))
    scaled = neg / np.outer(d, d)
    vals, vecs = np.linalg.eigh(scaled)
    tol = 1e-10 * max(vals[-1], 1.0)
    if np.all(np.diag(neg) > 0) and vals[0] > tol:
        return
    labels = list(names) + [f"threshold {j + 1}" for j in range(len(d) - len(names))]
    basis = vecs[:, : max(int(np.sum(vals <= tol)), 1)]
    load = np.sqrt(np.sum(basis**2, axis=1))
    involved = [labels[i] for i in range(len(labels)) if load[i] > 0.2]
    raise SeparationError(
        "the Hessian is not positive definite (smallest scaled eigenvalue "
        f"{vals[0]:.3g}): the variables {involved} are collinear or separate the outcome"
    )


def _newton(X, y, w, zeta0, names, max_iter: int, tol: float):
    p = X.shape[1]
    theta = np.concatenate([np.zeros(p), zeta0])
    ll, grad, H = _score_hessian(X, y, w, theta[:p], theta[p:])
    history = []
    for it in range(1, max_iter + 1):
        _check_pd(H, names)
        step = np.linalg.solve(-H, grad)
        t = 1.0
        # The full step is almost always accepted, so evaluate derivatives with the
        # likelihood and reuse them in the next iteration; halve only on a decrease.
        while True:
            cand = theta + t * step
            if np.all(np.diff(cand[p:]) > 0):
                ll_new, grad_new, H_new = _score_hessian(X, y, w, cand[:p], cand[p:])
                if ll_new >= ll - 1e-12 * abs(ll):
                    break
            if t < 1e-10:
                raise ConvergenceError("line search failed: no step increases the likelihood")
            t /= 2
        theta, ll, grad, H = cand, ll_new, grad_new, H_new
        history.append(float(np.max(np.abs(t * step))))
        if history[-1] < tol:
            _check_pd(H, names)
            return theta, ll, grad, H, it
    _, grad, H = _score_hessian(X, y, w, theta[:p], theta[p:])
    sd = np.sqrt(np.maximum(np.var(X, axis=0), 0)) if p else np.zeros(0)
    std_effect = np.abs(theta[:p]) * sd
    big = [names[i] for i in np.argsort(-std_effect) if std_effect[i] > 15]
    if big:
        raise SeparationError(
            f"no finite maximum after {max_iter} iterations: coefficients of {big} keep growing "
            "(complete or quasi-complete separation of the outcome)"
        )
    _check_pd(H, names)
    raise ConvergenceError(
        f"Newton-Raphson did not converge in {max_iter} iterations (last step {history[-1]:.3g})"
    )


def _meat(S: np.ndarray, clusters: np.ndarray | None) -> tuple[np.ndarray, int]:
    if clusters is not None:
        codes, uniq = pd.factorize(clusters, sort=True)
        m = len(uniq)
        n = len(codes)
        ind = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(m, n))
        S = np.asarray(ind @ S)
    else:
        m = S.shape[0]
    if m < 2:
        raise ModelError("sandwich variance needs at least 2 clusters (or observations)")
    return (S.T @ S) * (m / (m - 1)), m


def _sandwich(X, y, w, beta, zeta, H, clusters) -> tuple[np.ndarray, int]:
    a, Gz = _scores(X, y, w, beta, zeta)
    if clusters is None:
        # Blockwise cross-products avoid materialising the n x (p + K - 1) score matrix.
        B_bb = X.T @ (X * (a * a)[:, None])
        B_bz = X.T @ (Gz * a[:, None])
        B = np.block([[B_bb, B_bz], [B_bz.T, Gz.T @ Gz]])
        m = X.shape[0]
        if m < 2:
            raise ModelError("sandwich variance needs at least 2 observations")
        B *= m / (m - 1)
    else:
        B, m = _meat(np.hstack([X * a[:, None], Gz]), clusters)
    Hinv = np.linalg.inv(-H)
    return Hinv @ B @ Hinv, m


def design_sandwich(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray, zeta: np.ndarray,
    H: np.ndarray, design: cal.Design, rows: np.ndarray, method: cal.Method,
) -> np.ndarray:
    """Sandwich with the design variance of the scores, as R ``svyolr`` on a subset.

    The model's rows are a subset of the design (``rows``: their positions in it); the
    scores are placed there with zeros elsewhere, because the weights were calibrated on
    the whole sample (R keeps the other rows of a subset, weightless).
    """
    rows = np.asarray(rows, dtype=np.intp)
    if rows.shape[0] != X.shape[0]:
        raise ModelError(f"sample_rows has {rows.shape[0]} positions for {X.shape[0]} rows")
    if not np.allclose(design.weights[rows], w, rtol=1e-12, atol=0):
        raise ModelError("the model's weights are not the design's weights at sample_rows")
    a, Gz = _scores(X, y, w, beta, zeta)
    scores = np.zeros((design.n, X.shape[1] + Gz.shape[1]))
    scores[rows, : X.shape[1]] = X * a[:, None]
    scores[rows, X.shape[1]:] = Gz
    return cal.sandwich_vcov(scores, np.linalg.inv(-H), design, method=method)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class OrderedLogitResults:
    """Fitted model with a statsmodels-like interface."""

    names: list[str]
    levels: list[Any]
    beta: np.ndarray
    zeta: np.ndarray
    vcov: np.ndarray
    llf: float
    llnull: float
    nobs: int
    weighted_nobs: float
    weight_type: str | None
    cov_type: str
    n_clusters: int | None
    converged: bool
    n_iter: int
    max_abs_score: float
    design: Design | None = None
    outcome: str | None = None
    _data: tuple = field(default=(), repr=False)
    # The survey design behind the SEs (design, the fit's rows in it, calibrated|fixed),
    # so that the Brant test uses the same variance as the coefficients.
    _variance: tuple | None = field(default=None, repr=False)

    # --- parameters ---
    @property
    def threshold_names(self) -> list[str]:
        return [f"{a}|{b}" for a, b in zip(self.levels[:-1], self.levels[1:], strict=True)]

    @property
    def params(self) -> pd.Series:
        return pd.Series(self.beta, index=self.names, name="coef")

    @property
    def thresholds(self) -> pd.Series:
        return pd.Series(self.zeta, index=self.threshold_names, name="threshold")

    def cov_params(self) -> pd.DataFrame:
        idx = self.names + [f"zeta:{t}" for t in self.threshold_names]
        return pd.DataFrame(self.vcov, index=idx, columns=idx)

    @property
    def _se_all(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def bse(self) -> pd.Series:
        return pd.Series(self._se_all[: len(self.names)], index=self.names, name="se")

    @property
    def thresholds_bse(self) -> pd.Series:
        return pd.Series(self._se_all[len(self.names) :], index=self.threshold_names, name="se")

    @property
    def tvalues(self) -> pd.Series:
        return (self.params / self.bse).rename("z")

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=self.names, name="p")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        q = stats.norm.ppf(1 - alpha / 2)
        lo, hi = self.params - q * self.bse, self.params + q * self.bse
        return pd.DataFrame({"lower": lo, "upper": hi})

    def odds_ratios(self, alpha: float = 0.05) -> pd.DataFrame:
        ci = np.exp(self.conf_int(alpha))
        return pd.DataFrame({"or": np.exp(self.params), "lower": ci["lower"], "upper": ci["upper"]})

    @property
    def prsquared(self) -> float:
        """McFadden's pseudo-R2 against the weighted thresholds-only model."""
        return 1.0 - self.llf / self.llnull

    # --- prediction ---
    def _matrix(self, newdata: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(newdata, pd.DataFrame):
            if self.design is None:
                raise ModelError("predict(DataFrame) needs a model fitted from a DataFrame")
            return self.design.transform(newdata)
        return np.atleast_2d(np.asarray(newdata, dtype=float))

    def predict(self, newdata: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Probability of each outcome category for each row (profile) of ``newdata``."""
        X = self._matrix(newdata)
        eta = X @ self.beta
        cum = expit(self.zeta[None, :] - eta[:, None])
        probs = np.diff(np.column_stack([np.zeros(len(eta)), cum, np.ones(len(eta))]), axis=1)
        index = newdata.index if isinstance(newdata, pd.DataFrame) else None
        return pd.DataFrame(probs, columns=list(self.levels), index=index)

    def average_predictions(
        self, data: pd.DataFrame, term: str, values: Sequence[float], weights: np.ndarray
    ) -> pd.DataFrame:
        """Weighted average predicted probabilities with ``term`` set to each value, delta CIs.

        Averaging over the sample (not predicting at the means) keeps the curves on the scale
        of the observed population.
        """
        rows = []
        w = np.asarray(weights, float) / np.sum(weights)
        k, p = len(self.zeta), len(self.beta)
        q = Z95
        for v in values:
            X = self._matrix(data.assign(**{term: v}))
            eta = X @ self.beta
            cuts = np.concatenate(([-np.inf], self.zeta, [np.inf]))
            F = expit(cuts[None, :] - eta[:, None])
            f = F * (1 - F)
            for c, lev in enumerate(self.levels):
                prob = w @ (F[:, c + 1] - F[:, c])
                grad = np.zeros(p + k)
                grad[:p] = -(w * (f[:, c + 1] - f[:, c])) @ X
                if c < k:
                    grad[p + c] += w @ f[:, c + 1]
                if c > 0:
                    grad[p + c - 1] -= w @ f[:, c]
                se = math.sqrt(max(grad @ self.vcov @ grad, 0.0))
                rows.append(
                    {"value": float(v), "category": lev, "prob": float(prob),
                     "lower": float(prob - q * se), "upper": float(prob + q * se)}
                )
        return pd.DataFrame(rows)

    def design_vcov(self, design: cal.Design, rows: np.ndarray, method: cal.Method
                    ) -> np.ndarray:
        """Covariance of (beta, zeta) under a survey design and convention, at this fit."""
        X, y, w, _ = self._data
        _, _, H = _score_hessian(X, y, w, self.beta, self.zeta)
        return design_sandwich(X, y, w, self.beta, self.zeta, H, design, rows, method)

    # --- proportional odds ---
    def brant_test(self) -> pd.DataFrame | None:
        """Brant's Wald test of proportional odds, per coefficient and overall.

        Separate binary logits of 1[Y > k] for each cut-point; their joint covariance is
        Brant's model-based formula, or for sampling weights the sandwich under the
        fit's own variance: its survey design (calibrated or fixed weights), else the
        cluster sandwich.
        """
        X, y, w, clusters = self._data
        return brant_test(X, y, w, self.names, self.weight_type, clusters,
                          variance=self._variance)

    # --- output ---
    def summary(self) -> str:
        ci = self.conf_int()
        lines = [
            f"Ordered logit (MASS::polr parameterisation)   outcome: {self.outcome or 'y'}",
            f"N = {self.nobs}   weighted N = {self.weighted_nobs:.6g}   weights: "
            f"{self.weight_type or 'none'}   SE: {self.cov_type}"
            + (f" ({self.n_clusters} clusters)" if self.n_clusters else ""),
            f"log-likelihood = {self.llf:.4f}   null = {self.llnull:.4f}   "
            f"McFadden pseudo-R2 = {self.prsquared:.4f}",
            f"converged = {self.converged} in {self.n_iter} Newton iterations "
            f"(max |score| {self.max_abs_score:.2g})",
            "",
            f"{'':28s}{'coef':>10s}{'se':>10s}{'z':>8s}{'p':>9s}{'[0.025':>10s}{'0.975]':>10s}",
        ]
        for name in self.names:
            lines.append(
                f"{name[:28]:28s}{self.params[name]:10.4f}{self.bse[name]:10.4f}"
                f"{self.tvalues[name]:8.2f}{self.pvalues[name]:9.4f}"
                f"{ci.loc[name, 'lower']:10.4f}{ci.loc[name, 'upper']:10.4f}"
            )
        lines.append("thresholds")
        for name in self.threshold_names:
            lines.append(
                f"{name[:28]:28s}{self.thresholds[name]:10.4f}{self.thresholds_bse[name]:10.4f}"
            )
        return "\n".join(lines)

    def coefficient_stats(self, alpha: float = 0.05) -> dict[str, np.ndarray]:
        """Estimate, SE, z, p, CI and odds ratios of every coefficient, in ``names`` order.

        The same operations as :attr:`bse`, :attr:`tvalues`, :attr:`pvalues`,
        :meth:`conf_int` and :meth:`odds_ratios`, done once on arrays: each of those
        recomputes the covariance diagonal and builds pandas objects on every access.
        """
        se = np.sqrt(np.diag(self.vcov))[: len(self.names)]
        z = self.beta / se
        q = stats.norm.ppf(1 - alpha / 2)
        lower, upper = self.beta - q * se, self.beta + q * se
        return {"coef": self.beta, "se": se, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
                "ci_lower": lower, "ci_upper": upper, "or": np.exp(self.beta),
                "or_lower": np.exp(lower), "or_upper": np.exp(upper)}

    def to_dict(self, brant: bool = True) -> dict[str, Any]:
        """JSON-ready results (plain floats, nothing rounded)."""
        columns = {k: v.tolist() for k, v in self.coefficient_stats().items()}
        coefs = {n: {k: v[j] for k, v in columns.items()} for j, n in enumerate(self.names)}
        thresholds, thresholds_se = self.thresholds.tolist(), self.thresholds_bse.tolist()
        thr = {t: {"value": v, "se": se}
               for t, v, se in zip(self.threshold_names, thresholds, thresholds_se, strict=True)}
        out: dict[str, Any] = {
            "coefficients": coefs, "coefficient_order": list(self.names),
            "thresholds": thr, "threshold_order": self.threshold_names,
            "levels": [plain_scalar(v) for v in self.levels],
            "nobs": int(self.nobs), "weighted_nobs": float(self.weighted_nobs),
            "llf": float(self.llf), "llnull": float(self.llnull),
            "pseudo_r2": float(self.prsquared), "weight_type": self.weight_type,
            "cov_type": self.cov_type, "n_clusters": self.n_clusters,
            "convergence": {"converged": bool(self.converged), "iterations": int(self.n_iter),
                            "max_abs_score": float(self.max_abs_score)},
        }
        if brant:
            try:
                table = self.brant_test()
            except ModelError as exc:  # sparse categories: report why, do not fail the fit
                out["brant"] = {"error": str(exc)}
                return out
            out["brant"] = None if table is None else {
                "tests": {
                    row.Index: {"chi2": float(row.chi2), "df": int(row.df), "p": float(row.p)}
                    for row in table.itertuples()
                },
                "cutpoints_used": [self.threshold_names[j] for j in table.attrs["cutpoints_used"]],
                "cutpoints_skipped": {self.threshold_names[j]: why
                                      for j, why in table.attrs["cutpoints_skipped"].items()},
            }
        return out


def plain_scalar(v: Any) -> Any:
    """A numpy scalar as the Python number JSON can hold."""
    return v.item() if isinstance(v, np.generic) else v


# --------------------------------------------------------------------------------------------
# Fitting API
# --------------------------------------------------------------------------------------------


def _check_inputs(X, y, w, names, clusters) -> None:
    n = X.shape[0]
    if y.shape[0] != n or w.shape[0] != n:
        raise ModelError(f"X has {n} rows but y has {y.shape[0]} and weights {w.shape[0]}")
    for label, arr in (("outcome", y.astype(float)), ("weights", w)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ModelError(f"{label}: {bad.size} missing/non-finite values, first at row "
                             f"{bad[0]}")
    if np.any(w <= 0):
        raise ModelError(f"weights: must be > 0, row {int(np.flatnonzero(w <= 0)[0])} is not")
    for j, name in enumerate(names):
        col = X[:, j]
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            raise ModelError(
                f"variable '{name}': {bad.size} missing/non-finite values, first at row {bad[0]} "
                "(rule: select complete cases before fitting)"
            )
        if n and np.all(col == col[0]):
            raise ModelError(f"variable '{name}' is constant ({col[0]:g}) in the sample")
    if clusters is not None and len(clusters) != n:
        raise ModelError(f"clusters has {len(clusters)} values for {n} rows")


def _encode_outcome(y, levels) -> tuple[np.ndarray, list[Any]]:
    y = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    if y.isna().any():
        raise ModelError(f"outcome: missing value at row {int(np.flatnonzero(y.isna())[0])}")
    if levels is None:
        if isinstance(y.dtype, pd.CategoricalDtype):
            levels = list(y.cat.categories)
        else:
            levels = sorted(pd.unique(y.astype(object)))
    levels = list(levels)
    if len(levels) < 3:
        raise ModelError(f"outcome needs at least 3 ordered categories, got {levels}")
    codes = pd.Index(levels).get_indexer(y).astype(np.intp)
    if np.any(codes < 0):
        row = int(np.flatnonzero(codes < 0)[0])
        raise ModelError(f"outcome: value {y.iloc[row]!r} at row {row} not in levels {levels}")
    counts = np.bincount(codes, minlength=len(levels))
    if np.any(counts == 0):
        empty = [levels[i] for i in np.flatnonzero(counts == 0)]
        raise ModelError(f"outcome: categories {empty} have no respondents in the sample")
    return codes, levels


def fit_ordered_logit(
    y: Any,
    X: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    levels: Sequence[Any] | None = None,
    weights: np.ndarray | None = None,
    weight_type: str | None = None,
    clusters: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
    design: Design | None = None,
    outcome: str | None = None,
    variance_design: cal.Design | None = None,
    sample_rows: np.ndarray | None = None,
    variance_method: cal.Method = "calibrated",
) -> OrderedLogitResults:
    """Fit by Newton-Raphson; ``weight_type`` is required whenever weights are given.

    ``variance_design`` with ``sample_rows`` (positions of the rows of ``X`` in it) gives
    sampling-weight SEs from that survey design, ``variance_method`` calibrated or fixed.
    """
    X = np.ascontiguousarray(X, dtype=float)
    if X.ndim != 2:
        raise ModelError("X must be a 2-D array")
    names = list(names) if names is not None else [f"x{j + 1}" for j in range(X.shape[1])]
    if weights is not None and weight_type not in WEIGHT_TYPES:
        raise ModelError(f"weights given: weight_type must be one of {WEIGHT_TYPES}, "
                         f"got {weight_type!r} (raw sampling weights never get model-based SEs)")
    if weights is None and weight_type == "frequency":
        raise ModelError("weight_type='frequency' needs weights")
    if clusters is not None and weight_type == "frequency":
        raise ModelError("clusters need sandwich SEs: use weight_type='sampling'")
    if variance_design is not None and (weight_type != "sampling" or clusters is not None
                                        or sample_rows is None):
        raise ModelError("variance_design needs weight_type='sampling', sample_rows and no "
                         "clusters (the design holds its own PSUs)")
    codes, levels = _encode_outcome(y, levels)
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    _check_inputs(X, codes, w, names, clusters)
    zeta0, llnull = _null_model(codes, w, len(levels))
    theta, llf, grad, H, n_iter = _newton(X, codes, w, zeta0, names, max_iter, tol)
    p = X.shape[1]
    if variance_design is not None:
        vcov = design_sandwich(X, codes, w, theta[:p], theta[p:], H, variance_design,
                               sample_rows, variance_method)
        m = variance_design.n if variance_design.psu is None else len(variance_design.psu_stratum)
        clusters = None if variance_design.psu is None else variance_design.psu[sample_rows]
        cov_type = f"sandwich ({variance_method})"
    elif weight_type == "sampling":
        vcov, m = _sandwich(X, codes, w, theta[:p], theta[p:], H, clusters)
        cov_type = "sandwich (cluster)" if clusters is not None else "sandwich"
    else:
        vcov, m = np.linalg.inv(-H), None
        cov_type = "model-based"
    return OrderedLogitResults(
        names=names, levels=levels, beta=theta[:p], zeta=theta[p:], vcov=vcov, llf=llf,
        llnull=llnull, nobs=int(X.shape[0]), weighted_nobs=float(w.sum()),
        weight_type=weight_type, cov_type=cov_type,
        n_clusters=m if clusters is not None else None, converged=True, n_iter=n_iter,
        max_abs_score=float(np.max(np.abs(grad))), design=design, outcome=outcome,
        _data=(X, codes, w, clusters),
        _variance=(None if variance_design is None
                   else (variance_design, np.asarray(sample_rows), variance_method)),
    )


def fit_frame(
    data: pd.DataFrame,
    outcome: str,
    terms: Sequence[str],
    *,
    reference: Mapping[str, Any] | None = None,
    levels: Sequence[Any] | None = None,
    weights: str | None = None,
    weight_type: str | None = None,
    cluster: str | None = None,
    **kwargs: Any,
) -> OrderedLogitResults:
    """Fit ``outcome ~ terms`` on a DataFrame (categorical terms as treatment dummies)."""
    ref = {k: v for k, v in (reference or {}).items() if k in terms}
    design = build_design(data, terms, ref)
    if outcome not in data.columns:
        raise ModelError(f"outcome '{outcome}': no such column in the data")
    w = None if weights is None else data[weights].to_numpy(dtype=float, na_value=np.nan)
    cl = None if cluster is None else data[cluster].to_numpy()
    return fit_ordered_logit(
        data[outcome].reset_index(drop=True), design.X, names=design.names, levels=levels,
        weights=w, weight_type=weight_type, clusters=cl, design=design, outcome=outcome, **kwargs
    )


# --------------------------------------------------------------------------------------------
# Brant test
# --------------------------------------------------------------------------------------------


def _binary_logit(Xt: np.ndarray, z: np.ndarray, w: np.ndarray, names: list[str], cut: int,
                  max_iter: int = 100):
    b = np.zeros(Xt.shape[1])
    labels = ["(intercept)", *names]
    for _ in range(max_iter):
        pi = expit(Xt @ b)
        grad = Xt.T @ (w * (z - pi))
        info = Xt.T @ (Xt * (w * pi * (1 - pi))[:, None])
        try:
            _check_pd(-info, labels)
        except SeparationError as exc:
            raise SeparationError(
                f"Brant test, binary logit of Y > cut-point {cut + 1}: {exc}") from None
        step = np.linalg.solve(info, grad)
        b += step
        if np.max(np.abs(step)) < 1e-10:
            return b, expit(Xt @ b), info
    raise ConvergenceError(
        f"Brant test: binary logit of Y > cut-point {cut + 1} did not converge (separation?)")


def brant_test(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    names: Sequence[str],
    weight_type: str | None,
    clusters: np.ndarray | None = None,
    variance: tuple[cal.Design, np.ndarray, cal.Method] | None = None,
) -> pd.DataFrame | None:
    """Wald test that the K-1 binary-logit slopes are equal (per coefficient and omnibus).

    ``variance`` (a survey design, the rows of ``X`` in it, ``"calibrated"`` or
    ``"fixed"``) gives the stacked scores the design's variance, as the model's SEs have.
    """
    n_cut = int(y.max())
    if n_cut < 2 or X.shape[1] == 0:
        return None
    Xt = np.column_stack([np.ones(X.shape[0]), X])
    q = Xt.shape[1]
    fits, used, skipped = [], [], {}
    for j in range(n_cut):
        try:
            fits.append(_binary_logit(Xt, (y > j).astype(float), w, list(names), j))
            used.append(j)
        except ModelError as exc:  # sparse extreme categories: test on the estimable cuts
            skipped[j] = str(exc)
    if len(used) < 2:
        raise ModelError(f"Brant test needs 2 estimable cut-points, got {used}: {skipped}")
    y = np.searchsorted(np.array(used), y, side="left")  # binary j of fits <-> y > used[j]
    n_cut = len(used)
    inv_info = [np.linalg.inv(f[2]) for f in fits]
    V = np.zeros((n_cut * q, n_cut * q))
    if weight_type == "sampling":
        S = np.hstack([Xt * (w * ((y > j) - f[1]))[:, None] for j, f in enumerate(fits)])
        Ainv = linalg.block_diag(*inv_info)
        if variance is not None:
            design, rows, method = variance
            scores = np.zeros((design.n, S.shape[1]))
            scores[np.asarray(rows, dtype=np.intp)] = S
            V = cal.sandwich_vcov(scores, Ainv, design, method=method)
        else:
            B, _ = _meat(S, clusters)
            V = Ainv @ B @ Ainv
    else:
        for j in range(n_cut):
            for m in range(j, n_cut):
                pj, pm = fits[j][1], fits[m][1]
                mid = Xt.T @ (Xt * (w * (pm - pj * pm))[:, None])
                block = inv_info[j] @ mid @ inv_info[m]
                V[j * q : (j + 1) * q, m * q : (m + 1) * q] = block
                V[m * q : (m + 1) * q, j * q : (j + 1) * q] = block.T
    b = np.concatenate([f[0] for f in fits])
    rows = {}

    def wald(cols: list[int]) -> tuple[float, int]:
        D = []
        for c in cols:
            for j in range(1, n_cut):
                r = np.zeros(n_cut * q)
                r[c] = 1.0
                r[j * q + c] = -1.0
                D.append(r)
        D = np.array(D)
        d = D @ b
        chi2 = float(d @ np.linalg.solve(D @ V @ D.T, d))
        return chi2, D.shape[0]

    for i, name in enumerate(names):
        rows[name] = wald([i + 1])
    rows["omnibus"] = wald(list(range(1, q)))
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["chi2", "df"])
    out["p"] = stats.chi2.sf(out["chi2"], out["df"])
    out.attrs = {"cutpoints_used": used, "cutpoints_skipped": skipped}
    return out


# --------------------------------------------------------------------------------------------
# The paper's seven nested models
# --------------------------------------------------------------------------------------------
