"""The paper half of a study's workflow, as a Snakemake module any study includes.

A study writes the rules of its analysis; this module adds the rest: execute the
notebooks, stage the sources, write the variables file, check numbers and claims,
trace every figure and table (provenance), render, plus `paper_inputs` for Quarto's
pre-render hook and `all`. The study's Snakefile includes it last::

    from paperkit.workflow import SNAKEFILE, on_error, on_success

    module paper:
        snakefile: SNAKEFILE
        config: config["paper"]

    use rule * from paper

    onsuccess:
        print(on_success(workflow, config["paper"]))

    onerror:
        print(on_error(config["paper"]))

Nothing is listed by hand: a notebook's inputs are the pipeline files its cells name,
the staged sources are the files of the manuscript folder, `all` is every output of
every rule, and each rule's code inputs are derived from its script's imports. The
functions here take Snakemake's ``workflow`` (or plain data) and are unit-tested.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from operator import attrgetter
from pathlib import Path
from typing import Any

from paperkit import ipynb, qmd, uptodate, warm
from paperkit.config import validate_paper
from paperkit.deps import code_closure
from paperkit.freshness import OUT_OF_DATE, clear_out_of_date, mark_paper_out_of_date
from paperkit.preflight import preflight, workflow_outputs
from paperkit.rules import builds
from paperkit.trace import TraceError, rule_function

HERE = Path(__file__).resolve().parent
SNAKEFILE = str(HERE / "paper.smk")
EXTENSIONS = {"html": "html", "pdf": "pdf", "docx": "docx", "jats": "xml"}


class WorkflowInputError(ValueError):
    """A document names a file the workflow cannot provide; the message says which."""


validate = validate_paper


# ------------------------------------------------------------------ outputs and producers


def rule_outputs(rules: Iterable[Any]) -> list[tuple[str, str]]:
    """(rule name, output path) of every rule."""
    return [(r.name, str(o)) for r in rules for o in r.output]


def producer_output(path: str, outputs: Iterable[tuple[str, str]]) -> str | None:
    """The declared output that is ``path`` or a folder holding it (the longest wins)."""
    best = None
    for _, output in outputs:
        out = output.rstrip("/")
        if (path == out or path.startswith(out + "/")) and (best is None or len(out) > len(best)):
            best = out
    return best


def all_outputs(rules: Iterable[Any], exclude: Iterable[str] = ("all",)) -> list[str]:
    """Every output of every rule without wildcards: the default target."""
    skip = set(exclude)
    return sorted({str(o) for r in rules if r.name not in skip and not r.has_wildcards()
                   for o in r.output})


def manuscript_outputs(paper: Mapping[str, Any]) -> list[str]:
    """The rendered paper in every configured format."""
    return [f"{paper['stage']}/_manuscript/index.{EXTENSIONS[f]}" for f in paper["formats"]]


# ------------------------------------------------------------------ derived inputs


def notebook_names(paper: Mapping[str, Any]) -> list[str]:
    """The notebooks (stems) in the notebook folder."""
    folder = Path(paper["notebooks"])
    return sorted(p.stem for p in folder.glob(f"*{ipynb.SUFFIX}")) if folder.is_dir() else []


def notebook_reads(notebook: str | Path, outputs: list[tuple[str, str]]) -> list[str]:
    """What a notebook's cells read: the rule outputs (files or folders) holding each file
    a cell names, and files that exist as sources. A named file that no rule makes and
    that does not exist stops the build: the notebook could not run."""
    nb = ipynb.read_notebook(notebook)
    reads: list[str] = []
    for path in ipynb.named_paths(nb):
        produced = producer_output(path, outputs)
        if produced is not None:
            reads.append(produced)
        elif Path(path).exists():
            reads.append(path)
        else:
            raise WorkflowInputError(
                f"{notebook}: a cell reads '{path}', which no rule of the workflow makes and "
                "which does not exist; fix the path or add the rule that writes it")
    return list(dict.fromkeys(reads))


def paper_sources(paper: Mapping[str, Any]) -> list[str]:
    """Files of the manuscript folder, relative to it, except generated ones."""
    source = Path(paper["source"])
    patterns = list(paper["generated"])
    found = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not any(fnmatch.fnmatch(part, pat)
                                      for part in rel.parts for pat in patterns):
            found.append(rel.as_posix())
    return found


def article_assets(paper: Mapping[str, Any], outputs: list[tuple[str, str]]) -> list[str]:
    """Pipeline files the article shows directly (``![caption](figures/x.png)``)."""
    article = Path(paper["source"]) / paper["article"]
    if not article.is_file():
        return []
    lines = qmd.read_lines(article)
    return [p for p in qmd.image_paths(lines) if producer_output(p, outputs) is not None]


def code(script: str | Path, root: str | Path, packages: Iterable[str],
         *documents: str | Path) -> list[str]:
    """The script and every project file it (or the documents' code) runs or reads."""
    return code_closure([script, *documents], root, packages)


def rule_table(rules: Iterable[Any], root: str | Path, packages: Iterable[str]
               ) -> dict[str, dict[str, Any]]:
    """The DAG as plain data for the provenance table: outputs, script and code per rule."""
    prefixes = tuple(f"{p}/" for p in packages)
    modules = {f"{p}.py" for p in packages}
    table = {}
    for r in sorted(rules, key=attrgetter("name")):
        table[r.name] = {
            "outputs": sorted(str(f) for f in r.output),
            "script": _script_path(r, root),
            # what the script runs, read here so the trace rule never opens the scripts
            **_function(r, root),
            "code": sorted(str(f) for f in r.input if isinstance(f, str)
                           and (str(f).startswith(prefixes) or str(f) in modules)),
            "inputs": sorted(str(f) for f in r.input if isinstance(f, str) and "{" not in str(f)
                             and not (str(f).startswith(prefixes) or str(f) in modules
                                      or str(f).endswith(".py"))),
        }
    return table


def _function(rule: Any, root: str | Path) -> dict[str, str]:
    """``function``, or ``function_error`` when the script does not say: the DAG still
    builds (the rule itself fails, and says why), and the trace rule refuses to guess."""
    if not rule.script:
        return {"function": ""}
    try:
        return {"function": rule_function(Path(root) / _script_path(rule, root))}
    except TraceError as exc:
        return {"function": "", "function_error": str(exc)}


def _script_path(rule: Any, root: str | Path) -> str:
    """The rule's script relative to the project root (Snakemake resolves it against the
    folder of the file that defines the rule)."""
    if not rule.script:
        return ""
    base = rule.basedir
    base = base.get_path_or_uri(secret_free=True) if hasattr(base, "get_path_or_uri") \
        else str(base or root)
    return Path(os.path.relpath(os.path.join(base, rule.script), root)).as_posix()


def numbers_producer(rules: Iterable[Any], numbers: str) -> tuple[str, dict[str, str]]:
    """The rule that writes the numbers file, and its named inputs: each becomes the
    section of the numbers file of that name, so a number is traced back through it."""
    for r in rules:
        if any(str(o) == numbers for o in r.output):
            return r.name, {name: str(path) for name, path in r.input.items()
                            if name != "code" and isinstance(path, str)}
    raise WorkflowInputError(f"no rule of the workflow writes the numbers file {numbers}")


def on_error(paper: Mapping[str, Any]) -> str:
    """After a failed build no file of an earlier run may be taken for the paper: the
    output folder is emptied of every format, and a note there says why. Returns what to
    tell the author."""
    from paperkit.render import clear_earlier_run  # pandoc and typst: only after a failure

    outputs = manuscript_outputs(validate(dict(paper)))
    out_dir = Path(outputs[0]).parent
    clear_earlier_run(out_dir)
    mark_paper_out_of_date(".", outputs, "see the build's message above and logs/")
    return (f"\nThe build stopped. The message above names the failing step; its log is in "
            f"logs/. {out_dir}/ holds no paper until a build succeeds ({OUT_OF_DATE}).")


def raw_files(manifest: str | None) -> list[str]:
    """Every file under the raw-data manifest's folder (the manifest itself excepted)."""
    if not manifest:
        return []
    path = Path(manifest)
    return [p.as_posix() for p in sorted(path.parent.rglob("*")) if p.is_file() and p != path]


def done_message(target_rules: Iterable[str], paper: Mapping[str, Any]) -> str:
    """What a finished run made: the paper, only the paper's inputs, or other targets
    (a rendered paper also clears the folder's out-of-date note)."""
    targets = set(target_rules)
    paper = validate(dict(paper))  # the defaults, where a study hands in its own settings
    if {"all", "manuscript"} & targets:
        clear_out_of_date(Path(manuscript_outputs(paper)[0]).parent)  # the paper is current
        names = ", ".join(Path(p).name for p in manuscript_outputs(paper))
        return f"\nDone. The paper is in {paper['stage']}/_manuscript/ ({names})."
    if "paper_inputs" in targets:
        return (f"\nDone. The paper's inputs (variables, executed notebooks) are staged in "
                f"{paper['stage']}/; the paper itself was not rendered.")
    return f"\nDone: {', '.join(sorted(targets))}. The paper itself was not a target."


def on_start(workflow: Any) -> None:
    """A study's ``onstart`` (after the DAG, before the first job): start a warm worker for
    each thread count besides one that the jobs to run use (the pre-flight started the
    one-thread worker), so that such a job finds its libraries loaded (paperkit/warm.py)."""
    try:
        counts = {int(job.threads) for job in workflow.dag.needrun_jobs()}
    except (AttributeError, TypeError, ValueError):
        return  # another Snakemake: the jobs start their workers themselves
    for threads in sorted(counts - {1}):
        warm.prestart(threads)


def on_success(workflow: Any, paper: Mapping[str, Any]) -> str:
    """A study's ``onsuccess``: what the run made (:func:`done_message`), and the stamp that
    lets the next ``make paper`` see without Snakemake that nothing changed
    (paperkit/uptodate.py)."""
    message = done_message({job.rule.name for job in workflow.dag.targetjobs}, paper)
    paper = validate(dict(paper))
    uptodate.record_workflow(workflow, owned=[str(Path(manuscript_outputs(paper)[0]).parent)])
    cancel_scheduler_timers()
    return message


def cancel_scheduler_timers() -> int:
    """Snakemake's job scheduler re-evaluates one second after each round of jobs (a
    ``threading.Timer`` of its job rate limit); the last timer keeps a finished build's
    process alive for up to that second. The build is over: cancel them. Returns how many."""
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)
              and "_schedule_reevalutation" in getattr(t.function, "__qualname__", "")]
    for timer in timers:
        timer.cancel()
    return len(timers)


