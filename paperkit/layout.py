"""The PDF layout paperkit supplies to a paper, read by Quarto and the self-render alike.

``templates/typst-template.typ`` holds one typst ``article`` function (title block, text
settings) and ``callout``. A project declares it in its ``_quarto.yml`` under the typst
format's ``template-partials`` as ``_paperkit/typst-template.typ``. The file is not
committed in the project: paperkit writes it there whenever Quarto is to read the project
(the Quarto driver's scratch copy, the pre-render hook of ``quarto render``/``preview``),
and the self-render takes it from here. One file, so both engines lay out the same pages.
(A link in the project would not do: Quarto copies partials as links, which then dangle.)
"""

from __future__ import annotations

from pathlib import Path

from paperkit.io import copy_if_changed

KIT_DIR = "_paperkit"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
LAYOUT_FILES = ("typst-template.typ",)
# paperkit's Lua filters a project may declare as ``_paperkit/<name>`` for Quarto (the
# self-render runs them from paperkit/filters/ directly).
FILTER_DIR = Path(__file__).resolve().parent / "filters"
# datavar.lua: every number traceable; typst_cells.lua: table cells typst reads as written.
KIT_FILTERS = ("datavar.lua", "typst_cells.lua")


def _kit_path(name: str) -> Path:
    return (FILTER_DIR if name in KIT_FILTERS else TEMPLATE_DIR) / name


def kit_source(declared: str) -> Path | None:
    """paperkit's own file for a declared ``_paperkit/<name>`` (a layout partial or one of
    its filters), else None."""
    parts = Path(declared).parts
    if len(parts) == 2 and parts[0] == KIT_DIR and parts[1] in (*LAYOUT_FILES, *KIT_FILTERS):
        return _kit_path(parts[1])
    return None


def install(project_dir: Path) -> list[Path]:
    """Write the layout files into ``project_dir/_paperkit/``; only changed files are
    written (a preview watching the folder then re-renders once). Returns those written."""
    targets = [Path(project_dir) / KIT_DIR / name for name in (*LAYOUT_FILES, *KIT_FILTERS)]
    return [t for t in targets if copy_if_changed(_kit_path(t.name), t)]
