"""Revise and resubmit: the paper's changes since a git revision, and why its numbers moved.

``python -m paperkit.diff --base <rev>`` (``make diff BASE=<rev>``) builds the paper of
``<rev>`` in a scratch copy (``build/diff-base/<commit>/``, exported with ``git archive``,
so the author's tree and index are never touched), builds the current paper, and writes
``build/diff/``:

* ``index-changes.pdf`` and ``index-changes.docx``: the current paper with inserted words
  highlighted and deleted words struck through (:mod:`paperkit.worddiff`), changed
  numbers as old and new, changed figures and tables marked in their captions;
* ``numbers.csv`` (``key,old,new,causes``): every variable whose value changed, with the
  changes between the revisions that reach it through the workflow
  (:mod:`paperkit.causes`);
* ``changes.html``: the same for reading, with the sentences quoting each number, the
  claims whose values changed, old and new figures and tables side by side, and the chain
  of rules through which each cause travelled.

The scratch copy is a cache keyed by the base commit: a second diff against the same
base builds nothing there. Its first build starts from a copy of the author's last build
(outputs and Snakemake's records), so Snakemake reruns only what the base changes.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperkit import causes, qmd, worddiff
from paperkit.io import parse_yaml, read_json, read_yaml, write_text

OLD_TIME = 946684800  # 2000-01-01: the base's sources are older than any seeded output
SEED = ("results", "figures", "build", "logs", ".snakemake/metadata",
        ".snakemake/incomplete", ".snakemake/paperkit", ".snakemake/paperkit-deps.json")
SKIP_SEED = {"diff", "diff-base"}
STAMP = ".paperkit-diff.json"
IMAGE = re.compile(r"!\[[^\]]*\]\(<?([^)\s>]+)>?[^)]*\)\{#(fig-[\w-]+)")
ERROR_RULE = re.compile(r"Error in rule (\w+)")


class DiffError(RuntimeError):
    """The diff cannot be made; the message says why and what to do."""


@dataclass
class Options:
    """Where things are in a paperkit project (the defaults are this layout's)."""

    root: Path
    base: str
    target: str = "all"
    source: str = "paper"
    stage: str = "build/paper"
    article: str = "index.qmd"
    numbers: str = "results/numbers.json"
    variables: str = "build/paper/_variables.yml"
    claims_report: str = "results/checks/claims.json"
    out: str = "build/diff"
    cache: str = "build/diff-base"
    engine: str = "auto"
    cores: int = 2
    formats: tuple[str, ...] = ("pdf", "docx")
    keep: int = 3  # cached base builds kept (the most recently used)


@dataclass
class Build:
    """How a build went: which rule failed, and which rules' outputs are not current."""

    tree: Path
    ok: bool
    failed_rule: str = ""
    pending: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cached: bool = False


# ----------------------------------------------------------------------------- git


def _git(root: Path, *args: str, binary: bool = False) -> Any:
    """Output of a git command in ``root``; a failure is a DiffError with git's message."""
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=not binary,
                          check=False)
    if proc.returncode != 0:
        err = proc.stderr if not binary else proc.stderr.decode(errors="replace")
        raise DiffError(f"git {' '.join(args)}: {err.strip()}")
    return proc.stdout


def resolve(root: Path, revision: str) -> str:
    """The commit a revision names, or a clear error."""
    try:
        _git(root, "rev-parse", "--show-toplevel")
    except DiffError as exc:
        raise DiffError(f"{root} is not in a git repository; `make diff` compares revisions "
                        "of one") from exc
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                          cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise DiffError(f"unknown revision {revision!r}: no commit, branch or tag of that name "
                        "(see `git log --oneline` or `git tag`); usage: make diff BASE=<rev>")
    return proc.stdout.strip()


def prefix(root: Path) -> str:
    """The project's folder inside the repository ('' at the top, or 'examples/x/')."""
    return _git(root, "rev-parse", "--show-prefix").strip()


def uncommitted(root: Path) -> list[str]:
    """Files of the project with uncommitted changes (untracked ones included)."""
    out = _git(root, "status", "--porcelain", "--untracked-files=all", "--", ".")
    return [line[3:] for line in out.splitlines() if line.strip()]


