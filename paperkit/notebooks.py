"""Execute the paper's notebooks and stage the manuscript's sources and assets.

The notebooks under ``notebooks/`` only read pipeline outputs and display
them; the pipeline executes them with a Jupyter kernel into ``build/paper/notebooks/``,
where the manuscript embeds their labelled cells. Sources in ``paper/`` are never
written to: the build renders a staged copy in ``build/paper/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from paperkit import warm
from paperkit.freshness import input_digests
from paperkit.io import atomic_path

KERNEL = "python3"
TIMEOUT_S = 600
# Executed notebooks by the content they were executed from (execute_notebook).
EXECUTED = Path(".snakemake/paperkit/notebooks")
log = logging.getLogger("paperkit")


class NotebookError(RuntimeError):
    """A notebook cell failed; the message names the notebook and the cell."""


def _strip_volatile(nb: nbformat.NotebookNode) -> None:
    """Drop timestamps and kernel details so two builds give identical notebooks."""
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)


class WarmKernelManager(AsyncKernelManager):
    """Jupyter's kernel manager, with the kernel started as a warm worker's fork where the
    build uses warm workers (paperkit.warm.kernel_command): the same kernel, without a new
    interpreter importing IPython and ipykernel for every notebook."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return warm.kernel_command(super().format_kernel_cmd(extra_arguments))


def execute(nb: nbformat.NotebookNode, cwd: str | Path, kernel: str = KERNEL,
            allow_errors: bool = False) -> None:
    """Run every cell of the notebook ``nb`` (in place) in a fresh kernel started in
    ``cwd``. With ``allow_errors`` a failing cell keeps its error output and the
    following cells still run (the caller names the failing cell)."""
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=TIMEOUT_S,
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        allow_errors=allow_errors,
        kernel_manager_class=WarmKernelManager,
    )
    client.execute()
    _strip_volatile(nb)


def execution_key(source: str | Path, inputs: Sequence[str], cwd: str | Path,
                  kernel: str = KERNEL) -> str:
    """What an executed notebook depends on: the content of every declared input (the
    notebook, the pipeline files it reads, the project code it imports), the kernel, the
    folder it runs in, and the interpreter with its installed packages."""
    packages = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    parts = {"source": Path(source).as_posix(),
             "inputs": input_digests([*inputs, str(source)]), "kernel": kernel,
             "cwd": os.path.realpath(cwd), "python": os.path.realpath(sys.executable),
             "packages": {p: os.stat(p).st_mtime_ns for p in packages if os.path.isdir(p)}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def execute_notebook(source: str | Path, target: str | Path, cwd: str | Path,
                     inputs: Sequence[str] | None = None) -> None:
    """Run every cell of ``source`` in a fresh kernel started in ``cwd``; write ``target``.

    With ``inputs`` (every file the notebook depends on), a notebook executed before from
    inputs of the same content is not executed again: its stored result is written
    (:data:`EXECUTED`; executed notebooks carry no timestamps, so it is the same file).
    """
    source = Path(source)
    cached = None
    if inputs is not None:
        cached = Path(cwd) / EXECUTED / f"{source.stem}-{execution_key(source, inputs, cwd)}.ipynb"
        if cached.is_file():
            log.info("%s: inputs unchanged since it was executed: %s reused", source, cached)
            with atomic_path(target) as tmp:
                shutil.copyfile(cached, tmp)
            return
    nb = nbformat.read(source, as_version=4)
    try:
        execute(nb, cwd)
    except Exception as exc:  # nbclient raises CellExecutionError and kernel errors
        raise NotebookError(f"{source}: a cell failed while executing:\n{exc}") from exc
    with atomic_path(target) as tmp:
        nbformat.write(nb, str(tmp))
    if cached is not None:
        _store(Path(target), cached)


def _store(executed: Path, cached: Path, keep: int = 3) -> None:
    """Keep the executed notebook for reuse, with the ``keep`` newest of the same name."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cached) as tmp:
        shutil.copyfile(executed, tmp)
    stem = cached.name.rsplit("-", 1)[0]
    older = sorted(cached.parent.glob(f"{stem}-*.ipynb"), key=lambda p: p.stat().st_mtime_ns)
    for path in older[:-keep]:
        path.unlink(missing_ok=True)


def stage_sources(sources: Sequence[str], targets: Sequence[str]) -> None:
    """Copy the manuscript's sources to their places in the stage."""
    for src, dst in zip(sources, targets, strict=True):
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)


def stage_assets(assets: Sequence[str], stage: str | Path) -> None:
    """Copy pipeline files the article shows directly (images) into the stage, at the
    same relative path, so the article's links resolve there as in the project."""
    for asset in assets:
        target = Path(stage) / asset
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            shutil.copyfile(asset, tmp)
