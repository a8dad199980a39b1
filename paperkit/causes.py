"""Why a number moved: what changed between two revisions, traced through the workflow.

A change between two revisions of a paper is one of

* ``config:<key path>``: a leaf of the validated config (schema defaults filled in);
* ``data:<file>``, ``code:<module>``, ``text:<file>``: a changed file, by its kind.

Each reaches the rules that read it -- a config key through the rule's ``params`` (or
an input path the key names), a file as one of the rule's inputs (code inputs are
derived from imports, :mod:`paperkit.deps`) -- and from there every rule downstream of
an output that really changed between the two builds. The chain of rules is kept, so
the report can say *how* ``config:weighting.variance`` reached ``numbers``.

:func:`describe_workflow` turns a Snakemake workflow into plain data (run it in the
revision's own tree: ``python -m paperkit.causes SNAKEFILE OUT.json``); the rest works
on that data and is tested without Snakemake.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

CODE_SUFFIXES = {".py", ".smk", ".lua", ".r", ".jl", ".sh", ".mk"}
CODE_NAMES = {"Snakefile", "Makefile", "GNUmakefile", "Dockerfile"}
TEXT_SUFFIXES = {".qmd", ".md", ".ipynb", ".bib", ".csl", ".typ", ".tex", ".rmd"}
UNTRACED = "untraced: no change between the revisions reaches it through the workflow"


# ----------------------------------------------------------------------------- config


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of a nested mapping by dotted path (lists are leaves)."""
    if isinstance(tree, Mapping) and tree:
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree} if prefix else {}


