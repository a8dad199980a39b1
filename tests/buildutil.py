"""Helpers for tests that run the Snakemake build in a scratch copy of the project."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SKIP = {".venv", ".venv-slurm", ".git", ".snakemake", "results", "build", "logs", "dist",
        ".pytest_cache", ".ruff_cache", ".hypothesis", "__pycache__", "bench"}


# A toy rule script for the warm-worker tests: it hands its job over as the project's rule
# scripts do, fails on `--config fail=1`, and on `sleep=N` writes its pid to job.pid and
# sleeps; each test appends what its job records.
TOY_JOB = '''
from paperkit.warm import handoff
handoff(snakemake)
import json, os, time
if snakemake.params.fail:
    raise SystemExit("the job failed on purpose")
if snakemake.params.sleep:
    open("job.pid", "w").write(str(os.getpid()))
    time.sleep(snakemake.params.sleep)
'''


@contextlib.contextmanager
def warm_sandbox(folder: Path, prefix: str, *drop: str) -> Iterator[dict[str, str]]:
    """An environment for processes that use warm workers (``PAPERKIT_WARM=json``) whose
    sockets live in a private, short runtime folder (a socket path has 107 bytes), with
    no fork marker or build pid inherited from the test run (nor the variables ``drop``);
    the workers of ``folder`` are stopped and the folder removed afterwards."""
    from paperkit import rules, warm

    runtime = Path(tempfile.mkdtemp(prefix=prefix))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_RUNTIME_DIR": str(runtime),
           warm.ENV: "json", warm.IDLE_ENV: "30"}
    for name in (rules.CLIENT_ENV, "PAPERKIT_BUILD_PID", *drop):
        env.pop(name, None)
    try:
        yield env
    finally:
        warm.stop(folder)
        shutil.rmtree(runtime, ignore_errors=True)


def copy_project(dst: Path) -> Path:
    """Copy the sources (not outputs, caches or the venv) into ``dst``."""
    def ignore(directory: str, names: list[str]) -> list[str]:
        skipped = [n for n in names if n in SKIP or n.endswith(".pyc")]
        if Path(directory).resolve() == (ROOT / "figures").resolve():
            skipped += [n for n in names if n != "README.md"]
        return skipped

    shutil.copytree(ROOT, dst, ignore=ignore)
    return dst


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """The environment for running a scratch copy: its own code first on the path.

    The venv's editable install points at this checkout; the copy must run the copy's
    code (a test may have changed it), as a replicator's own checkout would.
    """
    # a test's warm worker (make paper, paperkit/warm.py) ends a minute after its last job
    return {**os.environ, "PYTHONPATH": str(project), "PYTHONHASHSEED": "0",
            "PAPERKIT_WARM_IDLE_S": "60", **extra}


def snakemake(project: Path, *args: str, check: bool = True, **env_extra: str
              ) -> subprocess.CompletedProcess:
    """Run Snakemake in ``project`` with the test interpreter and the copy's code."""
    env = project_env(project, **env_extra)
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "2", *args], cwd=project, env=env, capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_command(project: Path, target: str = "paper") -> list[str]:
    """``make <target>`` in ``project``, exactly as an author types it, with this test run's
    virtual environment (already installed) in place of the copy's own ``.venv``.

    ``-o`` keeps make from reinstalling into that environment when the copy's lock file
    looks newer (a clone's files are): that would point its editable install at the copy.
    """
    venv = Path(sys.executable).parent.parent
    return ["make", "--no-print-directory", "-C", str(project), "-o", f"{venv}/.installed",
            target, f"VENV={venv}"]


def make(project: Path, target: str = "paper", check: bool = True
         ) -> subprocess.CompletedProcess:
    """Run ``make <target>`` in ``project`` (see :func:`make_command`)."""
    proc = subprocess.run(make_command(project, target), cwd=project,
                          env=project_env(project), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"make {target} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


_INPUTS_PROBE = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.iocontainers import Wildcards
from snakemake.settings.types import OutputSettings, ResourceSettings
wanted = json.loads(sys.argv[1])
out = {}
with SnakemakeApi(OutputSettings()) as api:
    wf = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=Path("Snakefile"),
                      workdir=Path("."))
    rules = {rule.name: rule for rule in wf._workflow.rules}
    for key, (name, wildcards) in wanted.items():
        files = []
        for item in rules[name].input:
            if callable(item):
                item = item(Wildcards(fromdict=wildcards))
            files += [item] if isinstance(item, str) else list(item)
        outputs = [str(o) for o in rules[name].output]
        for wc, value in wildcards.items():
            files = [str(f).replace("{" + wc + "}", value) for f in files]
            outputs = [o.replace("{" + wc + "}", value) for o in outputs]
        out[key] = {"inputs": [str(f) for f in files], "outputs": outputs}
print("DAG-JSON" + json.dumps(out))
"""


def rule_files(project: Path, wanted: dict[str, tuple[str, dict[str, str]]]
               ) -> dict[str, dict[str, list[str]]]:
    """Declared inputs and outputs of rules (key -> (rule, wildcards)), as the loaded
    workflow holds them (Snakemake's own API, input functions evaluated)."""
    proc = subprocess.run([sys.executable, "-c", _INPUTS_PROBE, json.dumps(wanted)],
                          cwd=project, env=project_env(project), capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return json.loads(proc.stdout.split("DAG-JSON", 1)[1])


def planned_rules(project: Path) -> set[str]:
    """The rules a build would run now (from a dry run's job table)."""
    proc = snakemake(project, "--dry-run")
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return set()
    table = text.split("Job stats:", 1)[1]
    rules = set(re.findall(r"^(\w+)\s+\d+\s*$", table, flags=re.MULTILINE))
    return rules - {"total", "job"}


def cluster_env(project: Path) -> Path:
    """The README's cluster set-up in ``project``: ``.venv`` (this checkout's), then
    ``make cluster-env``, which adds ``.venv-slurm`` with the SLURM executor plugin.

    Returns the project's ``.venv-slurm/bin/snakemake``.
    """
    venv = project / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.prefix))
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "cluster-env"],
                          cwd=project, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"make cluster-env failed:\n{proc.stdout}\n{proc.stderr}")
    return project / ".venv-slurm" / "bin" / "snakemake"


def local_rules(project: Path = ROOT) -> set[str]:
    """The rules the workflow's ``localrules:`` directives keep off a cluster."""
    names: set[str] = set()
    for path in [project / "Snakefile", *sorted((project / "rules").glob("*.smk")),
                 *sorted((project / "paperkit" / "workflow").glob("*.smk"))]:
        for block in re.findall(r"^localrules:\s*\n((?:[ \t]+\w+,?[ \t]*\n)+)", path.read_text(),
                                flags=re.MULTILINE):
            names.update(re.findall(r"\w+", block))
    return names
