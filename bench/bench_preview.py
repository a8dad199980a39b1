"""Benchmark of `make preview`: one sentence edited -> preview page updated.

Runs the preview (paperkit/preview.py) on a scratch copy of paper/ and of the built staged
project (build/paper, made by `make paper` or `snakemake paper_inputs`), with its watcher
polling as in `make preview`, and times from the save of an edited sentence to the new
version of the page, end to end (change detection, copy, HTML render). Goal: <= 2 s
median on 2 cores. Also times the manuscript step of each engine for all four formats,
side by side, when Quarto is on PATH. It is a benchmark, never a test.

    .venv/bin/python -m bench.bench_preview [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from paperkit.preview import Preview, watch
from paperkit.quarto import quarto_version
from paperkit.render import render_manuscript

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ["_variables.yml", "_traces.json", "notebooks"]  # as `make preview` passes them
GOAL_S = 2.0
SENTENCE = ("Two observations frame this paper.", "Two observations frame this study.")


def _copy_paper(tmp: Path) -> tuple[Path, Path]:
    stage = ROOT / "build" / "paper"
    if not (stage / "_variables.yml").is_file():
        raise SystemExit("bench_preview: build the paper first (make paper)")
    source = tmp / "paper"
    shutil.copytree(ROOT / "paper", source, ignore=shutil.ignore_patterns(*GENERATED,
                                                                           "_manuscript"))
    staged = tmp / "stage"
    shutil.copytree(stage, staged, ignore=shutil.ignore_patterns("_manuscript", ".quarto"))
    return source, staged


def preview_edit_times(repeat: int) -> list[float]:
    """Seconds from saving an edited sentence to the page's new version, per edit."""
    with tempfile.TemporaryDirectory() as tmp:
        source, stage = _copy_paper(Path(tmp))
        preview = Preview(source, stage, Path(tmp) / "preview", GENERATED)
        preview.rebuild(pipeline=True)
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(preview, [], stop), daemon=True)
        watcher.start()
        time.sleep(1.0)  # let the watcher take its first snapshot before the first edit
        article = source / "index.qmd"
        times = []
        for i in range(repeat):
            old, new = SENTENCE if i % 2 == 0 else SENTENCE[::-1]
            text = article.read_text(encoding="utf-8")
            if old not in text:
                raise SystemExit(f"bench_preview: sentence {old!r} not in paper/index.qmd")
            version = preview.version
            start = time.perf_counter()
            article.write_text(text.replace(old, new), encoding="utf-8")
            while preview.version == version:
                if time.perf_counter() - start > 300:
                    raise SystemExit("bench_preview: the preview did not update within 300 s")
                time.sleep(0.01)
            times.append(time.perf_counter() - start)
            if preview.error:
                raise SystemExit(f"bench_preview: render failed: {preview.error}")
            time.sleep(0.3)
        stop.set()
        watcher.join()
    return times


def manuscript_times(repeat: int) -> dict[str, list[float]]:
    """Seconds for the manuscript step, all four formats, per engine available."""
    engines = ["self"] + (["quarto"] if quarto_version() else [])
    times: dict[str, list[float]] = {e: [] for e in engines}
    with tempfile.TemporaryDirectory() as tmp:
        _, stage = _copy_paper(Path(tmp))
        for _ in range(repeat):
            for engine in engines:
                start = time.perf_counter()
                render_manuscript(stage, ["html", "pdf", "docx", "jats"],
                                  out_dir=Path(tmp) / engine, engine=engine)
                times[engine].append(time.perf_counter() - start)
    return times


def report(edits: list[float], steps: dict[str, list[float]]) -> str:
    med = statistics.median(edits)
    lines = ["## Preview and manuscript step", "",
             "| measurement | median s | min-max s | runs | goal |", "|---|---|---|---|---|",
             f"| sentence edit -> preview updated (`make preview`, HTML) | {med:.2f} | "
             f"{min(edits):.2f}-{max(edits):.2f} | {len(edits)} | <= {GOAL_S:.0f} s: "
             f"{'met' if med <= GOAL_S else 'NOT met'} |"]
    for engine, values in steps.items():
        lines.append(f"| manuscript step, four formats, engine {engine} | "
                     f"{statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f} | "
                     f"{len(values)} | - |")
    if "quarto" in steps:
        ratio = statistics.median(steps["quarto"]) / statistics.median(steps["self"])
        lines += ["", f"Quarto takes {ratio:.0f}x the self-render's time for the same four "
                      "formats (medians, measured side by side)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="runs per engine")
    args = parser.parse_args()
    print(report(preview_edit_times(args.repeat), manuscript_times(args.steps)))


if __name__ == "__main__":
    main()
