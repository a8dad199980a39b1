"""Where every number of the text comes from: one record per ``var`` key and per claim.

A reader who doubts "79.8%" should not have to open the sources. For each key the
article quotes (``{{< var key >}}``) this module records the formatted value, the
unrounded value of ``numbers.json``, the rule that computed it, the function that rule
runs and the rule's input files with their SHA-256; for each checked claim its assertion,
the values it compared and the result. Two files are written, read by both renderers:

* ``traces.json``, read by the ``datavar.lua`` filter: in the HTML each value becomes an
  element with ``data-var="<key>"`` whose tooltip shows the record and links to the
  appendix entry; each claim links to its entry;
* ``numbers.md``, ``rules.md``, ``claims.md``: the tables of the "Numbers and claims"
  appendix (included by the article): key, value, rule per number (anchored ``var-<key>``);
  function and inputs per rule; and one row per claim, anchored by the claim id (compact
  enough for the PDF and DOCX).

The records come from data the build already has: the section of the numbers tree each
results file fills (``sections``), the workflow's rules (outputs, script, inputs) and the
claim-check report. A key whose section no rule produces is an error.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paperkit import qmd
from paperkit.io import read_json, read_yaml, write_json, write_text
from paperkit.manifest import sha256_file
from paperkit.provenance import ProvenanceError, producing_rule
from paperkit.tables import pipe_table

VAR_ANCHOR = "var-"  # the appendix entry of key k has the id "var-k"
SHORT_SHA = 12  # hex digits of a checksum the appendix prints (the tooltip has all 64)


class TraceError(ValueError):
    """A number of the text cannot be traced to the rule that computed it (``key``: the
    value the results lack, when that is the cause)."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class VarTrace:
    """One quoted number: its value as printed and as computed, and where it comes from."""

    key: str
    value: str
    unrounded: str
    rule: str
    function: str
    inputs: tuple[tuple[str, str], ...]  # (file, sha256)


def article_keys(article: Path) -> list[str]:
    """The ``var`` keys of the article (front matter and includes too), first use first."""
    return list(article_key_sites(article))


def article_key_sites(article: Path) -> dict[str, str]:
    """Each ``var`` key of the article and where it is first used (``file:line``)."""
    doc = qmd.read_document(article, follow=lambda p: not qmd.is_generated(
        p.relative_to(article.parent.resolve())))
    keys: dict[str, str] = {}
    for line in [*doc.front_lines, *doc.body]:
        for match in qmd.SHORTCODE.finditer(line.text):
            open_extra, name, args, close_extra = match.groups()
            if name == "var" and not (open_extra and close_extra):
                keys.setdefault(args.strip(), line.where)
    return keys


def rule_function(script: str | Path) -> str:
    """``module.function`` a thin rule script runs: its last ``run(smk, func, ...)`` and
    the import of ``func``."""
    path = Path(script)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError) as exc:
        raise TraceError(f"{path}: cannot read the rule script: {exc}") from exc
    imported = {alias.asname or alias.name: f"{node.module}.{alias.name}"
                for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                for alias in node.names}
    calls = sorted((node.lineno, node.args[1].id) for node in ast.walk(tree)
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                   and node.func.id in ("run", "run_cli") and len(node.args) >= 2
                   and isinstance(node.args[1], ast.Name))
    if calls:  # the last call writes the results (earlier ones check inputs)
        name = calls[-1][1]
        return imported.get(name, name)
    raise TraceError(f"{path}: no call run(smk, function, ...) names the function it runs")


def _leaf(tree: Any, key: str, source: str) -> Any:
    node = tree
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise TraceError(f"{source}: no value '{key}' (the article quotes it)", key=key)
    return node


