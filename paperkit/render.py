"""Render the Quarto manuscript project: with Quarto (>= 1.4) when it is installed,
otherwise with pandoc + typst from the same, unchanged Quarto sources.

The self-render gives the content Quarto gives or stops, naming the file, the line and
the Quarto feature it does not implement; docs/SELF_RENDER.md lists what it implements
(paperkit/render_features.py and paperkit/cells.py decide on the source, the filters on
the document). Python cells are run first (paperkit/cells.py). The document is then parsed
and filtered once (pandoc -> JSON AST, with paperkit/filters/crossref.lua and --citeproc);
the HTML, DOCX, Typst and JATS writers run concurrently on that AST, each with its own
small filter (html.lua, docx.lua, typst.lua) where Quarto's formats differ.

Problems (unknown variable, dangling cross-reference, unknown citation key, missing
include, notebook, cell or image) raise RenderError naming source file and line;
no output file is written then, and every output of an earlier run (all formats,
Quarto's MECA bundle and site files, the run report) is removed so that an old paper is
never mistaken for the current one.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paperkit import ipynb, layout, qmd, quarto, render_features, resident
from paperkit.cells import embed_cell, execute_cells
from paperkit.io import YamlError, atomic_path, read_yaml, replace_dir

FILTER_DIR = Path(__file__).resolve().parent / "filters"
CROSSREF_FILTER = FILTER_DIR / "crossref.lua"
TYPST_FILTER = FILTER_DIR / "typst.lua"  # the typst writer's own (numbered equations)
# Table cells opening with typst markup ("= .512") escaped: a kit filter Quarto runs too.
TYPST_CELLS_FILTER = FILTER_DIR / "typst_cells.lua"
HTML_FILTER = FILTER_DIR / "html.lua"  # the HTML writer's own (cell outputs)
DOCX_FILTER = FILTER_DIR / "docx.lua"  # the DOCX writer's own (reference list heading)
# Numbers and claims traceable from the page: every writer runs it (HTML tooltips).
DATAVAR_FILTER = FILTER_DIR / "datavar.lua"
DATAVAR_RECORDS = "_traces.json"  # written by the trace rule into the stage, if at all
# The self-render's typst template (the order of Quarto's); the `article` partial it
# includes is the project's declared one, else paperkit's layout (paperkit/layout.py).
TYPST_TEMPLATE = layout.TEMPLATE_DIR / "article.typst"
TYPST_PARTIAL = "typst-template.typ"
# The HTML's title block, with Quarto's labels ("Authors", "Published", ...): it replaces
# the header of pandoc's html5 template (paperkit/templates/html-title-block.html).
HTML_TITLE_BLOCK = layout.TEMPLATE_DIR / "html-title-block.html"
HTML_TITLE_AUTHOR = layout.TEMPLATE_DIR / "_title-author.html"
HTML_TEMPLATE = "html.template"
# Quarto's names of the other formats in the HTML's "Other Formats" links (JATS is listed
# only when format-links names it).
FORMAT_NAMES = {"docx": "MS Word", "pdf": "Typst", "jats": "JATS"}
QUARTO_FORMAT = {"docx": "docx", "pdf": "typst", "jats": "jats", "html": "html"}
# Where the executed notebooks sit relative to the rendered paper (figure source links).
SOURCE_LINK_BASE = "../notebooks/"
EXTENSIONS = {"html": "html", "pdf": "pdf", "docx": "docx", "jats": "xml"}
WRITER_NICENESS = 10  # the writers other than typst's, when the PDF is rendered too
DEFAULT_FORMATS = ("html", "pdf", "docx")
TYPST_FONT = "Libertinus Serif"  # shipped inside the typst wheel, so no system font needed
# Chinese text (the codebook's questions) needs a CJK font, which the typst wheel lacks;
# typst falls back to any font it is given for missing glyphs. `make paper` installs
# Debian's fonts-wqy-microhei; these are the directories searched.
CJK_FONT_DIRS = (
    "/usr/share/fonts/truetype/wqy",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/arphic",
)
CJK_CHARS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def cjk_font_paths() -> list[str]:
    """System directories with a CJK font, if any are installed."""
    return [d for d in CJK_FONT_DIRS if Path(d).is_dir()]
DEFAULT_EPOCH = 315532800  # 1980-01-01, the earliest time a ZIP (DOCX) entry can carry
# Quarto's own metadata keys; other front matter keys are passed through to pandoc.
QUARTO_ONLY_KEYS = {
    "project", "manuscript", "format", "execute", "jupyter", "engine", "filters",
    "website", "book", "author", "authors", "affiliations", "crossref", "number-sections", "toc",
    "toc-depth", "bibliography", "csl", "date", "date-format",
}
# The self-render's own typst lines: its crossref filter writes "Figure 1:" itself.
# Everything else about the PDF's look comes from the project's include-in-header
# (paper/header.typ), which Quarto reads as well.
TYPST_HEADER = """\
// Added by paperkit/render.py: the crossref filter writes "Figure 1:" itself.
#set figure(numbering: none)
#show figure: set block(breakable: false)
"""
TOC_TITLE = "Table of contents"  # Quarto's title of the table of contents (HTML, typst)
MEDIA_DIR = "index_files"  # images the JATS file links to, next to it (as Quarto does)
ERROR_LINE = re.compile(r"RENDER-ERROR ([\w-]+): (.+)")
ERROR_TEXT = {
    "unresolved-xref": "cross-reference to an undefined label '{id}'",
    "unknown-citation": "citation key '{id}' is not in the bibliography",
    "duplicate-label": "label '{id}' is defined more than once",
    "missing-image": "image file '{id}' does not exist",
    "table-div-without-table": "'::: {{#{id}}}' holds no table",
    "unsupported-class": "Quarto class '.{id}' is not implemented by the self-render "
                         "(it would be rendered differently from Quarto)",
    "unsupported-attribute": "Quarto attribute '{id}=' is not implemented by the self-render "
                             "(it would be rendered differently from Quarto)",
    "unsupported-xref": "'{id}': {feature} are not implemented by the self-render",
    "listing-without-caption": "code listing '{id}' has no lst-cap (a listing without a "
                               "caption is not implemented by the self-render)",
    "unsupported-listing-div": "'{id}': a listing div (::: {{#lst-...}}) is not implemented "
                               "by the self-render (use ```{{#lst-x lst-cap=\"...\"}})",
    "unsupported-subfigure": "'{id}': subfigures (a figure inside figure) are not "
                             "implemented by the self-render",
    "unnumbered-section-xref": "'@{id}' refers to a section, but sections are not numbered: "
                               "Quarto's typst output cannot render such a reference either "
                               "(set `number-sections: true`, or render html/docx only)",
}


class RenderError(RuntimeError):
    """The manuscript cannot be rendered; the message names file and line."""


SourceLine = qmd.Line  # one source line with its file and line number


@dataclass
class ManuscriptProject:
    """The parts of a Quarto manuscript project the self-render reads."""

    root: Path
    article: Path
    quarto: dict[str, Any]
    variables: dict[str, Any]
    front: dict[str, Any] = field(default_factory=dict)
    front_lines: list[SourceLine] = field(default_factory=list)
    body: list[SourceLine] = field(default_factory=list)
    outputs: dict[SourceLine, list[Any]] | None = None  # an .ipynb article's stored outputs


# ----------------------------------------------------------------------------- entry point


ENGINES = ("auto", "quarto", "self")


def render_manuscript(
    project_dir: Path,
    formats: list[str],
    out_dir: Path | None = None,
    engine: str = "auto",
    source_dir: Path | None = None,
) -> dict[str, Path]:
    """Render `project_dir` to `formats`; return {format: output path}.

    engine: "auto" uses Quarto when a version >= 1.4 is on PATH, "quarto" requires it,
    "self" always self-renders (pandoc + typst). `source_dir` is the folder the project
    was staged from: errors then name its files (paper/index.qmd:12), which authors edit.
    """
    project_dir = Path(project_dir).resolve()
    single = project_dir.is_file()  # one document without a project, as `quarto render x.qmd`
    unknown = sorted(set(formats) - set(EXTENSIONS))
    if unknown or not formats:
        raise RenderError(f"unknown output format(s) {unknown}; choose from {sorted(EXTENSIONS)}")
    if engine not in ENGINES:
        raise RenderError(f"unknown engine '{engine}'; choose from {', '.join(ENGINES)}")
    default_out = project_dir.parent if single else project_dir / "_manuscript"
    out_dir = Path(out_dir).resolve() if out_dir else default_out
    stem = project_dir.stem if single else "index"
    formats = list(dict.fromkeys(formats))
    if single and engine == "quarto":
        raise RenderError(f"{project_dir}: engine 'quarto' renders a project directory; "
                          f"run `quarto render {project_dir.name}` for a single document")
    have_quarto = engine != "self" and not single and quarto.quarto_version() is not None
    if engine == "quarto" and not have_quarto:
        raise RenderError("engine 'quarto' requested but quarto >= 1.4 is not on PATH")
    try:
        if have_quarto:
            return quarto.render(project_dir, formats, out_dir)
        return _self_render(project_dir, formats, out_dir)
    except (RenderError, quarto.QuartoError, qmd.QmdError) as exc:
        clear_earlier_run(out_dir, stem)
        raise RenderError(author_paths(str(exc), project_dir, source_dir)) from exc
    except BaseException:
        clear_earlier_run(out_dir, stem)
        raise


def author_paths(message: str, project_dir: Path, source_dir: Path | None) -> str:
    """Replace staged paths (build/paper/index.qmd) by the source the author edits
    (paper/index.qmd) wherever that source file exists."""
    if source_dir is None:
        return message

    def swap(match: re.Match[str]) -> str:
        rel = match.group(1)
        source = Path(source_dir) / rel
        return str(source) if source.is_file() else match.group(0)

    return re.sub(re.escape(str(project_dir)) + r"/([\w./-]+?)(?=:\d|[\s:,)]|$)", swap, message)


# What either engine, or the build around it, leaves in the output folder besides the
# paper itself: Quarto's MECA bundle, site libraries and notebook pages, the JATS media,
# the run report. None of it may outlive the run that made it.
EARLIER_RUN = ("index-meca.zip", "site_libs", "notebooks", MEDIA_DIR, "report.html")


def clear_earlier_run(out_dir: Path, stem: str = "index") -> None:
    """Remove every output an earlier run left in ``out_dir`` (all formats, either
    engine): after a failure or an engine switch only the current paper is there, never
    a file of an earlier run that could be taken for it. A single document (``stem``
    other than index) renders beside its source: only its own outputs are removed."""
    names = [f"{stem}.{ext}" for ext in EXTENSIONS.values()]
    if stem == "index":
        names += list(EARLIER_RUN)
    for path in (Path(out_dir) / name for name in names):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _publish(produced: dict[str, Path], out_dir: Path, stem: str = "index") -> dict[str, Path]:
    """Move finished outputs into out_dir, each atomically, only once all exist."""
    final = {}
    for fmt, src in produced.items():
        target = out_dir / f"{stem}.{EXTENSIONS[fmt]}"
        if src.resolve() != target.resolve():
            with atomic_path(target) as tmp:
                shutil.copyfile(src, tmp)
                tmp.chmod(0o644)  # mkstemp creates 0600; the paper is meant to be read
        final[fmt] = target
    return final


# ----------------------------------------------------------------------------- loading


def _read_yaml_file(path: Path) -> dict[str, Any]:
    try:
        data = read_yaml(path)
    except FileNotFoundError as exc:
        raise RenderError(f"{path}: file not found") from exc
    except YamlError as exc:  # names the file and line, duplicate keys included
        raise RenderError(str(exc)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(f"{path}:1: expected a YAML mapping")
    return data


def load_project(project_dir: Path) -> ManuscriptProject:
    """Read _quarto.yml, _variables.yml and the article with its includes expanded.

    `project_dir` may also be a single .qmd: Quarto then renders it as a document of
    its own (no _quarto.yml, or the one of its folder when there is one)."""
    single = project_dir.is_file()
    article_file = project_dir if single else None
    project_dir = project_dir.parent if single else project_dir
    config = project_dir / "_quarto.yml"
    if not config.is_file() and not single:
        raise RenderError(f"{config}:1: file not found (to render one document without a "
                          f"project, pass the .qmd file itself)")
    quarto = _read_yaml_file(config) if config.is_file() else {}
    variables_path = project_dir / "_variables.yml"
    variables = _read_yaml_file(variables_path) if variables_path.exists() else {}
    declared = (quarto.get("manuscript") or {}).get("article")
    article = article_file or project_dir / (declared or "index.qmd")
    if not declared and not article.is_file() and (project_dir / "index.ipynb").is_file():
        article = project_dir / "index.ipynb"  # Quarto's other default article
    if not article.is_file():
        raise RenderError(f"{config}:1: article {article} not found")
    try:
        if article.suffix.lower() == ".ipynb":
            doc = qmd.read_notebook(article)
        else:
            doc = qmd.read_document(article, project_dir)
    except qmd.QmdError as exc:
        raise RenderError(str(exc)) from exc
    return ManuscriptProject(project_dir, article, quarto, variables, doc.front,
                             doc.front_lines, doc.body, doc.outputs)


# ----------------------------------------------------------------------------- shortcodes


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def _scalar_text(value: Any, key: str, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str, dt.date)):
        return str(value)
    raise RenderError(f"{where}: variable '{key}' is not a scalar (got {type(value).__name__})")


def traced_value(text: str, key: str) -> str:
    """A var's value as a span carrying its key (``data-var``), which the datavar filter
    turns into a traceable element; brackets in the value are escaped."""
    escaped = re.sub(r"([\\\[\]])", r"\\\1", text)
    return f'[{escaped}]{{.data-var data-var="{key}"}}'


def _inline_shortcodes(text: str, where: str, project: ManuscriptProject,
                       trace: bool = False) -> str:
    """Resolve var/meta shortcodes inside one line; refuse unknown or block shortcodes.
    With ``trace`` a var's value is a span carrying its key (see :func:`traced_value`)."""

    def replace(match: re.Match[str]) -> str:
        open_extra, name, args, close_extra = match.groups()
        if open_extra and close_extra:  # {{{< x >}}} is Quarto's escape for a literal
            return "{{< " + f"{name} {args.strip()}".strip() + " >}}"
        key = args.strip()
        if name == "var":
            try:
                value = _lookup(project.variables, key)
            except KeyError:
                raise RenderError(
                    f"{where}: unknown variable '{key}' (not in {project.root / '_variables.yml'})"
                ) from None
            shown = _scalar_text(value, key, where)
            return open_extra + (traced_value(shown, key) if trace else shown) + close_extra
        if name == "meta":
            try:
                value = _lookup(project.front, key)
            except KeyError:
                raise RenderError(f"{where}: unknown metadata key '{key}'") from None
            return open_extra + _scalar_text(value, key, where) + close_extra
        if name in ("embed", "include", "pagebreak"):
            raise RenderError(f"{where}: shortcode '{name}' must stand on a line of its own")
        raise RenderError(f"{where}: unsupported shortcode '{name}'")

    return qmd.SHORTCODE.sub(replace, text)


