"""Provenance of every figure and table of the manuscript, derived from the workflow.

The AEA Data Editor's README template asks for a list of tables and figures with the
program and output file behind each. Written by hand, such a list drifts from the code;
here it is computed on every build from three things the build already has:

* the article (``paper/index.qmd``): which notebook cells it embeds
  (``{{< embed notebooks/x.ipynb#label >}}``) and which pipeline images it shows
  (``![caption](figures/x.png){#fig-x}``);
* the notebooks: the file each labelled cell displays (read by :mod:`paperkit.ipynb`);
* the Snakemake DAG: for every rule its outputs, script and first-party code, passed
  in by paperkit's workflow module (:func:`paperkit.workflow.rule_table`).

An item whose file no rule produces is an error: the table never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from paperkit import ipynb, qmd
from paperkit.io import write_json, write_text
from paperkit.tables import pipe_table


class ProvenanceError(ValueError):
    """A manuscript item cannot be traced to a rule; the message names file and item."""


@dataclass(frozen=True)
class Item:
    """One figure or table of the manuscript and where it comes from."""

    label: str
    output: str
    rule: str
    programs: tuple[str, ...]
    shown_by: str
    number: str = ""  # "Figure 3": the number the paper gives it (order of appearance)


def producing_rule(path: str, rules: Mapping[str, Mapping[str, Any]]) -> str:
    """The rule whose output is ``path`` or a directory holding it (longest match wins)."""
    best, length = "", -1
    for name, rule in rules.items():
        for output in rule["outputs"]:
            pattern = re.sub(r"\\\{[^}]*\\\}", r"[^/]+", re.escape(output))
            matches = re.fullmatch(pattern, path) or path.startswith(output.rstrip("/") + "/")
            if matches and len(output) > length:
                best, length = name, len(output)
    if not best:
        raise ProvenanceError(f"no rule of the Snakefile produces {path!r}")
    return best


def notebook_cells(path: Path) -> dict[str, str]:
    """Map each labelled code cell of a notebook to the (last) file it displays."""
    try:
        notebook = ipynb.read_notebook(path)
        cells = {label: ipynb.named_paths(notebook, cell)
                 for label, cell in notebook.labelled().items()}
    except ipynb.NotebookReadError as exc:
        raise ProvenanceError(str(exc)) from exc
    return {label: paths[-1] for label, paths in cells.items() if paths}


def _programs(rule: Mapping[str, Any]) -> tuple[str, ...]:
    """The rule's script first, then every other program it runs (derived code inputs)."""
    return tuple(dict.fromkeys(p for p in (rule["script"], *rule["code"]) if p))


def _item(label: str, output: str, shown_by: str, rules: Mapping[str, Any]) -> Item:
    rule = producing_rule(output, rules)
    return Item(label, output, rule, _programs(rules[rule]), shown_by)


def trace_article(
    article: Path, notebook_dir: Path, rules: Mapping[str, Mapping[str, Any]]
) -> list[Item]:
    """Every embedded notebook cell and pipeline image of ``article``, in order."""
    doc = qmd.read_document(article)
    numbers = qmd.float_numbers(doc.body)
    cache: dict[str, dict[str, str]] = {}
    found: list[tuple[int, Item]] = []
    for sc in qmd.shortcodes(doc.body, ("embed",)):
        embed = qmd.embed_of(sc)
        name = Path(embed.notebook).name
        cells = cache.setdefault(name, notebook_cells(notebook_dir / name))
        if embed.label not in cells:
            raise ProvenanceError(f"{sc.where}: {name} has no labelled cell "
                                  f"{embed.label!r} that displays a pipeline file")
        shown = f"{notebook_dir.as_posix()}/{name} (rule notebook)"
        found.append((_order(doc.body, sc.line), _item(embed.label, cells[embed.label], shown,
                                                       rules)))
    for label, path, line in qmd.image_labels(doc.body):
        if _produced(path, rules):
            found.append((_order(doc.body, line),
                          _item(label, path, "shown by the article (rule manuscript)", rules)))
    items = [item for _, item in sorted(found, key=lambda pair: pair[0])]
    return [replace(i, number=numbers.get(i.label, "")) for i in items]


