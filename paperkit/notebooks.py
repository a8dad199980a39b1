"""Execute the paper's notebooks and stage the manuscript's sources and assets.

The notebooks under ``notebooks/`` only read pipeline outputs and display
them; the pipeline executes them with a Jupyter kernel into ``build/paper/notebooks/``,
where the manuscript embeds their labelled cells. Sources in ``paper/`` are never
written to: the build renders a staged copy in ``build/paper/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from paperkit.io import atomic_path

KERNEL = "python3"
TIMEOUT_S = 600


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
    )
    client.execute()
    _strip_volatile(nb)


def execute_notebook(source: str | Path, target: str | Path, cwd: str | Path) -> None:
    """Run every cell of ``source`` in a fresh kernel started in ``cwd``; write ``target``."""
    source = Path(source)
    nb = nbformat.read(source, as_version=4)
    try:
        execute(nb, cwd)
    except Exception as exc:  # nbclient raises CellExecutionError and kernel errors
        raise NotebookError(f"{source}: a cell failed while executing:\n{exc}") from exc
    with atomic_path(target) as tmp:
        nbformat.write(nb, str(tmp))


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
