"""Benchmark of `make diff`: with the base built once, a diff after a one-sentence change.

In a scratch git repository made from this checkout's sources (and a copy of its last
build, so nothing is built from scratch): tag the base, run one diff (the base is built in
its scratch tree from the copied build), then edit one sentence and time the whole
`python -m paperkit.diff --base <tag>` -- current build, highlighted PDF and DOCX,
numbers.csv, changes.html -- end to end. Goal: under 15 s on 2 cores. A benchmark,
never a test.

    .venv/bin/python -m bench.bench_diff [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paperkit.diff import seed
from tests.buildutil import ROOT, copy_project, project_env, snakemake

GOAL_S = 15.0
SENTENCE = ("Two observations frame this paper.", "Two observations frame this study.")
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _diff(project: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (all processes of the diff) and its summary line."""
    started, cpu = time.monotonic(), _cpu()
    proc = subprocess.run([sys.executable, "-m", "paperkit.diff", "--base", "bench-base",
                           "--target", "paper_inputs", "--cores", "2"], cwd=project,
                          env=project_env(project), capture_output=True, text=True)
    took = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench_diff: the diff failed:\n{proc.stdout}\n{proc.stderr}")
    return took, _cpu() - cpu, proc.stdout


def _phases(stdout: str) -> str:
    match = re.search(r"\(([\d.]+ s: .*)\)", stdout)
    return match.group(1) if match else ""


def run(repeat: int) -> dict[str, object]:
    """Seconds of the first diff (base built) and of each diff after a sentence edit."""
    if not (ROOT / "build" / "paper" / "_variables.yml").is_file():
        raise SystemExit("bench_diff: build the paper first (make paper)")
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as tmp:
        project = copy_project(Path(tmp) / "project")
        seed(ROOT, project)
        snakemake(project, "paper_inputs")
        _git(project, "init", "-q")
        _git(project, "add", "-A")
        _git(project, "commit", "-qm", "base")
        _git(project, "tag", "bench-base")
        first, _, first_out = _diff(project)
        article = project / "paper" / "index.qmd"
        times, cpus, phases = [], [], []
        for i in range(repeat):
            old, new = SENTENCE if i % 2 == 0 else SENTENCE[::-1]
            text = article.read_text(encoding="utf-8")
            if old not in text:
                raise SystemExit(f"bench_diff: the sentence {old!r} is not in paper/index.qmd")
            article.write_text(text.replace(old, new, 1), encoding="utf-8")
            took, cpu, out = _diff(project)
            times.append(took)
            cpus.append(cpu)
            phases.append(_phases(out))
    return {"first_s": first, "first_phases": _phases(first_out), "times": times,
            "phases": phases, "median_s": statistics.median(times), "cpus": cpus,
            "load": os.getloadavg()[0], "goal_s": GOAL_S}


def report(result: dict[str, object]) -> str:
    """The section of bench/RESULTS.md."""
    times = result["times"]
    median = result["median_s"]
    lines = ["## Revision diff (`make diff BASE=<rev>`)", "",
             "Scratch repository from this checkout with a copy of its build; `--cores 2`.", "",
             f"- first diff against the tag (base built in its scratch tree from the copied "
             f"build): {result['first_s']:.1f} s ({result['first_phases']})",
             f"- after a one-sentence edit, base cached: median {median:.1f} s over "
             f"{len(times)} runs ({', '.join(f'{t:.1f}' for t in times)} s); goal "
             f"<= {result['goal_s']:g} s: {'met' if median <= result['goal_s'] else 'NOT met'}",
             f"- CPU time of all its processes (user + system), which the machine's load "
             f"does not inflate: median {statistics.median(result['cpus']):.1f} s "
             f"({', '.join(f'{c:.1f}' for c in result['cpus'])} s); load average at the end "
             f"{result['load']:.1f} on {os.cpu_count()} cores",
             *[f"  - run {i + 1}: {p}" for i, p in enumerate(result["phases"])], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(report(run(args.repeat)))


if __name__ == "__main__":
    main()
