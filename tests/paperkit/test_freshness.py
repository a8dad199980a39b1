"""Outputs are fresh when built from the current content: recorded by the job that used it.

A tiny two-rule workflow (raw file -> cleaned -> paper) runs the project's pre-flight and
rule glue (paperkit.preflight, paperkit.rules.run), so that the interleavings of the
issue -- ``cp -p`` copies, registrations, dry runs, builds stopped after the pre-flight,
re-copies -- run in seconds. The full-project versions are in tests/robustness/.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from paperkit.freshness import BUILT, OUT_OF_DATE, Digests, stale_outputs, write_record
from paperkit.manifest import register
from paperkit.preflight import BuildRunning, preflight
from tests.buildutil import ROOT

OLD = 1_500_000_000_000_000_000  # an mtime years ago, in ns
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
RAW = "data/raw/x.csv"
MANIFEST = "data/raw/MANIFEST.sha256"

SNAKEFILE = """
from paperkit.preflight import preflight, workflow_outputs

# As the project's `all`: every intermediate is a target, so that one a failed job
# took away is rebuilt (and its downstream with it).
rule all:
    input: "out/paper.txt", "out/clean.txt"

rule clean:
    input: raw="data/raw/x.csv", code="steps.py"
    output: "out/clean.txt"
    script: "clean.py"

rule paper:
    input: "out/clean.txt"
    output: "out/paper.txt"
    script: "paper.py"

if workflow.is_main_process:
    preflight(".", ["data/raw/x.csv"], "data/raw/MANIFEST.sha256", "make register-data",
              outputs=workflow_outputs(workflow.rules), paper=["out/paper.txt"])

onerror:
    from paperkit.freshness import mark_paper_out_of_date
    mark_paper_out_of_date(".", ["out/paper.txt"], "the last build stopped")

onsuccess:
    from paperkit.freshness import clear_out_of_date
    clear_out_of_date("out")
"""
STEPS = """
from pathlib import Path

def copy(src, dst, prefix):
    text = Path(src).read_text()
    if "bad" in text:
        raise ValueError(f"{src}: line 1: bad value")
    Path(dst).write_text(prefix + text)
