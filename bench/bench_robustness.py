"""Benchmark of the robustness grid: cost per specification and scaling from 1 to 2 cores.

In a scratch copy of the project (tests/buildutil.py) the grid's inputs are built once;
then the grid alone (shared step, batches, summary) is run with ``--cores 1`` and
``--cores 2``, alternating, and the paper's own analysis chain (clean, weight, describe,
model, themes) once with ``--cores 1`` for comparison. Medians of several runs; it is a
benchmark, never a test.

    .venv/bin/python -m bench.bench_robustness [--repeat 3] [--grid small]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from analysis.project import load_config
from analysis.robustness.grid import build_grid
from tests.buildutil import SNAKEMAKE, copy_project, project_env

GRID_TARGET = "results/robustness/summary.json"
ANALYSIS = ["results/models.json", "results/descriptives.json", "results/themes.json"]
FIRST_STAGE = ["clean", "themes"]


def _snakemake(project: Path, cores: int, *args: str) -> float:
    """Wall seconds of one Snakemake run in ``project``."""
    started = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, "--cores", str(cores), *args], cwd=project,
                          env=project_env(project), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - started


def _grid_run(project: Path, cores: int, grid: str) -> float:
    shutil.rmtree(project / "results" / "robustness", ignore_errors=True)
    return _snakemake(project, cores, GRID_TARGET, "--config", f"robustness={{grid: {grid}}}")


def _in_function(project: Path) -> float:
    """Seconds inside the batch functions (the rules' "finished in" log lines)."""
    total = 0.0
    for log in (project / "logs").glob("robustness_batch_*.log"):
        found = re.findall(r"finished in ([0-9.]+) s", log.read_text(encoding="utf-8"))
        total += float(found[-1]) if found else 0.0
    return total


def run(repeat: int, grid: str, workdir: Path | None = None) -> dict[str, object]:
    """Median wall time of the grid on 1 and 2 cores, per specification, and the chain."""
    config = load_config()
    config["robustness"]["grid"] = grid
    n_specs = len(build_grid(config))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        project = copy_project(Path(tmp) / "project")
        _snakemake(project, 2, "results/overlap.json", "results/residents.json", *ANALYSIS)
        walls: dict[int, list[float]] = {1: [], 2: []}
        inside: list[float] = []
        for _ in range(repeat):
            for cores in (1, 2):
                walls[cores].append(_grid_run(project, cores, grid))
                inside.append(_in_function(project))
        chain = [_snakemake(project, 1, "--forcerun", *FIRST_STAGE, *ANALYSIS)
                 for _ in range(repeat)]
        summary = json.loads((project / GRID_TARGET).read_text(encoding="utf-8"))
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    return {"grid": grid, "n_specs": n_specs, "n_feasible": summary["n_feasible"],
            "load": os.getloadavg()[1], "repeat": repeat, "wall_1": one, "wall_2": two,
            "per_spec_1": one / n_specs, "per_spec_2": two / n_specs, "speedup": one / two,
            "inside_per_spec": statistics.median(inside) / n_specs,
            "chain_1": statistics.median(chain)}


def report(res: dict) -> str:
    """The robustness section of bench/RESULTS.md."""
    rows = [
        ["1", f"{res['wall_1']:.1f}", f"{res['per_spec_1']:.2f}", "1.00"],
        ["2", f"{res['wall_2']:.1f}", f"{res['per_spec_2']:.2f}", f"{res['speedup']:.2f}"],
    ]
    lines = ["| cores | grid wall s | s per specification | speed-up |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join([
        f"## Robustness grid `{res['grid']}` ({res['n_specs']} specifications)", "",
        "`bench/bench_robustness.py`: the grid alone (shared cleaning, batches, summary) in a "
        "scratch copy whose other results are built, `--cores 1` and `--cores 2` alternating, "
        f"median of {res['repeat']}; {res['n_feasible']} of the specifications are feasible "
        "(the others stop at the raking, at almost no cost). Load average over the last five "
        f"minutes at the end: {res['load']:.1f} (on a loaded machine the 1 -> 2 core speed-up "
        "says little; compare it on an idle one).", "",
        *lines, "",
        f"Per feasible specification: {res['wall_1'] / res['n_feasible']:.2f} s on one core. "
        f"Inside the batch functions: {res['inside_per_spec']:.2f} s per specification (the "
        "rest is interpreter start-up and imports of each job). The paper's own analysis "
        f"chain (clean, weight, describe, model, themes) takes {res['chain_1']:.1f} s on one "
        f"core: one specification costs {res['per_spec_1'] / res['chain_1']:.0%} of it.", ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--grid", default="small")
    args = parser.parse_args(argv)
    print(report(run(args.repeat, args.grid)))


if __name__ == "__main__":
    main()
