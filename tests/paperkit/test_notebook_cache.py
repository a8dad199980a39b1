"""An executed notebook is reused, not executed again, while everything it depends on
has the same content (paperkit/notebooks.py execute_notebook with ``inputs``)."""

from __future__ import annotations

import nbformat
import pytest

from paperkit import notebooks


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results/n.txt").write_text("41\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(int(open('results/n.txt').read()) + 1)")]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    return tmp_path


def _run(project, target="out.ipynb"):
    notebooks.execute_notebook("nb.ipynb", target, project, inputs=["results/n.txt"])
    return (project / target).read_text()


def _printed(text):
    return nbformat.reads(text, as_version=4).cells[0].outputs[0]["text"].strip()


def test_unchanged_inputs_reuse_the_executed_notebook_byte_for_byte(project, monkeypatch):
    first = _run(project)
    assert _printed(first) == "42"

    def no_kernel(*args, **kwargs):
        raise AssertionError("executed again")

    monkeypatch.setattr(notebooks, "execute", no_kernel)
    assert _run(project, "again.ipynb") == first


def test_a_changed_input_executes_the_notebook_again(project):
    _run(project)
    (project / "results/n.txt").write_text("1\n")
    assert _printed(_run(project)) == "2"


def test_a_changed_notebook_executes_again(project):
    _run(project)
    nb = nbformat.read(project / "nb.ipynb", as_version=4)
    nb.cells[0].source = "print('changed')"
    nbformat.write(nb, project / "nb.ipynb")
    assert _printed(_run(project)) == "changed"


def test_without_inputs_the_notebook_is_always_executed(project, monkeypatch):
    calls = []
    real = notebooks.execute
    monkeypatch.setattr(notebooks, "execute", lambda nb, cwd: (calls.append(1), real(nb, cwd)))
    notebooks.execute_notebook("nb.ipynb", "a.ipynb", project)
    notebooks.execute_notebook("nb.ipynb", "b.ipynb", project)
    assert len(calls) == 2


def test_only_the_newest_three_executions_of_a_notebook_are_kept(project):
    for n in range(5):
        (project / "results/n.txt").write_text(f"{n}\n")
        _run(project)
    assert len(list((project / notebooks.EXECUTED).glob("nb-*.ipynb"))) == 3
