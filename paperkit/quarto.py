"""The Quarto driver: render a staged manuscript project with a real Quarto (>= 1.4).

One ``quarto render <copy>`` renders every format declared in ``_quarto.yml`` (Quarto
empties its output folder on each project render, so formats cannot be rendered one call
at a time). The project is rendered in a scratch copy, so a failed render leaves no
``.quarto/`` scratch behind (and :func:`paperkit.render.render_manuscript` removes the
earlier paper); the finished output folder is then swapped in whole.

Quarto reports broken sources only as warnings and still exits 0 (an unknown variable
prints ``?var:key``, a dangling cross-reference ``?@fig-x``, an unknown citation
``(key?)``). Those warnings are errors here, each located in the article by
:mod:`paperkit.qmd`.

The pre-render hook support (:func:`sync_generated`) lets ``quarto render paper`` and
``quarto preview paper`` run on the sources: the hook runs the pipeline, then copies the
generated files (variables, tables, executed notebooks) into the project where Quarto
looks for them, touching only files whose content changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperkit import layout, qmd
from paperkit.io import copy_if_changed, read_yaml, replace_dir

MIN_QUARTO = (1, 4)
# Set while the pipeline renders a staged copy: the project's pre-render hook then has
# nothing to do (the pipeline already made everything the article reads).
PIPELINE_ENV = "PAPERKIT_PIPELINE_RENDER"
EXTENSIONS = {"html": "html", "pdf": "pdf", "docx": "docx", "jats": "xml"}
SCRATCH = ("_manuscript", ".quarto")

# Quarto's warnings about broken sources: (kind, pattern with the offending id).
WARNINGS = (
    ("unknown-variable", re.compile(r"Unknown var (\S+) specified in a var shortcode")),
    ("unknown-meta", re.compile(r"Unknown meta key (\S+) specified in a metadata Shortcode")),
    ("unresolved-xref", re.compile(r"Unable to resolve crossref @(\S+)")),
    ("unknown-citation", re.compile(r"Citeproc: citation (\S+) not found")),
    ("unknown-citation", re.compile(r"label <([^>]+)> does not exist in the document")),
    ("empty-float", re.compile(r"FloatRefTarget with no content: (\S+)")),
)
MESSAGES = {
    "unknown-variable": "unknown variable '{id}' (not in _variables.yml); Quarto would print "
                        "'?var:{id}'",
    "unknown-meta": "unknown metadata key '{id}'",
    "unresolved-xref": "cross-reference to an undefined label '{id}'",
    "unknown-citation": "citation key '{id}' is not in the bibliography",
    "empty-float": "figure or table '{id}' has no content",
}


class QuartoError(RuntimeError):
    """Quarto failed or warned about the sources; the message names file and line."""


@dataclass(frozen=True)
class Problem:
    kind: str
    ident: str
    where: str

    @property
    def message(self) -> str:
        return f"{self.where}: {MESSAGES[self.kind].format(id=self.ident)}"


def quarto_version() -> tuple[int, ...] | None:
    """Version of the `quarto` on PATH, or None if absent or older than 1.4."""
    exe = shutil.which("quarto")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+(?:\.\d+)+)", out)
    if not match:
        return None
    version = tuple(int(p) for p in match.group(1).split("."))
    return version if version[:2] >= MIN_QUARTO else None


# ----------------------------------------------------------------------------- warnings


def locate(kind: str, ident: str, doc: qmd.Document) -> str:
    """file:line of the first source line that the warning is about."""
    hits = qmd.locate(kind, ident, doc.lines)
    return hits[0].where if hits else f"{doc.path}:1"


def problems_in(stderr: str, doc: qmd.Document) -> list[Problem]:
    """Quarto's warnings about broken sources, each once, located in the article."""
    found: dict[tuple[str, str], Problem] = {}
    for line in stderr.splitlines():
        for kind, pattern in WARNINGS:
            match = pattern.search(line)
            if match:
                ident = match.group(1).rstrip(".,;:")
                key = (kind, ident)
                if key not in found:
                    found[key] = Problem(kind, ident, locate(kind, ident, doc))
    return list(found.values())


# ----------------------------------------------------------------------------- render


def declared_formats(config: dict[str, Any]) -> set[str]:
    """Our format names (pdf for typst) declared under `format:` of _quarto.yml."""
    declared = config.get("format") or {}
    names = set(declared if isinstance(declared, dict) else [declared])
    return {"pdf" if n in ("typst", "pdf") else n for n in names}


LATEX_PDF = ("Quarto's `pdf` format is LaTeX, which this project does not use (no TeX, and "
             "the PDF's layout is typst's: header.typ, paperkit's template); render the PDF "
             "with the `typst` format instead (`quarto render paper --to typst`)")
# What Quarto may leave in the project folder when a render stops half-way (a LaTeX
# intermediate, the figure folder of a stopped preview): removed before every run.
QUARTO_LEFTOVERS = ("index.tex", "index_files", "index.log")


def requested_latex_pdf(argv: Sequence[str]) -> bool:
    """Whether a ``quarto render``/``preview`` command line asks for the LaTeX ``pdf``."""
    for i, arg in enumerate(argv):
        value = None
        if arg in ("--to", "-t") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--to="):
            value = arg.removeprefix("--to=")
        if value is not None and "pdf" in value.split(","):
            return True
    return False