def _nodes(tree: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Every (path, node) of the config, containers included."""
    yield prefix, tree
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _nodes(value, f"{prefix}.{key}" if prefix else str(key))


def config_paths(value: Any, config: Mapping[str, Any], name: str = "") -> set[str]:
    """The config key paths a rule parameter is made of.

    The same object as a config node is that node; a mapping whose items all equal
    items of one config mapping (a filtered copy) is those items; a scalar is the config
    leaf of the same value and name (``engine=config["paper"]["engine"]``).
    """
    if callable(value) or value is None:
        return set()
    nodes = list(_nodes(config))
    same = [path for path, node in nodes if node is value and isinstance(value, (dict, list))]
    if same:
        return {p for p in same if p}
    if isinstance(value, Mapping) and value:
        for path, node in nodes:
            if isinstance(node, Mapping) and all(k in node and node[k] == v
                                                 for k, v in value.items()):
                return {f"{path}.{k}" if path else str(k) for k in value}
        return set().union(*(config_paths(v, config, str(k)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        equal = [p for p, node in nodes if p and node == list(value)]
        if equal:
            return set(equal)
        return set().union(set(), *(config_paths(v, config) for v in value))
    named = [p for p, node in nodes if p and p.rsplit(".", 1)[-1] == name and node == value
             and type(node) is type(value)]
    return set(named)


# ----------------------------------------------------------------------------- workflow


def _pattern(path: str) -> re.Pattern[str]:
    """A wildcard path ('x/{name}.ipynb') as a regular expression."""
    return re.compile(re.sub(r"\\\{[^}]*\\\}", r"[^/]+", re.escape(path)))


def covers(output: str, path: str) -> bool:
    """True when ``path`` is ``output``, lies under the directory ``output``, or matches
    its wildcard pattern."""
    out = output.rstrip("/")
    return (path == out or path.startswith(out + "/") or bool(_pattern(out).fullmatch(path)))


def _wildcards(pattern: str, path: str) -> dict[str, str] | None:
    names = re.findall(r"\{(\w+)[^}]*\}", pattern)
    regex = re.escape(pattern)
    for name in names:
        regex = re.sub(r"\\\{" + name + r"[^}]*\\\}", f"(?P<{name}>[^/]+)", regex, count=1)
    match = re.fullmatch(regex, path)
    return match.groupdict() if match else None


def _strings(items: Iterable[Any]) -> list[str]:
    """The file paths of an input function's result (nested lists flattened)."""
    out = []
    for item in items:
        if isinstance(item, (list, tuple)):
            out += _strings(item)
        elif isinstance(item, str) or hasattr(item, "file"):
            out.append(str(item))
    return out


def describe_rules(rules: Sequence[Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """A Snakemake workflow's rules and config as plain data.

    Input functions are called with the wildcards other rules ask for, so a rule like
    ``notebook: build/paper/notebooks/{name}.ipynb`` gets its concrete inputs.
    """
    plain = {r.name: {"outputs": [str(f) for f in r.output],
                      "inputs": [str(f) for f in r.input if not callable(f)],
                      "functions": [f for f in r.input if callable(f)],
                      "params": sorted(set().union(set(), *(
                          config_paths(v, config, k) for k, v in r.params.items()))),
                      "script": str(r.script or ""),
                      "snakefile": _relative(getattr(r, "snakefile", "") or "")} for r in rules}
    asked = [p for rule in plain.values() for p in rule["inputs"] if "{" not in p]
    for rule in plain.values():
        for function in rule.pop("functions"):
            for output in rule["outputs"]:
                for path in asked:
                    wildcards = _wildcards(output, path) if "{" in output else None
                    if wildcards is not None:
                        try:
                            rule["inputs"] += _strings(_as_list(function(
                                SimpleNamespace(**wildcards))))
                        except Exception:  # noqa: BLE001 - an input function we cannot call
                            continue
        rule["inputs"] = sorted(set(rule["inputs"]))
    return {"rules": plain, "config": flatten(config)}


def _relative(path: str) -> str:
    """A rule's Snakefile relative to the working directory (where the workflow runs)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def describe_workflow(snakefile: Path) -> dict[str, Any]:
    """Load ``snakefile`` with Snakemake's API (in the current directory) and describe it."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(cores=1),
                                snakefile=snakefile)._workflow
        return describe_rules(list(workflow.rules), workflow.config)


# ----------------------------------------------------------------------------- causes


def file_cause(path: str) -> str:
    """``code:<module>``, ``text:<file>`` or ``data:<file>`` for a changed file."""
    p = PurePosixPath(path)
    suffix = p.suffix.lower()
    if suffix == ".py":
        parts = list(p.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return "code:" + ".".join(parts)
    if suffix in CODE_SUFFIXES or p.name in CODE_NAMES:
        return f"code:{path}"
    if suffix in TEXT_SUFFIXES or p.parts[0] in ("paper", "notebooks"):
        return f"text:{path}"
    return f"data:{path}"


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Config leaves whose value differs (added and removed keys too)."""
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)}


def _reads_key(params: Iterable[str], key: str) -> bool:
    return any(p == key or key.startswith(p + ".") or p.startswith(key + ".") for p in params)


@dataclass
class Trace:
    """For every rule, the causes that reach it and, for each, the chain of rules."""

    chains: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def causes(self, rule: str) -> list[str]:
        """Every cause that reaches ``rule``."""
        return sorted(self.chains.get(rule, {}))

    def chain(self, rule: str, cause: str) -> list[str]:
        """The rules through which ``cause`` reached ``rule`` (first reader first)."""
        return self.chains.get(rule, {}).get(cause, [])


SHAPE = ("inputs", "outputs", "params", "script")


def redefined(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]],
              files: Iterable[str]) -> dict[str, str]:
    """Rules whose definition changed (inputs, outputs, params or script), each with the
    changed workflow file that defines it."""
    files = set(files)
    return {name: rule.get("snakefile", "") for name, rule in new.items()
            if rule.get("snakefile") in files
            and (name not in old or any(old[name].get(k) != rule.get(k) for k in SHAPE))}


def direct_causes(rule: Mapping[str, Any], files: Iterable[str],
                  config: Mapping[str, tuple[Any, Any]]) -> set[str]:
    """What of the changes a rule reads itself (not through another rule), its own
    definition included when a changed workflow file redefined it."""
    files = list(files)
    found = {file_cause(f) for f in files if any(covers(i, f) for i in rule["inputs"])}
    if rule.get("redefined_by"):
        found.add(file_cause(rule["redefined_by"]))
    for key, values in config.items():
        names_input = any(isinstance(v, str) and v and any(covers(i, v) for i in rule["inputs"])
                          for v in values)
        if _reads_key(rule["params"], key) or names_input:
            found.add(f"config:{key}")
    return found


def trace(rules: Mapping[str, Mapping[str, Any]], files: Iterable[str],
          config: Mapping[str, tuple[Any, Any]],
          changed_output: Callable[[str], bool] = lambda path: True) -> Trace:
    """Propagate the changes from the rules that read them to everything downstream.

    ``changed_output(path)`` says whether a rule's output differs between the two builds;
    a cause does not travel through an output that came out the same.
    """
    files = list(files)
    result = Trace()
    todo: list[tuple[str, str, list[str]]] = []
    for name, rule in rules.items():
        for cause in direct_causes(rule, files, config):
            todo.append((name, cause, [name]))
    while todo:
        name, cause, chain = todo.pop(0)
        if cause in result.chains.setdefault(name, {}):
            continue
        result.chains[name][cause] = chain
        for output in rules[name]["outputs"]:
            for other, rule in rules.items():
                links = [i for i in rule["inputs"] if covers(output, i) or covers(i, output)]
                if other != name and links and any(changed_output(i) for i in links):
                    todo.append((other, cause, [*chain, other]))
    return result


def downstream(rules: Mapping[str, Mapping[str, Any]], names: Iterable[str]) -> list[str]:
    """``names`` and every rule that reads, directly or not, what they write."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found or name not in rules:
            continue
        found.add(name)
        for output in rules[name]["outputs"]:
            todo += [other for other, rule in rules.items()
                     if any(covers(output, i) or covers(i, output) for i in rule["inputs"])]
    return sorted(found)


def producer(rules: Mapping[str, Mapping[str, Any]], path: str) -> str | None:
    """The rule whose output is (or holds) ``path``."""
    for name, rule in rules.items():
        if any(covers(o, path) for o in rule["outputs"]):
            return name
    return None


# ----------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """python -m paperkit.causes SNAKEFILE OUT.json: the workflow as plain data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snakefile", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    described = describe_workflow(args.snakefile)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(described, indent=1, sort_keys=True, default=str),
                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())


# ----------------------------------------------------------------------------- per number


def _key(value: float) -> float:
    """A number to 10 significant digits, so a value copied through JSON still matches."""
    return float(f"{value:.10g}")


def numeric_leaves(tree: Any) -> set[float]:
    """Every number in a JSON/YAML tree (booleans are not numbers here), to 10 digits."""
    if isinstance(tree, Mapping):
        return set().union(set(), *(numeric_leaves(v) for v in tree.values()))
    if isinstance(tree, (list, tuple)):
        return set().union(set(), *(numeric_leaves(v) for v in tree))
    if isinstance(tree, (int, float)) and not isinstance(tree, bool):
        return {_key(float(tree))}
    return set()


def value_sources(old: Any, new: Any,
                  inputs: Mapping[str, tuple[set[float], set[float]]]) -> list[str]:
    """The inputs of the numbers' rule that held the number's old value in the base and its
    new value now: where the number was taken from (empty when it was computed)."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new)):
        return []
    return sorted(path for path, (before, after) in inputs.items()
                  if _key(float(old)) in before and _key(float(new)) in after)


def number_causes(sources: Sequence[str], traced: Trace, rules: Mapping[str, Mapping[str, Any]],
                  sink: str, direct: set[str]) -> list[str]:
    """The causes of one number: those that reached the inputs it was taken from (and the
    numbers' rule itself), or, when no source is known, every cause that reached the rule."""
    if not sources:
        return traced.causes(sink)
    found = set(direct)
    for path in sources:
        maker = producer(rules, path)
        found |= set(traced.causes(maker)) if maker else {file_cause(path)}
    narrowed = sorted(found & set(traced.causes(sink)))
    return narrowed or traced.causes(sink)


def sources_by_section(matched: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """For every key prefix ('survey.', 'survey.approval.'), the inputs its numbers were
    taken from (numbers found in exactly one input only: small counts are everywhere)."""
    by_prefix: dict[str, set[str]] = {}
    for key, sources in matched.items():
        if len(sources) != 1:
            continue
        parts = key.split(".")
        for depth in range(1, len(parts)):
            by_prefix.setdefault(".".join(parts[:depth]), set()).add(sources[0])
    return by_prefix


def section_sources(key: str, by_prefix: Mapping[str, set[str]]) -> list[str]:
    """The inputs of the nearest section of ``key`` whose numbers' origin is known: for a
    number the numbers' rule computes (a percentage from a proportion, a sum)."""
    parts = key.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        found = by_prefix.get(".".join(parts[:depth]))
        if found:
            return sorted(found)
    return []
