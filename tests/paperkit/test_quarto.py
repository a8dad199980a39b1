"""The Quarto path with a real Quarto (>= 1.4), and its parity with the self-render.

The Quarto cases are skipped, with the reason, when `quarto` >= 1.4 is not on PATH (CI
has none; there the self-render builds the paper, and its cases here still run). Locally:
PATH=/path/to/quarto/bin:$PATH .venv/bin/pytest tests/paperkit/test_quarto.py
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from paperkit.quarto import quarto_version
from paperkit.render import RenderError, render_manuscript
from tests.buildutil import FIXTURES, ROOT

FIXTURE = FIXTURES / "render"
QUARTO = quarto_version()
requires_quarto = pytest.mark.skipif(
    QUARTO is None, reason="needs quarto >= 1.4 on PATH (the self-render is tested without it)")


def quarto_build(test):
    """A whole-build test that needs Quarto: skipped without it, run with the builds."""
    for mark in (pytest.mark.xdist_group("build"), pytest.mark.build, pytest.mark.slow,
                 requires_quarto):
        test = mark(test)
    return test

ERRORS = {
    "wrong var key": ("The share is {{< var sample.nope >}}.", "unknown variable 'sample.nope'"),
    "dangling cross-reference": ("As @fig-nowhere shows.",
                                 "cross-reference to an undefined label 'fig-nowhere'"),
    "unknown citation": ("As argued before [@nobody2020].",
                         "citation key 'nobody2020' is not in the bibliography"),
}


def stage(tmp_path: Path, bad: str) -> tuple[Path, Path, int]:
    """paper/ with one bad line appended, and its staged copy build/paper/."""
    paper = tmp_path / "paper"
    shutil.copytree(FIXTURE, paper)
    article = paper / "index.qmd"
    lines = article.read_text(encoding="utf-8").splitlines()
    article.write_text("\n".join([*lines, "", bad, ""]), encoding="utf-8")
    staged = tmp_path / "build" / "paper"
    shutil.copytree(paper, staged)
    return paper, staged, len(lines) + 2


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(ERRORS))
@pytest.mark.parametrize("engine", [pytest.param("quarto", marks=requires_quarto), "self"])
def test_broken_source_stops_the_render_naming_the_paper_line(
    tmp_path: Path, case: str, engine: str
) -> None:
    bad, message = ERRORS[case]
    paper, staged, line = stage(tmp_path, bad)
    out = staged / "_manuscript"
    with pytest.raises(RenderError) as err:
        render_manuscript(staged, ["html", "pdf", "docx"], out_dir=out, engine=engine,
                          source_dir=paper)
    assert f"{paper / 'index.qmd'}:{line}: {message}" in str(err.value)
    assert not out.exists() or not list(out.glob("index.*"))
    assert not (staged / ".quarto").exists()


# ---------------------------------------------------------------------------- parity


def pdf_pages(path: Path) -> list[str]:
    """Each page's text, without the page number that closes it."""
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    out = []
    for number, page in enumerate(pages, start=1):
        lines = page.rstrip().splitlines()
        if lines and lines[-1].strip() == str(number):
            lines.pop()
        out.append("\n".join(lines))
    return out


def words(text: str) -> list[str]:
    """Words as a reader sees them: typst's soft hyphens and zero-width break points
    (line-breaking aids, not text) removed; nothing else is normalised."""
    text = re.sub("\u00ad\\s*", "", text).replace("\u200b", "")
    return text.split()


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def first_difference(a: list[str], b: list[str]) -> str:
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            return (f"{op} at word {i1}: quarto {' '.join(a[max(0, i1 - 8):i2 + 8])!r} | "
                    f"self {' '.join(b[max(0, j1 - 8):j2 + 8])!r}")
    return "none"