# Front matter fields set as body text, whose values are traced like the body's.
TRACED_FRONT = ("abstract",)


def _resolve_front_matter(project: ManuscriptProject) -> None:
    """Quarto resolves `var` in front matter strings too; do the same, with line numbers."""

    def where_of(text: str) -> str:
        for line in project.front_lines:
            if text.strip() and text.strip().splitlines()[0] in line.text:
                return line.where
        for line in project.front_lines:
            if "{{<" in line.text:
                return line.where
        return f"{project.article}:1"

    def walk(node: Any, trace: bool = False) -> Any:
        if isinstance(node, str) and "{{<" in node:
            return _inline_shortcodes(node, where_of(node), project, trace=trace)
        if isinstance(node, list):
            return [walk(v, trace) for v in node]
        if isinstance(node, dict):
            return {k: walk(v, trace or (node is project.front and k in TRACED_FRONT))
                    for k, v in node.items()}
        return node

    project.front = walk(project.front)


def _expand_body(project: ManuscriptProject, work: Path) -> list[SourceLine]:
    """Embed and pagebreak lines become markdown; var/meta are resolved on every line."""
    out: list[SourceLine] = []
    code = qmd.in_code([line.text for line in project.body])
    for line, is_code in zip(project.body, code, strict=True):
        block = None if is_code else next(
            (sc for sc in qmd.shortcodes([line], ("embed", "pagebreak"))
             if sc.standalone and not sc.escaped), None)
        if block is None:
            text = _inline_shortcodes(line.text, line.where, project, trace=not is_code)
            out.append(SourceLine(text, line.path, line.lineno))
            continue
        if block.name == "pagebreak":
            generated = ["", "::: {.render-pagebreak}", ":::", ""]
        else:
            generated = _embed(qmd.embed_of(block), project, work)
        out.extend(SourceLine(t, line.path, line.lineno) for t in generated)
    return out


