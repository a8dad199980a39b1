"""Run every benchmark, print one table and write bench/RESULTS.md (`make bench`).

Benchmarks are not tests: nothing here fails the build. Times are medians of several runs,
and speed-ups are ratios measured side by side in the same run.

    .venv/bin/python -m bench [--repeat 3] [--sizes 10000 100000 1000000] [--rounds 3]
                              [--calibration-n 1000000] [--skip-build] [--skip-scale]
                              [--skip-calibration] [--skip-preview] [--skip-diff]
                              [--skip-robustness] [--no-r] [--baseline REV]
                              [--output bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import (
    bench_build,
    bench_calibration,
    bench_diff,
    bench_preview,
    bench_robustness,
    bench_scale,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["snakemake", "numpy", "pandas", "scipy", "statsmodels", "weightipy", "matplotlib",
            "pypandoc-binary", "typst", "nbclient"]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _r_versions() -> str | None:
    if shutil.which("Rscript") is None:
        return None
    code = ('cat(R.version.string, "; survey", format(packageVersion("survey")), '
            '"; MASS", format(packageVersion("MASS")))')
    proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or proc.stderr.strip()[-200:]


def machine() -> dict[str, str]:
    """What the numbers were measured on (they mean little without it)."""
    versions = []
    for pkg in PACKAGES:
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            continue
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{_cpu_model()}, {os.cpu_count()} cores",
        "memory": f"{_memory_gb():.1f} GB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": ", ".join(versions),
        "R": _r_versions() or "not installed",
        "load": f"load average at start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}",
    }


# ------------------------------------------------------------------------- formatting


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def _goal(row: dict) -> str:
    if row["goal_s"] is None:
        return "-"
    return f"<= {row['goal_s']:g} s: {'met' if row['meets_goal'] else 'NOT met'}"


def _tree(row: dict) -> str:
    return "this commit" if row["tree"] == "this" else f"`{row['tree']}`"


def build_section(rows: list[dict], profile: dict) -> str:
    """The author-loop table (side by side with the baseline when there is one), the
    ratios to the yardstick, what holds each missed goal, and the cold build's stages."""
    stick = profile["yardstick"]
    out = ["## Author loop (scratch copy, `--cores 2`)", "",
           "Yardstick: `python -c \"import pandas, matplotlib\"`, measured after every build "
           f"of the session: median {stick['median_s']:.2f} s (min-max "
           f"{stick['min_s']:.2f}-{stick['max_s']:.2f}, {stick['runs']} runs). 'x yardstick' "
           "is a scenario's median over the yardstick's; peak = resident memory of the "
           "largest single process of the build (Snakemake or one of its jobs).", "",
           _table(["scenario", "tree", "median s", "min-max s", "runs", "x yardstick",
                   "peak MB", "goal", "rules that ran"],
                  [[r["scenario"], _tree(r), f"{r['median_s']:.2f}",
                    f"{r['min_s']:.1f}-{r['max_s']:.1f}", str(r["runs"]), f"{r['ratio']:.1f}",
                    f"{r['peak_mb']:.0f}", _goal(r), r["rules"]] for r in rows]), ""]
    trees = list(dict.fromkeys(r["tree"] for r in rows))
    if len(trees) > 1:
        base = {r["scenario"]: r for r in rows if r["tree"] == trees[1]}
        out += [f"### This commit against `{trees[1]}` (same session, runs alternating)", "",
                _table(["scenario", "before s", "after s", "before x yardstick",
                        "after x yardstick", "after / before"],
                       [[r["scenario"], f"{base[r['scenario']]['median_s']:.2f}",
                         f"{r['median_s']:.2f}", f"{base[r['scenario']]['ratio']:.1f}",
                         f"{r['ratio']:.1f}",
                         f"{r['median_s'] / base[r['scenario']]['median_s']:.2f}"]
                        for r in rows if r["tree"] == "this" and r["scenario"] in base]), ""]
    if profile.get("holders"):
        out += ["### What holds each missed goal (this commit)", "",
                "The longest jobs of the scenario (median job wall from the Snakemake log, "
                "1 s resolution) and the floor under every rebuild: Snakemake's own start-up, "
                "workflow load and DAG check, which is the whole of the no-op rebuild.", "",
                _table(["scenario", "median s", "goal s", "longest jobs (wall s)",
                        "floor: no-op rebuild s"],
                       [[h["scenario"], f"{h['median_s']:.2f}", f"{h['goal_s']:g}",
                         ", ".join(f"{j} {w:.0f}" for j, w in h["longest"]) or
                         "none (Snakemake itself)", _fmt(h["noop_s"], ".2f")]
                        for h in profile["holders"]]), ""]
    walls, inside = profile["job_wall_s"], profile["function_s"]
    stages = sorted(set(walls) | set(inside), key=lambda k: -walls.get(k, 0.0))
    out += ["### Where the cold build's time goes (this commit)", "",
            "Job wall time from the Snakemake log (1 s resolution, jobs overlap on 2 cores); "
            "time inside the analysis function from the rule's `finished in` log line; the "
            "difference is interpreter start-up, imports and Snakemake's script preamble.", "",
            _table(["stage", "job wall s", "in function s", "start-up + imports s"],
                   [[k, _fmt(walls.get(k), ".0f"), _fmt(inside.get(k), ".2f"),
                     _fmt(walls[k] - inside[k] if k in walls and k in inside else None, ".1f")]
                    for k in stages]), "",
            f"Sum over jobs: {profile['sum_job_wall_s']:.0f} s of job wall time, of which "
            f"{profile['sum_function_s']:.1f} s inside the analysis functions.", ""]
    prof = profile.get("slowest_rule_profile")
    if prof:
        out += [f"Profile (cProfile) of the slowest figure stage, `{prof['rule']}`: "
                f"{prof['total_s']:.1f} s in the function (under the profiler), "
                f"{prof['import_s']:.1f} s to import its module.", "",
                _table(["part", "cumulative s", "share"],
                       [[k, f"{v:.2f}", f"{v / prof['total_s']:.0%}"]
                        for k, v in sorted(prof["parts"].items(), key=lambda kv: -kv[1])]), ""]
    return "\n".join(out)