def parent_argv(pid: int) -> list[str]:
    """The command line of process ``pid`` (Linux /proc), empty where unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def clear_leftovers(project_dir: Path) -> list[Path]:
    """Remove what an earlier, stopped Quarto run left in the project folder."""
    removed = []
    for path in (Path(project_dir) / name for name in QUARTO_LEFTOVERS):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


def render(project_dir: Path, formats: Sequence[str], out_dir: Path) -> dict[str, Path]:
    """Render ``project_dir`` with one ``quarto render``; publish its output folder to
    ``out_dir`` only when every requested format was written without source warnings."""
    project_dir = Path(project_dir).resolve()
    config = read_yaml(project_dir / "_quarto.yml") or {}
    declared = config.get("format") or {}
    if "pdf" in (declared if isinstance(declared, (dict, list)) else [declared]):
        raise QuartoError(f"{project_dir / '_quarto.yml'}: {LATEX_PDF}")
    missing = sorted(set(formats) - declared_formats(config))
    if missing:
        raise QuartoError(f"{project_dir / '_quarto.yml'}: format(s) {', '.join(missing)} "
                          "requested but not declared under `format:` (Quarto renders what "
                          "the project declares)")
    manuscript = config.get("manuscript") or {}
    article = manuscript.get("article", "index.qmd")
    output_dir = (config.get("project") or {}).get("output-dir") or "_manuscript"
    with tempfile.TemporaryDirectory(prefix=".quarto-render-", dir=project_dir.parent) as tmp:
        work = Path(tmp) / project_dir.name
        shutil.copytree(project_dir, work, ignore=shutil.ignore_patterns(*SCRATCH))
        layout.install(work)
        proc = subprocess.run(["quarto", "render", str(work)], cwd=work.parent,
                              capture_output=True, text=True, check=False,
                              env={**os.environ, PIPELINE_ENV: "1"})
        doc = qmd.read_document(work / article, work)
        doc = _with_origin(doc, work, project_dir)
        problems = problems_in(proc.stderr, doc)
        if problems:
            raise QuartoError("\n".join(p.message for p in problems))
        if proc.returncode != 0:
            raise QuartoError(f"quarto render {project_dir} failed:\n{_tail(proc.stderr)}")
        produced = work / output_dir
        stem = Path(article).stem
        absent = [f"{stem}.{EXTENSIONS[f]}" for f in formats
                  if not (produced / f"{stem}.{EXTENSIONS[f]}").is_file()]
        if absent:
            raise QuartoError(f"quarto render {project_dir} did not write {', '.join(absent)}")
        replace_dir(produced, out_dir)
    return {f: Path(out_dir) / f"{stem}.{EXTENSIONS[f]}" for f in formats}


def _with_origin(doc: qmd.Document, work: Path, project_dir: Path) -> qmd.Document:
    """The document with lines pointing at the project, not at the scratch copy."""

    def moved(line: qmd.Line) -> qmd.Line:
        try:
            rel = line.path.resolve().relative_to(work.resolve())
        except ValueError:
            return line
        return qmd.Line(line.text, project_dir / rel, line.lineno)

    return qmd.Document(project_dir / doc.path.relative_to(work), doc.front,
                        [moved(x) for x in doc.front_lines], [moved(x) for x in doc.body])


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ----------------------------------------------------------------------------- pre-render


def sync_generated(stage_dir: Path, project_dir: Path, names: Sequence[str]) -> list[Path]:
    """Copy the generated ``names`` (files or folders) from the staged project into the
    source project; only files whose content differs are written (a preview watching the
    folder then re-renders once). Returns the files written."""
    written: list[Path] = []
    for name in names:
        source = Path(stage_dir) / name
        if not source.exists():
            raise FileNotFoundError(f"{source}: the pipeline did not make it")
        files = [source] if source.is_file() else sorted(p for p in source.rglob("*")
                                                          if p.is_file())
        for path in files:
            target = Path(project_dir) / path.relative_to(stage_dir)
            if copy_if_changed(path, target):
                written.append(target)
    return written


def prerender(root: Path, target: str, stage_dir: Path, project_dir: Path,
              names: Sequence[str], cores: int = 2, quarto_argv: Sequence[str] = ()) -> int:
    """The pre-render hook: refuse Quarto's LaTeX ``pdf`` (``quarto_argv``: Quarto's
    command line), remove what a stopped run left in the project, run Snakemake for
    ``target``, then sync the generated files.

    Does nothing while the pipeline itself renders a staged copy (no recursion)."""
    if os.environ.get(PIPELINE_ENV):
        return 0
    if requested_latex_pdf(quarto_argv):
        print(f"pre-render: {LATEX_PDF}")
        return 1
    for path in clear_leftovers(project_dir):
        print(f"pre-render: removed {path}, left by an earlier Quarto run")
    snakemake = Path(root) / ".venv" / "bin" / "snakemake"
    exe = str(snakemake) if snakemake.exists() else shutil.which("snakemake")
    if exe is None:
        print("pre-render: Snakemake not found; run `make .venv/.installed` in "
              f"{root} first")
        return 1
    proc = subprocess.run([exe, "--cores", str(cores), target], cwd=root, check=False)
    if proc.returncode != 0:
        return proc.returncode
    for path in [*sync_generated(stage_dir, project_dir, names), *layout.install(project_dir)]:
        print(f"pre-render: updated {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """python -m paperkit.quarto prerender TARGET --stage DIR --project DIR --generated NAME..."""
    import argparse

    parser = argparse.ArgumentParser(description="Quarto pre-render hook of a paperkit paper")
    parser.add_argument("command", choices=["prerender"])
    parser.add_argument("target", help="Snakemake target that makes the staged project")
    parser.add_argument("--stage", type=Path, required=True)
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--generated", nargs="+", required=True)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--quarto-pid", type=int, default=None,
                        help="process id of the quarto command that runs the hook")
    args = parser.parse_args(argv)
    quarto_argv = parent_argv(args.quarto_pid) if args.quarto_pid else []
    return prerender(Path.cwd(), args.target, args.stage, args.project, args.generated,
                     args.cores, quarto_argv)


if __name__ == "__main__":
    raise SystemExit(main())
