"""Every figure and table of the manuscript is traced to its file, rule and programs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from paperkit.provenance import (
    ProvenanceError,
    markdown,
    notebook_cells,
    package_summary,
    producing_rule,
    trace_article,
)
from paperkit.render import source_link
from tests.buildutil import ROOT

RULES = {
    "figures_describe": {"outputs": ["figures/describe"], "script": "scripts/f.py",
                         "code": ["analysis/figures/describe.py"]},
    "describe": {"outputs": ["results/descriptives.json", "results/tables/describe"],
                 "script": "scripts/describe.py", "code": ["analysis/survey/describe.py"]},
    "notebook": {"outputs": ["build/paper/notebooks/{name}.ipynb"], "script": "", "code": []},
}


def test_notebook_cells_map_labels_to_the_files_they_display() -> None:
    cells = notebook_cells(ROOT / "notebooks/survey.ipynb")
    assert cells["fig-scs-use"] == "figures/describe/scs_use.png"
    assert cells["tbl-composition"] == "results/tables/describe/composition.md"


def test_producing_rule_matches_directory_outputs_and_wildcards() -> None:
    assert producing_rule("figures/describe/scs_use.png", RULES) == "figures_describe"
    assert producing_rule("build/paper/notebooks/survey.ipynb", RULES) == "notebook"
    with pytest.raises(ProvenanceError, match="no rule of the Snakefile produces 'x/y.png'"):
        producing_rule("x/y.png", RULES)


def test_items_are_named_by_the_number_the_paper_gives_them(tmp_path: Path) -> None:
    article = tmp_path / "index.qmd"
    article.write_text("![Static](x.png){#fig-static}\n\n"
                       "{{< embed notebooks/survey.ipynb#tbl-composition >}}\n\n"
                       "```\n{{< embed notebooks/survey.ipynb#fig-approval >}}\n```\n\n"
                       "{{< embed notebooks/survey.ipynb#fig-scs-use >}}\n")
    items = trace_article(article, ROOT / "notebooks", RULES)
    assert [(i.label, i.number) for i in items] == [("tbl-composition", "Table 1"),
                                                     ("fig-scs-use", "Figure 2")]
    # links, not cross-references: the notebook showing the table cannot resolve those
    assert "| [Figure 2](#fig-scs-use) | `figures/" in markdown(items)


def test_a_pipeline_image_the_article_shows_is_traced_to_its_rule(tmp_path: Path) -> None:
    article = tmp_path / "index.qmd"
    article.write_text("![Use](figures/describe/scs_use.png){#fig-use}\n\n"
                       "![Logo](static/logo.png){#fig-logo}\n")
    items = trace_article(article, ROOT / "notebooks", RULES)
    assert [(i.label, i.output, i.rule, i.number) for i in items] == [
        ("fig-use", "figures/describe/scs_use.png", "figures_describe", "Figure 1")]


def test_embedded_cell_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    article = tmp_path / "index.qmd"
    article.write_text("{{< embed notebooks/survey.ipynb#fig-nowhere >}}\n")
    with pytest.raises(ProvenanceError, match="survey.ipynb has no labelled cell 'fig-nowhere'"):
        trace_article(article, ROOT / "notebooks", RULES)


def test_figure_links_to_its_notebook_in_the_html_only() -> None:
    lines = source_link(Path("build/paper/notebooks/survey.ipynb"))
    assert lines[0] == "```{=html}"
    assert ('Source: <a href="../notebooks/survey.ipynb">notebooks/survey.ipynb</a>'
            " (rule notebook).") in lines[1]


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_every_figure_and_table_of_the_built_paper_is_traced_to_an_existing_file(built) -> None:
    record = json.loads((built / "results/tables/provenance/provenance.json").read_text())
    items = {i["label"]: i for i in record["items"]}
    staged = (built / "build/paper/index.qmd").read_text()
    labels = set(re.findall(r"#((?:fig|tbl)-[\w-]+)", staged))
    assert labels and labels <= set(items)
    for item in items.values():
        assert (built / item["output"]).is_file(), item
        assert any(item["output"].startswith(o) for o in record["rules"][item["rule"]]["outputs"])
        assert all((built / p).is_file() for p in item["programs"]), item
    table = (built / "results/tables/provenance/provenance.md").read_text()
    assert "`figures/describe/scs_use.png` | `figures_describe` |" in table


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_html_figure_captions_link_to_the_notebook_that_made_them(built) -> None:
    html = (built / "build/paper/_manuscript/index.html").read_text()
    for name in ("survey", "models", "interviews"):
        # the self-render links the executed notebook; Quarto its notebook view
        assert (f'href="../notebooks/{name}.ipynb"' in html
                or f'href="notebooks/{name}-preview.html' in html), name
    assert (built / "build/paper/notebooks/survey.ipynb").is_file()


def test_programs_are_summarised_by_package_with_the_full_list_on_hover() -> None:
    programs = ("scripts/describe.py", "analysis/__init__.py", "analysis/survey/__init__.py",
                "analysis/survey/describe.py", "analysis/survey/design.py",
                "paperkit/io.py")
    cell = package_summary(programs)
    assert cell.startswith("`scripts/describe.py`; [`analysis/survey/` (2), `paperkit/` (1)]")
    assert ('{title="analysis/survey/describe.py, analysis/survey/design.py, paperkit/io.py"}'
            in cell)
    assert "__init__" not in cell