"""
CLEAN = """
from paperkit.rules import run
from steps import copy
run(snakemake, copy, src=snakemake.input.raw, dst=snakemake.output[0], prefix="clean:")
"""
PAPER = """
from paperkit.rules import run
from steps import copy
run(snakemake, copy, src=snakemake.input[0], dst=snakemake.output[0], prefix="paper:")
"""


def _file(root: Path, rel: str, data: bytes, mtime_ns: int = OLD) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def _cp_p(root: Path, data: bytes) -> None:
    """What ``cp -p`` of a file with the old mtime does: new bytes, the old mtime."""
    _file(root, RAW, data)


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    for name, text in {"Snakefile": SNAKEFILE, "steps.py": STEPS, "clean.py": CLEAN,
                       "paper.py": PAPER}.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    _cp_p(tmp_path, b"one\n")
    register([], MANIFEST, tmp_path)
    return tmp_path


def _smk(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{root}:{ROOT}"}
    env.pop("PAPERKIT_BUILD_PID", None)
    return subprocess.run([SNAKEMAKE, "--cores", "1", *args], cwd=root, env=env,
                          capture_output=True, text=True)


def _build(root: Path) -> None:
    proc = _smk(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _paper(root: Path) -> str:
    return (root / "out/paper.txt").read_text()


def test_copies_dry_runs_and_recopies_end_in_a_paper_from_the_registered_content(
        flow: Path):
    _build(flow)
    assert _paper(flow) == "paper:clean:one\n"
    _cp_p(flow, b"two\n")
    register([], MANIFEST, flow)
    for dry in (["-n"], ["--rulegraph"], ["--lint"]):  # parse the workflow, build nothing
        _smk(flow, *dry)
    _cp_p(flow, b"two\n")  # the sync script run a second time
    _build(flow)
    assert _paper(flow) == "paper:clean:two\n"
    assert "Nothing to be done" in _smk(flow).stdout + _smk(flow).stderr


def test_a_build_stopped_after_its_preflight_leaves_the_next_build_the_same_decision(
        flow: Path):
    _build(flow)
    _cp_p(flow, b"three\n")
    register([], MANIFEST, flow)
    preflight(flow, [RAW], MANIFEST, "make register-data")  # the pre-flight alone
    _cp_p(flow, b"three\n")
    _build(flow)
    assert _paper(flow) == "paper:clean:three\n"


def test_the_preflight_never_writes_into_the_raw_data_and_a_read_only_copy_builds(
        flow: Path):
    _build(flow)
    _cp_p(flow, b"four\n")
    register([], MANIFEST, flow)
    raw = flow / "data/raw"
    for path in [raw / "x.csv", raw / "MANIFEST.sha256", raw]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        before = (raw / "x.csv").stat().st_mtime_ns
        _build(flow)
        assert _paper(flow) == "paper:clean:four\n"
        assert (raw / "x.csv").stat().st_mtime_ns == before == OLD
    finally:
        raw.chmod(raw.stat().st_mode | stat.S_IWUSR)


def test_an_unregistered_change_stops_the_build_and_marks_the_paper_out_of_date(
        flow: Path):
    _build(flow)
    _cp_p(flow, b"five\n")
    proc = _smk(flow)
    assert proc.returncode != 0
    assert "data/raw/x.csv: changed since it was registered" in proc.stderr
    assert "make paper" in (flow / "out" / OUT_OF_DATE).read_text()
    _cp_p(flow, b"one\n")  # put back: the paper matches its inputs again
    assert "Nothing to be done" in _smk(flow, "-n").stdout
    assert not (flow / "out" / OUT_OF_DATE).exists()


def test_a_dry_run_on_changed_content_changes_nothing_once_the_content_is_back(
        flow: Path):
    _build(flow)
    before = {p: (flow / p).stat().st_mtime_ns for p in ("out/clean.txt", "out/paper.txt")}
    _cp_p(flow, b"six\n")
    register([], MANIFEST, flow)
    planned = _smk(flow, "-n")
    assert "clean" in planned.stdout and (flow / "out" / OUT_OF_DATE).is_file()
    _cp_p(flow, b"one\n")
    register([], MANIFEST, flow)
    assert "Nothing to be done" in _smk(flow, "-n").stdout
    assert {p: (flow / p).stat().st_mtime_ns for p in before} == before
    assert not (flow / "out" / OUT_OF_DATE).exists()


def test_a_failed_job_leaves_a_note_that_the_paper_is_out_of_date(flow: Path):
    _build(flow)
    _cp_p(flow, b"bad\n")
    register([], MANIFEST, flow)
    proc = _smk(flow)
    assert proc.returncode != 0 and "data/raw/x.csv: line 1: bad value" in proc.stderr
    assert "stopped with an error" in (flow / "out" / OUT_OF_DATE).read_text()
    _cp_p(flow, b"seven\n")
    register([], MANIFEST, flow)
    _build(flow)
    assert _paper(flow) == "paper:clean:seven\n"
    assert not (flow / "out" / OUT_OF_DATE).exists()


def test_an_output_without_a_record_is_rebuilt_once(flow: Path):
    _build(flow)
    shutil.rmtree(flow / BUILT)
    proc = _smk(flow, "-n")
    assert "2 output(s) have no record of what they were built from" in proc.stderr
    _build(flow)
    assert "Nothing to be done" in _smk(flow).stdout + _smk(flow).stderr


def test_a_code_change_under_an_old_mtime_reruns_the_job(flow: Path):
    _build(flow)
    _file(flow, "steps.py", (flow / "steps.py").read_bytes().replace(b'prefix + text',
                                                                      b'prefix + text.upper()'))
    _build(flow)
    assert _paper(flow) == "paper:CLEAN:ONE\n"  # clean reran with the new code


def test_stale_outputs_compare_records_with_content_not_times(tmp_path: Path):
    _file(tmp_path, "in.txt", b"a")
    _file(tmp_path, "out.txt", b"A")
    write_record(["out.txt"], {"in.txt": Digests(tmp_path)("in.txt")}, tmp_path)
    assert stale_outputs(tmp_path, ["out.txt"], Digests(tmp_path)) == {}
    _file(tmp_path, "in.txt", b"b")  # same old mtime, other content
    assert stale_outputs(tmp_path, ["out.txt"], Digests(tmp_path)) == {
        "out.txt": "built from other content of in.txt"}


def test_a_second_build_is_refused_without_suggesting_to_remove_the_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("paperkit.preflight.live_snakemake", lambda root: [4242])
    monkeypatch.setattr(sys, "argv", ["snakemake", "--cores", "2"])
    with pytest.raises(BuildRunning, match=r"another build is running[\s\S]*Wait until") as err:
        preflight(tmp_path, [], MANIFEST, "make register-data")
    assert "--unlock" not in str(err.value)


def test_a_dry_run_next_to_a_running_build_is_allowed_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _file(tmp_path, "in.txt", b"a")
    _file(tmp_path, "out.txt", b"A")
    write_record(["out.txt"], {"in.txt": "another digest"}, tmp_path)
    register([], MANIFEST, tmp_path)
    monkeypatch.setattr("paperkit.preflight.live_snakemake", lambda root: [4242])
    for argv in (["snakemake", "-n"], ["snakemake", "--lint"], ["snakemake", "-np"]):
        monkeypatch.setattr(sys, "argv", argv)
        assert preflight(tmp_path, [], MANIFEST, "x", outputs=["out.txt"]) == {}
    assert (tmp_path / "out.txt").stat().st_mtime_ns == OLD
