"""`make preview`: a saved edit reaches the served page; errors show the line to fix."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from paperkit.preview import HOST, Preview, serve
from tests.buildutil import FIXTURES

FIXTURE = FIXTURES / "render"
GENERATED = ["_variables.yml", "notebooks"]


def preview_of(tmp_path: Path) -> Preview:
    source, stage = tmp_path / "paper", tmp_path / "build" / "paper"
    shutil.copytree(FIXTURE, source)
    shutil.copytree(FIXTURE, stage)
    preview = Preview(source, stage, tmp_path / "build" / "preview", GENERATED)
    preview.rebuild(pipeline=True)
    return preview


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as response:
        return response.read().decode()


def test_an_edited_sentence_reaches_the_served_page(tmp_path: Path) -> None:
    preview = preview_of(tmp_path)
    server = serve(preview, 0)
    try:
        port = server.server_address[1]
        assert server.server_address[0] == "127.0.0.1"
        first = get(port, "/")
        assert "Approval is high" in first and "/__preview_version" in first
        article = preview.source / "index.qmd"
        article.write_text(article.read_text().replace("Approval is high", "Approval is low"))
        before = get(port, "/__preview_version")
        preview.rebuild(pipeline=False)
        assert get(port, "/__preview_version") != before
        assert "Approval is low" in get(port, "/")
    finally:
        server.shutdown()


def test_a_broken_source_shows_its_paper_line_in_the_page(tmp_path: Path) -> None:
    preview = preview_of(tmp_path)
    article = preview.source / "index.qmd"
    article.write_text(article.read_text() + "\nSee @fig-nowhere.\n")
    preview.rebuild(pipeline=False)
    line = len(article.read_text().splitlines())
    assert f"{article}:{line}: cross-reference to an undefined label" in preview.page().decode()