STAGE_KINDS = {  # how each stage's time is classed in the findings
    "figures": ("figures_describe", "figures_models", "figures_themes", "figures_civilized"),
    "notebook execution (kernel start-up + cells)": ("notebook_*",),
    "rendering (pandoc + typst)": ("manuscript",),
    "fitting and raking": ("model", "weight"),
    "robustness grid (shared step, batches, summary)": ("robustness_shared",
                                                        "robustness_batch_*",
                                                        "robustness_summary"),
}


def _kind_sum(times: dict[str, float], stages: tuple[str, ...]) -> float:
    """Seconds of the stages of one kind (``name_*``: every job of a rule with wildcards)."""
    return sum(t for key, t in times.items()
               if any(key == s or (s.endswith("*") and key.startswith(s[:-1]))
                      for s in stages))


def _slowest_sentence(walls: dict, inside: dict) -> str:
    """Name the slowest kind of stage with this run's numbers (nothing hard-coded)."""
    per_kind = {k: _kind_sum(walls, v) for k, v in STAGE_KINDS.items()}
    slowest = max(per_kind, key=per_kind.get)
    notebooks = [t for key, t in inside.items() if key.startswith("notebook_")]
    per_nb = sum(notebooks) / len(notebooks) if notebooks else float("nan")
    return (f"The slowest kind of stage is {slowest} ({per_kind[slowest]:.0f} s of job wall "
            f"time); the model fit takes {inside.get('model', float('nan')):.2f} s inside its "
            f"function and each notebook {per_nb:.1f} s, kernel start-up included.")