# ----------------------------------------------------------------------------- embed


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _embed(embed: qmd.Embed, project: ManuscriptProject, work: Path) -> list[str]:
    """Lines of markdown that stand for one embedded notebook cell."""
    line, nb_ref, label, flags = embed.shortcode.line, embed.notebook, embed.label, embed.flags
    nb_path = qmd.shortcode_path(nb_ref, project.article.parent, project.root)
    if not nb_path.is_file():
        raise RenderError(f"{line.where}: embedded notebook '{nb_ref}' not found ({nb_path})")
    if nb_path.suffix.lower() == ".qmd":  # Quarto executes it, then embeds the cell
        echo = flags.get("echo", "false").lower() == "true"
        return ["", *embed_cell(nb_path, label, echo, work, line.where), ""]
    render_features.refuse_notebook(nb_path, line.where, "embedded notebook")
    try:
        notebook = ipynb.read_notebook(nb_path)
    except ipynb.NotebookReadError as exc:
        raise RenderError(f"{line.where}: {exc}") from exc
    cells = notebook.labelled()
    if label not in cells:
        raise RenderError(
            f"{line.where}: notebook {nb_ref} has no cell labelled '{label}'"
            f" (labels: {', '.join(sorted(cells)) or 'none'})"
        )
    cell = cells[label]
    body = _cell_markdown(cell, label, nb_path, line, work)
    if flags.get("echo", "false").lower() == "true":
        body = ["", f"```{notebook.language}", *cell.code.splitlines(), "```", "", *body]
    return ["", *body, ""]


def _cell_markdown(cell: ipynb.Cell, label: str, nb_path: Path, line: SourceLine, work: Path
                   ) -> list[str]:
    outputs, options = cell.outputs, cell.options
    for out in outputs:
        if out.get("output_type") == "error":
            raise RenderError(
                f"{line.where}: cell '{label}' of {nb_path.name} raised {out.get('ename')}"
            )
    rich = [o.get("data", {}) for o in outputs if o.get("output_type") in
            ("display_data", "execute_result")]
    image = next(((mime, d[mime]) for d in rich for mime in
                  ("image/png", "image/jpeg", "image/svg+xml") if mime in d), None)
    markdown = next((_joined(d["text/markdown"]) for d in rich if "text/markdown" in d), None)
    if label.startswith("tbl-") or (markdown is not None and image is None):
        if markdown is None:
            raise RenderError(
                f"{line.where}: cell '{label}' of {nb_path.name} has no text/markdown output"
            )
        caption = str(options.get("tbl-cap", ""))
        inner = [*markdown.strip("\n").splitlines(), "", caption] if caption else \
            markdown.strip("\n").splitlines()
        if label.startswith("tbl-"):
            return [f"::: {{#{label}}}", "", *inner, "", ":::"]
        return inner
    if image is None:
        raise RenderError(f"{line.where}: cell '{label}' of {nb_path.name} has no image output")
    path = _write_image(image, work, Path("embed") / nb_path.stem, label)
    alt = options.get("fig-alt")
    attr = f'{{fig-alt="{alt}"}}' if alt else ""
    caption = str(options.get("fig-cap", ""))
    if label.startswith("fig-"):
        return [f"::: {{#{label}}}", "", f"![](<{path}>){attr}", "", caption, "", ":::", "",
                *source_link(nb_path)]
    return [f"![](<{path}>){attr}"]


