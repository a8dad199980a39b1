"""Every file a rule's code reads is an input the rule declares and passes in.

A file that code looks up by itself (from the config, or a path it knows) is invisible
to the workflow: editing it reruns nothing, and the paper goes stale. The cold build of
the test session runs every rule script with Python's audit hook on ``open``
(paperkit.rules), and here each file a script read is held against its rule's declared
inputs, asked of the loaded workflow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.buildutil import rule_files
from tests.conftest import READS

pytestmark = [pytest.mark.build, pytest.mark.xdist_group("build")]

#: Files the job machinery itself reads: Snakemake's copy of the script, the job's log,
#: the editable install's metadata (package versions for the software table).
MACHINERY = (".snakemake/", "logs/", "__editable__.", "scs_analysis.egg-info/")


def _records(project: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((project / READS).glob("*.json"))]


def _covered(path: str, files: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in files)


def test_every_rule_script_of_the_build_recorded_what_it_read(built):
    rules = {r["rule"] for r in _records(built)}
    assert {"clean", "weight", "describe", "model", "themes", "overlap", "residents",
            "numbers", "variables", "notebook", "stage_paper", "check_numbers",
            "check_claims", "provenance", "manuscript"} <= rules


def test_every_file_a_rule_script_reads_is_a_declared_input_of_its_rule(built):
    records = _records(built)
    wanted = {str(i): (r["rule"], r["wildcards"]) for i, r in enumerate(records)}
    declared = rule_files(built, wanted)
    root = built.resolve()
    undeclared = []
    for key, record in zip(wanted, records, strict=True):
        files = declared[key]
        for read in record["reads"]:
            path = Path(read)
            if not path.is_relative_to(root) or "__pycache__" in path.parts:
                continue  # the interpreter, installed packages, /proc, temporary files
            rel = path.relative_to(root).as_posix()
            if rel.startswith(MACHINERY) or _covered(rel, files["outputs"]):
                continue
            if not path.exists():
                continue  # a failed open (no such file), or a temporary file of the job
            if not _covered(rel, files["inputs"]):
                undeclared.append(f"rule {record['rule']} reads {rel} without declaring it")
    assert not undeclared, "\n".join(sorted(set(undeclared)))
