"""The no-op without Snakemake (paperkit/uptodate.py): a stamp says "nothing to do" only
while every file, the command line and the environment are as the finished build left them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from paperkit import uptodate

ARGV = ["--cores", "2"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(uptodate.sys, "argv", ["snakemake", *ARGV])
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper/index.qmd").write_text("One sentence.\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results/numbers.json").write_text("{}\n")
    return tmp_path


def _build(outputs=("results/numbers.json",), during=None):
    """A build: snapshot at its start, optionally something happening while it runs,
    outputs rewritten, stamp recorded at its end."""
    uptodate.start()
    if during:
        during()
    for out in outputs:
        Path(out).write_text("rewritten\n")
    assert uptodate.record(outputs)


def test_a_finished_build_leaves_nothing_to_do(project):
    _build()
    assert uptodate.up_to_date(ARGV)
    assert uptodate.main(["--", *ARGV]) == 0


def test_without_a_stamp_snakemake_decides(project):
    assert not uptodate.up_to_date(ARGV)
    assert uptodate.main(["--", *ARGV]) == 1


def test_an_unreadable_stamp_lets_snakemake_decide(project):
    _build()
    (project / uptodate.STAMP).write_text("{not json")
    assert not uptodate.up_to_date(ARGV)


def test_an_edited_source_needs_a_build(project):
    _build()
    (project / "paper/index.qmd").write_text("Two sentences.\n")
    assert not uptodate.up_to_date(ARGV)


def test_a_file_replaced_with_its_old_modification_time_needs_a_build(project):
    _build()
    source = project / "paper/index.qmd"
    stat = source.stat()
    source.write_text("Ten sentences.\n")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p or rsync -a do
    assert not uptodate.up_to_date(ARGV)


def test_a_new_or_deleted_file_needs_a_build(project):
    _build()
    (project / "paper/new.qmd").write_text("new\n")
    assert not uptodate.up_to_date(ARGV)
    (project / "paper/new.qmd").unlink()
    assert uptodate.up_to_date(ARGV)
    (project / "results/numbers.json").unlink()
    assert not uptodate.up_to_date(ARGV)


def test_another_command_line_or_environment_needs_a_build(project, monkeypatch):
    _build()
    assert not uptodate.up_to_date(["--cores", "1"])
    monkeypatch.setenv("PAPERKIT_SOMETHING", "1")
    assert not uptodate.up_to_date(ARGV)


def test_a_shell_variable_that_changes_per_command_does_not_count(project, monkeypatch):
    _build()
    monkeypatch.setenv("_", "/usr/bin/make")
    monkeypatch.setenv("OLDPWD", "/elsewhere")
    assert uptodate.up_to_date(ARGV)


def test_a_source_edited_while_the_build_ran_needs_another_build(project):
    _build(during=lambda: (project / "paper/index.qmd").write_text("Edited mid-build.\n"))
    assert not uptodate.up_to_date(ARGV)


def test_a_file_deleted_while_the_build_ran_needs_another_build(project):
    _build(during=lambda: (project / "paper/index.qmd").unlink())
    assert not uptodate.up_to_date(ARGV)


def test_files_inside_an_output_folder_count_as_outputs(project):
    figures = project / "figures"

    def write_figures():
        figures.mkdir()
        (figures / "a.png").write_bytes(b"png")

    uptodate.start()
    write_figures()
    uptodate.record(["figures"])
    assert uptodate.up_to_date(ARGV)
    (figures / "a.png").write_bytes(b"other")
    assert not uptodate.up_to_date(ARGV)


def test_an_ignored_file_written_after_the_build_does_not_count(project):
    _build()
    (project / "results/report.html").write_text("report\n")
    assert not uptodate.up_to_date(ARGV)
    assert uptodate.up_to_date(ARGV, ignore=["results/report.html"])
    assert uptodate.main(["--ignore", "results/report.html", "--", *ARGV]) == 0


def test_an_input_outside_the_project_is_compared(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("shared") / "values.yaml"
    outside.write_text("a: 1\n")
    uptodate.start()
    uptodate.record([], outside=[str(outside)])
    assert uptodate.up_to_date(ARGV)
    outside.write_text("a: 2\n")
    assert not uptodate.up_to_date(ARGV)


def test_version_control_and_snakemake_records_are_not_compared(project):
    _build()
    (project / ".git").mkdir()
    (project / ".git/index").write_text("x")
    (project / ".snakemake/metadata").mkdir(parents=True)
    assert uptodate.up_to_date(ARGV)


def test_a_new_quarto_on_the_path_needs_a_build(project, monkeypatch):
    _build()
    monkeypatch.setattr(uptodate.shutil, "which",
                        lambda name: "/usr/bin/true" if name == "quarto" else shutil.which(name))
    assert not uptodate.up_to_date(ARGV)


def test_no_stamp_is_written_without_a_snapshot_of_the_start(project, monkeypatch):
    monkeypatch.setattr(uptodate, "_started", None)
    assert not uptodate.record(["results/numbers.json"])
    assert not (project / uptodate.STAMP).exists()


def test_the_warm_workers_settings_do_not_count(project, monkeypatch):
    _build()
    monkeypatch.setenv("PAPERKIT_WARM_PEAKS", "/tmp/elsewhere")
    monkeypatch.setenv("PAPERKIT_WARM_IDLE_S", "5")
    assert uptodate.up_to_date(ARGV)