def findings(profile: dict) -> str:
    """Where the cold build's time goes, from this run's profile."""
    walls, inside = profile["job_wall_s"], profile["function_s"]
    total_wall = profile["sum_job_wall_s"] or 1.0
    lines = ["### Findings", ""]
    for kind, stages in STAGE_KINDS.items():
        wall = _kind_sum(walls, stages)
        func = _kind_sum(inside, stages)
        lines.append(f"- {kind}: {wall:.0f} s of job wall time ({wall / total_wall:.0%}), "
                     f"{func:.1f} s inside the functions.")
    startup = total_wall - profile["sum_function_s"]
    lines += [f"- start-up of the {len(walls)} job processes (Python, imports, Snakemake "
              f"preamble): about {startup:.0f} s of job wall time ({startup / total_wall:.0%}).",
              "",
              _slowest_sentence(walls, inside),
              ""]
    return "\n".join(lines)


CARRIED = "> Not measured in this run:"


def carried_over(previous: str, produced: str) -> str:
    """The sections (``## ``) of the previous results that this run did not measure, each
    marked with the date of the run that did, so a partial run keeps the file whole."""
    date = re.search(r"^- \*\*date\*\*: (.+)$", previous, flags=re.MULTILINE)
    kept = []
    for section in re.split(r"^(?=## )", previous, flags=re.MULTILINE)[1:]:
        heading, body = (section.split("\n", 1) + [""])[:2]
        if heading in produced:
            continue
        if body.lstrip().startswith(CARRIED):  # carried before: its note has the true date
            kept.append(f"{heading}\n{body.rstrip()}\n")
            continue
        kept.append(f"{heading}\n\n{CARRIED} carried over from the previous results file "
                    f"(dated {date.group(1) if date else 'unknown'}; its machine and load are "
                    "in that version of this file, in git).\n" + body.rstrip("\n") + "\n")
    return "\n".join(kept)


def _diff_cells(row: dict) -> list[str]:
    if not row["max_diff_vs"] or row["max_diff_vs"] == row["method"]:
        return ["-", "-"]
    return [_fmt(row["max_diff"], ".1e"), row["max_diff_vs"]]


def scale_section(rows: list[dict], data_rows: list[dict], limits: dict[str, int]) -> str:
    """Raking and fit at each n: time, per-row cost, peak memory, agreement; ratios; growth."""
    out = ["## Scale: raking and the weighted ordered-logit fit", "",
           "Data: `analysis.standin.survey.simulate_clean_sample(n)`; raking on age band x "
           "gender x region; fit: the paper's model 7 on its common sample (commercial users, "
           f"{data_rows[0]['fit_terms']} terms, 5 levels). Each method runs in a fresh "
           "process; peak = that process's peak RSS (VmHWM, including the interpreter and "
           "imports; for R, the Rscript process's own peak from /usr/bin/time), "
           "'after load' = RSS once the data were read (imports + data).", "",
           "Fit rows per n: " + ", ".join(f"{d['n']:,} -> {d['fit_rows']:,}"
                                           for d in data_rows) + ".", "",
           f"statsmodels runs up to n = {limits['statsmodels_max_n']:,}, R polr up to "
           f"{limits['others_max_n']:,}, R raking up to {limits['r_rake_max_n']:,} "
           "(slower alternatives at the largest sizes are compared per row).", "",
           _table(["method", "n", "rows", "median s", "runs", "us/row", "peak MB",
                   "after load MB", "max diff", "vs"],
                  [[r["label"], f"{r['n']:,}", f"{r['rows']:,}", f"{r['median_s']:.3f}",
                    str(r["runs"]), f"{r['us_per_row']:.2f}", f"{r['peak_mb']:.0f}",
                    f"{r['data_loaded_mb']:.0f}" if r["data_loaded_mb"] else "-",
                    *_diff_cells(r)] for r in rows]), "",
           "max diff: largest relative difference of the weights (normalised to mean 1) or "
           "largest absolute difference of the coefficients from the method named in 'vs'.", "",
           "### Speed-ups of ours at the same n (same run)", "",
           _table(["task", "n", "alternative", "ours is x faster"],
                  [[r["task"], f"{r['n']:,}", r["alternative"], f"{r['speedup']:.1f}"]
                   for r in bench_scale.ratios(rows)]), "",
           "### Growth with n (time ratio / size ratio; 1.0 = linear)", "",
           _table(["method", "from n", "to n", "time ratio", "size ratio", "linearity"],
                  [[g["method"], f"{g['from_n']:,}", f"{g['to_n']:,}", f"{g['time_ratio']:.1f}",
                    f"{g['size_ratio']:.1f}", f"{g['linearity']:.2f}"]
                   for g in bench_scale.growth(rows)]), ""]
    return "\n".join(out)