def _unrounded(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _section_rule(section: str, sections: Mapping[str, str], gatherer: str,
                  rules: Mapping[str, Mapping[str, Any]]) -> str:
    """The rule behind a top-level section: the producer of its file, else the gatherer."""
    if section not in sections:
        return gatherer
    try:
        return producing_rule(sections[section], rules)
    except ProvenanceError:
        return ""  # an input file no rule writes (published values, say)


def trace_vars(keys: Sequence[str], numbers: Any, variables: Any,
               sections: Mapping[str, str], gatherer: str,
               rules: Mapping[str, Mapping[str, Any]], root: Path = Path(".")) -> list[VarTrace]:
    """A record for each key; ``sections`` maps a top-level key to the file it comes from,
    ``gatherer`` is the rule that writes the numbers file (it computes the other sections)."""
    functions: dict[str, str] = {}
    checksums: dict[str, str] = {}

    def sha(path: str) -> str:
        if path not in checksums:
            checksums[path] = sha256_file(root / path)
        return checksums[path]

    out = []
    for key in keys:
        value = _leaf(variables, key, "variables file")
        raw = _leaf(numbers, key, "numbers file")
        section = key.split(".")[0]
        rule = _section_rule(section, sections, gatherer, rules)
        if rule:
            spec = rules[rule]
            if rule not in functions:
                if spec.get("function_error"):
                    raise TraceError(f"{key}: made by rule {rule}, whose function is not "
                                     f"known: {spec['function_error']}")
                functions[rule] = spec.get("function") or ""
            files = [f for f in spec.get("inputs", []) if (root / f).is_file()]
        else:
            files = [sections[section]]
        out.append(VarTrace(key, _unrounded(value), _unrounded(raw), rule or "none (input file)",
                            functions.get(rule, ""), tuple((f, sha(f)) for f in files)))
    return out


def _code(text: str) -> str:
    """Inline code that cannot be closed early by a backtick in ``text``."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def var_table(traces: Sequence[VarTrace]) -> str:
    """Key (with its anchor), value as printed, rule: compact enough for the PDF."""
    rows = [[f"[{_code(t.key)}]{{#{VAR_ANCHOR}{t.key}}}", t.value, _code(t.rule)]
            for t in traces]
    return pipe_table(["Key", "Value", "Rule"], rows, widths=(56, 16, 16))


def rule_table(traces: Sequence[VarTrace]) -> str:
    """Each rule once: the function it runs and its input files with short checksums."""
    seen: dict[str, VarTrace] = {}
    for t in traces:
        seen.setdefault(t.rule, t)
    rows = [[_code(rule), _code(t.function) if t.function else "",
             "; ".join(f"{_code(f)} ({s[:SHORT_SHA]})" for f, s in t.inputs)]
            for rule, t in seen.items()]
    return pipe_table(["Rule", "Function", "Input files (SHA-256, first digits)"], rows,
                      widths=(14, 30, 50))


RESULT_WORDS = {"pass": "holds"}


def claim_table(report: Mapping[str, Any]) -> str:
    """One row per checked claim, anchored by its id: what it says, the assertion, the
    values it compared and the result."""
    rows = []
    for claim in report["claims"]:
        values = "; ".join(_code(f"{k} = {v!r}") for k, v in claim["values"].items())
        asserts = "; ".join(_code(" ".join(a.split())) for a in claim["assert"])
        rows.append([f"[{_code(claim['id'])}]{{#{claim['id']}}}", claim["text"], asserts,
                     values or "none", RESULT_WORDS.get(claim["status"], claim["status"])])
    return pipe_table(["Claim", "Statement", "Assertion", "Values compared", "Result"], rows,
                      widths=(16, 22, 30, 30, 8))


def tooltip_record(trace: VarTrace) -> dict[str, Any]:
    """What the HTML shows on hover or tap (the full checksums)."""
    return asdict(trace) | {"inputs": [{"file": f, "sha256": s} for f, s in trace.inputs]}


def write_traces(article: str | Path, numbers_path: str | Path, variables_path: str | Path,
                 claims_report: str | Path, sections: Mapping[str, str], gatherer: str,
                 rules: Mapping[str, Mapping[str, Any]], out_dir: str | Path,
                 records: str | Path | None = None) -> None:
    """Snakemake entry: the records for the HTML (``records``, default
    ``out_dir/traces.json``; the renderer reads them from the stage) and the appendix
    tables numbers.md, rules.md and claims.md."""
    sites = article_key_sites(Path(article))
    try:
        traces = trace_vars(list(sites), read_json(numbers_path), read_yaml(variables_path),
                            sections, gatherer, rules)
    except TraceError as exc:
        key = exc.key
        if key in sites:  # where the author quotes it, and why it may be missing
            raise TraceError(f"{sites[key]}: quotes {{{{< var {key} >}}}}, which the results "
                             f"do not hold: {exc}. A setting may have turned off what makes "
                             "it; change the sentence or the setting") from exc
        raise
    report = read_json(claims_report)
    out = Path(out_dir)
    write_json(Path(records) if records else out / "traces.json", {
        "vars": {t.key: tooltip_record(t) for t in traces},
        "claims": {c["id"]: c for c in report["claims"]},
    })
    write_text(out / "numbers.md", var_table(traces))
    write_text(out / "rules.md", rule_table(traces))
    write_text(out / "claims.md", claim_table(report))
