"""Executable Python cells of a Quarto article, run as Quarto's Jupyter engine runs them.

The self-render (paperkit/render.py) hands the article's ```{python} cells and inline
`{python} expr` expressions, in document order, to one Jupyter kernel
(paperkit/notebooks.py) started in the article's folder, and replaces each by the markdown
Quarto's engine writes for it: the code (unless `echo: false`), then the outputs in order:
printed text and plain results as code blocks, markdown as markdown, images as figures
(`#| label: fig-x` + `fig-cap`: a numbered figure), markdown tables under
`#| label: tbl-x` + `tbl-cap` as numbered tables, HTML (a pandas DataFrame) as HTML in the
HTML output and as its plain text elsewhere. Options: label, fig-cap, fig-alt, tbl-cap,
echo, eval, output, include, warning, fig-width, fig-height (also as document defaults
under `execute:` / top level). A cell that raises stops the render, naming its line.

Results are cached by the cells' code and the kernel's environment (its interpreter and
installed packages): an unchanged article re-renders without starting a kernel. Only
Python is executed; other languages, other outputs and other options are refused.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from paperkit import notebooks, qmd
from paperkit.io import atomic_path
from paperkit.render_features import refuse_code_cells

NOT_IMPLEMENTED = "not implemented by the self-render (render with Quarto)"
CELL_OPTIONS = {"label", "fig-cap", "fig-alt", "tbl-cap", "echo", "eval", "output",
                "include", "warning", "fig-width", "fig-height"}
DOC_OPTIONS = ("echo", "eval", "output", "include", "warning")
IMAGE_TYPES = {"image/png": "png", "image/svg+xml": "svg", "image/jpeg": "jpg"}
# Quarto's figure size for HTML (inches), the default of its Jupyter engine.
FIG_SIZE = (7.0, 5.0)
SETUP = """\
try:
    import matplotlib
    matplotlib.rcParams["figure.figsize"] = ({w}, {h})
except ImportError:
    pass
"""


class CellError(qmd.QmdError):
    """A cell cannot be executed or its output cannot be placed as Quarto places it."""


@dataclass
class Unit:
    """One executable unit: a block cell or an inline expression, in document order."""

    cell: qmd.Cell
    code: str
    options: dict[str, Any]
    start: int = 0  # block cells: index of the opening fence in the body
    end: int = 0  # ... and of the closing fence


def cache_dir() -> Path:
    """Where executed cells are kept: $PAPERKIT_CELL_CACHE, else the user's cache."""
    env = os.environ.get("PAPERKIT_CELL_CACHE")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(env) if env else base / "paperkit" / "cells"


def kernel_environment(kernel: str) -> str:
    """What the kernel runs: its spec, interpreter and installed packages (the cache key)."""
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except Exception as exc:  # NoSuchKernel
        raise CellError(f"Jupyter kernel '{kernel}' is not installed") from exc
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    return json.dumps([spec.argv, spec.language, sys.executable, sys.version, packages])


def _units(lines: list[qmd.Line], defaults: dict[str, Any]) -> list[Unit]:
    units = []
    blocks = {start: (end, cell) for start, end, cell in qmd.cell_blocks(lines)}
    code = qmd.in_code([line.text for line in lines])
    for i, line in enumerate(lines):
        if i in blocks:
            end, cell = blocks[i]
            _check_language(cell)
            inner = lines[i + 1:end]
            options = {**defaults, **qmd.cell_options(inner)}
            unknown = sorted(set(options) - CELL_OPTIONS)
            if unknown:
                raise CellError(f"{cell.where}: cell option(s) {', '.join(unknown)} "
                                f"{'is' if len(unknown) == 1 else 'are'} {NOT_IMPLEMENTED} "
                                f"(implemented: {', '.join(sorted(CELL_OPTIONS))})")
            source = "\n".join(x.text for x in inner if not x.text.startswith("#|"))
            units.append(Unit(cell, source.strip("\n"), options, i, end))
        elif not code[i]:
            for match in qmd.INLINE_CELL.finditer(line.text):
                cell = qmd.Cell(match.group(1).lower(), line, inline=True)
                _check_language(cell)
                expr = match.group(0)[len(match.group(1)) + 3:-1].strip()
                units.append(Unit(cell, expr, {}))
    return units