def calibration_section(res: dict) -> str:
    """Calibrated vs fixed-weight SEs at one n: medians, ratio, peak traced memory."""
    return "\n".join([
        f"## Standard errors: calibrated vs fixed weights ({res['n']:,} rows x 3 margins)", "",
        "`bench/bench_calibration.py`: a simulated sample raked to age band x gender x region "
        "(cap 2.0), each SE of `analysis.stats.calibration` with `method=\"calibrated\"` and "
        f"`\"fixed\"`, runs interleaved, median of {res['repeats']}; peak = tracemalloc peak "
        "of one call (a separate, traced run). The clustered rows use 2,000 PSUs in 20 strata "
        "with an fpc. Building the calibration and design once per weighting takes "
        f"{res['setup_ms']:.0f} ms (peak {res['setup_mib']:.0f} MiB).", "",
        _table(["statistic", "fixed ms", "calibrated ms", "ratio", "fixed peak MiB",
                "calibrated peak MiB"],
               [[r["statistic"], f"{r['fixed_ms']:.1f}", f"{r['calibrated_ms']:.1f}",
                 f"{r['ratio']:.2f}", f"{r['fixed_mib']:.1f}", f"{r['calibrated_mib']:.1f}"]
                for r in res["rows"]]), ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per author-loop scenario")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3, help="runs per method and size")
    parser.add_argument("--others-max-n", type=int, default=100_000)
    parser.add_argument("--r-rake-max-n", type=int, default=1_000_000)
    parser.add_argument("--statsmodels-max-n", type=int, default=10_000)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-preview", action="store_true")
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument("--skip-diff", action="store_true")
    parser.add_argument("--skip-robustness", action="store_true")
    parser.add_argument("--calibration-n", type=int, default=1_000_000)
    parser.add_argument("--baseline", help="git revision whose author loop is measured side by "
                        "side with this checkout's (e.g. main)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)

    info = machine()
    parts = ["# Benchmark results", "",
             "Written by `make bench` (`python -m bench`); medians of several runs, ratios "
             "measured side by side. The machine is shared, so absolute times vary from run "
             "to run; the ratios and the per-row costs are what to compare.", "",
             *[f"- **{k}**: {v}" for k, v in info.items()], ""]
    if not args.skip_build:
        rows, profile = bench_build.run(args.repeat, baseline=args.baseline)
        parts += [build_section(rows, profile), findings(profile)]
    if not args.skip_preview:  # reads the build/paper the build scenarios leave in place
        parts.append(bench_preview.report(bench_preview.preview_edit_times(args.repeat + 4),
                                          bench_preview.manuscript_times(args.repeat)))
    if not args.skip_diff:  # also reads the build the build scenarios leave in place
        parts.append(bench_diff.report(bench_diff.run(args.repeat)))
    if not args.skip_robustness:
        parts.append(bench_robustness.report(bench_robustness.run(args.repeat, "small")))
    if not args.skip_scale:
        limits = {"others_max_n": args.others_max_n, "r_rake_max_n": args.r_rake_max_n,
                  "statsmodels_max_n": args.statsmodels_max_n}
        scale_rows, data_rows = bench_scale.run(args.sizes, args.rounds, limits, not args.no_r,
                                                log=lambda m: print(m, file=sys.stderr))
        parts.append(scale_section(scale_rows, data_rows, limits))
    if not args.skip_calibration:
        parts.append(calibration_section(bench_calibration.run(args.calibration_n,
                                                               max(args.rounds, 5))))
    text = "\n".join(parts)
    if args.output.exists():
        previous = args.output.read_text(encoding="utf-8")
        kept = carried_over(previous, text)
        text = text + ("\n" + kept if kept else "")
    print(text)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