def source_link(nb_path: Path) -> list[str]:
    """An HTML-only line under an embedded figure linking the notebook that shows it.

    Like Quarto's notebook links it appears in the HTML only, on its own line, so the
    PDF, DOCX and JATS captions end where the author's caption ends. The link is
    relative to ``_manuscript/``, next to which the build keeps the executed notebooks.
    """
    name = nb_path.name
    return ["```{=html}",
            f'<div class="notebook-link">Source: <a href="{SOURCE_LINK_BASE}{name}">'
            f"notebooks/{name}</a> (rule notebook).</div>",
            "```", ""]


def _write_image(image: tuple[str, Any], work: Path, folder: Path, label: str) -> Path:
    """Write a cell's image under the scratch directory; return its relative path."""
    mime, data = image
    (work / folder).mkdir(parents=True, exist_ok=True)
    ext = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}[mime]
    path = folder / f"{label}.{ext}"  # folder is relative to the scratch directory
    if mime == "image/svg+xml":
        (work / path).write_text(_joined(data), encoding="utf-8")
    else:
        (work / path).write_bytes(base64.b64decode(_joined(data)))
    return path


# ----------------------------------------------------------------------------- metadata


def _source_epoch(front: dict[str, Any]) -> int:
    """SOURCE_DATE_EPOCH, else the article's ISO date, else 1980-01-01: stable bytes."""
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env and env.strip().isdigit():
        return int(env)
    date = render_features.parse_date(front.get("date"))
    if date:
        return int(dt.datetime.combine(date, dt.time(), dt.UTC).timestamp())
    return DEFAULT_EPOCH


DATE_FORMATS = render_features.DATE_STYLES


def _display_date(value: Any, article: Path, style: Any = "long") -> str | None:
    if value is None:
        return None
    if style not in DATE_FORMATS:
        raise RenderError(f"date-format '{style}' is not implemented by the self-render "
                          f"(use one of: {', '.join(DATE_FORMATS)})")
    date = render_features.keyword_date(value, article) or render_features.parse_date(value)
    if date is None:  # Quarto prints what it cannot read as a date as written
        return str(value)
    return DATE_FORMATS[style](date)


def _affiliation_short(aff: Any, names: dict[str, str]) -> str:
    """An affiliation's name alone, as Quarto's title blocks show it."""
    if isinstance(aff, dict):
        return names.get(str(aff["ref"]), str(aff["ref"])) if "ref" in aff else \
            str(aff.get("name", ""))
    return names.get(str(aff), str(aff))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _person_name(name: Any) -> str:
    if isinstance(name, dict):
        if "literal" in name:
            return str(name["literal"])
        return " ".join(str(name[k]) for k in ("given", "family") if name.get(k))
    return str(name)


def _author_list(meta: dict[str, Any]) -> list[Any]:
    """The authors as written under `author` or `authors` (Quarto reads both)."""
    return _as_list(meta.get("author") or meta.get("authors"))


def _affiliation_names(meta: dict[str, Any]) -> dict[str, str]:
    """Affiliations declared once (top level or at an author) by id: their names."""
    inline = [a for author in _author_list(meta) if isinstance(author, dict)
              for a in _as_list(author.get("affiliations", author.get("affiliation")))]
    return {str(a["id"]): str(a.get("name", "")) for a in
            [*_as_list(meta.get("affiliations")), *inline] if isinstance(a, dict) and "id" in a}


