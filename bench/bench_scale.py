"""Benchmark at scale: raking and the weighted ordered-logit fit at 10^4 to 10^6 respondents.

The simulated survey generator (analysis.standin.survey.simulate_clean_sample) makes the
data once per size; every method then runs in its own fresh subprocess, so each process's
peak resident memory (getrusage maxrss; for R, the Rscript child) belongs to one method.
Methods run interleaved round by round, so their ratios are measured side by side under the
same machine load, and the table reports medians over the rounds.

Raking: analysis.survey.weighting.rake (bounded, cap 2 x mean; and unbounded) next to weightipy
(cap 2) and R survey rake() / calibrate(raking, bounded) on the margins of
bench/bench_weighting.py. Fit: the paper's model 7 (26 terms, 5 outcome levels, sampling
weights, sandwich SEs) with analysis.survey.models next to R MASS::polr (weighted) and statsmodels
OrderedModel (which takes no weights: compared with our unweighted fit). statsmodels and R
are slow at the large sizes: they run up to --others-max-n and are compared per row.

    .venv/bin/python -m bench.bench_scale [--sizes 10000 100000 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_models  # noqa: E402
import bench_weighting  # noqa: E402

SEED = 20180215


@dataclass(frozen=True)
class Method:
    """One competitor: its task (rake or fit), label and the largest n it runs at."""

    key: str
    task: str
    label: str
    reference: str  # key of the method whose estimates this one is compared with
    max_n_option: str | None = None  # CLI option capping its n (slow alternatives)


METHODS = [
    Method("rake_ours_capped", "rake", "rake: ours, bounded (cap 2)", "rake_ours_capped"),
    Method("rake_ours_unbounded", "rake", "rake: ours, unbounded", "rake_ours_unbounded"),
    Method("rake_weightipy", "rake", "rake: weightipy (cap 2)", "rake_ours_capped"),
    Method("rake_r", "rake", "rake: R survey", "", "r_rake_max_n"),
    Method("fit_ours", "fit", "fit: ours (weighted, sandwich SEs)", "fit_ours"),
    Method("fit_r_polr", "fit", "fit: R MASS::polr (weighted)", "fit_ours", "others_max_n"),
    Method("fit_statsmodels", "fit", "fit: statsmodels OrderedModel (unweighted)",
           "fit_ours_unweighted", "statsmodels_max_n"),
]


# ------------------------------------------------------------------------- data


def prepare(n: int, seed: int, out_dir: Path) -> dict[str, object]:
    """Simulate ``n`` respondents; write the raking frame and model 7's design matrix."""
    from analysis.project import load_config
    from analysis.standin.survey import simulate_clean_sample
    from analysis.stats.ordinal import build_design
    from analysis.survey.models import common_sample, model_terms

    frame = simulate_clean_sample(n, seed)
    margins = frame[list(bench_weighting.TARGETS)].reset_index(drop=True)
    margins.to_parquet(out_dir / f"rake_{n}.parquet")
    frame["weight"] = bench_weighting.run_ours(margins, bench_weighting.CAP)
    spec = load_config()["models"]
    sample = common_sample(frame, spec)
    terms = list(model_terms(spec).values())[-1]
    design = build_design(sample, terms, {k: v for k, v in spec["reference"].items()
                                          if k in terms})
    levels = spec["outcome_levels"]
    y = sample[spec["outcome"]].map({v: i for i, v in enumerate(levels)}).to_numpy(int)
    w = sample["weight"].to_numpy(float)
    np.savez(out_dir / f"fit_{n}.npz", X=design.X, y=y, w=w / w.mean())
    return {"n": n, "fit_rows": int(len(sample)), "fit_terms": int(design.X.shape[1])}


# ------------------------------------------------------------------------- worker side


def _rake_ours(data: pd.DataFrame, cap: float | None) -> np.ndarray:
    return bench_weighting.run_ours(data, cap)


