"""Provenance of every figure and table of the manuscript, derived from the workflow.

The AEA Data Editor's README template asks for a list of tables and figures with the
program and output file behind each. Written by hand, such a list drifts from the code;
here it is computed on every build from three things the build already has:

* the article (``paper/index.qmd``): which notebook cells it embeds
  (``{{< embed notebooks/x.ipynb#label >}}``) and which generated tables it includes
  (``{{< include _tables/... >}}`` followed by a caption ending in ``{#tbl-...}``);
* the notebooks: the file each labelled cell displays (``FIGURES / "describe/x.png"``);
* the Snakemake DAG: for every rule its outputs, script and ``analysis/`` code, passed
  in by the Snakefile (its ``describe_rules`` turns ``workflow.rules`` into plain data).

An item whose file no rule produces is an error: the table never guesses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from paperkit import qmd
from paperkit.io import write_json, write_text
from paperkit.tables import pipe_table

CAPTION_LABEL = re.compile(r"^:\s.*\{#(tbl-[\w-]+)\}\s*$")
CELL_PATH = re.compile(r'\b(RESULTS|FIGURES)\s*/\s*"([^"]+)"')
CELL_ROOTS = {"RESULTS": "results", "FIGURES": "figures"}
LABEL_OPTION = re.compile(r"^#\|\s*label:\s*([\w-]+)\s*$", re.MULTILINE)
STAGED_TABLES = ("_tables/", "results/tables/")


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
    """Map each labelled code cell of a notebook to the file it displays."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProvenanceError(f"{path}: cannot read the notebook: {exc}") from exc
    cells = {}
    for cell in notebook.get("cells", []):
        source = "".join(cell.get("source", []))
        label = LABEL_OPTION.search(source)
        shown = CELL_PATH.search(source)
        if cell.get("cell_type") == "code" and label and shown:
            cells[label.group(1)] = f"{CELL_ROOTS[shown.group(1)]}/{shown.group(2)}"
    return cells


def _programs(rule: Mapping[str, Any]) -> tuple[str, ...]:
    """The rule's script first, then every other program it runs (derived code inputs)."""
    return tuple(dict.fromkeys(p for p in (rule["script"], *rule["code"]) if p))


def _item(label: str, output: str, shown_by: str, rules: Mapping[str, Any]) -> Item:
    rule = producing_rule(output, rules)
    return Item(label, output, rule, _programs(rules[rule]), shown_by)


def trace_article(
    article: Path, notebook_dir: Path, rules: Mapping[str, Mapping[str, Any]]
) -> list[Item]:
    """Every embedded or included figure/table of ``article``, in order of appearance."""
    base = article.parent.resolve()
    doc = qmd.read_document(article, follow=lambda p: not qmd.is_generated(p.relative_to(base)))
    lines = [line.text for line in qmd.read_lines(article)]
    numbers = qmd.float_numbers(doc.body)
    cache: dict[str, dict[str, str]] = {}
    items: list[Item] = []
    for sc in qmd.shortcodes(doc.body, ("embed", "include")):
        if sc.name == "embed":
            embed = qmd.embed_of(sc)
            name = Path(embed.notebook).name
            cells = cache.setdefault(name, notebook_cells(notebook_dir / name))
            if embed.label not in cells:
                raise ProvenanceError(f"{sc.where}: {name} has no labelled cell "
                                      f"{embed.label!r} that displays a pipeline file")
            shown = f"notebooks/{name} (rule notebook)"
            items.append(_item(embed.label, cells[embed.label], shown, rules))
        elif sc.first_arg.startswith("_tables/"):
            label = _caption_label(lines, sc.line.lineno, sc.where)
            output = "results/tables/" + sc.first_arg.removeprefix("_tables/")
            items.append(_item(label, output, "included by the article (rule stage_paper)",
                               rules))
    return [replace(i, number=numbers.get(i.label, "")) for i in items]


def _caption_label(lines: list[str], number: int, where: str) -> str:
    """The ``{#tbl-...}`` label of the caption after an include (blank lines skipped)."""
    for line in lines[number:]:
        if line.strip():
            match = CAPTION_LABEL.match(line.strip())
            if match:
                return match.group(1)
            break
    raise ProvenanceError(f"{where}: an included table needs a caption ': ... {{#tbl-...}}'")


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
    notebook_dir: str | Path,
    rules: Mapping[str, Mapping[str, Any]],
    out_dir: str | Path,
) -> list[Item]:
    """Snakemake entry: write provenance.md (the appendix table) and provenance.json."""
    items = trace_article(Path(article), Path(notebook_dir), rules)
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
