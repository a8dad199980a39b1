"""Benchmark: the paper's cold build through profiles/slurm against the local build, on the
same machine, side by side (goal: the SLURM build within 2x the local one).

A single-node SLURM cluster runs on localhost (tests/slurm_cluster.py, without accounting;
needs root and Debian's slurm-wlm, installed when missing). Each round builds one scratch
copy locally (`snakemake --cores 2`) and one through the profile as profiles/slurm/README.md
says (`make cluster-env`, then `.venv-slurm/bin/snakemake --profile profiles/slurm`),
alternating which goes first. Reports medians and the ratio of medians; writes
bench/RESULTS-slurm.md. A benchmark, never a test.

    .venv/bin/python -m bench.bench_slurm [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.buildutil import ROOT, SNAKEMAKE, cluster_env, copy_project, project_env
from tests.slurm_cluster import single_node_cluster

OUTPUT = ROOT / "bench" / "RESULTS-slurm.md"
GOAL_RATIO = 2.0


def _timed(argv: list[str], project: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True,
                          timeout=1800)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr}")
    return seconds


def run(repeat: int, workdir: Path) -> dict[str, list[float]]:
    """Cold builds: ``repeat`` local and ``repeat`` SLURM ones, alternating."""
    env_project = copy_project(workdir / "env")
    cluster_env(env_project)
    times: dict[str, list[float]] = {"local": [], "slurm": []}
    with single_node_cluster(workdir / "cluster", accounting=False) as info:
        for i in range(repeat):
            order = ["local", "slurm"] if i % 2 == 0 else ["slurm", "local"]
            for route in order:
                project = copy_project(workdir / f"{route}-{i}")
                if route == "local":
                    argv = [SNAKEMAKE, "--cores", "2"]
                    env = project_env(project)
                else:
                    for venv in (".venv", ".venv-slurm"):
                        (project / venv).symlink_to(env_project / venv)
                    argv = [".venv-slurm/bin/snakemake", "--profile", "profiles/slurm"]
                    env = info.client_env(project_env(project))
                times[route].append(_timed(argv, project, env))
                print(f"{route} build {i + 1}: {times[route][-1]:.1f} s", flush=True)
                shutil.rmtree(project, ignore_errors=True)
    return times


def report(times: dict[str, list[float]]) -> str:
    local, slurm = (statistics.median(times[r]) for r in ("local", "slurm"))
    ratio = slurm / local
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    runs = {r: ", ".join(f"{t:.1f}" for t in times[r]) for r in times}
    verdict = "met" if ratio <= GOAL_RATIO else "not met"
    return f"""# SLURM build against the local build

Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores (load average
after the runs: {load}; the machine is shared, so compare the ratio, not the seconds).
Single-node SLURM 22.05 on localhost without accounting; profiles/slurm as shipped
(squeue status checks, first check after 2 s); the model fit is the only SLURM job.
On one machine the SLURM job's CPUs come on top of Snakemake's two local cores, so
under load the SLURM route can even be the faster one.

| route | median s | runs s |
|---|---|---|
| local (`snakemake --cores 2`) | {local:.1f} | {runs["local"]} |
| SLURM (`--profile profiles/slurm`) | {slurm:.1f} | {runs["slurm"]} |

Ratio of medians SLURM / local: **{ratio:.2f}** (goal <= {GOAL_RATIO:.0f}: {verdict}).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-slurm-") as tmp:
        text = report(run(args.repeat, Path(tmp)))
    print(text)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
