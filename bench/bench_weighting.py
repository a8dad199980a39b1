"""Benchmark: bounded raking of 1,000,000 respondents on three margins, cap 2.0.

Not a test. Prints medians of several runs of analysis.survey.weighting.rake next to weightipy on
the same data (runs interleaved, so ratios are measured side by side), and next to R survey
(rake() and calibrate(calfun = "raking", bounds, bounds.const = TRUE)) when Rscript is
installed, with each method's largest margin error and its distance from our weights.

    .venv/bin/python bench/bench_weighting.py [--n 1000000] [--repeats 5] [--no-r]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.stats.raking import rake  # noqa: E402

TARGETS = {
    "age_band": {"14-30": 0.55, "31-50": 0.42, "51-65": 0.03},
    "gender": {"female": 0.39, "male": 0.61},
    "region": {"East": 0.45, "Central": 0.35, "West": 0.20},
}
CAP = 2.0

# The command that runs R; bench/bench_scale.py prefixes /usr/bin/time to measure R's memory.
RSCRIPT: list[str] = ["Rscript"]

R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
d <- read.csv(args[1], colClasses = "character")
reps <- as.integer(args[3])
for (v in c("age_band", "gender", "region")) d[[v]] <- factor(d[[v]])
d$age_band <- factor(d$age_band, levels = c("14-30", "31-50", "51-65"))
d$gender <- factor(d$gender, levels = c("female", "male"))
d$region <- factor(d$region, levels = c("East", "Central", "West"))
n <- nrow(d)
des <- svydesign(ids = ~1, weights = rep(1, n), data = d)
p <- list(age_band = c(0.55, 0.42, 0.03), gender = c(0.39, 0.61), region = c(0.45, 0.35, 0.20))
pops <- list(data.frame(age_band = levels(d$age_band), Freq = p$age_band * n),
             data.frame(gender = levels(d$gender), Freq = p$gender * n),
             data.frame(region = levels(d$region), Freq = p$region * n))
pop <- c(n, p$age_band[-1] * n, p$gender[-1] * n, p$region[-1] * n)
names(pop) <- c("(Intercept)", "age_band31-50", "age_band51-65", "gendermale",
                "regionCentral", "regionWest")
t_rake <- t_cal <- numeric(reps)
for (i in seq_len(reps)) {
  t_rake[i] <- system.time(r <- rake(des, list(~age_band, ~gender, ~region), pops,
                                    control = list(maxit = 100, epsilon = 1e-10)))[["elapsed"]]
  t_cal[i] <- system.time(cl <- calibrate(des, ~age_band + gender + region, population = pop,
                                          calfun = "raking", bounds = c(0, %CAP%),
                                          bounds.const = TRUE, maxit = 200,
                                          epsilon = 1e-10))[["elapsed"]]
}
write.csv(data.frame(rake = weights(r), calibrate = weights(cl)), args[2], row.names = FALSE)
cat("rake", t_rake, "\n")
cat("calibrate", t_cal, "\n")
"""


def make_data(n: int, seed: int) -> pd.DataFrame:
    """Survey-like sample; uses analysis.standin.survey when that module provides it."""
    with contextlib.suppress(ImportError, AttributeError):
        from analysis.standin.survey import simulate_clean_sample

        frame = simulate_clean_sample(n, seed)
        return frame[list(TARGETS)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    cols = {}
    probs = {"age_band": [0.62, 0.36, 0.02], "gender": [0.45, 0.55], "region": [0.55, 0.33, 0.12]}
    for name, cats in TARGETS.items():
        cols[name] = pd.Categorical.from_codes(rng.choice(len(cats), n, p=probs[name]), list(cats))
    return pd.DataFrame(cols)


def margin_error(data: pd.DataFrame, w: np.ndarray) -> float:
    """Largest relative error of the weighted margins (weights rescaled to mean 1)."""
    w = np.asarray(w, float) / np.mean(w)
    worst = 0.0
    for col, cats in TARGETS.items():
        sums = pd.Series(w).groupby(data[col].astype(str).to_numpy()).sum() / len(w)
        worst = max(worst, max(abs(sums[c] - p) / p for c, p in cats.items()))
    return worst


def run_ours(data: pd.DataFrame, cap: float | None) -> np.ndarray:
    return rake(data, TARGETS, cap=cap).weights.to_numpy()


def run_weightipy(data: pd.DataFrame) -> np.ndarray:
    import weightipy as wp

    scheme = wp.scheme_from_dict(
        {k: {c: 100 * p for c, p in v.items()} for k, v in TARGETS.items()},
        name="bench",
        rim_params={"cap": CAP},
    )
    with contextlib.redirect_stdout(io.StringIO()):  # weightipy prints instead of raising
        return wp.weight(data, scheme).to_numpy()


def timed(fn, *args) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def run_r(data: pd.DataFrame, repeats: int) -> dict[str, tuple[list[float], np.ndarray]] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src, out, script = Path(tmp, "d.csv"), Path(tmp, "w.csv"), Path(tmp, "b.R")
        data.astype(str).to_csv(src, index=False)
        script.write_text(R_SCRIPT.replace("%CAP%", repr(CAP)), encoding="utf-8")
        res = subprocess.run(
            [*RSCRIPT, str(script), str(src), str(out), str(repeats)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            print("R failed:\n" + res.stderr[-2000:], file=sys.stderr)
            return None
        times = {
            ln.split()[0]: [float(x) for x in ln.split()[1:]]
            for ln in res.stdout.splitlines()
            if ln.strip()
        }
        weights = pd.read_csv(out)
    return {k: (times[k], weights[k].to_numpy()) for k in ("rake", "calibrate")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--r-repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20180215)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()

    data = make_data(args.n, args.seed)
    run_ours(data, CAP)  # warm-up (imports, allocator)
    times: dict[str, list[float]] = {"ours_unbounded": [], "ours_capped": [], "weightipy": []}
    weights: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):  # interleaved: the ratio is measured under the same load
        for key, fn, extra in (
            ("ours_unbounded", run_ours, (None,)),
            ("ours_capped", run_ours, (CAP,)),
            ("weightipy", run_weightipy, ()),
        ):
            t, w = timed(fn, data, *extra)
            times[key].append(t)
            weights[key] = w
    r_results = None if args.no_r else run_r(data, args.r_repeats)
    if r_results:
        times["R_rake"], weights["R_rake"] = r_results["rake"]
        times["R_calibrate_bounded"], weights["R_calibrate_bounded"] = r_results["calibrate"]

    ref = {"ours_unbounded": weights["ours_unbounded"], "ours_capped": weights["ours_capped"]}
    compare_to = {"ours_unbounded": "ours_unbounded", "R_rake": "ours_unbounded"}
    base = statistics.median(times["ours_capped"])
    print(
        f"n = {args.n:,}, margins {list(TARGETS)}, cap {CAP} x mean; "
        f"medians of {args.repeats} runs (R: {args.r_repeats})"
    )
    print(
        f"{'method':<22}{'median s':>10}{'x ours_capped':>15}{'max margin err':>16}"
        f"{'max w/mean':>12}{'max rel diff vs ours':>22}"
    )
    for key, ts in times.items():
        w = weights[key]
        other = ref[compare_to.get(key, "ours_capped")]
        diff = np.max(np.abs(w / w.mean() - other / other.mean()) / (other / other.mean()))
        med = statistics.median(ts)
        print(
            f"{key:<22}{med:>10.4f}{med / base:>15.2f}{margin_error(data, w):>16.2e}"
            f"{w.max() / w.mean():>12.4f}{diff:>22.2e}"
        )


if __name__ == "__main__":
    main()
