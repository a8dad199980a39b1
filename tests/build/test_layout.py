"""The shape of the code: a generic kit, a study in sub-packages, dependencies derived.

These tests read the import graph statically (paperkit.deps) and dynamically (by
importing each rule script's imports in a fresh interpreter), and ask Snakemake what
each rule's inputs are, so a rule that misses a module it runs fails here.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paperkit.deps import code_closure
from tests.buildutil import ROOT, planned_rules

PACKAGES = ("analysis", "paperkit")
STANDIN = "analysis.standin"


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    """First-party modules a file imports anywhere in it (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    modules = {**_modules("analysis"), **_modules("paperkit")}
    return {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}


def test_paperkit_imports_nothing_of_the_study():
    offenders = {m: sorted(i for i in deps if i.startswith("analysis"))
                 for m, deps in _graph().items() if m.startswith("paperkit")}
    assert {m: d for m, d in offenders.items() if d} == {}


STRANDS = ("analysis.survey", "analysis.interviews", "analysis.civilized")


def test_no_strand_imports_another_they_meet_only_in_shared_layers():
    """Survey, interviews and civilized cities share code through analysis.stats,
    analysis.qda and paperkit, never through each other's modules."""
    graph = _graph()
    crossings = {m: sorted(d) for m in graph for strand in STRANDS if m.startswith(strand)
                 if (d := {i for i in graph[m] if i.startswith(STRANDS)
                           and not i.startswith(strand)})}
    assert crossings == {}


def test_figures_take_their_labels_from_the_labels_module_not_from_estimation_code():
    allowed = ("analysis.survey", "analysis.survey.labels", "analysis.survey.codebook",
               "analysis.survey.status")  # labels, codes and the data's own status
    graph = _graph()
    figures = {m: sorted(d) for m in graph if m.startswith("analysis.figures")
               if (d := {i for i in graph[m] if i.startswith(STRANDS)
                         and i not in allowed and i.rsplit(".", 1)[0] not in allowed})}
    assert figures == {}


def test_the_import_graph_has_no_cycles():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*trail, node, nxt]))
            if not state.get(nxt):
                visit(nxt, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        if not state.get(module):
            visit(module, [])


def test_stats_holds_estimators_only():
    for name, path in _modules("analysis").items():
        if name.startswith("analysis.stats"):
            imported = _imports(path)
            assert not {i for i in imported if not i.startswith("analysis.stats")}, name
            source = path.read_text(encoding="utf-8")
            io = ("Path(", "open(", "read_csv", "read_parquet", "read_yaml", "load_config")
            assert not [word for word in io if word in source], name


def _rule_scripts() -> list[Path]:
    return sorted([*(ROOT / "scripts").glob("[a-z]*.py"),
                   *(ROOT / "paperkit/workflow/scripts").glob("[a-z]*.py")])


@pytest.mark.parametrize("script", _rule_scripts(), ids=lambda p: p.stem)
def test_no_rule_script_reaches_the_simulated_data_generators(script):
    closure = code_closure([script], ROOT, PACKAGES)
    assert not [p for p in closure if p.startswith("analysis/standin/")]


def test_real_data_path_never_imports_the_standin_package():
    graph = _graph()
    real = [m for m in graph if not m.startswith(STANDIN)]
    assert not {m: sorted(d) for m in real if (d := {i for i in graph[m] if i.startswith(STANDIN)})}


def _loaded_modules(script: Path) -> set[str]:
    """Files of first-party modules that importing the script's imports actually loads."""
    body = [n for n in ast.parse(script.read_text()).body
            if isinstance(n, ast.Import | ast.ImportFrom)]
    probe = ast.unparse(ast.Module(body=body, type_ignores=[])) + (
        "\nimport sys, json\n"
        f"print(json.dumps(sorted(getattr(m, '__file__', None) or '' for n, m in "
        f"list(sys.modules.items()) if n.split('.')[0] in {PACKAGES!r})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return {Path(p).resolve().relative_to(ROOT).as_posix() for p in json.loads(out) if p}


_DAG_PROBE = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.iocontainers import Wildcards
from snakemake.settings.types import OutputSettings, ResourceSettings
out = {}
with SnakemakeApi(OutputSettings()) as api:
    wf = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=Path("Snakefile"),
                      workdir=Path("."))
    for rule in wf._workflow.rules:
        files = []
        for item in rule.input:
            if callable(item):
                item = item(Wildcards(fromdict={"name": "survey"}))
            files += [item] if isinstance(item, str) else list(item)
        out[rule.name] = [str(f) for f in files]
print("DAG-JSON" + json.dumps(out))
"""


def _rule_inputs() -> dict[str, set[str]]:
    """Each rule's input files as the loaded workflow holds them (Snakemake's own API)."""
    proc = subprocess.run([sys.executable, "-c", _DAG_PROBE], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    payload = proc.stdout.split("DAG-JSON", 1)[1]
    return {rule: set(files) for rule, files in json.loads(payload).items()}


def test_every_rule_depends_on_every_module_its_script_loads():
    inputs = _rule_inputs()
    checked = 0
    for script in _rule_scripts():
        rules = [r for r in inputs if script.relative_to(ROOT).as_posix() in inputs[r]]
        assert rules, f"no rule runs {script.name}"
        loaded = _loaded_modules(script)
        assert loaded, script.name
        for rule in rules:
            missing = loaded - inputs[rule]
            assert not missing, f"rule {rule} does not depend on {sorted(missing)}"
            checked += 1
    assert checked >= len(_rule_scripts())


@pytest.mark.build
def test_editing_the_figure_style_and_the_crossref_filter_reruns_figures_and_manuscript(built):
    for rel, comment in (("analysis/figures/style.py", "\n# restyled\n"),
                         ("paperkit/filters/crossref.lua", "\n-- edited\n")):
        with (built / rel).open("a", encoding="utf-8") as fh:
            fh.write(comment)
    try:
        planned = planned_rules(built)
    finally:
        for rel in ("analysis/figures/style.py", "paperkit/filters/crossref.lua"):
            (built / rel).write_bytes((ROOT / rel).read_bytes())
    assert {"figures_describe", "figures_models", "figures_themes", "figures_civilized",
            "manuscript"} <= planned
    assert not planned & {"clean", "weight", "model", "themes", "overlap", "residents"}


def test_derived_code_inputs_follow_file_content_not_the_cache_or_file_times(tmp_path):
    """The parse cache is keyed by content: a module rewritten with the same size and the
    old file time (as `cp -p` leaves it) is read again, and its new import counts."""
    from paperkit.deps import CACHE_FILE

    (tmp_path / ".snakemake").mkdir()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for name in ("__init__", "b", "c"):
        (pkg / f"{name}.py").write_text("")
    entry = pkg / "a.py"
    entry.write_text("import pkg.b\n")
    assert "pkg/b.py" in code_closure(["pkg/a.py"], tmp_path, ["pkg"])
    assert (tmp_path / CACHE_FILE).is_file()
    stat = entry.stat()
    entry.write_text("import pkg.c\n")
    os.utime(entry, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    closure = subprocess.run(
        [sys.executable, "-c", "import sys; from paperkit.deps import code_closure; "
         "print(code_closure(['pkg/a.py'], sys.argv[1], ['pkg']))", str(tmp_path)],
        capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "pkg/c.py" in closure and "pkg/b.py" not in closure
