"""Benchmark: calibrated vs fixed-weight linearization SEs, 1,000,000 rows x 3 margins.

Not a test. Rakes a simulated sample to three margins with a cap of 2.0 times the mean
weight (analysis.stats.raking.rake, the pipeline's bounded raking), then times each SE of
analysis.stats.calibration with ``method="calibrated"`` and ``method="fixed"`` side by side
(runs interleaved; median of --repeats), and measures each call's peak traced memory
(tracemalloc, in a separate run so that tracing does not slow the timed runs).

    .venv/bin/python bench/bench_calibration.py [--n 1000000] [--repeats 5]

``python -m bench`` runs it too (:func:`run`) and writes its table into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.stats import calibration as cal  # noqa: E402
from analysis.stats.raking import rake  # noqa: E402

TARGETS = {
    "age_band": {"14-30": 0.55, "31-50": 0.42, "51-65": 0.03},
    "gender": {"female": 0.39, "male": 0.61},
    "region": {"East": 0.45, "Central": 0.35, "West": 0.20},
}


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age_band": rng.choice(["14-30", "31-50", "51-65"], n, p=[0.62, 0.36, 0.02]),
        "gender": rng.choice(["female", "male"], n, p=[0.45, 0.55]),
        "region": rng.choice(["East", "Central", "West"], n, p=[0.55, 0.33, 0.12]),
        "approve": (rng.random(n) < 0.6).astype(float),
        "urban": (rng.random(n) < 0.7).astype(float),
        "party": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
    })
    frame.loc[rng.random(n) < 0.03, "approve"] = np.nan
    return frame


def rake_weights(frame: pd.DataFrame) -> np.ndarray:
    """Weights raked to TARGETS with a cap of 2.0 times the mean, as the pipeline rakes."""
    return rake(frame, TARGETS, cap=2.0).weights.to_numpy()


def median_times(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds per call, the calls interleaved so that both see the same machine."""
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def run(n: int = 1_000_000, repeats: int = 5) -> dict[str, Any]:
    """Time and trace every SE with both methods; rows of fixed/calibrated ms, ratio, MiB."""
    frame = simulate(n)
    w = rake_weights(frame)
    y, dom = frame["approve"].to_numpy(), frame["urban"].to_numpy() == 1
    scores = np.random.default_rng(2).normal(size=(n, 8)) * w[:, None]
    hinv = np.eye(8)
    margins = [frame[m].to_numpy() for m in TARGETS]

    def build() -> cal.Design:
        return cal.survey_design(w, calibration=cal.calibration(margins, w))

    setup = median_times({"build": build}, repeats)["build"]
    design = build()
    psu = np.arange(n) % 2000                       # 2,000 PSUs in 20 strata, fpc
    clustered = cal.survey_design(w, calibration=design.calibration, clusters=psu,
                                  strata=psu % 20, fpc=np.full(n, 1000.0))
    tasks: dict[str, Callable[[str], Any]] = {
        "proportion SE": lambda m: cal.weighted_mean_se(y, design, method=m),
        "domain proportion SE": lambda m: cal.weighted_mean_se(y, design, domain=dom, method=m),
        "cell vcov 2x4 (Rao-Scott)": lambda m: cal.cell_proportions_vcov(
            frame["urban"].to_numpy(), frame["party"].to_numpy(), design, method=m),
        "sandwich, 8 scores": lambda m: cal.sandwich_vcov(scores, hinv, design, method=m),
        "proportion SE, clustered": lambda m: cal.weighted_mean_se(y, clustered, method=m),
        "sandwich, 8 scores, clustered": lambda m: cal.sandwich_vcov(scores, hinv, clustered,
                                                                     method=m),
    }
    rows = []
    for name, task in tasks.items():
        t = median_times({m: (lambda m=m, f=task: f(m)) for m in cal.METHODS}, repeats)
        mem = {m: peak_mib(lambda m=m, f=task: f(m)) for m in cal.METHODS}
        rows.append({"statistic": name, "fixed_ms": t["fixed"] * 1e3,
                     "calibrated_ms": t["calibrated"] * 1e3,
                     "ratio": t["calibrated"] / t["fixed"], "fixed_mib": mem["fixed"],
                     "calibrated_mib": mem["calibrated"]})
    return {"n": n, "repeats": repeats, "setup_ms": setup * 1e3, "setup_mib": peak_mib(build),
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    res = run(a.n, a.repeats)
    print(f"n = {res['n']:,}, 3 margins, cap 2.0; median of {res['repeats']} (interleaved)")
    print(f"one-off per weighting: calibration + design {res['setup_ms']:.0f} ms, "
          f"peak {res['setup_mib']:.0f} MiB")
    print(f"{'statistic':30s} {'fixed ms':>9s} {'calib ms':>9s} {'ratio':>6s} "
          f"{'fixed MiB':>10s} {'calib MiB':>10s}")
    for r in res["rows"]:
        print(f"{r['statistic']:30s} {r['fixed_ms']:9.1f} {r['calibrated_ms']:9.1f} "
              f"{r['ratio']:6.2f} {r['fixed_mib']:10.1f} {r['calibrated_mib']:10.1f}")


if __name__ == "__main__":
    main()