def _check_language(cell: qmd.Cell) -> None:
    if cell.language != "python":
        refuse_code_cells([cell.line])  # names the feature (diagram, OJS, R, ...)


def _notebook(units: list[Unit], fig_size: tuple[float, float]) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(SETUP.format(w=fig_size[0], h=fig_size[1]))]
    for unit in units:
        run = unit.options.get("eval", True) is not False
        if "fig-width" in unit.options or "fig-height" in unit.options:
            size = (unit.options.get("fig-width", fig_size[0]),
                    unit.options.get("fig-height", fig_size[1]))
            cells.append(nbformat.v4.new_code_cell(SETUP.format(w=size[0], h=size[1])))
        cells.append(nbformat.v4.new_code_cell(unit.code if run else ""))
        if "fig-width" in unit.options or "fig-height" in unit.options:
            cells.append(nbformat.v4.new_code_cell(SETUP.format(w=fig_size[0], h=fig_size[1])))
    return nbformat.v4.new_notebook(cells=cells)


def _run(units: list[Unit], cwd: Path, kernel: str,
         fig_size: tuple[float, float]) -> list[list[dict[str, Any]]]:
    """Outputs of each unit, from the cache or a fresh kernel."""
    nb = _notebook(units, fig_size)
    key = hashlib.sha256(json.dumps([kernel, str(cwd), [c.source for c in nb.cells],
                                     kernel_environment(kernel)]).encode()).hexdigest()
    cached = cache_dir() / f"{key}.ipynb"
    if cached.is_file():
        nb = nbformat.read(cached, as_version=4)
    else:
        try:
            notebooks.execute(nb, cwd, kernel, allow_errors=True)
        except Exception as exc:  # the kernel died or could not start
            raise CellError(f"{units[0].cell.where}: the Jupyter kernel '{kernel}' failed: "
                            f"{exc}") from exc
        if not any(o.get("output_type") == "error" for c in nb.cells for o in c.outputs):
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cached) as tmp:
                nbformat.write(nb, str(tmp))
    runs = [c for c in nb.cells[1:] if not c.source.startswith("try:\n    import matplotlib")]
    return [list(c.outputs) for c in runs]


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _inline_value(unit: Unit, outputs: list[dict[str, Any]]) -> str:
    _raise_errors(unit, outputs)
    for out in outputs:
        data = out.get("data", {})
        if out.get("output_type") == "execute_result":
            if "text/markdown" in data:
                return _text(data["text/markdown"]).strip()
            text = _text(data.get("text/plain", "")).strip()
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return text
            return value if isinstance(value, str) else text
    raise CellError(f"{unit.cell.where}: inline expression `{unit.code}` has no value")


def _raise_errors(unit: Unit, outputs: list[dict[str, Any]]) -> None:
    for out in outputs:
        if out.get("output_type") == "error":
            raise CellError(f"{unit.cell.where}: the cell raised {out.get('ename')}: "
                            f"{out.get('evalue')}")


def _code_block(text: str, lang: str = "") -> list[str]:
    fence = "````" if "```" in text else "```"
    return ["", fence + lang, *text.rstrip("\n").splitlines(), fence, ""]


def _image(data: dict[str, Any], work: Path, name: str) -> str | None:
    mime = next((m for m in IMAGE_TYPES if m in data), None)
    if mime is None:
        return None
    folder = work / "embed" / "cells"  # crossref.lua reads embed/ from the scratch dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{IMAGE_TYPES[mime]}"
    if mime == "image/svg+xml":
        path.write_text(_text(data[mime]), encoding="utf-8")
    else:
        path.write_bytes(base64.b64decode(_text(data[mime])))
    return path.relative_to(work).as_posix()