def params_without_pandas() -> bool:
    """Snakemake compares every job's params with its last run's, and to hash any pandas
    object among them it imports pandas first: 0.4 s of every build, one with nothing to
    do included. No param can be a pandas object while pandas is not imported, so until
    it is the params are hashed as Snakemake hashes any other value (the same hash).
    Returns whether Snakemake's method was wrapped (not when it has none by that name)."""
    from snakemake import persistence

    base = getattr(persistence, "PersistenceBase", None)
    original = getattr(base, "_serialize_param_pandas", None)
    if original is None or getattr(original, "paperkit", False):
        return False

    def serialize(self: Any, value: Any) -> Any:
        if "pandas" in sys.modules:
            return original(self, value)
        return self._serialize_param_builtin(value)

    serialize.paperkit = True  # type: ignore[attr-defined]
    base._serialize_param_pandas = serialize
    return True


def scripts_in_forks() -> bool:
    """Snakemake runs a ``script:`` job as ``bash -c 'python SCRIPT'``: a new Python that
    imports Snakemake to read the job (about 0.12 s of one core a job), only to hand the job
    to a warm worker (paperkit/warm.py). Where the build keeps warm workers, Snakemake
    sends the script to the worker itself (:func:`paperkit.warm.run_script`): the same
    script file, environment, streams and exit status, one job per rule as before; a job
    in a conda environment, a container or with environment modules, a benchmarked one,
    or any job when no worker serves, runs as always. An interrupted build (Snakemake
    cancels its jobs) ends the forks too. Returns whether Snakemake's methods were wrapped
    (not when it has none by those names)."""
    from snakemake import script
    from snakemake.executors import local

    runner, executor = getattr(script, "PythonScript", None), getattr(local, "Executor", None)
    execute = getattr(runner, "execute_script", None)
    cancel = getattr(executor, "cancel", None)
    if execute is None or cancel is None or getattr(execute, "paperkit", False):
        return False

    def execute_script(self: Any, fname: str, edit: bool = False) -> None:
        plain = edit or self.conda_env or self.container_img or self.env_modules \
            or self.bench_record is not None
        status = None if plain else warm.run_script(fname, self.threads, self.resources)
        if status is None:
            return execute(self, fname, edit)
        if status:
            raise subprocess.CalledProcessError(status, f"{sys.executable} {fname}")
        return None

    def cancel_jobs(self: Any) -> None:
        warm.end_scripts()
        return cancel(self)

    execute_script.paperkit = cancel_jobs.paperkit = True  # type: ignore[attr-defined]
    runner.execute_script, executor.cancel = execute_script, cancel_jobs
    return True


def preflight_workflow(workflow: Any, paper: Mapping[str, Any]) -> None:
    """Before any job (in the main Snakemake process only): a second build refused, a killed
    build's lock released, the raw data verified against the manifest (every file under
    its folder, so an unregistered change anywhere stops the build), and every output not
    built from the current content rebuilt (paperkit/preflight.py, paperkit/freshness.py);
    Snakemake set to send script jobs to the warm workers itself (:func:`scripts_in_forks`)."""
    if not workflow.is_main_process:
        return
    params_without_pandas()
    scripts_in_forks()
    uptodate.start(workflow)
    if builds(sys.argv):  # the warm worker's imports overlap the DAG (PAPERKIT_WARM only)
        warm.prestart()
    preflight(workflow.basedir, raw_files(paper["raw_manifest"]), paper["raw_manifest"],
              paper["register_command"], outputs=workflow_outputs(workflow.rules),
              paper=manuscript_outputs(paper))