def _order(lines: list[qmd.Line], line: qmd.Line) -> int:
    return next(n for n, candidate in enumerate(lines) if candidate is line)


def _produced(path: str, rules: Mapping[str, Mapping[str, Any]]) -> bool:
    try:
        producing_rule(path, rules)
    except ProvenanceError:
        return False
    return True


def package_summary(programs: tuple[str, ...]) -> str:
    """The programs of a rule as a reader needs them: the rule's script, then each package
    folder with the number of its modules (``__init__`` files left out); the full list is
    the cell's tooltip in the HTML (and stays in provenance.json and the README)."""
    script, modules = programs[0], [p for p in programs[1:] if Path(p).name != "__init__.py"]
    folders: dict[str, int] = {}
    for module in modules:
        folder = str(Path(module).parent) + "/"
        folders[folder] = folders.get(folder, 0) + 1
    listed = ", ".join(modules).replace('"', "'")
    summary = ", ".join(f"`{folder}` ({count})" for folder, count in sorted(folders.items()))
    parts = [f"`{script}`"] + ([f'[{summary}]{{title="{listed}"}}'] if summary else [])
    return "; ".join(parts)


def markdown(items: list[Item], wrap_paths: bool = True) -> str:
    """The appendix table: item, output file, rule, programs, how the paper shows it.

    For the paper (``wrap_paths``) the programs are summarised by package (the full list
    on hover in the HTML) and paths are code, which the PDF breaks only after ``/`` and
    ``_`` (paper/header.typ), never hyphenated; for READMEs every program is listed.
    """
    header = ["Item", "Output file", "Rule", "Programs", "Shown in the paper by"]
    if wrap_paths:
        rows = [[_item_cell(i), f"`{i.output}`", f"`{i.rule}`", package_summary(i.programs),
                 _shown_cell(i.shown_by)] for i in items]
        return pipe_table(header, rows, widths=(10, 24, 13, 26, 15))
    rows = [[_item_cell(i), f"`{i.output}`", f"`{i.rule}`",
             ", ".join(f"`{p}`" for p in i.programs), i.shown_by] for i in items]
    return pipe_table(header, rows, widths=(10, 24, 13, 24, 15))


def _shown_cell(shown_by: str) -> str:
    """'notebooks/x.ipynb (rule notebook)' with the path as code."""
    path, sep, rest = shown_by.partition(" (")
    return f"`{path}` ({rest}" if sep and "/" in path else shown_by


def _item_cell(item: Item) -> str:
    """'[Figure 3](#fig-x)': a link, not a cross-reference, because the table is also
    shown by a notebook, where Quarto cannot resolve references to the article."""
    return f"[{item.number}](#{item.label})" if item.number else f"`{item.label}`"


def items_from_json(record: Mapping[str, Any]) -> list[Item]:
    """The items of a provenance.json record."""
    return [Item(**{**i, "programs": tuple(i["programs"])}) for i in record["items"]]


def write_provenance(
    article: str | Path,
    notebooks: Sequence[str | Path],
    rules: Mapping[str, Mapping[str, Any]],
    out_dir: str | Path,
) -> list[Item]:
    """Snakemake entry: write provenance.md (the appendix table) and provenance.json.

    ``notebooks``: the sources of the notebooks whose cells the article may embed.
    """
    folder = Path(notebooks[0]).parent if notebooks else Path(article).parent
    items = trace_article(Path(article), folder, rules)
    labels = [i.label for i in items]
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise ProvenanceError(f"{article}: labels used more than once: {dup}")
    out = Path(out_dir)
    write_text(out / "provenance.md", markdown(items))
    write_json(out / "provenance.json", {
        "items": [i.__dict__ | {"programs": list(i.programs)} for i in items],
        "rules": dict(rules),
    })
    return items