@pytest.fixture(scope="module")
def both_renders(built: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[str, dict[str, Path]]:
    """The built project's staged paper rendered by Quarto and by the self-render."""
    staged = tmp_path_factory.mktemp("staged") / "paper"
    shutil.copytree(built / "build" / "paper", staged,
                    ignore=shutil.ignore_patterns("_manuscript", ".quarto"))
    return {engine: render_manuscript(staged, ["pdf", "html", "docx"],
                                      out_dir=tmp_path_factory.mktemp(engine), engine=engine)
            for engine in ("quarto", "self")}


@pytest.fixture(scope="module")
def both_pdfs(both_renders: dict[str, dict[str, Path]]) -> dict[str, list[str]]:
    return {engine: pdf_pages(paths["pdf"]) for engine, paths in both_renders.items()}


def html_headings(path: Path) -> list[str]:
    """The numbered headings of an HTML paper: "A.1 Codebook", say."""
    from lxml import html

    doc = html.parse(str(path)).getroot()
    return [" ".join(h.text_content().split()) for h in doc.iter("h1", "h2", "h3", "h4")
            if h.find(".//span[@class='header-section-number']") is not None]


def docx_paragraphs(path: Path) -> list[str]:
    import zipfile

    from lxml import etree

    ns = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
    root = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml"))
    return [" ".join("".join(p.xpath(".//w:t/text()", namespaces=ns)).split())
            for p in root.xpath("//w:p", namespaces=ns)]


@quarto_build
def test_quarto_and_self_render_give_the_same_pdf_text(both_pdfs: dict[str, list[str]]) -> None:
    quarto, own = (words("\n".join(both_pdfs[e])) for e in ("quarto", "self"))
    assert quarto == own, first_difference(quarto, own)
    # Page by page too: the same layout (one `article` partial, one header) breaks the
    # pages, and so the long tables and their repeated header rows, in the same places.
    assert len(both_pdfs["quarto"]) == len(both_pdfs["self"])
    for number, (page_q, page_s) in enumerate(zip(*both_pdfs.values(), strict=True), 1):
        assert words(page_q) == words(page_s), f"page {number}"
    print(f"pages: quarto {len(both_pdfs['quarto'])}, self {len(both_pdfs['self'])}; "
          f"{len(own)} words equal")


@quarto_build
def test_quarto_and_self_render_agree_on_numbers_numbering_references_and_appendix(
    both_pdfs: dict[str, list[str]]
) -> None:
    texts = {e: " ".join(words("\n".join(p))) for e, p in both_pdfs.items()}
    numbers = {e: re.findall(r"[-−]?\d[\d,.]*%?", t) for e, t in texts.items()}
    assert numbers["quarto"] == numbers["self"]
    captions = {e: re.findall(r"\b(Figure|Table) (\d+):", t) for e, t in texts.items()}
    assert captions["quarto"] == captions["self"]
    for kind in ("Figure", "Table"):
        seen = [int(n) for k, n in captions["self"] if k == kind]
        assert seen == list(range(1, len(seen) + 1)), f"{kind} numbers: {seen}"
    references = {e: section(t, "References Brant", "A Appendix") for e, t in texts.items()}
    assert references["quarto"] == references["self"]
    appendix = {e: re.findall(r"\bA\.\d+ [A-Z][a-z]+", t[t.index("A Appendix"):])
                for e, t in texts.items()}
    assert appendix["quarto"] == appendix["self"] and appendix["self"][0].startswith("A.1 ")


# ---------------------------------------------------------------------------- layout


def test_the_paper_declares_paperkits_layout_and_paperkit_writes_it_where_quarto_reads():
    from paperkit import layout
    from paperkit.io import read_yaml

    root = ROOT
    declared = read_yaml(root / "paper" / "_quarto.yml")["format"]["typst"]["template-partials"]
    assert declared == ["_paperkit/typst-template.typ"]
    assert layout.kit_source(declared[0]) == layout.TEMPLATE_DIR / "typst-template.typ"
    assert layout.kit_source("typst-template.typ") is None  # a project's own file
    assert "/_paperkit/" in (root / "paper" / ".gitignore").read_text()


def test_layout_install_writes_the_partial_once_and_again_only_when_it_changed(tmp_path: Path):
    from paperkit import layout

    target = tmp_path / "_paperkit" / "typst-template.typ"
    lua = tmp_path / "_paperkit" / "datavar.lua"  # the number-tracing filter Quarto runs
    cells = tmp_path / "_paperkit" / "typst_cells.lua"  # table cells as written in typst
    assert layout.install(tmp_path) == [target, lua, cells]
    assert lua.read_bytes() == (layout.FILTER_DIR / "datavar.lua").read_bytes()
    assert target.read_bytes() == (layout.TEMPLATE_DIR / "typst-template.typ").read_bytes()
    assert layout.install(tmp_path) == []  # unchanged: a watching preview is not woken
    target.write_text("// stale\n", encoding="utf-8")
    assert layout.install(tmp_path) == [target]


@quarto_build
def test_quarto_and_self_render_agree_on_html_section_numbers_and_docx_numbers(
    both_renders: dict[str, dict[str, Path]]
) -> None:
    """HTML: the same numbered headings, the appendix lettered (Quarto would go on with
    "6.1"; paper/appendix.lua letters it). DOCX: the same numbers in the same order
    (Quarto's DOCX writes a section number as "1.", the self-render as "1")."""
    headings = {e: html_headings(p["html"]) for e, p in both_renders.items()}
    assert headings["quarto"] == headings["self"]
    assert "A.1 Codebook" in headings["self"]
    numbers = {e: [n.rstrip(".") for n in re.findall(r"\d[\d,.]*%?",
                                                      " ".join(docx_paragraphs(p["docx"])))]
               for e, p in both_renders.items()}
    assert numbers["quarto"] == numbers["self"], first_difference(numbers["quarto"],
                                                                  numbers["self"])


def test_pre_render_sync_copies_generated_files_and_rewrites_only_changed_ones(tmp_path: Path):
    from paperkit.quarto import sync_generated

    stage, project = tmp_path / "build" / "paper", tmp_path / "paper"
    (stage / "_tables" / "a").mkdir(parents=True)
    (stage / "_variables.yml").write_text("n: '12'\n")
    (stage / "_tables" / "a" / "t.md").write_text("| x |\n")
    names = ["_variables.yml", "_tables"]
    first = sync_generated(stage, project, names)
    assert sorted(p.relative_to(project).as_posix() for p in first) == [
        "_tables/a/t.md", "_variables.yml"]
    assert sync_generated(stage, project, names) == []
    (stage / "_variables.yml").write_text("n: '13'\n")
    assert sync_generated(stage, project, names) == [project / "_variables.yml"]
    assert (project / "_variables.yml").read_text() == "n: '13'\n"
    with pytest.raises(FileNotFoundError, match="notebooks: the pipeline did not make it"):
        sync_generated(stage, project, ["notebooks"])


# ---------------------------------------------------------------------------- Quarto's own


def caption_lines(pdf: Path) -> list[tuple[float, float, float, float]]:
    """Each one-line "Figure n:"/"Table n:" caption: (left, right, page width, gap after
    the label) in points, from pdftotext's word boxes."""
    from lxml import etree

    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True,
                         capture_output=True).stdout
    root = etree.fromstring(xml, etree.HTMLParser())
    found = []
    for page in root.iter("page"):
        words = [(float(w.get("xmin")), float(w.get("ymin")), float(w.get("xmax")), w.text or "")
                 for w in page.iter("word")]
        for i, (x0, y0, _x1, text) in enumerate(words[:-2]):
            label = words[i + 1]
            if text in ("Figure", "Table") and re.fullmatch(r"\d+:", label[3]) \
                    and abs(label[1] - y0) < 0.5:
                line = [w for w in words if abs(w[1] - y0) < 0.5]
                lines_below = [w for w in words if 0.5 < w[1] - y0 < 14 and w[0] >= x0 - 1]
                if not lines_below:  # one line: its centre tells the alignment
                    found.append((min(w[0] for w in line), max(w[2] for w in line),
                                  float(page.get("width")), words[i + 2][0] - label[2]))
    return found


