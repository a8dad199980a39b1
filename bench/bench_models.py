"""Benchmark (not a test): analysis.survey.models against statsmodels OrderedModel and R MASS::polr.

Default: 1,000,000 rows, 20 covariates, 5 categories, sampling weights, sandwich SEs.
statsmodels and R are timed at smaller n (they take minutes at 1e6) and compared per row;
estimates are compared on the same data at that n. Usage:

    .venv/bin/python bench/bench_models.py [--n 1000000] [--n-other 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analysis.stats.ordinal import fit_ordered_logit  # noqa: E402


def make_data(n: int, p: int = 20, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.linspace(-0.5, 0.5, p)
    y = np.digitize(X @ beta + rng.logistic(size=n), [-2.0, -0.5, 0.5, 2.0])
    w = rng.uniform(0.3, 2.0, n)
    return X, y, w / w.mean()


def time_ours(X, y, w, repeats: int) -> tuple[float, object]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fit_ordered_logit(y, X, weights=w, weight_type="sampling")
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), res


def peak_memory(X, y, w) -> float:
    tracemalloc.start()
    fit_ordered_logit(y, X, weights=w, weight_type="sampling")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def time_statsmodels(X, y, w) -> tuple[float, np.ndarray]:
    """OrderedModel has no weights: fit unweighted (and compare with our unweighted fit)."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    t0 = time.perf_counter()
    mod = OrderedModel(y, X, distr="logit")
    res = mod.fit(method="bfgs", disp=False, maxiter=2000, gtol=1e-10)
    return time.perf_counter() - t0, np.asarray(res.params[: X.shape[1]])


# The command that runs R; bench/bench_scale.py prefixes /usr/bin/time to measure R's memory.
RSCRIPT: list[str] = ["Rscript"]

R_SCRIPT = """
suppressPackageStartupMessages(library(MASS))
d <- read.csv("{csv}")
d$y <- factor(d$y, levels = 0:4)
f <- as.formula(paste("y ~", paste(paste0("x", 1:{p}), collapse = " + ")))
t <- system.time(fit <- polr(f, data = d, weights = w, Hess = TRUE))[["elapsed"]]
# default tolerance for the timing; a tight refit for comparing estimates
tight <- polr(f, data = d, weights = w, control = list(reltol = 1e-14, maxit = 10000))
cat(t, coef(tight), sep = "\\n")
"""


def time_r(X, y, w) -> tuple[float, np.ndarray] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "d.csv")
        header = ",".join([f"x{j + 1}" for j in range(X.shape[1])] + ["y", "w"])
        np.savetxt(csv, np.column_stack([X, y, w]), delimiter=",", header=header, comments="",
                   fmt="%.17g")
        script = os.path.join(tmp, "b.R")
        Path(script).write_text(R_SCRIPT.format(csv=csv, p=X.shape[1]))
        out = subprocess.run([*RSCRIPT, script], check=True, capture_output=True, text=True)
    vals = np.array([float(v) for v in out.stdout.split()])
    return float(vals[0]), vals[1:]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--n-other", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    X, y, w = make_data(args.n)
    ours_t, res = time_ours(X, y, w, args.repeats)
    report = {"n": args.n, "p": X.shape[1], "categories": 5, "ours_median_s": ours_t,
              "ours_iterations": res.n_iter, "ours_peak_mb_tracemalloc": peak_memory(X, y, w),
              "ours_per_row_us": ours_t / args.n * 1e6}
    del X, y, w, res

    Xs, ys, ws = make_data(args.n_other, seed=2)
    small_t, _ = time_ours(Xs, ys, ws, args.repeats)
    unweighted = fit_ordered_logit(ys, Xs)
    report.update({"n_other": args.n_other, "ours_median_s_at_n_other": small_t})
    sm_t, sm_params = time_statsmodels(Xs, ys, ws)
    report.update({
        "statsmodels_bfgs_s": sm_t, "statsmodels_per_row_us": sm_t / args.n_other * 1e6,
        "speedup_vs_statsmodels_same_n": sm_t / small_t,
        "max_abs_diff_vs_statsmodels": float(np.max(np.abs(sm_params - unweighted.beta))),
    })
    r = time_r(Xs, ys, ws)
    if r is not None:
        weighted = fit_ordered_logit(ys, Xs, weights=ws, weight_type="frequency")
        report.update({
            "r_polr_s": r[0], "r_per_row_us": r[0] / args.n_other * 1e6,
            "speedup_vs_r_same_n": r[0] / small_t,
            "max_abs_diff_vs_r": float(np.max(np.abs(r[1] - weighted.beta))),
        })
    report["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
