"""The workflow's start (paperkit.workflow.on_start) starts a warm worker for each thread
count besides one that the jobs to run use."""

from __future__ import annotations

from types import SimpleNamespace

from paperkit import warm, workflow


def _workflow(threads: list[int]) -> SimpleNamespace:
    jobs = [SimpleNamespace(threads=n) for n in threads]
    return SimpleNamespace(dag=SimpleNamespace(needrun_jobs=lambda: jobs))


def test_each_thread_count_above_one_of_the_jobs_to_run_gets_its_worker_started_once(
        monkeypatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(warm, "prestart", started.append)
    workflow.on_start(_workflow([1, 2, 1, 4, 2]))
    assert started == [2, 4]
    started.clear()
    workflow.on_start(_workflow([1, 1]))
    assert started == []


def test_a_snakemake_without_the_dag_the_start_reads_starts_nothing(monkeypatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(warm, "prestart", started.append)
    workflow.on_start(SimpleNamespace())
    assert started == []
