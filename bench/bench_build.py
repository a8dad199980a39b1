"""Benchmark of the author loop: how long the build takes, and which rules rerun.

Measured in a scratch copy of the project with dependencies already installed:
cold build, no-op rebuild, rebuild after editing one sentence of prose, after
changing one interview code, and after changing one model specification.
Reports medians of several runs; it is a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.buildutil import copy_project, planned_rules, snakemake


def _timed(project: Path) -> float:
    started = time.perf_counter()
    snakemake(project)
    return time.perf_counter() - started


def _edit_prose(project: Path, i: int) -> None:
    article = project / "paper/index.qmd"
    text = article.read_text()
    article.write_text(text.replace("\n# Introduction", f"\n# Introduction\n\nEdit {i}.", 1))


def _edit_model_spec(project: Path, i: int) -> None:
    config = project / "config/config.yaml"
    text = config.read_text()
    marker = "  max_iter_newton: "
    if marker in text:
        head, tail = text.split(marker, 1)
        value, rest = tail.split("\n", 1)
        config.write_text(f"{head}{marker}{int(value) + 1}\n{rest}")


def _edit_interview_code(project: Path, i: int) -> None:
    from analysis.simulate_interviews import recode_one_segment

    recode_one_segment(project, i)


SCENARIOS: dict[str, Callable[[Path, int], None]] = {
    "prose edit": _edit_prose,
    "interview code change": _edit_interview_code,
    "model specification change": _edit_model_spec,
}


def run(repeat: int) -> list[dict[str, object]]:
    """Time every scenario ``repeat`` times; return rows for the results table."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cold = []
        for i in range(repeat):
            project = copy_project(Path(tmp) / f"cold{i}")
            cold.append(_timed(project))
        rows.append({"scenario": "cold build", "median_s": statistics.median(cold),
                     "runs": len(cold), "rules": "all"})
        noop = [_timed(project) for _ in range(repeat)]
        rows.append({"scenario": "no-op rebuild", "median_s": statistics.median(noop),
                     "runs": len(noop), "rules": "none"})
        for name, edit in SCENARIOS.items():
            times, reran = [], set()
            for i in range(repeat):
                try:
                    edit(project, i)
                except (ImportError, AttributeError) as exc:
                    rows.append({"scenario": name, "median_s": float("nan"), "runs": 0,
                                 "rules": f"not measured: {exc}"})
                    break
                reran = planned_rules(project)
                times.append(_timed(project))
            else:
                rows.append({"scenario": name, "median_s": statistics.median(times),
                             "runs": len(times), "rules": ", ".join(sorted(reran))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for row in run(args.repeat):
        print(f"{row['scenario']:<28} {row['median_s']:8.2f} s  (median of {row['runs']})  "
              f"reran: {row['rules']}")


if __name__ == "__main__":
    main()