def _time(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def _work_rake(key: str, n: int, data_dir: Path) -> dict[str, object]:
    data = pd.read_parquet(data_dir / f"rake_{n}.parquet")
    loaded = _maxrss_mb()
    if key == "rake_r":
        results = bench_weighting.run_r(data, 1)
        if results is None:
            raise RuntimeError("R survey benchmark failed (see the message above)")
        out = {}
        for name, (times, weights) in results.items():
            np.save(data_dir / f"w_rake_r_{name}_{n}.npy", weights)
            out[name] = times[0]
        return {"times": out, "loaded_mb": loaded}
    fn = {"rake_ours_capped": lambda: _rake_ours(data, bench_weighting.CAP),
          "rake_ours_unbounded": lambda: _rake_ours(data, None),
          "rake_weightipy": lambda: bench_weighting.run_weightipy(data)}[key]
    seconds, weights = _time(fn)
    np.save(data_dir / f"w_{key}_{n}.npy", np.asarray(weights, float))
    return {"times": {key: seconds}, "loaded_mb": loaded}


def _work_fit(key: str, n: int, data_dir: Path) -> dict[str, object]:
    from analysis.stats.ordinal import fit_ordered_logit

    arrays = np.load(data_dir / f"fit_{n}.npz")
    X, y, w = arrays["X"], arrays["y"], arrays["w"]
    loaded = _maxrss_mb()
    if key == "fit_ours":
        seconds, res = _time(lambda: fit_ordered_logit(y, X, weights=w, weight_type="sampling"))
        beta = res.beta
    elif key == "fit_r_polr":
        result = bench_models.time_r(X, y, w)
        if result is None:
            raise RuntimeError("Rscript not found")
        seconds, beta = result
    else:
        seconds, beta = bench_models.time_statsmodels(X, y, w)
        np.save(data_dir / f"b_fit_ours_unweighted_{n}.npy", fit_ordered_logit(y, X).beta)
    np.save(data_dir / f"b_{key}_{n}.npy", np.asarray(beta, float))
    return {"times": {key: seconds}, "loaded_mb": loaded}


def _maxrss_mb() -> float:
    """Peak RSS of this process since its exec (VmHWM). getrusage's maxrss is not used: on
    Linux it keeps the high-water mark of the parent it was forked from."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(status.split("VmHWM:", 1)[1].split()[0]) / 1024


def _use_time_for_r(data_dir: Path) -> Path | None:
    """Run R under /usr/bin/time so that its own peak RSS is recorded in a file."""
    if not Path("/usr/bin/time").exists():
        return None
    record = data_dir / f"r_maxrss_{os.getpid()}.txt"
    prefix = ["/usr/bin/time", "-f", "%M", "-o", str(record), "Rscript"]
    bench_weighting.RSCRIPT = bench_models.RSCRIPT = prefix
    return record


def worker(key: str, n: int, data_dir: Path) -> None:
    """Run one method once in this (fresh) process; print one JSON line."""
    task = next(m.task for m in METHODS if m.key == key)
    record = _use_time_for_r(data_dir) if key in R_METHODS else None
    with contextlib.redirect_stdout(io.StringIO()):
        out = (_work_rake if task == "rake" else _work_fit)(key, n, data_dir)
    out["peak_mb"] = _maxrss_mb()
    out["child_peak_mb"] = (int(record.read_text().split()[-1]) / 1024 if record
                            else float("nan"))
    print(json.dumps(out))


# ------------------------------------------------------------------------- parent side


def spawn(key: str, n: int, data_dir: Path) -> dict[str, object]:
    """Run ``worker`` in a fresh interpreter and return its JSON report."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_scale", "--worker", key, "--n", str(n),
         "--data-dir", str(data_dir)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {key} at n={n} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _estimate_diff(data_dir: Path, key: str, ref: str, n: int) -> float | None:
    """Largest difference from the reference: relative for weights, absolute for coefs."""
    if key.startswith("rake"):
        a, b = data_dir / f"w_{key}_{n}.npy", data_dir / f"w_{ref}_{n}.npy"
        if not (a.exists() and b.exists()):
            return None
        w, r = np.load(a), np.load(b)
        w, r = w / w.mean(), r / r.mean()
        return float(np.max(np.abs(w - r) / r))
    a, b = data_dir / f"b_{key}_{n}.npy", data_dir / f"b_{ref}_{n}.npy"
    if not (a.exists() and b.exists()):
        return None
    return float(np.max(np.abs(np.load(a) - np.load(b))))


R_METHODS = {"rake_r", "fit_r_polr"}
R_RAKE_LABELS = {"rake": ("rake_r_rake", "rake: R survey rake()", "rake_ours_unbounded"),
                 "calibrate": ("rake_r_calibrate", "rake: R survey calibrate (bounded)",
                               "rake_ours_capped")}


def _max_n(method: Method, limits: dict[str, int]) -> int:
    return limits.get(method.max_n_option, 10**12) if method.max_n_option else 10**12


def run(sizes: list[int], rounds: int, limits: dict[str, int], use_r: bool,
        workdir: Path | None = None, log: Callable[[str], None] = print,
        ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """All methods at all sizes; return (result rows, data rows)."""
    import shutil

    have_r = use_r and shutil.which("Rscript") is not None
    rows: list[dict[str, object]] = []
    data_rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        data_dir = Path(tmp)
        for n in sizes:
            log(f"scale: simulating n = {n:,}")
            info = prepare(n, SEED, data_dir)
            data_rows.append(info)
            methods = [m for m in METHODS if n <= _max_n(m, limits)
                       and (have_r or m.key not in R_METHODS)]
            times: dict[str, list[float]] = {}
            peaks: dict[str, list[float]] = {}
            loaded: dict[str, float] = {}
            for r in range(rounds):
                for m in methods:
                    log(f"scale: n = {n:,} round {r + 1}/{rounds}: {m.label}")
                    rep = spawn(m.key, n, data_dir)
                    is_r = m.key in R_METHODS
                    peak = rep["child_peak_mb"] if is_r else rep["peak_mb"]
                    for k, t in rep["times"].items():
                        key = R_RAKE_LABELS[k][0] if m.key == "rake_r" else k
                        times.setdefault(key, []).append(t)
                        peaks.setdefault(key, []).append(peak)
                        loaded[key] = 0.0 if is_r else rep["loaded_mb"]
            labels = {m.key: (m.label, m.reference) for m in METHODS}
            labels.update({v[0]: (v[1], v[2]) for v in R_RAKE_LABELS.values()})
            for key, ts in times.items():
                label, ref = labels[key]
                task_rows = info["fit_rows"] if key.startswith("fit") else n
                rows.append({
                    "task": "fit" if key.startswith("fit") else "rake", "method": key,
                    "label": label, "n": n, "rows": task_rows, "median_s": statistics.median(ts),
                    "runs": len(ts), "us_per_row": statistics.median(ts) / task_rows * 1e6,
                    "peak_mb": max(peaks[key]), "data_loaded_mb": loaded[key],
                    "max_diff_vs": ref, "max_diff": _estimate_diff(
                        data_dir, key, ref, n) if ref else None,
                })
    return rows, data_rows


def ratios(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Speed-ups of ours over each alternative at the same n, from the same run."""
    base = {("rake", r["n"]): r for r in rows if r["method"] == "rake_ours_capped"}
    base.update({("fit", r["n"]): r for r in rows if r["method"] == "fit_ours"})
    out = []
    for r in rows:
        ours = base.get((r["task"], r["n"]))
        if ours is None or r is ours or r["method"] == "rake_ours_unbounded":
            continue
        out.append({"task": r["task"], "n": r["n"], "alternative": r["label"],
                    "speedup": r["median_s"] / ours["median_s"]})
    return out


def growth(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Cost growth between consecutive sizes: time ratio / size ratio (1.0 = linear)."""
    out = []
    by_method: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append(r)
    for rs in by_method.values():
        rs = sorted(rs, key=lambda r: r["n"])
        for a, b in zip(rs, rs[1:], strict=False):
            out.append({"method": a["label"], "from_n": a["n"], "to_n": b["n"],
                        "time_ratio": b["median_s"] / a["median_s"],
                        "size_ratio": b["rows"] / a["rows"],
                        "linearity": (b["median_s"] / a["median_s"]) / (b["rows"] / a["rows"])})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--others-max-n", type=int, default=100_000,
                        help="largest n for R polr (default 100000)")
    parser.add_argument("--r-rake-max-n", type=int, default=1_000_000)
    parser.add_argument("--statsmodels-max-n", type=int, default=10_000)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.n, args.data_dir)
        return
    limits = {"others_max_n": args.others_max_n, "r_rake_max_n": args.r_rake_max_n,
              "statsmodels_max_n": args.statsmodels_max_n}
    rows, _ = run(args.sizes, args.rounds, limits, not args.no_r)
    for r in rows:
        print(f"{r['label']:<44} n={r['n']:>9,} {r['median_s']:9.3f} s "
              f"{r['us_per_row']:8.2f} us/row peak {r['peak_mb']:7.0f} MB")
    for r in ratios(rows):
        print(f"{r['task']} n={r['n']:,}: ours is {r['speedup']:.1f}x faster than "
              f"{r['alternative']}")


if __name__ == "__main__":
    main()
