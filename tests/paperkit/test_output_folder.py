"""Only the current paper is in the output folder: a failed render or an engine switch
leaves no file of an earlier run (other formats, Quarto's MECA bundle and site files,
the run report)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperkit.render import EARLIER_RUN, RenderError, render_manuscript
from tests.paperkit.test_render import EPOCH, copy_fixture


def earlier_run(out: Path) -> None:
    """What a Quarto render and `make paper` leave: every format, bundle, site, report."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "index.pdf", "index.docx", "index.xml", "index-meca.zip",
                 "report.html"):
        (out / name).write_text("earlier run")
    for folder in ("site_libs", "notebooks", "index_files"):
        (out / folder).mkdir()
        (out / folder / "x.html").write_text("earlier run")


def test_a_failed_render_leaves_nothing_of_an_earlier_run(tmp_path: Path) -> None:
    project = copy_fixture(tmp_path)
    out = tmp_path / "out"
    earlier_run(out)
    (out / "notes.txt").write_text("the author's own file")
    article = project / "index.qmd"
    article.write_text(article.read_text() + "\n{{< var nope >}}\n")
    with pytest.raises(RenderError):
        render_manuscript(project, ["html"], out_dir=out, engine="self")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_an_engine_switch_leaves_only_the_outputs_of_this_run(tmp_path: Path) -> None:
    project = copy_fixture(tmp_path)
    out = tmp_path / "out"
    earlier_run(out)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        outputs = render_manuscript(project, ["html"], out_dir=out, engine="self")
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert outputs["html"].read_text() != "earlier run"
    assert "report.html" in EARLIER_RUN  # `make paper` writes it anew after the render
