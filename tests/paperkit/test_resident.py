"""typst in a resident process (paperkit/resident.py): the same PDF, warnings and errors as
a compile in the job's own process, one process kept between compiles, and a compile in
the job's process wherever no resident process is used or can start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperkit import resident, warm
from tests.buildutil import warm_sandbox

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

DRIVER = '''
import json, sys
from pathlib import Path
from paperkit import resident
typ, pdf = Path(sys.argv[1]), Path(sys.argv[2])
try:
    print(json.dumps({"warnings": resident.compile_typst(typ, pdf, typ.parent, [], 0)}))
except resident.CompileError as exc:
    print(json.dumps({"error": [exc.message, exc.diagnostic]}))
'''
DOC = "#set page(width: 8cm, height: auto)\n= A heading\n\nSome text, version {n}.\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "driver.py").write_text(DRIVER)
    with warm_sandbox(tmp_path, "pr", resident.MAX_ENV) as env:
        yield tmp_path, env


def _compile(folder: Path, env: dict[str, str], source: str, pdf: str, **extra: str
             ) -> tuple[dict, str]:
    (folder / "doc.typ").write_text(source, encoding="utf-8")
    proc = subprocess.run([sys.executable, "driver.py", "doc.typ", pdf], cwd=folder,
                          env={**env, **extra}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def _resident_pids(folder: Path) -> list[int]:
    return [pid for pid in warm.workers(folder)
            if b"paperkit.resident" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_the_resident_pdf_is_byte_identical_and_one_process_serves_every_edit(project):
    folder, env = project
    seen = []
    for n in (1, 2, 3):
        reply, err = _compile(folder, env, DOC.format(n=n), f"resident{n}.pdf")
        assert reply == {"warnings": []} and "warning" not in err, err
        _compile(folder, env, DOC.format(n=n), f"own{n}.pdf", **{warm.ENV: ""})
        assert (folder / f"resident{n}.pdf").read_bytes() == (folder / f"own{n}.pdf").read_bytes()
        seen.append(_resident_pids(folder))
    assert seen == [seen[0]] * 3 and len(seen[0]) == 1


def test_typsts_error_and_warnings_come_back_as_in_the_jobs_own_process(project):
    folder, env = project
    broken = "= Title\n#foo(\n"
    assert _compile(folder, env, broken, "a.pdf")[0] == \
        _compile(folder, env, broken, "a.pdf", **{warm.ENV: ""})[0]
    assert "error" in _compile(folder, env, broken, "a.pdf")[0]
    warned = '#set text(font: "No Such Font")\nHello\n'
    reply = _compile(folder, env, warned, "b.pdf")[0]
    assert reply == _compile(folder, env, warned, "b.pdf", **{warm.ENV: ""})[0]
    assert any("unknown font family" in w for w in reply["warnings"])
    assert len(_resident_pids(folder)) == 1


def test_past_its_memory_limit_the_process_ends_and_the_next_compile_starts_another(project):
    folder, env = project
    _compile(folder, env, DOC.format(n=1), "a.pdf", **{resident.MAX_ENV: "1"})
    deadline = time.monotonic() + 30
    while _resident_pids(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _resident_pids(folder) == []
    reply, _ = _compile(folder, env, DOC.format(n=2), "b.pdf")
    assert reply == {"warnings": []} and (folder / "b.pdf").stat().st_size > 0
    assert len(_resident_pids(folder)) == 1


@pytest.mark.parametrize("setting", ["no PAPERKIT_WARM", "cluster job"])
def test_without_a_warm_build_or_in_a_cluster_job_typst_compiles_in_the_jobs_process(
        project, setting):
    folder, env = project
    extra = {warm.ENV: ""} if setting == "no PAPERKIT_WARM" else {"PAPERKIT_BUILD_PID": "1"}
    reply, err = _compile(folder, env, DOC.format(n=1), "a.pdf", **extra)
    assert reply == {"warnings": []} and (folder / "a.pdf").read_bytes().startswith(b"%PDF")
    assert _resident_pids(folder) == [] and err == ""


def test_a_resident_process_that_cannot_start_leaves_the_compile_to_the_job(project):
    folder, env = project
    blocked = folder / "not-a-folder"
    blocked.write_text("")
    reply, err = _compile(folder, env, DOC.format(n=1), "a.pdf", XDG_RUNTIME_DIR=str(blocked))
    assert reply == {"warnings": []} and (folder / "a.pdf").read_bytes().startswith(b"%PDF")
    assert "paperkit.resident: warning" in err and "compiles in this process" in err


def test_stop_ends_the_resident_process_of_its_folder(project):
    folder, env = project
    _compile(folder, env, DOC.format(n=1), "a.pdf")
    assert len(_resident_pids(folder)) == 1
    assert warm.stop(folder.parent) == 0
    assert warm.stop(folder) == 1
    deadline = time.monotonic() + 30
    while _resident_pids(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _resident_pids(folder) == []
