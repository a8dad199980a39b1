"""The one Quarto-source reader: lines keep their origin, code is told from prose, and
paths resolve as Quarto resolves them."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperkit import qmd


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_included_lines_keep_their_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "_tables" / "t.md", "| a |\n|---|\n| 1 |\n")
    write(tmp_path / "sections" / "_m.qmd",
          "Methods {{< var x >}}.\n\n{{< include _tables/t.md >}}\n")
    doc = qmd.read_document(write(tmp_path / "index.qmd",
                                  "---\ntitle: T\n---\n\n{{< include sections/_m.qmd >}}\n"))
    found = next(qmd.shortcodes(doc.body, ("var",)))
    assert found.where == f"{tmp_path / 'sections' / '_m.qmd'}:1" and found.column == 9
    # nested includes resolve from the rendered document's folder, as in Quarto
    assert any(line.text == "| 1 |" and line.lineno == 3 for line in doc.body)
    assert doc.front == {"title": "T"}


def test_block_shortcodes_in_code_are_not_expanded_but_inline_ones_are_seen(
    tmp_path: Path,
) -> None:
    lines = qmd.read_lines(write(tmp_path / "a.qmd", "````\n```\n{{< embed nb.ipynb#fig-x >}}\n"
                                                     "```\n````\n`{{< var k >}}`\n"))
    assert qmd.embeds(lines) == []
    assert [sc.first_arg for sc in qmd.shortcodes(lines, ("var",))] == ["k"]
    assert [sc.first_arg for sc in qmd.shortcodes(lines, code=True)] == ["nb.ipynb#fig-x", "k"]


def test_escaped_and_inline_block_shortcodes(tmp_path: Path) -> None:
    lines = qmd.read_lines(write(tmp_path / "a.qmd",
                                 "{{{< include x.md >}}}\nsee {{< include y.md >}}\n"))
    assert qmd.expand_includes(lines[:1], tmp_path) == lines[:1]
    with pytest.raises(qmd.QmdError, match=r"a.qmd:2: shortcode 'include' must stand on a line"):
        qmd.expand_includes(lines, tmp_path)


def test_missing_and_circular_includes_name_the_line(tmp_path: Path) -> None:
    write(tmp_path / "b.qmd", "{{< include a.qmd >}}\n")
    with pytest.raises(qmd.QmdError, match=r"b.qmd:1: include of 'a.qmd' is circular"):
        qmd.read_document(write(tmp_path / "a.qmd", "x\n\n{{< include b.qmd >}}\n"))
    with pytest.raises(qmd.QmdError, match=r"c.qmd:2: include file 'nowhere.md' not found"):
        qmd.read_document(write(tmp_path / "c.qmd", "x\n{{< include nowhere.md >}}\n"))


def test_unclosed_front_matter_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(qmd.QmdError, match=r"a.qmd:1: front matter is not closed"):
        qmd.read_document(write(tmp_path / "a.qmd", "---\ntitle: x\n"))


def test_floats_are_numbered_in_order_of_appearance(tmp_path: Path) -> None:
    lines = qmd.read_lines(write(tmp_path / "a.qmd", (
        "See @fig-b.\n\n![A](a.png){#fig-a}\n\n{{< embed nb.ipynb#tbl-t >}}\n\n"
        "```{python}\n#| label: fig-b\n```\n\n```\n{#fig-not-a-float}\n```\n")))
    assert qmd.float_numbers(lines) == {"fig-a": "Figure 1", "tbl-t": "Table 1",
                                        "fig-b": "Figure 2"}


def test_a_key_given_twice_in_the_front_matter_stops_naming_the_file_line(tmp_path):
    doc = tmp_path / "a.qmd"
    doc.write_text("---\ntitle: One\ndate: 2026-01-01\ntitle: Two\n---\n\nText.\n")
    with pytest.raises(qmd.QmdError, match=r"a.qmd:4: front matter: duplicate key 'title' "
                                           r"\(first given at line 2\)"):
        qmd.read_document(doc)
