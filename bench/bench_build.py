"""Benchmark of the author loop: how long the build takes, and which rules rerun.

Measured in scratch copies of the project (tests/buildutil.py) with dependencies already
installed: cold build, no-op rebuild, no-op `make paper`, rebuild after editing one
sentence of prose, after changing one interview code, after changing one document code of
the civilized-city strand, and after changing one model specification. Reports the median
of several runs, the peak memory of the largest process, the rules each scenario reran,
and the ratio of the median to the yardstick: the median cost of starting Python with
pandas and matplotlib (`python -c "import pandas, matplotlib"`), measured between the runs
of the same session, so that the ratio holds on a machine slower or busier than the last.
With ``--baseline REV`` the same scenarios run on a copy of that git revision too, runs of
the two alternating, so before and after are measured side by side. Where a goal is
missed, the step that holds it is named (the scenario's longest jobs) with the floor under
it (Snakemake's own no-op). Snakemake runs as `make paper` runs it, its jobs in the forks
of a warm worker (paperkit/warm.py; none runs before a cold build, which starts it), and
the peak counts those forks. The cold build is also profiled stage by stage (job wall time
from the Snakemake log, time inside the analysis function from each rule's "finished in"
log line). It is a benchmark, never a test.

    .venv/bin/python -m bench.bench_build [--repeat 3] [--baseline main]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from paperkit import warm
from tests.buildutil import ROOT, SNAKEMAKE, copy_project, make_command, project_env

INTERVIEWS = "data/raw/interviews/scs_interviews.qdpx"
DOCUMENTS = "data/raw/civilized/civilized_documents.qdpx"
QDE_NS = "urn:QDA-XML:project:1.0"
# One sentence of the introduction, toggled between two wordings by the prose scenario.
PROSE = ("are a family of rating schemes rather than",
         "are a family of scoring schemes rather than")
# The goals of issue 28 on 2 cores (the prose edit rebuilds all four formats).
GOALS_S = {"cold build": 10.0, "no-op make paper": 0.8, "prose edit": 3.0,
           "interview code change": 6.0, "model specification change": 6.0}
YARDSTICK = [sys.executable, "-c", "import pandas, matplotlib"]


class BenchSetupError(RuntimeError):
    """A scenario could not edit the scratch copy (the file it edits changed shape)."""


@dataclass
class Timed:
    """One build: wall seconds, the rules Snakemake ran (from its job table), the peak
    resident memory of its largest process (MB) and its job walls (from its log)."""

    seconds: float
    rules: dict[str, int]
    peak_mb: float = 0.0
    jobs: dict[str, float] | None = None


def rules_run(output: str) -> dict[str, int]:
    """Rules (with job counts) in the "Job stats" table Snakemake prints before running."""
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    found = re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.MULTILINE)
    return {rule: int(n) for rule, n in found if rule not in ("total", "all")}


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None
                 ) -> tuple[float, float, str]:
    """Run ``command``; wall seconds, peak RSS in MB of its largest process, its output.

    The peak is the kernel's ``ru_maxrss`` of the reaped child, which on Linux is the
    largest of the child and every descendant it waited for (Snakemake's jobs).
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {cwd}:\n{text[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, text


def _newest_log(project: Path) -> Path | None:
    logs = sorted((project / ".snakemake/log").glob("*.snakemake.log"))
    return logs[-1] if logs else None


def warm_modules(project: Path) -> str:
    """The modules `make paper` has the warm worker preload (paperkit/warm.py); empty for
    a revision without one."""
    proc = subprocess.run(["make", "--no-print-directory", "-s", "warm-modules"], cwd=project,
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def build_command(project: Path) -> list[str]:
    """How `make paper` runs Snakemake in ``project`` (through the warm launcher, with this
    interpreter, and its arguments); ``snakemake --cores 2`` for a revision without that
    Makefile target."""
    proc = subprocess.run(["make", "--no-print-directory", "-s", "build-command",
                           f"BIN={Path(sys.executable).parent}"], cwd=project,
                          capture_output=True, text=True)
    if proc.returncode == 0 and proc.stdout.strip():
        return proc.stdout.split()
    return [SNAKEMAKE, "--cores", "2"]


def build_env(project: Path, peaks: Path) -> dict[str, str]:
    """The environment `make paper` gives Snakemake (the warm worker's modules), with each
    warm fork writing its peak memory to ``peaks``."""
    return project_env(project, **{warm.ENV: warm_modules(project), warm.PEAKS_ENV: str(peaks)})


def _measured_build(command: list[str], project: Path) -> tuple[float, float, str]:
    """Wall seconds, the peak of the largest process (a job run in a warm worker's fork
    included), output."""
    with tempfile.TemporaryDirectory(prefix="peaks-") as peaks:
        seconds, peak, text = run_measured(command, project, build_env(project, Path(peaks)))
        forks = [int(p.read_text()) / 1024 for p in Path(peaks).glob("*.kib")]
    return seconds, max([peak, *forks]), text


def timed_build(project: Path) -> Timed:
    """Run the default target once, as `make paper` runs it; time it and record which
    rules ran."""
    seconds, peak, text = _measured_build(build_command(project), project)
    rules = rules_run(text)
    log = _newest_log(project)
    return Timed(seconds, rules, peak, job_walls(log) if rules and log else {})


def cold_build(project: Path) -> Timed:
    """:func:`timed_build` with no warm worker running for ``project``: it starts one."""
    warm.stop(project)
    return timed_build(project)


def timed_make_paper(project: Path) -> Timed:
    """Run `make paper` once, the author's command (pre-flight, build, report)."""
    seconds, peak, text = _measured_build(make_command(project), project)
    return Timed(seconds, rules_run(text), peak, {})


def yardstick() -> float:
    """Seconds to start Python and import pandas and matplotlib, once."""
    return run_measured(YARDSTICK, ROOT)[0]


def copy_revision(rev: str, dst: Path) -> Path:
    """The sources of git revision ``rev`` of this checkout, as ``git archive`` gives them."""
    dst.mkdir(parents=True)
    archive = dst.with_suffix(".tar")
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dst, filter="data")
    archive.unlink()
    return dst


# ------------------------------------------------------------------------- the three edits


def edit_prose(project: Path, i: int) -> None:
    """Reword one sentence of the introduction (alternating between two wordings)."""
    article = project / "paper/index.qmd"
    text = article.read_text(encoding="utf-8")
    old, new = PROSE if i % 2 == 0 else PROSE[::-1]
    if old not in text:
        raise BenchSetupError(f"{article}: sentence fragment {old!r} not found")
    article.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_model_spec(project: Path, i: int) -> None:
    """Raise models.max_iter by one: a real model-specification key, so `model` reruns."""
    config = project / "config/config.yaml"
    text = config.read_text(encoding="utf-8")
    section = re.search(r"^models:\n", text, flags=re.MULTILINE)
    match = section and re.compile(r"^  max_iter: (\d+)$", re.MULTILINE).search(
        text, section.end())
    if not match:
        raise BenchSetupError(f"{config}: key models.max_iter not found")
    value = int(match.group(1)) + 1
    config.write_text(text[: match.start(1)] + str(value) + text[match.end(1):], encoding="utf-8")


def _leaf_codes(qde: bytes, root_name: str) -> list[str]:
    """GUIDs of the codable codes under the root code ``root_name``, in order."""
    q = f"{{{QDE_NS}}}"
    root = ET.fromstring(qde)
    for top in root.iter(f"{q}Code"):
        if top.get("name") == root_name:
            return [c.get("guid", "") for c in top.iter(f"{q}Code") if c.get("isCodable") == "true"]
    raise BenchSetupError(f"project.qde: no code named {root_name!r}")


def _recode(project: Path, rel: str, root_name: str, i: int) -> str:
    """Recode one coding of a REFI-QDA project to the next code under ``root_name``.

    The i-th CodeRef (cycling) that points at such a code is pointed at the next one. Only
    that attribute changes: the ZIP keeps its entry order, dates and storage. The new
    checksum is recorded with `python -m paperkit.manifest register`, as an author who
    recodes in a QDA tool would do. Returns the GUID of the new code.
    """
    path = project / rel
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    qde = next(data for info, data in members if info.filename == "project.qde")
    codes = _leaf_codes(qde, root_name)
    refs = [m for m in re.finditer(rb'<CodeRef targetGUID="([0-9a-f-]+)"', qde)
            if m.group(1).decode() in codes]
    if not refs:
        raise BenchSetupError(f"{path}: no coding of a code under {root_name!r}")
    ref = refs[i % len(refs)]
    new = codes[(codes.index(ref.group(1).decode()) + 1) % len(codes)]
    qde = qde[: ref.start(1)] + new.encode() + qde[ref.end(1):]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for info, data in members:
            zf.writestr(info, qde if info.filename == "project.qde" else data)
    subprocess.run([sys.executable, "-m", "paperkit.manifest", "register", rel,
                    "--root", str(project), "--manifest", "data/raw/MANIFEST.sha256"],
                   cwd=project, check=True, capture_output=True)
    return new


def recode_one_segment(project: Path, i: int) -> str:
    """Recode one coded segment of the interview project to another barrier."""
    return _recode(project, INTERVIEWS, "Barriers", i)


def recode_one_document_unit(project: Path, i: int) -> str:
    """Recode one coding of the civilized-city documents to another overlap dimension."""
    return _recode(project, DOCUMENTS, "Overlap with social credit", i)


SCENARIOS: dict[str, Callable[[Path, int], object]] = {
    "prose edit": edit_prose,
    "interview code change": recode_one_segment,
    "document code change": recode_one_document_unit,
    "model specification change": edit_model_spec,
}


# ------------------------------------------------------------------------- profile


# Rules with one job per wildcard value, whose log files are named rule_<value> (the value is
# the last word of the job's message).
PER_WILDCARD = ("notebook", "robustness_batch")
_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$")


def job_walls(snakemake_log: Path) -> dict[str, float]:
    """Wall seconds of each job (1 s resolution), keyed like its log file (rule[_wildcard])."""
    start: dict[str, datetime] = {}
    message: dict[str, str] = {}
    walls: dict[str, float] = {}
    stamp = None
    for line in snakemake_log.read_text(encoding="utf-8").splitlines():
        if m := _STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif (m := re.match(r"^Job (\d+): (.*)$", line)) and stamp:
            start[m.group(1)], message[m.group(1)] = stamp, m.group(2)
        elif (m := re.match(r"^Finished jobid: (\d+) \(Rule: (\w+)\)", line)) and stamp:
            job, rule = m.groups()
            if job in start:
                key = (f"{rule}_{message[job].split()[-1]}" if rule in PER_WILDCARD
                       else rule)
                walls[key] = (stamp - start[job]).total_seconds()
    return walls


def function_times(project: Path) -> dict[str, float]:
    """Seconds inside the analysis function of each job, from logs/<job>.log."""
    out = {}
    for log in sorted((project / "logs").glob("*.log")):
        found = re.findall(r"finished in ([\d.]+) s", log.read_text(encoding="utf-8"))
        if found:
            out[log.stem] = sum(float(x) for x in found)
    return out


def profile_cold(project: Path) -> dict[str, object]:
    """Stage-by-stage profile of the cold build just run in ``project``."""
    logs = sorted((project / ".snakemake/log").glob("*.snakemake.log"))
    walls = job_walls(logs[0]) if logs else {}
    inside = function_times(project)
    return {"job_wall_s": walls, "function_s": inside,
            "sum_job_wall_s": sum(walls.values()), "sum_function_s": sum(inside.values())}


# The figure rules, which the profile of the cold build shows to be the slowest stages:
# rule -> (module, function, name of its results argument, results file).
PROFILABLE = {
    "figures_describe": ("analysis.figures.describe", "make_descriptive_figures",
                         "descriptives_json", "results/descriptives.json"),
    "figures_themes": ("analysis.figures.themes", "make_theme_figures", "themes_json",
                       "results/themes.json"),
    "figures_models": ("analysis.figures.models", "make_model_figures", "models_json",
                       "results/models.json"),
}
# Where a figure rule's time goes: pstats function name -> label (cumulative seconds).
_PARTS = {"savefig": "savefig (every format written)", "print_png": "PNG output",
          "print_pdf": "PDF output", "print_svg": "SVG output",
          "writeFonts": "PDF font embedding (TrueType subsetting)",
          "draw": "drawing (once per format written)"}
_PROFILE_CODE = """
import cProfile, importlib, json, pstats, sys, tempfile, time
sys.path.insert(0, ".")
t0 = time.perf_counter()
mod = importlib.import_module(sys.argv[1])
imported = time.perf_counter() - t0
fn = getattr(mod, sys.argv[2])
prof = cProfile.Profile()
with tempfile.TemporaryDirectory() as out:
    t0 = time.perf_counter()
    prof.runcall(fn, **{sys.argv[3]: sys.argv[4], "out_dir": out + "/f"})
    total = time.perf_counter() - t0
parts = {}
for (_file, _line, name), (_cc, _nc, _tt, ct, _callers) in pstats.Stats(prof).stats.items():
    if name in json.loads(sys.argv[5]):
        parts[name] = max(parts.get(name, 0.0), ct) if name == "draw" else parts.get(name, 0.0) + ct
print(json.dumps({"import_s": imported, "total_s": total, "parts": parts}))
"""


def profile_rule(project: Path, rule: str) -> dict[str, object] | None:
    """cProfile one figure rule's function in ``project``: where its seconds go."""
    if rule not in PROFILABLE:
        return None
    module, func, arg, results = PROFILABLE[rule]
    proc = subprocess.run(
        [sys.executable, "-c", _PROFILE_CODE, module, func, arg, results, json.dumps(_PARTS)],
        cwd=project, capture_output=True, text=True, check=True,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["rule"] = rule
    report["parts"] = {_PARTS[k]: v for k, v in report["parts"].items()}
    return report


# ------------------------------------------------------------------------- driver


def _row(scenario: str, runs: list[Timed], tree: str, stick: float) -> dict[str, object]:
    counts: dict[str, int] = {}
    for r in runs:
        for rule, n in r.rules.items():
            counts[rule] = max(counts.get(rule, 0), n)
    rules = [f"{k} x{n}" if n > 1 else k for k, n in sorted(counts.items())]
    median = statistics.median(r.seconds for r in runs)
    goal = GOALS_S.get(scenario)
    walls: dict[str, list[float]] = {}
    for r in runs:
        for job, wall in (r.jobs or {}).items():
            walls.setdefault(job, []).append(wall)
    return {"scenario": scenario, "tree": tree, "median_s": median,
            "min_s": min(r.seconds for r in runs), "max_s": max(r.seconds for r in runs),
            "runs": len(runs), "goal_s": goal, "ratio": median / stick,
            "peak_mb": max(r.peak_mb for r in runs),
            "meets_goal": None if goal is None else median <= goal,
            "jobs": {job: statistics.median(w) for job, w in walls.items()},
            "rules": ", ".join(rules) if rules else "none"}


def holders(rows: list[dict[str, object]], tree: str) -> list[dict[str, object]]:
    """For each missed goal of ``tree``: the longest jobs of the scenario, and its floor.

    The floor of every scenario is Snakemake's own start-up, workflow load and DAG check
    (the no-op rebuild); a rebuild cannot be faster than that plus its longest job.
    """
    by_name = {r["scenario"]: r for r in rows if r["tree"] == tree}
    noop = by_name.get("no-op rebuild", {}).get("median_s")
    out = []
    for row in by_name.values():
        if row["meets_goal"] is not False:
            continue
        longest = sorted(row["jobs"].items(), key=lambda kv: -kv[1])[:3]
        out.append({"scenario": row["scenario"], "median_s": row["median_s"],
                    "goal_s": row["goal_s"], "noop_s": noop, "longest": longest})
    return out


def run(repeat: int, workdir: Path | None = None, baseline: str | None = None
        ) -> tuple[list[dict[str, object]], dict]:
    """Time every scenario ``repeat`` times; return table rows and the cold-build profile.

    With ``baseline`` (a git revision) every scenario also runs on a copy of that revision,
    the two trees alternating run by run; rows carry ``tree`` ("this" or the revision).
    The yardstick is measured after every build, and each row's ratio is its median over
    the yardstick's median of the whole session.
    """
    trees = {"this": copy_project}
    if baseline:
        trees[baseline] = lambda dst: copy_revision(baseline, dst)
    sticks: list[float] = []

    def measured(fn: Callable[[Path], Timed], project: Path) -> Timed:
        timed = fn(project)
        sticks.append(yardstick())
        return timed

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        results: dict[tuple[str, str], list[Timed]] = {}
        projects: dict[str, Path] = {}
        profile: dict = {}
        for i in range(repeat):
            for tree, copy in trees.items():
                project = copy(Path(tmp) / f"{tree.replace('/', '_')}-cold{i}")
                results.setdefault((tree, "cold build"), []).append(
                    measured(cold_build, project))
                projects[tree] = project
                if i == 0 and tree == "this":
                    profile = profile_cold(project)
                    slowest = max((r for r in profile["function_s"] if r in PROFILABLE),
                                  key=profile["function_s"].get, default=None)
                    profile["slowest_rule_profile"] = slowest and profile_rule(project,
                                                                               slowest)
        for project in projects.values():
            timed_make_paper(project)  # the first run also writes the Snakemake report
        for name, fn in (("no-op rebuild", timed_build), ("no-op make paper", timed_make_paper)):
            for _ in range(repeat):
                for tree, project in projects.items():
                    results.setdefault((tree, name), []).append(measured(fn, project))
        for name, edit in SCENARIOS.items():
            for i in range(repeat):
                for tree, project in projects.items():
                    edit(project, i)
                    results.setdefault((tree, name), []).append(measured(timed_build, project))
        for project in Path(tmp).iterdir():
            warm.stop(project)
    stick = statistics.median(sticks)
    rows = [_row(name, runs, tree, stick) for (tree, name), runs in results.items()]
    order = {name: k for k, name in enumerate(["cold build", "no-op rebuild",
                                              "no-op make paper", *SCENARIOS])}
    rows.sort(key=lambda r: (order[r["scenario"]], r["tree"] != "this"))
    profile["yardstick"] = {"median_s": stick, "min_s": min(sticks), "max_s": max(sticks),
                            "runs": len(sticks)}
    profile["holders"] = holders(rows, "this")
    return rows, profile


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", help="git revision measured side by side (e.g. main)")
    args = parser.parse_args(argv)
    rows, profile = run(args.repeat, baseline=args.baseline)
    for row in rows:
        print(f"{row['scenario']:<28} {row['tree']:<10} {row['median_s']:8.2f} s "
              f"x{row['ratio']:.1f} yardstick  peak {row['peak_mb']:.0f} MB  "
              f"(median of {row['runs']})  reran: {row['rules']}")
    print(f"cold build: sum of job wall times {profile['sum_job_wall_s']:.0f} s, "
          f"inside analysis functions {profile['sum_function_s']:.1f} s")


if __name__ == "__main__":
    main()
