"""A notebook's Jupyter kernel as a warm worker's fork (paperkit.warm.kernel_command,
paperkit.notebooks.WarmKernelManager): the same executed notebook, a kernel that can be
interrupted and goes on, and the plain kernel wherever no worker is used."""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from paperkit import rules, warm
from paperkit.notebooks import WarmKernelManager, execute

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

PLAIN = [sys.executable, "-m", "ipykernel_launcher", "-f", "conn.json"]


@pytest.fixture
def warm_env(monkeypatch, tmp_path):
    runtime = Path(tempfile.mkdtemp(prefix="pk"))  # short: a socket path has 107 bytes
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv(warm.ENV, "json")
    monkeypatch.setenv(warm.IDLE_ENV, "30")
    for name in (rules.CLIENT_ENV, "PAPERKIT_BUILD_PID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    warm.stop(tmp_path)
    shutil.rmtree(runtime, ignore_errors=True)


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def test_the_warm_kernel_executes_a_notebook_to_the_same_outputs(warm_env, monkeypatch):
    cells = ("import json, sys\nprint(json.dumps({'a': 1}))",
             "from IPython.display import Markdown\nMarkdown('**bold**')",
             "print('to stderr', file=sys.stderr)\n6 * 7")
    warm_nb = _notebook(*cells)
    plain_nb = copy.deepcopy(warm_nb)
    execute(warm_nb, warm_env)
    monkeypatch.setenv(warm.ENV, "")
    execute(plain_nb, warm_env)
    assert nbformat.writes(warm_nb) == nbformat.writes(plain_nb)
    assert warm_nb.cells[2].outputs[-1]["data"]["text/plain"] == "42"


def test_the_warm_kernel_runs_in_a_fork_of_the_kernel_worker(warm_env):
    nb = _notebook("import os\nprint(os.getppid(), "
                   "os.environ['PAPERKIT_WARM_CLIENT'].split(':')[1] == str(os.getpid()))")
    execute(nb, warm_env)
    parent, child = nb.cells[0].outputs[0]["text"].split()
    argv = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    assert child == "True" and argv[1:4] == [b"-m", b"paperkit.warm", b"serve"]
    assert argv[5:-1] == [name.encode() for name in warm.KERNEL_PRELOAD]


def test_notebooks_executed_by_different_jobs_share_one_kernel_worker(warm_env):
    # each job (process) starting a kernel sets its own pid in the kernel's environment
    script = ("import nbformat, sys\nfrom paperkit.notebooks import execute\n"
              "nb = nbformat.v4.new_notebook()\n"
              "nb.cells = [nbformat.v4.new_code_cell('import os\\nprint(os.getppid())')]\n"
              "execute(nb, '.')\nprint(nb.cells[0].outputs[0]['text'].strip())\n")
    parents = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", script], cwd=warm_env, env=os.environ,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        parents.append(proc.stdout.split()[-1])
    assert parents[0] == parents[1]
    assert len(warm.workers(warm_env)) == 1


def test_an_interrupted_warm_kernel_stops_the_cell_and_runs_the_next(warm_env):
    async def run() -> tuple[dict, dict]:
        km = WarmKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(warm_env))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            msg_id = kc.execute("import time\ntime.sleep(60)")
            await asyncio.sleep(1.0)
            await km.interrupt_kernel()
            first = await _reply(kc, msg_id)
            second = await _reply(kc, kc.execute("1 + 1"))
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=False)
        return first, second

    first, second = asyncio.run(run())
    assert first["content"]["status"] == "error"
    assert first["content"]["ename"] == "KeyboardInterrupt"
    assert second["content"]["status"] == "ok"


async def _reply(kc, msg_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msg = await kc.get_shell_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg
    raise AssertionError("no reply")


def test_the_kernel_command_changes_only_this_interpreters_ipykernel_in_a_warm_build(
        warm_env, monkeypatch):
    assert warm.kernel_command(PLAIN) == [sys.executable, "-m", "paperkit.warm", "kernel",
                                          "-f", "conn.json"]
    other = ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "conn.json"]
    assert warm.kernel_command(other) == other
    assert warm.kernel_command(["R", "--slave"]) == ["R", "--slave"]
    monkeypatch.setenv("PAPERKIT_BUILD_PID", "999999999")  # a cluster job
    assert warm.kernel_command(PLAIN) == PLAIN
    monkeypatch.delenv("PAPERKIT_BUILD_PID")
    monkeypatch.setenv(warm.ENV, "")
    assert warm.kernel_command(PLAIN) == PLAIN


def test_a_kernel_worker_that_cannot_start_leaves_the_kernel_to_its_own_process(warm_env):
    blocked = warm_env / "not-a-folder"
    blocked.write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "paperkit.warm", "kernel", "--version"], cwd=warm_env,
        env={**os.environ, "XDG_RUNTIME_DIR": str(blocked)}, capture_output=True, text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "the kernel runs in its own process" in proc.stderr
    assert proc.stdout.strip()  # ipykernel's own answer to --version
