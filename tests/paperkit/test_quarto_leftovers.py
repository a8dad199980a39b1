"""Quarto's LaTeX `pdf` is refused up front, naming typst; nothing a stopped Quarto run
left in the project folder survives the next run (paperkit/quarto.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperkit import quarto


@pytest.mark.parametrize("argv, latex", [
    (["quarto", "render", "paper", "--to", "pdf"], True),
    (["quarto", "render", "paper", "--to=html,pdf"], True),
    (["quarto", "preview", "paper", "-t", "pdf"], True),
    (["quarto", "render", "paper", "--to", "typst"], False),
    (["quarto", "render", "paper"], False),
])
def test_a_command_line_asking_for_latex_pdf_is_recognised(argv, latex):
    assert quarto.requested_latex_pdf(argv) is latex


def test_the_hook_refuses_latex_pdf_naming_typst_before_running_anything(tmp_path, capsys):
    code = quarto.prerender(tmp_path, "paper_inputs", tmp_path / "stage", tmp_path, [],
                            quarto_argv=["quarto", "render", "paper", "--to", "pdf"])
    assert code == 1
    assert "--to typst" in capsys.readouterr().out


def test_a_project_declaring_latex_pdf_is_refused_up_front(tmp_path: Path):
    (tmp_path / "_quarto.yml").write_text("format:\n  pdf: default\n  html: default\n")
    with pytest.raises(quarto.QuartoError, match="_quarto.yml: Quarto's `pdf` format is LaTeX"):
        quarto.render(tmp_path, ["html"], tmp_path / "_manuscript")


def test_leftovers_of_a_stopped_quarto_run_are_removed(tmp_path: Path):
    (tmp_path / "index.tex").write_text("\\documentclass{article}")
    (tmp_path / "index_files" / "figure-html").mkdir(parents=True)
    (tmp_path / "index.qmd").write_text("# kept\n")
    removed = quarto.clear_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == ["index.tex", "index_files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.qmd"]


def test_the_command_line_of_a_process_is_read_from_proc():
    import os

    assert quarto.parent_argv(os.getpid())  # this test's own command line
    assert quarto.parent_argv(2**22 + 1) == []