def _normalise_authors(meta: dict[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    """Quarto's author schema -> ([{name, affiliation}], note lines for the body).

    Names stay plain (they become the PDF Author, DOCX creator and JATS string-name);
    affiliations go to the PDF title block and, elsewhere, to the notes under the title.
    """
    authors = _author_list(meta)
    names = _affiliation_names(meta)
    people, affiliation_notes, contacts, orcids = [], [], [], []
    for author in authors:
        if not isinstance(author, dict):
            people.append({"name": str(author), "affiliation": "", "email": ""})
            continue
        name = _person_name(author.get("name", ""))
        affs = author.get("affiliations", author.get("affiliation")) or []
        affs = affs if isinstance(affs, list) else [affs]
        where = "; ".join(filter(None, (_affiliation_short(aff, names) for aff in affs)))
        # the PDF title block shows the affiliations' names, as Quarto's typst template
        title_block = ", ".join(filter(None, (_affiliation_short(aff, names) for aff in affs)))
        people.append({"name": name, "affiliation": title_block,
                       "email": author.get("email") or ""})
        if where:
            affiliation_notes.append(f"{name}: {where}" if len(authors) > 1 else where)
        if author.get("corresponding") and author.get("email"):
            contacts.append(f"{name}, <{author['email']}>")
        if author.get("orcid"):
            orcids.append(f"{name} [{author['orcid']}](https://orcid.org/{author['orcid']})")
    notes = [" \\\n".join(affiliation_notes)] if affiliation_notes else []
    if contacts:
        notes.append("Corresponding author: " + "; ".join(contacts))
    if orcids:
        notes.append("ORCID: " + "; ".join(orcids))
    keywords = meta.get("keywords")
    if keywords:
        words = keywords if isinstance(keywords, list) else [keywords]
        notes.append("**Keywords:** " + "; ".join(str(k) for k in words))
    return people, notes


def _merged_meta(project: ManuscriptProject) -> dict[str, Any]:
    meta = {k: v for k, v in project.quarto.items() if k not in ("project", "manuscript",
                                                                   "format", "execute")}
    meta.update(project.front)
    return meta


def _format_options(project: ManuscriptProject, fmt: str) -> dict[str, Any]:
    name = "typst" if fmt == "pdf" else fmt
    options: dict[str, Any] = {}
    for source in (project.quarto.get("format"), project.front.get("format")):
        if isinstance(source, dict) and isinstance(source.get(name), dict):
            options.update(source[name])
    return options


def _number_sections(project: ManuscriptProject, meta: dict[str, Any]) -> bool:
    if "number-sections" in meta:
        return bool(meta["number-sections"])
    return any(_format_options(project, f).get("number-sections") for f in ("html", "pdf", "docx"))


def _pandoc_metadata(project: ManuscriptProject, meta: dict[str, Any], body: list[SourceLine],
                     epoch: int, formats: Sequence[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """Metadata file for pandoc (strings are markdown) and the title-notes block."""
    people, notes = _normalise_authors(meta)
    out = {k: v for k, v in meta.items() if k not in QUARTO_ONLY_KEYS and v is not None}
    out = json.loads(json.dumps(out, default=str))
    if people:
        out["author"] = [p["name"] for p in people]
        out["render-authors"] = people
    date = _display_date(meta.get("date"), project.article, meta.get("date-format", "long"))
    if date:
        out["date"] = date
    bibs = meta.get("bibliography") or []
    bibs = bibs if isinstance(bibs, list) else [bibs]
    if bibs:
        out["bibliography"] = [str((project.root / b).resolve()) for b in bibs]
        for b in out["bibliography"]:
            if not Path(b).is_file():
                raise RenderError(f"{project.root / '_quarto.yml'}:1: bibliography {b} not found")
    if meta.get("csl"):
        out["csl"] = str((project.root / meta["csl"]).resolve())
    out.setdefault("link-citations", True)
    out.setdefault("abstract-title", "Abstract")
    out["render-number-sections"] = _number_sections(project, meta)
    out["render-project-dir"] = str(project.root)
    out["render-typst"] = "pdf" in formats
    crossref = meta.get("crossref") or {}
    out["render-crossref"] = {k: str(v) for k, v in crossref.items()
                              if k in render_features.CROSSREF_OPTIONS}
    block = ["::: {.title-notes}", ""] + [n + "\n" for n in notes] + [":::", ""] if notes else []
    return out, block


# ----------------------------------------------------------------------------- pandoc


def pandoc_path() -> str:
    """The pandoc binary shipped by pypandoc-binary (pandoc 3.9)."""
    import pypandoc

    return pypandoc.get_pandoc_path()


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[WARNING]")]


def _locate(ident: str, kind: str, lines: list[SourceLine], project: ManuscriptProject) -> str:
    """Where in the sources an id from the filter's error report occurs."""
    hits = qmd.locate(kind, ident, [*lines, *project.front_lines])
    if kind == "duplicate-label" and len(hits) > 1:
        return hits[1].where
    return hits[0].where if hits else f"{project.article}:1"


def _filter_errors(stderr: str, lines: list[SourceLine], project: ManuscriptProject) -> RenderError:
    found = ERROR_LINE.findall(stderr)
    if not found:
        return RenderError(f"{project.article}: pandoc failed:\n{stderr.strip()}")
    messages = []
    for kind, ident in dict.fromkeys(found):
        text = ERROR_TEXT.get(kind, kind + " '{id}'").format(
            id=ident.strip(), feature=render_features.xref_feature(ident.strip()))
        messages.append(f"{_locate(ident.strip(), kind, lines, project)}: {text}")
    return RenderError("\n".join(messages))


def _warning_error(warnings: list[str], lines: list[SourceLine], project: ManuscriptProject,
                   step: str) -> RenderError:
    messages = []
    for warning in warnings:
        match = re.search(r"line (\d+)", warning)
        where = str(project.article)
        if match and 0 < int(match.group(1)) <= len(lines):
            where = lines[int(match.group(1)) - 1].where
        messages.append(f"{where}: pandoc ({step}) {warning}")
    return RenderError("\n".join(messages))


def _env(epoch: int) -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "LC_ALL": "C.UTF-8"}


def _parse_to_ast(work: Path, lines: list[SourceLine], project: ManuscriptProject,
                  epoch: int) -> Path:
    ast = work / "document.json"
    cmd = [pandoc_path(), "--from", "markdown", "--to", "json",
           "--metadata-file", str(work / "metadata.yaml"),
           "--lua-filter", str(CROSSREF_FILTER), "--citeproc",
           "--resource-path", f"{project.root}{os.pathsep}{work}",
           "--output", str(ast), str(work / "document.md")]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=_env(epoch),
                          check=False)
    if proc.returncode != 0:
        raise _filter_errors(proc.stderr, lines, project)
    if _warnings(proc.stderr):
        raise _warning_error(_warnings(proc.stderr), lines, project, "parse")
    return ast


def _writer_command(fmt: str, ast: Path, work: Path, project: ManuscriptProject,
                    toc: bool) -> list[str]:
    options = _format_options(project, fmt)
    cmd = [pandoc_path(), "--from", "json", "--standalone",
           "--resource-path", f"{project.root}{os.pathsep}{work}",
           "--lua-filter", str(DATAVAR_FILTER),
           "--metadata", f"datavar-records={project.root / DATAVAR_RECORDS}"]
    if toc or options.get("toc"):
        cmd += ["--toc", f"--toc-depth={options.get('toc-depth', 3)}"]
    if fmt == "html":
        cmd += ["--to", "html5", "--embed-resources", "--mathml", "--section-divs",
                "--lua-filter", str(HTML_FILTER)]
        if (toc or options.get("toc")) and not _merged_meta(project).get("toc-title"):
            cmd.append(f"--metadata=toc-title:{TOC_TITLE}")  # Quarto's, as in the PDF
        cmd += ["--template", str(work / HTML_TEMPLATE)]
        ast = ast.with_name(HTML_AST)
        css = options.get("css") or []
        for sheet in css if isinstance(css, list) else [css]:
            cmd += ["--css", str((project.root / sheet).resolve())]
        target = work / "out.html"
    elif fmt == "docx":
        cmd += ["--to", "docx", *_default_date(project, fmt), "--lua-filter", str(DOCX_FILTER)]
        if options.get("reference-doc"):
            cmd += ["--reference-doc", str((project.root / options["reference-doc"]).resolve())]
        target = work / "out.docx"
    elif fmt == "jats":
        cmd += ["--to", "jats_articleauthoring", "--extract-media", MEDIA_DIR]
        target = work / "out.xml"
    else:
        native = _typst_bibliography(project, work)
        cmd += ["--to", "typst" if native else "typst-citations",
                "--template", str(work / TYPST_TEMPLATE.name),
                "--include-in-header", str(work / "header.typ"),
                "--lua-filter", str(TYPST_FILTER), "--lua-filter", str(TYPST_CELLS_FILTER)]
        cmd += _typst_variables(options, _merged_meta(project).get("keywords"))
        cmd += _default_date(project, fmt)
        if native and not _has_refs_div(project.body):  # else at the author's #refs div
            cmd += [f"--variable=render-bibliography:{name}" for name in native]
            style = _typst_bibliography_style(project, work)
            if style:
                cmd.append(f"--variable=render-bibliography-style:{style}")
        target = work / "out.typ"
        ast = ast.with_name("document-typst.json")
    return [*cmd, "--output", str(target), str(ast)]


def _default_date(project: ManuscriptProject, fmt: str) -> list[str]:
    """Without `date-format`, Quarto writes the date in ISO form in typst and DOCX output
    (its HTML uses the long form, as the shared metadata does)."""
    meta = _merged_meta(project)
    if "date-format" in meta or meta.get("date") is None or fmt not in ("pdf", "docx"):
        return []
    date = _display_date(meta["date"], project.article, "iso")
    return [f"--metadata=date:{date}"] if date else []


TYPST_BIB_SUFFIXES = (".bib", ".yml", ".yaml")


def _copy_into(path: Path, work: Path, name: str) -> str:
    """Copy a file typst reads into the scratch directory (typst's root); its name there."""
    if not path.is_file():
        raise RenderError(f"{path}: file not found")
    target = work / f"{name}{path.suffix}"
    shutil.copyfile(path, target)
    return target.name


def _typst_bibliography(project: ManuscriptProject, work: Path) -> list[str]:
    """The bibliography files typst reads itself when Quarto's typst output would let
    typst process the citations (no `citeproc: true`); [] when pandoc's citeproc does."""
    meta = _merged_meta(project)
    if not render_features.typst_native_citations(meta, _format_options(project, "pdf")):
        return []
    names = []
    for i, bib in enumerate(_as_list(meta.get("bibliography"))):
        path = (project.root / str(bib)).resolve()
        if path.suffix.lower() not in TYPST_BIB_SUFFIXES:
            raise RenderError(
                f"{project.article}:1: bibliography '{bib}': typst's own citation processing "
                f"(Quarto's default for typst output) reads only .bib or .yaml files; "
                f"converting it is not implemented by the self-render "
                f"(set `citeproc: true` in the typst format to use pandoc's citeproc)")
        names.append(_copy_into(path, work, f"bibliography-{i}"))
    return names


def _declared_files(project: ManuscriptProject, option: str) -> list[tuple[str, Path]]:
    """The files the typst format's ``option`` names (one or a list), as Quarto reads them
    (paperkit's own for ``_paperkit/...``); a missing one stops the render."""
    names = _format_options(project, "pdf").get(option) or []
    files = []
    for name in map(str, names if isinstance(names, list) else [names]):
        path = layout.kit_source(name) or project.root / name
        if not path.is_file():
            raise RenderError(f"{project.root / '_quarto.yml'}: {option} file '{name}' not "
                              f"found ({path})")
        files.append((name, path))
    return files


def _typst_header(project: ManuscriptProject) -> str:
    """The self-render's lines, then the project's include-in-header files (as Quarto)."""
    parts = [path.read_text(encoding="utf-8")
             for _, path in _declared_files(project, "include-in-header")]
    return "\n".join([TYPST_HEADER, *parts])


def _typst_partial(project: ManuscriptProject) -> Path:
    """The `article` layout: the `typst-template.typ` partial the project's _quarto.yml
    declares (Quarto reads the same file), else paperkit's."""
    partials = _declared_files(project, "template-partials")
    other = [name for name, _ in partials if Path(name).name != TYPST_PARTIAL]
    if other:
        raise RenderError(f"{project.root / '_quarto.yml'}: template partial(s) {other} not "
                          f"implemented by the self-render (only {TYPST_PARTIAL})")
    return partials[0][1] if partials else layout.TEMPLATE_DIR / TYPST_PARTIAL


def _inlines(text: str) -> dict[str, Any]:
    words = [{"t": "Str", "c": w} for w in text.split()]
    spaced = [x for w in words for x in ({"t": "Space"}, w)][1:]
    return {"t": "MetaInlines", "c": spaced}


def _typst_ast(ast: Path, bibliography: str | None = None) -> Path:
    """The AST for the typst writer: authors with affiliations in the title block (as
    Quarto's typst template shows them) instead of the notes under the title; without
    citeproc's reference list when typst writes the bibliography itself."""
    doc = json.loads(ast.read_text(encoding="utf-8"))
    if bibliography is not None:
        doc["blocks"] = _typst_reference_list(doc["blocks"], bibliography)
    people = doc["meta"].pop("render-authors", None)
    if people:
        doc["meta"]["author"] = {"t": "MetaList", "c": [
            {"t": "MetaMap", "c": {k: _inlines(pandoc_text(v)) for k, v in p["c"].items()}}
            for p in people["c"]]}
        doc["blocks"] = [b for b in doc["blocks"] if not _is_title_notes(b)]
    target = ast.with_name("document-typst.json")
    target.write_text(json.dumps(doc), encoding="utf-8")
    return target


def _typst_reference_list(blocks: list[dict[str, Any]], call: str) -> list[dict[str, Any]]:
    """Citeproc's `#refs` div replaced as Quarto's typst output has it: the author's div
    by typst's bibliography without a title (under the author's heading); the default one
    (render-default-refs, with its heading) dropped, the template then adds typst's
    titled bibliography at the end."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("t") == "Div" and block["c"][0][0] == "refs":
            if out and out[-1].get("t") == "Header" and \
                    "render-default-refs" in out[-1]["c"][1][1]:
                out.pop()
            else:
                out.append({"t": "RawBlock", "c": ["typst", call]})
            continue
        out.append(block)
    return out


def _has_refs_div(lines: Sequence[SourceLine]) -> bool:
    return any(re.search(r"\{\s*#refs\b", line.text) for line in lines)


def _typst_bibliography_call(project: ManuscriptProject, work: Path) -> str | None:
    """`#bibliography(...)` (typst's title, as Quarto) for an author's `#refs` div when typst
    processes citations."""
    names = _typst_bibliography(project, work)
    if not names:
        return None
    files = "(" + "".join(f"{_typst_string(n)}, " for n in names) + ")"
    style = _typst_bibliography_style(project, work)
    return f"#bibliography({files}" + \
        (f", style: {_typst_string(style)})" if style else ")")


def _typst_bibliography_style(project: ManuscriptProject, work: Path) -> str | None:
    meta = _merged_meta(project)
    if meta.get("csl"):
        return _copy_into(project.root / str(meta["csl"]), work, "style")
    style = _format_options(project, "pdf").get("bibliographystyle")
    return str(style) if style else None


HTML_AST = "document-html.json"


def _html_ast(ast: Path, title_meta: dict[str, Any]) -> Path:
    """The AST for the HTML writer: the title block's values and labels as Quarto's HTML
    shows them (``title_meta``, see :func:`_html_title_meta`), read by the title block of
    the template (:func:`_html_template`); the notes under the title (affiliations,
    contacts, keywords, written for the JATS body) dropped, as the title block shows
    them."""
    doc = json.loads(ast.read_text(encoding="utf-8"))
    doc["meta"].update(_meta_value(title_meta)["c"])
    doc["blocks"] = [b for b in doc["blocks"] if not _is_title_notes(b)]
    target = ast.with_name(HTML_AST)
    target.write_text(json.dumps(doc), encoding="utf-8")
    return target


def _meta_value(value: Any) -> dict[str, Any]:
    """A Python value as pandoc's JSON metadata (strings as plain words)."""
    if isinstance(value, bool):
        return {"t": "MetaBool", "c": value}
    if isinstance(value, dict):
        return {"t": "MetaMap", "c": {k: _meta_value(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"t": "MetaList", "c": [_meta_value(v) for v in value]}
    return {"t": "MetaString", "c": str(value)}


def _html_title_meta(meta: dict[str, Any], options: dict[str, Any], formats: Sequence[str],
                     single: bool, stem: str) -> dict[str, Any]:
    """What Quarto's HTML title block shows, as template values: each author with
    e-mail, ORCID and affiliation names; the labels ("Author"/"Authors",
    "Affiliation"/"Affiliations" by count, "Published", "Keywords", "Other Formats", or the
    `*-title` options); the links to the other formats rendered with it, in the title
    block of a manuscript, before it in a single document (Quarto's margin)."""
    people, names = [], []
    for author in _author_list(meta):
        if not isinstance(author, dict):
            people.append({"name": str(author)})
            continue
        person = {"name": _person_name(author.get("name", ""))}
        affiliations = [a for a in (_affiliation_short(aff, _affiliation_names(meta))
                                    for aff in _as_list(author.get("affiliations",
                                                                   author.get("affiliation"))))
                        if a]
        if affiliations:
            person["affiliations"] = affiliations
        names += [a for a in affiliations if a not in names]
        for key in ("email", "orcid"):
            if author.get(key):
                person[key] = str(author[key])
        people.append(person)
    labels = {
        "authors": meta.get("author-title") or ("Author" if len(people) == 1 else "Authors"),
        "affiliations": meta.get("affiliation-title")
        or ("Affiliation" if len(names) == 1 else "Affiliations"),
        "published": meta.get("published-title") or "Published",
        "keywords": meta.get("keywords-title") or "Keywords",
        "formats": meta.get("related-formats-title") or "Other Formats",
    }
    out: dict[str, Any] = {"render-labels": labels}
    if people:
        out["render-title-authors"] = people
        out["render-by-affiliation"] = bool(names)
    links = _other_format_links(options.get("format-links"), formats, stem)
    if links:
        out["render-other-formats"] = links
        out["render-formats-before" if single else "render-formats-in-header"] = True
    return out


def _other_format_links(option: Any, formats: Sequence[str], stem: str
                        ) -> list[dict[str, str]]:
    """The "Other Formats" links as Quarto makes them from `format-links`: none for
    false; a format's name links it, `{format, text}` renames it, `{text, href}` adds a
    link; without a format's name among them every other format follows (JATS only when
    named)."""
    if option is False:
        return []
    others = [f for f in formats if f != "html"]
    by_name = {QUARTO_FORMAT[f]: f for f in others}

    def link(fmt: str, text: str | None = None) -> dict[str, str]:
        return {"text": text or FORMAT_NAMES[fmt], "href": f"{stem}.{EXTENSIONS[fmt]}"}

    links = []
    entries = _as_list(option) if option not in (None, True) else []
    for entry in entries:
        if isinstance(entry, str):
            if entry in by_name:
                links.append(link(by_name[entry]))
        elif isinstance(entry, dict) and "format" in entry:
            if str(entry["format"]) in by_name:
                links.append(link(by_name[str(entry["format"])], entry.get("text")))
        elif isinstance(entry, dict) and "href" in entry:
            links.append({"text": str(entry.get("text", entry["href"])),
                          "href": str(entry["href"])})
    if not any(isinstance(entry, str) for entry in entries):
        links += [link(f) for f in others if f != "jats"]
    return links


def _html_template(work: Path) -> Path:
    """Pandoc's html5 template with paperkit's title block (Quarto's labels) in place
    of its header; the author partial beside it."""
    default = subprocess.run([pandoc_path(), "-D", "html5"], capture_output=True,
                             text=True, check=True).stdout
    header = re.compile(r'<header id="title-block-header">.*?</header>\n?', re.S)
    if len(header.findall(default)) != 1:
        raise RenderError(f"{pandoc_path()}: its html5 template has no single title block "
                          "header to put paperkit's in place of")
    block = HTML_TITLE_BLOCK.read_text(encoding="utf-8")
    target = work / HTML_TEMPLATE
    target.write_text(header.sub(lambda _: block, default), encoding="utf-8")
    shutil.copyfile(HTML_TITLE_AUTHOR, work / HTML_TITLE_AUTHOR.name)
    return target


def pandoc_text(meta_value: dict[str, Any]) -> str:
    """Plain text of a MetaString/MetaInlines value of pandoc's JSON AST."""
    if meta_value["t"] == "MetaString":
        return str(meta_value["c"])
    out = []
    for inline in meta_value["c"]:
        out.append(" " if inline["t"] in ("Space", "SoftBreak") else str(inline.get("c", "")))
    return "".join(out)


def _is_title_notes(block: dict[str, Any]) -> bool:
    return block.get("t") == "Div" and "title-notes" in block["c"][0][1]


def _typst_string(text: Any) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _typst_variables(options: dict[str, Any], keywords: Any) -> list[str]:
    """Template variables; keywords are quoted here because pandoc's template does not."""
    variables = {
        "papersize": options.get("papersize", "a4"),
        "mainfont": options.get("mainfont", TYPST_FONT),
        "fontsize": options.get("fontsize", "11pt"),
        "page-numbering": options.get("page-numbering", "1"),
        "columns": options.get("columns", 1),
    }
    cmd = [f"--variable={k}:{v}" for k, v in variables.items()]
    margin = options.get("margin")
    if margin:  # a typst dictionary; unset, the template uses Quarto's default
        pairs = margin.items() if isinstance(margin, dict) else [("rest", margin)]
        cmd.append("--variable=margin:(" + ", ".join(f"{k}: {v}" for k, v in pairs) + ")")
    if keywords:
        words = keywords if isinstance(keywords, list) else [keywords]
        cmd += [f"--variable=keywords:{_typst_string(w)}" for w in words]
    return cmd


def _typst_error_source(typ: Path, diagnostic: str, lines: Sequence[SourceLine]) -> str | None:
    """The source line a typst error comes from: the article's line sharing most words with
    the failing line of the generated typst file (raw typst, math and text are copied
    through), so that the author is pointed at what to edit, not at a scratch file."""
    found = re.search(r"┌─ (\S+?):(\d+):\d+", diagnostic or "")
    if not found or Path(found.group(1)).name != typ.name:
        return None
    typ_lines = typ.read_text(encoding="utf-8").splitlines()
    lineno = int(found.group(2))
    if not 0 < lineno <= len(typ_lines):
        return None
    words = set(re.findall(r"\w{2,}", typ_lines[lineno - 1]))
    best, score = None, 0
    for line in lines:
        common = len(words & set(re.findall(r"\w{2,}", line.text)))
        if common > score:
            best, score = line, common
    return best.where if best else None


def _compile_typst(typ: Path, pdf: Path, epoch: int,
                   lines: Sequence[SourceLine] = ()) -> None:
    fonts = cjk_font_paths()
    if not fonts and CJK_CHARS.search(typ.read_text(encoding="utf-8")):
        print("render: warning: the PDF contains Chinese text but no CJK font is installed "
              "(install Debian's fonts-wqy-microhei); those characters will not show",
              file=sys.stderr)
    try:  # in the build's resident typst process, which keeps its layout between edits
        warnings = resident.compile_typst(typ, pdf, typ.parent, fonts, epoch)
    except resident.CompileError as exc:
        where = _typst_error_source(typ, exc.diagnostic, lines)
        if where is None:
            raise RenderError(f"{typ}: typst failed: {exc.message}\n{exc.diagnostic}") from exc
        diagnostic = re.sub(r"┌─ \S+?:(\d+):\d+", r"┌─ typst generated from it, line \1",
                            exc.diagnostic)
        raise RenderError(f"{where}: typst failed: {exc.message}\n{diagnostic}") from exc
    for text in warnings:
        if "unknown font family" in text:
            raise RenderError(f"{typ}: typst: {text}")
        print(f"render: typst warning: {text}", file=sys.stderr)


def _declared_order(project: ManuscriptProject, formats: Sequence[str],
                    declared_only: bool = False) -> list[str]:
    """``formats`` in the order the project declares them under `format:` (Quarto renders,
    and links the other formats, in that order); undeclared ones after, unless
    ``declared_only``."""
    declared: list[str] = []
    for source in (project.quarto.get("format"), project.front.get("format")):
        names = source if isinstance(source, (dict, list)) else [source] if source else []
        for name in names:
            fmt = "pdf" if name == "typst" else str(name)
            if fmt in formats and fmt not in declared:
                declared.append(fmt)
    return declared if declared_only else declared + [f for f in formats if f not in declared]


def _yield_cpu(pid: int) -> None:
    """Lower a writer's CPU priority below the typst writer's: the PDF waits for that writer
    and then for typst's compile, the longest chain of a render, so on a small machine the
    other writers take the cores it leaves (about 0.2 s of a first render on 2 cores)."""
    with contextlib.suppress(OSError, AttributeError):  # the writer has ended; not POSIX
        os.setpriority(os.PRIO_PROCESS, pid, WRITER_NICENESS)


def _write_formats(formats: Sequence[str], ast: Path, work: Path, project: ManuscriptProject,
                   lines: list[SourceLine], epoch: int, toc: bool, single: bool = False
                   ) -> dict[str, Path]:
    """Run the writers concurrently; compile typst as soon as its source is ready."""
    (work / "header.typ").write_text(_typst_header(project), encoding="utf-8")
    if "html" in formats:
        # a manuscript links every format it declares, a single document those rendered
        linked = _declared_order(project, formats) if single else \
            _declared_order(project, list(EXTENSIONS), declared_only=True) or list(formats)
        _html_ast(ast, _html_title_meta(_merged_meta(project), _format_options(project, "html"),
                                        linked, single,
                                        project.article.stem if single else "index"))
        _html_template(work)
    if "pdf" in formats:
        _typst_ast(ast, _typst_bibliography_call(project, work))
        shutil.copyfile(TYPST_TEMPLATE, work / TYPST_TEMPLATE.name)
        shutil.copyfile(_typst_partial(project), work / TYPST_PARTIAL)
    procs = {}
    for fmt in formats:
        cmd = _writer_command(fmt, ast, work, project, toc)
        procs[fmt] = (subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=_env(epoch)),
                      Path(cmd[-2]))
        if fmt != "pdf" and "pdf" in formats:
            _yield_cpu(procs[fmt][0].pid)
    results: dict[str, Path] = {}
    errors = []
    for fmt in sorted(procs, key=lambda f: f != "pdf"):
        proc, target = procs[fmt]
        _, stderr = proc.communicate()
        if proc.returncode != 0:
            errors.append(RenderError(f"{project.article}: pandoc ({fmt}) failed:\n{stderr}"))
        elif _warnings(stderr):
            errors.append(_warning_error(_warnings(stderr), lines, project, fmt))
        elif fmt == "pdf":
            results[fmt] = work / "out.pdf"
            try:
                _compile_typst(target, results[fmt], epoch, lines)
            except RenderError as exc:
                errors.append(exc)
        else:
            results[fmt] = target
    if errors:
        raise RenderError("\n".join(str(e) for e in errors))
    return results


# Where the reference list goes when the article has no `::: {#refs}`: at the end, under
# "References" in HTML and JATS; Quarto's DOCX and typst (citeproc) outputs show no heading,
# so their writer filters (docx.lua, typst.lua) drop the one marked render-default-refs.
DEFAULT_REFERENCES = ["", "# References {.unnumbered .render-default-refs}", "",
                      "::: {#refs}", ":::", ""]


def _default_reference_list(meta: dict[str, Any], body: list[SourceLine]) -> list[str]:
    if not meta.get("bibliography") or _has_refs_div(body) or meta.get("reference-section-title"):
        return []
    return DEFAULT_REFERENCES


def _execute_meta(project: ManuscriptProject, meta: dict[str, Any]) -> dict[str, Any]:
    """The options of code execution: `execute:` of _quarto.yml, then of the article."""
    execute = {}
    if (project.quarto.get("project") or {}).get("type") == "manuscript":
        execute["echo"] = False  # Quarto hides the article's code in a manuscript
    for source in (project.quarto, project.front):
        if isinstance(source.get("execute"), dict):
            execute.update(source["execute"])
    return {**meta, "execute": execute}


def _self_render(project_dir: Path, formats: Sequence[str], out_dir: Path) -> dict[str, Path]:
    project = load_project(project_dir)
    _resolve_front_matter(project)
    meta = _merged_meta(project)
    config = project.root / "_quarto.yml"
    config_lines = qmd.read_lines(config) if config.is_file() else []
    render_features.refuse_front_matter(
        {**meta, "filters": project.quarto.get("filters") or project.front.get("filters")},
        [*project.front_lines, *config_lines], project.root, f"{project.article}:1", formats)
    epoch = _source_epoch(meta)
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        work = Path(tmp)
        (work / "project").symlink_to(project.root, target_is_directory=True)
        project.body = execute_cells(project.body, project.article,
                                     _execute_meta(project, meta), work, project.outputs)
        body = _expand_body(project, work)
        metadata, notes = _pandoc_metadata(project, meta, body, epoch, formats)
        lines = [SourceLine(t, project.article, 1) for t in notes] + body
        lines += [SourceLine(t, project.article, body[-1].lineno if body else 1)
                  for t in _default_reference_list(meta, body)]
        (work / "metadata.yaml").write_text(
            yaml.safe_dump(metadata, sort_keys=True, allow_unicode=True), encoding="utf-8")
        (work / "document.md").write_text("\n".join(line.text for line in lines) + "\n",
                                          encoding="utf-8")
        ast = _parse_to_ast(work, lines, project, epoch)
        produced = _write_formats(formats, ast, work, project, lines, epoch,
                                  bool(meta.get("toc")), single=project_dir.is_file())
        stem = project_dir.stem if project_dir.is_file() else "index"
        clear_earlier_run(out_dir, stem)
        if (work / MEDIA_DIR).is_dir():
            replace_dir(work / MEDIA_DIR, out_dir / MEDIA_DIR)
        return _publish(produced, out_dir, stem)


# ----------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """python -m paperkit.render build/paper --to html,pdf,docx [--out-dir DIR]"""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project_dir", type=Path)
    parser.add_argument("--to", default=",".join(DEFAULT_FORMATS),
                        help="comma-separated formats: html, pdf, docx, jats")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--engine", choices=ENGINES, default="auto")
    parser.add_argument("--source-dir", type=Path, default=None,
                        help="folder the project was staged from (errors name its files)")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.to.split(",") if f.strip()]
    try:
        outputs = render_manuscript(args.project_dir, formats, args.out_dir, engine=args.engine,
                                    source_dir=args.source_dir)
    except RenderError as exc:
        print(f"render: error: {exc}", file=sys.stderr)
        return 1
    for fmt, path in outputs.items():
        print(f"{fmt}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