def changed_files(root: Path, commit: str) -> list[str]:
    """Files that differ between ``commit`` and the working tree (paths from the project)."""
    tracked = _git(root, "diff", "--name-only", "--relative", commit, "--", ".").split()
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--", ".").split()
    return sorted(set(tracked) | set(untracked))


def export(root: Path, commit: str, dest: Path) -> None:
    """The project's files at ``commit`` in ``dest`` (git archive: no worktree, no index)."""
    data = _git(root, "archive", "--format=tar", f"{commit}:{prefix(root)}", binary=True)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp, filter="fully_trusted")  # the author's own repository
    for path in tmp.rglob("*"):
        if not path.is_symlink():
            os.utime(path, (OLD_TIME, OLD_TIME))
    tmp.rename(dest)


def seed(root: Path, tree: Path) -> None:
    """Copy the author's last build (outputs, Snakemake's records) into the base tree.

    The sources of ``tree`` are older than these outputs; paperkit's pre-flight marks
    each source whose content differs from what that build used, and Snakemake's params
    and code triggers do the rest, so only what the base changes is rebuilt.
    """
    for rel in SEED:
        src = root / rel
        if src.is_dir():
            shutil.copytree(src, tree / rel, symlinks=True, dirs_exist_ok=True,
                            ignore=lambda d, names: [n for n in names if n in SKIP_SEED]
                            if Path(d) == root / "build" else [])
        elif src.is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tree / rel)


# ----------------------------------------------------------------------------- builds


def _env(tree: Path) -> dict[str, str]:
    """The tree's own code first on the path (the venv's editable install is the author's)."""
    return {**os.environ, "PYTHONPATH": str(tree)}


def snakemake_command() -> str:
    """The Snakemake of the running environment (the author's venv builds both trees)."""
    return str(Path(sys.executable).with_name("snakemake"))


def build(tree: Path, target: str, cores: int, label: str, keep_going: bool = False) -> Build:
    """Run Snakemake for ``target`` in ``tree``; on failure, say which rules failed."""
    started = time.monotonic()
    cmd = [snakemake_command(), "--cores", str(cores), "--rerun-incomplete", target]
    print(f"diff: building the {label} paper ({tree}) ...", file=sys.stderr, flush=True)
    proc = subprocess.run([*cmd, *(["--keep-going"] if keep_going else [])], cwd=tree,
                          env=_env(tree), capture_output=True, text=True, check=False)
    log = tree / "logs" / "paperkit-diff-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    result = Build(tree, proc.returncode == 0, seconds=time.monotonic() - started)
    if not result.ok:
        failed = list(dict.fromkeys(ERROR_RULE.findall(proc.stdout + proc.stderr)))
        result.failed_rule = ", ".join(failed) or "(before any rule: see the log)"
        result.pending = failed
    return result


def base_build(opts: Options, commit: str) -> Build:
    """The base paper, built once per commit in its scratch tree (a cache).

    The build keeps going past a failed rule, so everything independent of it is of the
    base; the failed rules and all downstream of them hold the copied build's files and
    are marked ``pending``: not compared.
    """
    tree = opts.root / opts.cache / commit
    stamp = tree / STAMP
    if stamp.is_file():
        record = read_json(stamp)
        if record.get("ok"):
            stamp.touch()  # its last use, for the pruning
            return Build(tree, True, cached=True)
    if not tree.is_dir():
        export(opts.root, commit, tree)
        seed(opts.root, tree)
    result = build(tree, opts.target, opts.cores, f"base ({commit[:10]})", keep_going=True)
    if not result.ok:
        rules = Describe(tree).result()["rules"]
        result.pending = causes.downstream(rules, result.pending) if result.pending \
            else sorted(rules)  # failed before any rule: nothing of the base is known
    write_text(stamp, json.dumps({"ok": result.ok, "failed_rule": result.failed_rule,
                                  "pending": result.pending}))
    return result