@quarto_build
def test_quartos_pdf_centres_one_line_captions_and_sets_one_space_after_the_label(
    both_renders: dict[str, dict[str, Path]]
) -> None:
    """Quarto wraps each float in a block as wide as its content, and writes a caption's
    text on lines of its own: narrow figures sat at the left margin and labels read
    "Figure 5:  Who" (paperkit's typst layout corrects both, and centres the narrow
    demographics table in the self-render too)."""
    for engine, paths in both_renders.items():
        captions = caption_lines(paths["pdf"])
        assert len(captions) > 10, engine
        for left, right, width, gap in captions:
            assert abs((left + right) / 2 - width / 2) < 3, (engine, left, right)
            assert gap < 3.5, (engine, gap)  # one word space (2.5 pt at this size)


@quarto_build
def test_quartos_html_lists_the_appendix_and_its_jats_keeps_the_team_name(
    both_renders: dict[str, dict[str, Path]]
) -> None:
    from lxml import html

    doc = html.parse(str(both_renders["quarto"]["html"])).getroot()
    toc = [" ".join(a.text_content().split()) for a in doc.xpath("//nav[@id='TOC']//a")]
    assert "A Appendix" in toc and "A.11 Numbers and claims" in toc
    formats = [" ".join(a.text_content().split())
               for a in doc.xpath("//*[contains(@class, 'quarto-alternate-formats')]//a")]
    assert formats[:2] == ["MS Word", "PDF"]
    jats = (both_renders["quarto"]["html"].parent / "index.xml").read_text(encoding="utf-8")
    assert "<string-name>The reproducible paper build team</string-name>" in jats
    assert "<surname>" not in jats.split("<contrib-group>")[1].split("</contrib-group>")[0]
