"""The self-render gives what Quarto gives, or refuses naming file, line and feature.

Each document of tests/fixtures/quarto_features/ exercises one Quarto feature; its stored
expectation (expected.yaml, written from Quarto's documentation) says what every format
must show, or which refusal the render must stop with. When Quarto is on PATH the words of
each rendered document are compared with Quarto's own rendering as well.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from paperkit import notebooks, qmd, render_features
from paperkit.io import read_yaml
from paperkit.quarto import quarto_version
from paperkit.render import RenderError, render_manuscript
from tests.buildutil import FIXTURES
from tests.paperkit.test_render import docx_text, html_text, pdf_text

FEATURES = FIXTURES / "quarto_features"
EXPECTED: dict[str, dict[str, Any]] = read_yaml(FEATURES / "expected.yaml")
EPOCH = "1700000000"  # 2023-11-14
TEXT = {"html": html_text, "pdf": lambda path: pdf_text(path).replace("\xad ", ""),
        "docx": docx_text}  # (words typst hyphenated at a line end are joined again)
RENDERED = [case for case, spec in EXPECTED.items() if "refused" not in spec]
REFUSED = [case for case, spec in EXPECTED.items() if "refused" in spec]


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("features") / "docs"
    shutil.copytree(FEATURES, target)
    return target


def _render(path: Path, formats: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("PAPERKIT_CELL_CACHE", str(path.parent.parent / "cell-cache"))
    return render_manuscript(path, formats, engine="self")


def _formats(spec: dict[str, Any]) -> list[str]:
    return list(spec.get("formats", ["html", "pdf", "docx"]))


@pytest.mark.parametrize("case", RENDERED)
def test_document_shows_what_quarto_shows(case: str, docs: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    spec = EXPECTED[case]
    source = docs / case.split("@")[0]
    outputs = _render(source, _formats(spec), monkeypatch)
    contains = spec.get("contains", {})
    for fmt, path in outputs.items():
        expected = source.with_suffix(path.suffix) if source.is_file() else \
            source / "_manuscript" / f"index{path.suffix}"
        assert path == expected, "a single document is written next to it, a project's "\
            "article into _manuscript/"
        text = TEXT[fmt](path)
        for phrase in [*contains.get("all", []), *contains.get(fmt, [])]:
            assert phrase in text, f"{case} ({fmt}): {phrase!r} missing from {text!r}"
        for phrase in spec.get("absent", []):
            assert phrase not in text, f"{case} ({fmt}): {phrase!r} must not appear"


@pytest.mark.parametrize("case", REFUSED)
def test_unimplemented_feature_is_refused_naming_line_and_feature(
    case: str, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = EXPECTED[case]
    source = docs / case.split("@")[0]
    with pytest.raises(RenderError) as err:
        _render(source, _formats(spec), monkeypatch)
    message = str(err.value)
    lines = message.splitlines()
    for entry in spec["refused"]:
        where = f"{source / entry['file'] if 'file' in entry else source}:{entry['line']}: "
        assert any(line.startswith(where) and entry["text"] in line for line in lines), \
            f"{case}: no line '{where}...{entry['text']}' in:\n{message}"
    for wrong in spec.get("not", []):
        assert wrong not in message, f"{case}: the refusal names a wrong cause ({wrong!r})"
    if source.is_file():
        for fmt in _formats(spec):
            assert not source.with_suffix("." + fmt).exists(), "no output after a refusal"


def test_unchanged_cells_are_not_executed_again(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "docs" / "code_cells.qmd"
    doc.parent.mkdir()
    shutil.copyfile(FEATURES / "code_cells.qmd", doc)
    first = html_text(_render(doc, ["html"], monkeypatch)["html"])

    def no_kernel(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a kernel was started for cells already executed")

    monkeypatch.setattr(notebooks, "execute", no_kernel)
    assert html_text(_render(doc, ["html"], monkeypatch)["html"]) == first
    doc.write_text(doc.read_text(encoding="utf-8").replace("[1, 2, 3]", "[1, 2, 4]"),
                   encoding="utf-8")
    with pytest.raises(RenderError, match="a kernel was started"):
        _render(doc, ["html"], monkeypatch)


def test_last_modified_date_is_the_day_the_article_was_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "doc.qmd"
    shutil.copyfile(FEATURES / "date_last_modified.qmd", doc)
    stamp = dt.datetime(2021, 6, 15, 12, 0).timestamp()
    os.utime(doc, (stamp, stamp))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    outputs = render_manuscript(doc, ["html"], engine="self")
    assert "June 15, 2021" in html_text(outputs["html"])


def test_filter_marked_as_reproduced_by_the_self_render_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "same.lua").write_text(render_features.FILTER_MARKER + "\n", encoding="utf-8")
    doc = tmp_path / "doc.qmd"
    doc.write_text("---\ntitle: T\nfilters:\n  - same.lua\n---\n\nText.\n", encoding="utf-8")
    assert "Text." in html_text(render_manuscript(doc, ["html"], engine="self")["html"])


def test_folder_without_quarto_yml_is_refused_with_the_way_to_render_one_document(
    tmp_path: Path,
) -> None:
    (tmp_path / "doc.qmd").write_text("---\ntitle: T\n---\n\nText.\n", encoding="utf-8")
    with pytest.raises(RenderError, match="pass the .qmd file itself"):
        render_manuscript(tmp_path, ["html"], engine="self")


def test_code_cells_are_found_in_prose_but_not_raw_blocks_or_plain_code() -> None:
    texts = ["Inline `{python} 1 + 1` and `code`.", "```{python}", "#| label: fig-a",
             "```", "```{=html}", "<b>x</b>", "```", "```{.python}", "x = `{python} 1`",
             "```", "```python", "```", "````{r echo=FALSE}", "````"]
    lines = [qmd.Line(t, Path("doc.qmd"), i) for i, t in enumerate(texts, start=1)]
    found = [(c.language, c.line.lineno, c.inline) for c in qmd.code_cells(lines)]
    assert found == [("python", 1, True), ("python", 2, False), ("r", 13, False)]


def _words(text: str) -> list[str]:
    """Words with a letter or digit (not callout icons or table-of-contents leaders)."""
    return [w for w in text.replace("\xad ", "").split() if any(c.isalnum() for c in w)]


@pytest.mark.skipif(quarto_version() is None, reason="Quarto (>= 1.4) is not on PATH")
@pytest.mark.parametrize("case", [c for c in RENDERED if "@" not in c
                                  and "pdf" in _formats(EXPECTED[c])])
def test_pdf_words_match_quartos_typst_output(case: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Both renderers on copies of the document, the day of the render for both; the
    PDF's words (typst, without the page furniture) are compared."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("PAPERKIT_CELL_CACHE", str(tmp_path / "cell-cache"))
    monkeypatch.setenv("QUARTO_PYTHON", sys.executable)
    ours_dir, quarto_dir = tmp_path / "ours", tmp_path / "quarto"
    shutil.copytree(FEATURES, ours_dir)
    shutil.copytree(FEATURES, quarto_dir)
    mine = _words(pdf_text(render_manuscript(ours_dir / case, ["pdf"], engine="self")["pdf"]))
    target = quarto_dir / case
    command = ["quarto", "render", *([] if target.is_dir() else [case]), "--to", "typst"]
    subprocess.run(command, cwd=target if target.is_dir() else quarto_dir, check=True,
                   capture_output=True)
    pdf = target / "_manuscript" / "index.pdf" if target.is_dir() else target.with_suffix(".pdf")
    theirs = _words(pdf_text(pdf))
    ratio = difflib.SequenceMatcher(None, mine, theirs).ratio()
    assert ratio >= 0.97, f"{case}: words differ from Quarto's ({ratio:.1%} alike):\n" \
        f"self-render: {' '.join(mine)}\nQuarto:      {' '.join(theirs)}"


def test_notebook_front_matter_may_open_the_first_markdown_cell(tmp_path: Path) -> None:
    nb = {"cells": [{"cell_type": "markdown", "metadata": {},
                     "source": ["---\n", "title: From markdown\n", "date: last-modified\n",
                                "---\n", "\n", "First paragraph."]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "index.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    doc = qmd.read_notebook(path)
    assert doc.front == {"title": "From markdown", "date": "last-modified"}
    assert [line.text for line in doc.body if line.text] == ["First paragraph."]
    assert doc.body[0].where == f"{path}, cell 1:5"