def prune(cache: Path, keep: int, current: str) -> list[str]:
    """Drop the cached base builds beyond the ``keep`` most recently used (each is a whole
    copy of the project's build); the current one always stays. Returns what went."""
    if not cache.is_dir():
        return []
    trees = [p for p in cache.iterdir() if p.is_dir() and p.name != current]
    used = {p: (p / STAMP).stat().st_mtime if (p / STAMP).is_file() else 0.0 for p in trees}
    gone = sorted(trees, key=lambda p: used[p], reverse=True)[max(keep - 1, 0):]
    for tree in gone:
        shutil.rmtree(tree)
    return sorted(p.name for p in gone)


class Describe:
    """The tree's workflow as plain data, read in a process of its own (with the tree's
    own code) while the diff goes on; a base's description is kept with its cache."""

    def __init__(self, tree: Path, keep: bool = False) -> None:
        self.tree, self.out = tree, tree / ".snakemake" / "paperkit-diff-workflow.json"
        self.proc = None
        if keep and self.out.is_file():
            return
        # causes.py is run by path (it imports only Snakemake), so a base older than it works
        runner = ("import runpy, sys; sys.argv = sys.argv[1:]; "
                  "runpy.run_path(sys.argv[0], run_name='__main__')")
        self.out.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", runner, causes.__file__, "Snakefile", str(self.out)],
            cwd=tree, env=_env(tree), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self) -> dict[str, Any]:
        if self.proc is not None:
            _, stderr = self.proc.communicate()
            if self.proc.returncode != 0:
                raise DiffError(f"cannot read the workflow of {self.tree}:\n{stderr[-2000:]}")
        return read_json(self.out)


# ----------------------------------------------------------------------------- numbers


def flat_values(path: Path) -> dict[str, str]:
    """The formatted variables, by dotted key ({} when the file is missing)."""
    if not path.is_file():
        return {}
    return {k: "" if v is None else str(v) for k, v in causes.flatten(read_yaml(path)).items()}