def _outputs(unit: Unit, outputs: list[dict[str, Any]], work: Path, n: int) -> list[str]:
    """Markdown for a cell's outputs, as Quarto's Jupyter engine places them."""
    label = str(unit.options.get("label", ""))
    md: list[str] = []
    images: list[str] = []
    for k, out in enumerate(outputs):
        kind = out.get("output_type")
        if kind == "stream":
            if out.get("name") == "stderr" and unit.options.get("warning") is False:
                continue
            md += _code_block(_text(out.get("text", "")))
            continue
        data = out.get("data", {})
        image = _image(data, work, f"{label or 'cell'}-{n}-{k}")
        if image:
            images.append(image)
            md += [f"\x00image{len(images) - 1}"]
        elif "text/markdown" in data:
            md += ["", *_text(data["text/markdown"]).strip("\n").splitlines(), ""]
        elif "text/html" in data:
            if label.startswith("tbl-"):
                raise CellError(f"{unit.cell.where}: a table cell ('{label}') whose output is "
                                f"HTML (e.g. a pandas DataFrame) is {NOT_IMPLEMENTED}; "
                                "display it as markdown (DataFrame.to_markdown())")
            md += ["", "```{=html}", *_text(data["text/html"]).strip("\n").splitlines(), "```",
                   "", "::: {.render-not-html}", *_code_block(_text(data.get("text/plain", ""))),
                   ":::", ""]
        elif "text/plain" in data:
            md += _code_block(_text(data["text/plain"]))
        elif data:
            raise CellError(f"{unit.cell.where}: cell output of type {', '.join(sorted(data))} "
                            f"is {NOT_IMPLEMENTED}")
    return _place_figures(unit, md, images)


def _place_figures(unit: Unit, md: list[str], images: list[str]) -> list[str]:
    label = str(unit.options.get("label", ""))
    if isinstance(unit.options.get("fig-cap"), list):
        raise CellError(f"{unit.cell.where}: several fig-cap (subfigures) are {NOT_IMPLEMENTED}")
    cap = str(unit.options.get("fig-cap", "") or "")
    alt = unit.options.get("fig-alt")
    attr = f'{{fig-alt="{alt}"}}' if alt else ""
    if label.startswith("fig-") and len(images) != 1:
        raise CellError(f"{unit.cell.where}: figure cell '{label}' made {len(images)} images; "
                        f"{'subfigures are' if images else 'a figure cell without an image is'} "
                        f"{NOT_IMPLEMENTED}")
    out = []
    for line in md:
        if not line.startswith("\x00image"):
            out.append(line)
            continue
        path = images[int(line[len("\x00image"):])]
        if label.startswith("fig-"):
            out += ["", f"::: {{#{label}}}", "", f"![](<{path}>){attr}", "", cap, "", ":::", ""]
        else:
            out += ["", f"![{cap}](<{path}>){attr}", ""]
    if label.startswith("tbl-"):
        out = ["", f"::: {{#{label}}}", "", *out, "", str(unit.options.get("tbl-cap", "")), "",
               ":::", ""]
    return out


def _block_markdown(unit: Unit, outputs: list[dict[str, Any]], work: Path, n: int,
                    enabled: bool) -> list[str]:
    options = unit.options
    if options.get("include") is False:
        _raise_errors(unit, outputs)
        return [""]
    md = _code_block(unit.code, "python") if options.get("echo", True) is not False else []
    if enabled and options.get("eval", True) is not False:
        _raise_errors(unit, outputs)
        if options.get("output", True) is not False:
            md += _outputs(unit, outputs, work, n)
    return md


