"""The one reader of Jupyter notebooks (``.ipynb``), beside :mod:`paperkit.qmd` for Quarto.

The build reads a notebook's cells for several things: the modules its code imports
(derived code inputs), the pipeline files its cells display (derived rule inputs and the
provenance table), the captions of labelled cells (the number check) and the cells the
article embeds (rendering). All of them read the cells here, one way: cell options are
Quarto's ``#|`` lines, parsed as YAML by the project's strict loader (a duplicate key
is an error, as two captions would leave the printed one to chance).

Files a cell names are found without running it: string literals, and ``/`` joins of
literals and of names bound at the top of a cell to ``Path("...")`` or a literal
(``RESULTS = Path("results")`` ... ``RESULTS / "tables/x.md"``).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from paperkit.io import YamlError, parse_yaml

SUFFIX = ".ipynb"


class NotebookReadError(ValueError):
    """A notebook cannot be read; the message names the file and, where known, the cell."""


@dataclass(frozen=True)
class Cell:
    """One cell: its kind, source text, ``#|`` options and (code cells) outputs."""

    number: int  # 1-based position in the notebook
    kind: str  # "code", "markdown" or "raw"
    source: str
    options: dict[str, Any] = field(default_factory=dict)
    option_lines: tuple[str, ...] = ()  # the raw ``#|`` lines, in order
    outputs: tuple[dict[str, Any], ...] = ()

    @property
    def label(self) -> str | None:
        """The cell's ``#| label:``, if any."""
        label = self.options.get("label")
        return str(label) if label is not None else None

    @property
    def code(self) -> str:
        """The source without its option lines (what the kernel runs)."""
        return "\n".join(self.source.splitlines()[len(self.option_lines):])


@dataclass(frozen=True)
class Notebook:
    """A notebook read from ``path``."""

    path: Path
    cells: tuple[Cell, ...]
    metadata: dict[str, Any]

    @property
    def language(self) -> str:
        """The kernel's language (``python`` when the notebook does not say)."""
        spec = self.metadata.get("kernelspec") or {}
        return str(spec.get("language") or "python")

    def labelled(self) -> dict[str, Cell]:
        """Code cells by their label."""
        return {c.label: c for c in self.cells if c.kind == "code" and c.label}


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def cell_options(source: str, where: str = "cell") -> tuple[dict[str, Any], tuple[str, ...]]:
    """The ``#|`` option lines at the top of a cell, parsed (strict YAML) and raw."""
    lines: list[str] = []
    for raw in source.splitlines():
        if not raw.startswith("#|"):
            break
        lines.append(raw)
    if not lines:
        return {}, ()
    body = "\n".join(line[2:].removeprefix(" ") for line in lines)
    try:
        options = parse_yaml(body, f"{where} options")
    except YamlError as exc:
        raise NotebookReadError(f"{where}: its #| options are not valid YAML: {exc}") from exc
    return (options if isinstance(options, dict) else {}), tuple(lines)


def read_notebook(path: str | Path) -> Notebook:
    """Read a notebook (nbformat 4 JSON); a broken file names itself and the cause."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NotebookReadError(f"{path}: cannot read the notebook: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise NotebookReadError(f"{path}: not a Jupyter notebook (invalid JSON: {exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookReadError(f"{path}: not a Jupyter notebook (no list of cells)")
    cells = []
    for number, raw in enumerate(data["cells"], 1):
        kind = str(raw.get("cell_type", ""))
        source = _text(raw.get("source", ""))
        options, lines = ({}, ()) if kind != "code" else cell_options(
            source, f"{path}, cell {number}")
        cells.append(Cell(number, kind, source, options, lines,
                          tuple(raw.get("outputs", []) if kind == "code" else ())))
    return Notebook(path, tuple(cells), dict(data.get("metadata") or {}))


def python_source(notebook: Notebook) -> str:
    """The code cells as one Python text (IPython magics and shell escapes left out)."""
    lines: list[str] = []
    for cell in notebook.cells:
        if cell.kind == "code":
            lines += [ln for ln in cell.source.splitlines()
                      if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


# ----------------------------------------------------------------- files a cell names


def _path_value(node: ast.AST, names: dict[str, str]) -> str | None:
    """The path an expression stands for, when it is built from literals only."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("Path", "PurePosixPath") and len(node.args) == 1):
        return _path_value(node.args[0], names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _path_value(node.left, names), _path_value(node.right, names)
        if left is not None and right is not None:
            return f"{left.rstrip('/')}/{right.lstrip('/')}"
    return None


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source, filename=where)
    except SyntaxError as exc:
        raise NotebookReadError(f"{where}: line {exc.lineno}: not valid Python: {exc.msg}") \
            from exc


@cache
def _bound_names(path: Path, mtime_ns: int) -> dict[str, str]:
    """Names bound anywhere in the notebook to a literal path (``RESULTS = Path("results")``)."""
    names: dict[str, str] = {}
    tree = _parse(python_source(read_notebook(path)), str(path))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            value = _path_value(node.value, names)
            if value is not None:
                names[node.targets[0].id] = value
    return names


def named_paths(notebook: Notebook, cell: Cell | None = None) -> list[str]:
    """Relative paths a cell (or every code cell) names, in order of appearance.

    Only expressions that are paths as a whole count: literals and ``/`` joins; a name
    bound to a path is not itself a use of that path.
    """
    names = _bound_names(notebook.path, notebook.path.stat().st_mtime_ns)
    cells = [cell] if cell is not None else [c for c in notebook.cells if c.kind == "code"]
    found: list[str] = []
    for c in cells:
        code = "\n".join(ln for ln in c.code.splitlines()
                         if not ln.lstrip().startswith(("%", "!")))
        tree = _parse(code, f"{notebook.path}, cell {c.number}")
        bound = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)}
        for node in ast.walk(tree):
            if id(node) in bound or isinstance(node, ast.JoinedStr):
                continue
            value = _path_value(node, names)
            if value and _looks_like_path(value):
                found.append(value)
    # a join's parts are also literals: keep the longest path each literal is part of
    return [p for p in dict.fromkeys(found)
            if not any(q != p and q.endswith("/" + p) for q in found)]


def _looks_like_path(text: str) -> bool:
    """A relative path inside the project: has a slash or a suffix, no spaces or newlines."""
    if not text or any(ch.isspace() for ch in text) or text.startswith(("/", "..", "#")):
        return False
    return "/" in text or bool(Path(text).suffix)