def changed_values(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Keys whose printed value differs (added and removed ones too), as (old, new)."""
    return {k: (old.get(k, ""), new.get(k, "")) for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)}


def same_content(a: Path, b: Path) -> bool:
    """Files or directories with identical bytes."""
    if a.is_file() and b.is_file():
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    if a.is_dir() and b.is_dir():
        files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        return files_a == files_b and all(same_content(a / f, b / f) for f in files_a)
    return False


# ----------------------------------------------------------------------------- objects


@dataclass
class Object:
    """A figure or table of the paper, with its old and new content."""

    label: str
    kind: str  # "image" or "text"
    old: str | None
    new: str | None
    where: str
    shown_by: str = "embed"  # "embed" (a notebook cell), "include" or "image" (a file)
    path: str = ""  # the file of the stage that holds it


def _cells(notebook: Path) -> dict[str, dict[str, Any]]:
    """The labelled code cells of an executed notebook ({} when it is missing)."""
    if not notebook.is_file():
        return {}
    data = json.loads(notebook.read_text(encoding="utf-8"))
    cells = {}
    for cell in data.get("cells", []):
        match = re.search(r"^#\|\s*label:\s*([\w-]+)", "".join(cell.get("source", [])),
                          re.MULTILINE)
        if cell.get("cell_type") == "code" and match:
            cells[match.group(1)] = cell
    return cells


def _output(cell: dict[str, Any] | None) -> tuple[str, str | None]:
    """The cell's displayed content: ("image", base64 png) or ("text", markdown)."""
    if cell is None:
        return "text", None
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        for mime in ("image/png", "image/jpeg", "image/svg+xml"):
            if mime in data:
                return "image", "".join(data[mime]) if isinstance(data[mime], list) \
                    else data[mime]
        if "text/markdown" in data:
            text = data["text/markdown"]
            return "text", "".join(text) if isinstance(text, list) else text
    return "text", None


def changed_objects(article: Path, old_stage: Path, new_stage: Path) -> list[Object]:
    """Embedded cells and included tables of ``article`` (the author's source; its embeds
    and includes name files of the stages) whose content differs between the two stages."""
    lines = qmd.read_lines(article)
    found: list[Object] = []
    for sc in qmd.shortcodes(lines, ("embed", "include")):
        if sc.name == "embed":
            embed = qmd.embed_of(sc)
            kind, new = _output(_cells(new_stage / embed.notebook).get(embed.label))
            _, old = _output(_cells(old_stage / embed.notebook).get(embed.label))
            label = embed.label
        else:
            rel = sc.first_arg
            old_path, new_path = old_stage / rel, new_stage / rel
            old = old_path.read_text(encoding="utf-8") if old_path.is_file() else None
            new = new_path.read_text(encoding="utf-8") if new_path.is_file() else None
            kind, label = "text", _caption_label(lines, sc.line.lineno) or rel
        if old != new:
            path = embed.notebook if sc.name == "embed" else sc.first_arg
            found.append(Object(label, kind, old, new, sc.where, sc.name, path))
    for line in lines:
        for match in IMAGE.finditer(line.text):
            old_file, new_file = old_stage / match.group(1), new_stage / match.group(1)
            old_img, new_img = (base64.b64encode(p.read_bytes()).decode() if p.is_file()
                                else None for p in (old_file, new_file))
            if old_img != new_img:
                found.append(Object(match.group(2), "image", old_img, new_img, line.where,
                                    "image", match.group(1)))
    return found


def _caption_label(lines: Sequence[qmd.Line], lineno: int) -> str:
    for line in lines[lineno:]:
        if line.text.strip():
            match = re.search(r"\{#((?:tbl|fig)-[\w-]+)", line.text)
            return match.group(1) if match and line.text.startswith(":") else ""
    return ""


def mark_notebook_caption(notebook: Path, label: str, note: str) -> bool:
    """Put ``note`` before the caption of the labelled cell of an executed notebook."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in data.get("cells", []):
        source = "".join(cell.get("source", []))
        lines = source.splitlines()
        count = next((n for n, text in enumerate(lines) if not text.startswith("#|")),
                     len(lines))
        options = parse_yaml("\n".join(t[2:] for t in lines[:count]), f"{notebook} cell") \
            if count else None
        if not isinstance(options, dict) or options.get("label") != label:
            continue
        for key in ("fig-cap", "tbl-cap"):
            if key in options:
                options[key] = f"{note} {options[key]}"
        head = [f"#| {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in options.items()]
        cell["source"] = "\n".join([*head, *lines[count:]])
        notebook.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        return True
    return False


# ----------------------------------------------------------------------------- report


@dataclass
class Report:
    """Everything the outputs show."""

    base: str
    commit: str
    head: str
    dirty: list[str]
    base_build: Build
    files: list[str]
    config: dict[str, tuple[Any, Any]]
    numbers: list[tuple[str, str, str, list[str]]]
    objects: list[Object]
    claims: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]
    sentences: dict[str, list[str]]
    chains: dict[str, list[list[str]]]
    stats: worddiff.Stats
    outputs: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def write_numbers_csv(path: Path, rows: Sequence[tuple[str, str, str, list[str]]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["key", "old", "new", "causes"])
    for key, old, new, found in rows:
        writer.writerow([key, old, new, ";".join(found) if found else causes.UNTRACED])
    write_text(path, buffer.getvalue())


def sentences_quoting(body: str, keys: Sequence[str], values: Mapping[str, str]
                      ) -> dict[str, list[str]]:
    """For each key, the sentences of the article that quote it (values filled in)."""
    text = " ".join(body.split())
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\[])", text)
    out: dict[str, list[str]] = {k: [] for k in keys}
    for sentence in parts:
        quoted = re.findall(r"\{\{<\s*var\s+(\S+)\s*>\}\}", sentence)
        readable = re.sub(r"\{\{<\s*var\s+(\S+)\s*>\}\}",
                          lambda m: values.get(m.group(1), m.group(0)), sentence)
        readable = re.sub(r"\]\{[^}]*\}|[\[\]*]", "", readable)
        for key in quoted:
            if key in out:
                out[key].append(readable)
    return out


def _claims(path_old: Path, path_new: Path) -> list[tuple[str, Any, Any]]:
    """Claims whose values or status differ between the two claim reports."""
    def load(path: Path) -> dict[str, Any]:
        if not path.is_file():
            return {}
        return {c["id"]: c for c in read_json(path).get("claims", [])}
    old, new = load(path_old), load(path_new)
    keep = ("status", "values")
    return [(cid, old.get(cid), new.get(cid)) for cid in sorted(set(old) | set(new))
            if {k: (old.get(cid) or {}).get(k) for k in keep}
            != {k: (new.get(cid) or {}).get(k) for k in keep}]


def _esc(value: Any) -> str:
    """Text for the HTML report."""
    return html.escape(str(value))


def changes_html(report: Report) -> str:
    """The readable report."""
    state = (f"the working tree, with uncommitted changes to {len(report.dirty)} file(s) "
             f"({_esc(', '.join(report.dirty[:8]))}{'…' if len(report.dirty) > 8 else ''})"
             if report.dirty else f"commit {report.head[:10]}")
    base_state = ("built" if report.base_build.ok else
                  f"did not build: rule <code>{_esc(report.base_build.failed_rule)}</code> "
                  f"failed; not compared: outputs of {_esc(', '.join(report.base_build.pending))}")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Changes since "
        f"{_esc(report.base)}</title><style>body{{font-family:sans-serif;max-width:70em;"
        "margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;"
        "padding:.2em .5em;vertical-align:top}}mark{{background:#ff0}}del{{color:#a00}}"
        ".side{{display:flex;gap:1em}}.side>div{{flex:1;overflow:auto}}img{{max-width:100%}}"
        "</style></head><body>",
        f"<h1>Changes since {_esc(report.base)} ({report.commit[:10]})</h1>",
        "<h2>Summary</h2><ul>",
        f"<li>Compared: {_esc(report.base)} ({report.commit[:10]}) with {state}.</li>",
        f"<li>Base paper: {base_state}.</li>",
        f"<li>Text: {report.stats.edited} paragraph(s) edited, {report.stats.inserted} "
        f"inserted, {report.stats.deleted} deleted, {report.stats.moved} moved.</li>",
        f"<li>Numbers whose value changed: {len(report.numbers)}.</li>",
        f"<li>Claims whose values or result changed: {len(report.claims)}.</li>",
        f"<li>Figures and tables whose content changed: {len(report.objects)}.</li>",
        "<li>What changed between the revisions: "
        + (", ".join(f"<code>{_esc(c)}</code>" for c in all_causes(report)) or "nothing")
        + "</li>",
        *[f"<li>{_esc(n)}</li>" for n in report.notes],
        "</ul>",
        "<h2>Numbers</h2>",
    ]
    if report.numbers:
        parts.append("<table><tr><th>key</th><th>old</th><th>new</th><th>causes</th>"
                     "<th>quoted in</th></tr>")
        for key, old, new, found in report.numbers:
            quotes = "".join(f"<p>{_esc(s)}</p>" for s in report.sentences.get(key, [])) \
                or "<i>not quoted in the text (tables, figures or checks use it)</i>"
            parts.append(f"<tr><td><code>{_esc(key)}</code></td><td><del>{_esc(old)}</del></td>"
                         f"<td><mark>{_esc(new)}</mark></td><td>"
                         + ("<br>".join(f"<code>{_esc(c)}</code>" for c in found)
                            or _esc(causes.UNTRACED)) + f"</td><td>{quotes}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No number of the paper changed.</p>")
    parts.append("<h2>Claims</h2>")
    if report.claims:
        parts.append("<table><tr><th>claim</th><th>before</th><th>now</th></tr>")
        for cid, old, new in report.claims:
            def cell(c: Any) -> str:
                if not c:
                    return "<i>absent</i>"
                values = "<br>".join(f"{_esc(k)} = {_esc(v)}" for k, v in
                                     (c.get("values") or {}).items())
                return f"<b>{_esc(c.get('status'))}</b><br>{values}"
            text = (new or old or {}).get("text", "")
            parts.append(f"<tr><td><code>{_esc(cid)}</code><br>{_esc(text)}</td>"
                         f"<td>{cell(old)}</td><td>{cell(new)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No claim's values or result changed.</p>")
    parts.append("<h2>Figures and tables</h2>")
    for obj in report.objects:
        parts.append(f"<h3><code>{_esc(obj.label)}</code> ({_esc(obj.where)})</h3>"
                     f"<div class='side'><div><h4>before</h4>"
                     f"{_show(obj.kind, obj.old, obj.new, 'del')}</div>"
                     f"<div><h4>now</h4>{_show(obj.kind, obj.new, obj.old, 'mark')}</div></div>")
    if not report.objects:
        parts.append("<p>No figure or table changed.</p>")
    parts.append("<h2>How each change reached the paper</h2><ul>")
    for cause in all_causes(report):
        chains = report.chains.get(cause, [])
        shown = "".join(f"<li>{' → '.join(_esc(r) for r in chain)}</li>" for chain in chains)
        parts.append(f"<li><code>{_esc(cause)}</code><ul>{shown or '<li>no rule reads it'}"
                     "</ul></li>")
    parts.append("</ul></body></html>")
    return "\n".join(parts)


def all_causes(report: Report) -> list[str]:
    """Every change between the revisions, traced or not."""
    found = {causes.file_cause(f) for f in report.files}
    found |= {f"config:{k}" for k in report.config} | set(report.chains)
    return sorted(found)


def _show(kind: str, content: str | None, other: str | None, tag: str) -> str:
    """One side of a changed object; for a table, the lines the other side lacks marked."""
    if content is None:
        return "<i>absent</i>"
    if kind == "image":
        return f"<img alt='figure' src='data:image/png;base64,{content.strip()}'>"
    others = set((other or "").splitlines())
    lines = [_esc(line) if line in others else f"<{tag}>{_esc(line)}</{tag}>"
             for line in content.splitlines()]
    return "<pre>" + "\n".join(lines) + "</pre>"


# ----------------------------------------------------------------------------- main


def _body(path: Path) -> tuple[list[str], str]:
    """The article's front matter lines and its body text."""
    texts = path.read_text(encoding="utf-8").split("\n") if path.is_file() else []
    end = qmd.front_matter_end(texts)
    return texts[:end], "\n".join(texts[end:])


def render_changes(opts: Options, marked: str, front: list[str], objects: list[Object]
                   ) -> dict[str, Path]:
    """Render the marked article from a copy of the current stage."""
    from paperkit.render import render_manuscript

    out = opts.root / opts.out
    stage = out / "_stage"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(opts.root / opts.stage, stage, symlinks=True,
                    ignore=lambda d, names: [n for n in names if n == "_manuscript"])
    text = "\n".join(front) + "\n" + marked
    for obj in objects:
        if obj.shown_by == "embed":
            for notebook in sorted((stage / "notebooks").glob("*.ipynb")):
                if mark_notebook_caption(notebook, obj.label, worddiff.CHANGED_LABEL):
                    break
        text = worddiff.mark_caption(text, obj.label)
    (stage / opts.article).write_text(text, encoding="utf-8")
    produced = render_manuscript(stage, list(opts.formats), out / "_render", engine=opts.engine)
    results = {}
    for fmt, path in produced.items():
        target = out / f"{Path(opts.article).stem}-changes{path.suffix}"
        shutil.copyfile(path, target)
        results[fmt] = target
    return results


def run(opts: Options) -> Report:
    """Resolve the base, build both papers (the base from its cache), compare them."""
    root = opts.root = opts.root.resolve()
    commit = resolve(root, opts.base)
    head = resolve(root, "HEAD")
    dirty = uncommitted(root)
    if dirty:
        print(f"diff: note: {len(dirty)} file(s) have uncommitted changes; comparing "
              f"{opts.base} with the working tree as it is", file=sys.stderr)
    clock = time.monotonic()
    base = base_build(opts, commit)
    base_s = time.monotonic() - clock
    gone = prune(root / opts.cache, opts.keep, commit)
    if gone:
        print(f"diff: removed the cached base builds of {len(gone)} older revision(s) "
              f"({', '.join(g[:10] for g in gone)}); the {opts.keep} most recently used are "
              f"kept (--keep)", file=sys.stderr)
    if not base.ok:
        print(f"diff: warning: the base paper did not build: rule {base.failed_rule} failed "
              f"(log: {base.tree / 'logs'}); comparing what did build", file=sys.stderr)
    current = build(root, opts.target, opts.cores, "current")
    if not current.ok:
        raise DiffError(f"the current paper does not build: rule {current.failed_rule} failed "
                        f"(see logs/paperkit-diff-build.log); fix it, then run the diff again")
    report = compare(opts, commit, head, dirty, base)
    report.seconds = {f"base build ({'cached' if base.cached else 'built'})": base_s,
                      "current build": current.seconds, **report.seconds}
    return report


def cause_chains(traced: causes.Trace, sink: str) -> dict[str, list[list[str]]]:
    """For each cause, its chain of rules to ``sink`` (the numbers), or else to every rule
    where it ends (figures, tables, the text)."""
    found: dict[str, list[list[str]]] = {}
    for chains in traced.chains.values():
        for cause in chains:
            found.setdefault(cause, [])
    for cause in sorted(found):
        if traced.chain(sink, cause):
            found[cause] = [traced.chain(sink, cause)]
            continue
        every = [traced.chain(rule, cause) for rule in sorted(traced.chains)
                 if traced.chain(rule, cause)]
        found[cause] = [c for c in every
                        if not any(len(d) > len(c) and d[:len(c)] == c for d in every)]
    return dict(sorted(found.items()))


def _number_causes(opts: Options, tree: Path, rules: Mapping[str, Any], sink: str,
                   traced: causes.Trace, files: list[str],
                   config: Mapping[str, tuple[Any, Any]], values: Mapping[str, Any]
                   ) -> dict[str, list[str]]:
    """Each changed number's causes, narrowed to the inputs its value was taken from (or,
    for a number computed by the numbers' rule, those of its section's numbers)."""
    root = opts.root
    inputs: dict[str, tuple[set[float], set[float]]] = {}
    for path in rules.get(sink, {}).get("inputs", []):
        if Path(path).suffix in (".json", ".yaml", ".yml") and (tree / path).is_file() \
                and (root / path).is_file():
            load = read_json if path.endswith(".json") else read_yaml
            inputs[path] = (causes.numeric_leaves(load(tree / path)),
                            causes.numeric_leaves(load(root / path)))
    old_raw = causes.flatten(read_json(tree / opts.numbers)) if (tree / opts.numbers).is_file() \
        else {}
    new_raw = causes.flatten(read_json(root / opts.numbers)) if (root / opts.numbers).is_file() \
        else {}
    matched = {k: causes.value_sources(old_raw.get(k), new_raw.get(k), inputs)
               for k in set(old_raw) & set(new_raw)}
    by_section = causes.sources_by_section(matched)
    direct = causes.direct_causes(rules[sink], files, config) if sink in rules else set()
    return {key: causes.number_causes(matched.get(key) or causes.section_sources(
        key, by_section), traced, rules, sink, direct) for key in values}


def _values_rule(rules: Mapping[str, Any], opts: Options) -> str:
    """The rule that writes the variables (or, when no rule declares that file, the
    numbers they are formatted from)."""
    return causes.producer(rules, opts.variables) or causes.producer(rules, opts.numbers) or ""


def compare(opts: Options, commit: str, head: str, dirty: list[str], base: Build) -> Report:
    """Everything after the two builds: trace, diff, write the outputs."""
    root, tree = opts.root, base.tree
    clock = time.monotonic()
    describing = Describe(tree, keep=True), Describe(root)
    # a failed base: its own workflow says whether the variables file is of this base
    numbers_rule = "" if base.ok else _values_rule(describing[0].result()["rules"], opts)
    old_vals = {} if numbers_rule in base.pending else flat_values(tree / opts.variables)
    new_vals = flat_values(root / opts.variables)
    values = changed_values(old_vals, new_vals) if old_vals else {}
    front, new_body = _body(root / opts.source / opts.article)
    old_front, old_body = _body(tree / opts.source / opts.article)
    marked, stats = worddiff.diff_article(old_body, new_body, values)
    new_front, front = front, worddiff.diff_front_matter(old_front, front, values)
    objects = changed_objects(root / opts.source / opts.article, tree / opts.stage,
                              root / opts.stage)
    if not base.ok:  # the base's stage may hold the copied build's files: only its own count
        base_rules = describing[0].result()["rules"]
        stale_paths = [o for name in base.pending for o in base_rules.get(name, {}).get(
            "outputs", [])]
        objects = [o for o in objects if not any(
            causes.covers(p, f"{opts.stage}/{o.path}") for p in stale_paths)]
    outputs = render_changes(opts, marked, front, objects)
    rendered = time.monotonic() - clock
    old_wf, new_wf = (d.result() for d in describing)
    files = changed_files(root, commit)
    rules = {name: {**rule, "redefined_by": causes.redefined(old_wf["rules"], new_wf["rules"],
                                                             files).get(name, "")}
             for name, rule in new_wf["rules"].items()}
    config = causes.config_changes(old_wf["config"], new_wf["config"])
    stale = {o for name in base.pending for o in rules.get(name, {}).get("outputs", [])}

    def changed_output(path: str) -> bool:
        return path in stale or not same_content(tree / path, root / path)

    traced = causes.trace(rules, files, config, changed_output)
    numbers_rule = _values_rule(rules, opts)
    quoted = sentences_quoting("\n".join(new_front) + "\n" + new_body, list(values), new_vals)
    per_key = _number_causes(opts, tree, rules, numbers_rule, traced, files, config, values)
    rows = sorted(((k, o, n, per_key[k]) for k, (o, n) in values.items()),
                  key=lambda row: (not quoted.get(row[0]), row[0]))  # the text's first
    chains = cause_chains(traced, numbers_rule)
    report = Report(opts.base, commit, head, dirty, base, files, config, rows, objects,
                    _claims(tree / opts.claims_report, root / opts.claims_report),
                    quoted, chains, stats)
    if not base.ok:
        report.notes.append(f"The base paper did not build (rule {base.failed_rule}); "
                            "numbers and objects of the rules that did not run are not compared.")
    out = root / opts.out
    out.mkdir(parents=True, exist_ok=True)
    write_numbers_csv(out / "numbers.csv", rows)
    report.outputs = outputs
    report.seconds = {"highlighted paper (diff and render)": rendered,
                      "trace and report": time.monotonic() - clock - rendered}
    write_text(out / "changes.html", changes_html(report))
    return report



HELP = {
    "target": "Snakemake target that makes the variables and the staged paper",
    "source": "folder of the Quarto sources the author edits",
    "stage": "folder the pipeline stages the paper into (variables, notebooks, tables)",
    "article": "the article, relative to source and stage",
    "numbers": "the numbers file the variables are formatted from",
    "variables": "the variables file of the staged paper",
    "claims_report": "the claim checks' report (compared when both builds have it)",
    "out": "where the diff is written",
    "cache": "where each base revision is built (one folder per commit)",
    "engine": "renderer: auto (Quarto when on PATH), quarto or self",
}


def main(argv: Sequence[str] | None = None) -> int:
    """python -m paperkit.diff --base REV [--target paper_inputs] ..."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=False, default="",
                        help="git revision to compare with (tag, branch, commit)")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the project (default: the current folder)")
    for name, text in HELP.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=getattr(Options, name),
                            help=f"{text} (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=int, default=Options.keep,
                        help="cached base builds to keep, the most recently used "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.base:
        print("diff: error: name the revision to compare with: make diff BASE=<tag, branch or "
              "commit>", file=sys.stderr)
        return 2
    if args.keep < 1:
        print(f"diff: error: --keep {args.keep}: at least the base being compared is kept "
              f"(use 1 or more)", file=sys.stderr)
        return 2
    opts = Options(**{k: v for k, v in vars(args).items()})
    started = time.monotonic()
    try:
        report = run(opts)
    except DiffError as exc:
        print(f"diff: error: {exc}", file=sys.stderr)
        return 1
    out = opts.root / opts.out
    print(f"diff: {len(report.numbers)} number(s) changed, {report.stats.edited} paragraph(s) "
          f"edited, {report.stats.inserted} inserted, {report.stats.deleted} deleted, "
          f"{report.stats.moved} moved, {len(report.objects)} figure(s)/table(s) changed "
          f"({time.monotonic() - started:.1f} s: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()) + ")")
    print(f"diff: {out}/: " + ", ".join(p.name for p in report.outputs.values())
          + ", numbers.csv, changes.html")
    return 0 if report.base_build.ok else 3


if __name__ == "__main__":
    sys.exit(main())