def execute_cells(lines: list[qmd.Line], article: Path, meta: dict[str, Any],
                  work: Path, stored: dict[qmd.Line, list[Any]] | None = None
                  ) -> list[qmd.Line]:
    """The article's lines with every Python cell and inline expression replaced by its
    echoed code and outputs (see the module docstring); lines without cells unchanged.

    ``stored``: the outputs a notebook article (.ipynb) carries, by cell; as Quarto does
    for a notebook, they are shown as they are, without running a kernel."""
    execute = meta.get("execute") if isinstance(meta.get("execute"), dict) else {}
    defaults = {k: v for k, v in execute.items() if k in DOC_OPTIONS}
    unknown = sorted(set(execute) - set(DOC_OPTIONS) - {"enabled"})
    units = _units(lines, defaults)
    if not units:
        return lines
    if unknown:
        raise CellError(f"{units[0].cell.where}: execute option(s) {', '.join(unknown)} "
                        f"{NOT_IMPLEMENTED}")
    enabled = execute.get("enabled", True) is not False
    if not enabled and any(u.cell.inline for u in units):
        unit = next(u for u in units if u.cell.inline)
        raise CellError(f"{unit.cell.where}: inline code with `execute: enabled: false` "
                        f"is {NOT_IMPLEMENTED}")
    kernel = meta.get("jupyter") or notebooks.KERNEL
    if not isinstance(kernel, str):
        raise CellError(f"{units[0].cell.where}: a `jupyter:` mapping is {NOT_IMPLEMENTED}")
    size = (float(meta.get("fig-width", FIG_SIZE[0])), float(meta.get("fig-height", FIG_SIZE[1])))
    if stored is not None:
        return _splice(lines, units, _stored_outputs(units, stored), work, True)
    outputs = _run(units, article.parent, kernel, size) if enabled else [[] for _ in units]
    return _splice(lines, units, outputs, work, enabled)


def _stored_outputs(units: list[Unit], stored: dict[qmd.Line, list[Any]]
                    ) -> list[list[dict[str, Any]]]:
    inline = next((u for u in units if u.cell.inline), None)
    if inline is not None:
        raise CellError(f"{inline.cell.where}: inline code in a notebook article (which Quarto "
                        f"does not execute by default) is {NOT_IMPLEMENTED}")
    return [stored.get(u.cell.line, []) for u in units]


def _fill_inline(text: str, values: list[str]) -> str:
    found = iter(values)
    return qmd.INLINE_CELL.sub(lambda _m: next(found), text)


def _splice(lines: list[qmd.Line], units: list[Unit], outputs: list[list[dict[str, Any]]],
            work: Path, enabled: bool) -> list[qmd.Line]:
    out: list[qmd.Line] = []
    inline = {}
    for unit, result in zip(units, outputs, strict=True):
        if unit.cell.inline:
            inline.setdefault(id(unit.cell.line), []).append(_inline_value(unit, result))
    blocks = {u.start: (u, r, n) for n, (u, r) in enumerate(zip(units, outputs, strict=True))
              if not u.cell.inline}
    i = 0
    while i < len(lines):
        line = lines[i]
        if i in blocks:
            unit, result, n = blocks[i]
            md = _block_markdown(unit, result, work, n, enabled)
            out.extend(qmd.Line(t, line.path, line.lineno) for t in md)
            i = unit.end + 1
            continue
        if id(line) in inline:
            line = qmd.Line(_fill_inline(line.text, inline[id(line)]), line.path, line.lineno)
        out.append(line)
        i += 1
    return out


def embed_cell(notebook: Path, label: str, echo: bool, work: Path, where: str) -> list[str]:
    """Markdown for the cell labelled `label` of a .qmd notebook, as Quarto embeds it:
    the notebook is executed (all its Python cells, in its own folder, cached like the
    article's), then the cell's outputs are placed, with its code only when `echo`."""
    doc = qmd.read_document(notebook)
    execute = doc.front.get("execute") if isinstance(doc.front.get("execute"), dict) else {}
    units = [u for u in _units(doc.body, {k: v for k, v in execute.items()
                                          if k in DOC_OPTIONS}) if not u.cell.inline]
    labels = [str(u.options.get("label")) for u in units if u.options.get("label")]
    if label not in labels:
        raise CellError(f"{where}: notebook {notebook.name} has no cell labelled '{label}' "
                        f"(labels: {', '.join(sorted(labels)) or 'none'})")
    kernel = doc.front.get("jupyter") or notebooks.KERNEL
    size = (float(doc.front.get("fig-width", FIG_SIZE[0])),
            float(doc.front.get("fig-height", FIG_SIZE[1])))
    outputs = _run(units, notebook.parent, str(kernel), size)
    n = labels.index(label)
    unit = next(u for u in units if str(u.options.get("label")) == label)
    unit.options = {**unit.options, "echo": echo, "include": True, "output": True}
    return _block_markdown(unit, outputs[units.index(unit)], work, 1000 + n, True)
