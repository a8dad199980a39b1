"""Tests of paperkit.render on the sample Quarto manuscript in tests/fixtures/render/.

PDF text is read with pdftotext (poppler-utils); DOCX text from word/document.xml.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from lxml import etree

from paperkit import render
from paperkit.quarto import quarto_version
from paperkit.render import RenderError, render_manuscript
from tests.buildutil import FIXTURES

FIXTURE = FIXTURES / "render"
ALL_FORMATS = ["html", "pdf", "docx", "jats"]
EPOCH = "1546300800"


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", out)


def docx_text(path: Path) -> str:
    xml = zipfile.ZipFile(path).read("word/document.xml")
    ns = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
    root = etree.fromstring(xml)
    paragraphs = ["".join(p.xpath(".//w:t/text()", namespaces=ns))
                  for p in root.xpath("//w:p", namespaces=ns)]
    return re.sub(r"\s+", " ", " ".join(paragraphs))


def html_text(path: Path) -> str:
    tree = etree.HTML(path.read_bytes())
    # what a reader sees: the numbers' tooltips (paperkit/filters/datavar.lua) are hidden
    for node in tree.xpath("//script|//style|//*[contains(@class, 'data-var-tip')]"):
        node.getparent().remove(node)
    return re.sub(r"\s+", " ", "".join(tree.itertext()))


def copy_fixture(tmp_path: Path) -> Path:
    project = tmp_path / "paper"
    shutil.copytree(FIXTURE, project)
    return project


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("render")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        return render_manuscript(copy_fixture(tmp), ALL_FORMATS, engine="self")
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


@pytest.fixture(scope="module")
def texts(rendered: dict[str, Path]) -> dict[str, str]:
    return {"html": html_text(rendered["html"]), "pdf": pdf_text(rendered["pdf"]),
            "docx": docx_text(rendered["docx"])}


def test_outputs_are_written_to_the_manuscript_folder(rendered: dict[str, Path]) -> None:
    for fmt, ext in render.EXTENSIONS.items():
        assert rendered[fmt].name == f"index.{ext}"
        assert rendered[fmt].parent.name == "_manuscript"
        assert rendered[fmt].stat().st_size > 0
    assert rendered["pdf"].read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_variables_from_variables_yml_appear_in_every_format(
    texts: dict[str, str], fmt: str
) -> None:
    text = texts[fmt]
    for value in ("We surveyed 2209 respondents", "80.4 percent", "odds ratio for honesty is 1.63",
                  "commercial users is 80.2%"):
        assert value in text
    assert "{{< var sample.n >}}" in text  # the escaped shortcode stays literal
    assert "{{< var" not in text.replace("{{< var sample.n >}}", "")


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_cross_references_are_numbered_consistently(texts: dict[str, str], fmt: str) -> None:
    text = texts[fmt]
    assert "see Figure 1 and Figure 2; methods are in Section 2. As 1 shows" in text
    assert "shown in Table 1." in text
    assert "(see Table 2 and Table 3)" in text
    assert "See Figure 3." in text
    assert "referring back to Section 3" in text
    assert "??" not in text and "fig-" not in text.replace("fig-approval", "")


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_each_caption_carries_its_number_exactly_once(texts: dict[str, str], fmt: str) -> None:
    text = texts[fmt]
    captions = {
        "Figure 1: Static figure from the figures folder": 1,
        "Figure 2: Distribution of approval (n = 2209)": 1,
        "Figure 3: A figure declared as a div": 1,
        "Figure 4: Score distribution": 1,
        "Table 1: Sample composition by residence": 1,
        "Table 2: Approval shares": 1,
        "Table 3: Mean approval by region": 1,
    }
    for caption, count in captions.items():
        assert text.count(caption) == count, caption
    assert "Figure 1: Figure" not in text and "Figure Figure" not in text
    assert not re.search(r"Table \d+: Table", text)


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_front_matter_is_shown(texts: dict[str, str], fmt: str) -> None:
    text = texts[fmt]
    for expected in ("Approval of social credit systems among 2209 respondents",
                     "A test manuscript", "Ada Example", "Bo Sample", "March 1, 2019",
                     "We find that 80.4 percent approve."):
        assert expected in text, expected
    # Quarto's DOCX title block shows the authors' names only.
    affiliations = ("Free University Berlin", "Hertie School")
    assert all((a in text) == (fmt != "docx") for a in affiliations), affiliations
    # The PDF's title block is Quarto's typst one: names, affiliations, e-mail only; its
    # HTML links e-mail and ORCID with icons (no words) and lists the keywords.
    assert ("ada@example.org" in text) == (fmt == "pdf")
    if fmt == "html":
        assert "0000-0002-1825-0097" not in text
        assert "Keywords social credit, China, survey" in " ".join(text.split())


def test_author_metadata_holds_plain_names(rendered: dict[str, Path]) -> None:
    info = subprocess.run(["pdfinfo", str(rendered["pdf"])], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"Author:\s+Ada Example & Bo Sample\n", info)
    core = zipfile.ZipFile(rendered["docx"]).read("docProps/core.xml").decode()
    assert "<dc:creator>Ada Example; Bo Sample</dc:creator>" in core
    assert "<string-name>Ada Example</string-name>" in rendered["jats"].read_text()


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_citations_and_bibliography_are_rendered(texts: dict[str, str], fmt: str) -> None:
    text = texts[fmt]
    assert "Approval is high (Kostka 2019)" in text
    assert "online (Liang et al. 2018)" in text
    # (under "References" in HTML; Quarto's DOCX and typst show the list without a heading)
    refs = text[text.rindex("References" if fmt == "html" else "Details with code"):]
    assert "Kostka, Genia. 2019." in refs
    # (pdftotext drops the hyphen of "Data-Driven" when the line breaks after it)
    assert re.search(r"Constructing a Data-?\s?Driven Society", refs)


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_sections_and_appendix_are_numbered(texts: dict[str, str], fmt: str) -> None:
    text = texts[fmt]
    for heading in ("1 Introduction", "2 Data and methods", "3 Results", "A Appendix"):
        assert heading in text


def test_embed_echo_shows_the_code_without_cell_options(texts: dict[str, str]) -> None:
    for text in texts.values():
        assert "plt.plot([0, 1, 2, 3], [1, 3, 2, 4])" in text
        assert "#| label" not in text


def test_html_is_self_contained_with_links_for_references(rendered: dict[str, Path]) -> None:
    html = rendered["html"].read_text(encoding="utf-8")
    tree = etree.HTML(html.encode())
    resources = tree.xpath("//img/@src|//script/@src|//link[@rel='stylesheet']/@href"
                           "|//source/@src|//iframe/@src")
    assert len(tree.xpath("//img")) == 4
    assert resources and all(r.startswith("data:") for r in resources)
    assert '<a href="#fig-static">Figure 1</a>' in html
    assert '<a href="#tbl-composition">Table 1</a>' in html
    assert 'id="fig-approval"' in html and 'id="tbl-approval"' in html


def test_docx_links_cross_references_to_bookmarks(rendered: dict[str, Path]) -> None:
    xml = zipfile.ZipFile(rendered["docx"]).read("word/document.xml").decode()
    for label in ("fig-static", "tbl-composition", "sec-methods"):
        assert f'w:anchor="{label}"' in xml
        assert f'w:name="{label}"' in xml
    assert len(zipfile.ZipFile(rendered["docx"]).namelist()) > 5


def test_pdf_is_a4_with_page_numbers(rendered: dict[str, Path]) -> None:
    info = subprocess.run(["pdfinfo", str(rendered["pdf"])], check=True, capture_output=True,
                          text=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 2
    last = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), str(rendered["pdf"]),
                           "-"], check=True, capture_output=True, text=True).stdout
    assert last.strip().splitlines()[-1].strip() == str(pages)
    fonts = subprocess.run(["pdffonts", str(rendered["pdf"])], check=True, capture_output=True,
                           text=True).stdout
    assert "LibertinusSerif" in fonts


def test_jats_is_well_formed_and_numbered(rendered: dict[str, Path]) -> None:
    root = etree.fromstring(rendered["jats"].read_bytes())
    text = " ".join(root.itertext())
    assert root.tag == "article"
    assert "Figure 1" in text and "Table 2: Approval shares" in text


def test_same_sources_give_the_same_bytes(rendered: dict[str, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    again = render_manuscript(copy_fixture(tmp_path), ["html", "pdf", "docx"], engine="self")
    assert again["html"].read_bytes() == rendered["html"].read_bytes()
    assert again["docx"].read_bytes() == rendered["docx"].read_bytes()
    assert pdf_text(again["pdf"]) == pdf_text(rendered["pdf"])
    assert again["pdf"].read_bytes() == rendered["pdf"].read_bytes()


@pytest.mark.parametrize(("formats", "lowered"), [(["html", "pdf", "docx"], 2),
                                                  (["html", "docx"], 0)])
def test_writers_other_than_typst_yield_the_cpu_only_when_the_pdf_is_rendered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, formats: list[str],
        lowered: int) -> None:
    seen: list[int] = []
    real = render._yield_cpu

    def spy(pid: int) -> None:
        real(pid)
        with contextlib.suppress(OSError):  # pandoc ended already
            seen.append(os.getpriority(os.PRIO_PROCESS, pid))

    monkeypatch.setattr(render, "_yield_cpu", spy)
    outputs = render_manuscript(copy_fixture(tmp_path), formats, engine="self")
    assert sorted(outputs) == sorted(formats)
    assert len(seen) <= lowered and all(n >= render.WRITER_NICENESS for n in seen)
    assert (len(seen) > 0) == (lowered > 0)


def test_refs_div_places_the_bibliography(tmp_path: Path) -> None:
    project = copy_fixture(tmp_path)
    article = project / "index.qmd"
    article.write_text(article.read_text() + "\n## Sources {.unnumbered}\n\n::: {#refs}\n:::\n"
                       "\n## Coda {.unnumbered}\n\nClosing words.\n")
    text = html_text(render_manuscript(project, ["html"], engine="self")["html"])
    assert "References" not in text
    assert text.index("Sources") < text.index("Kostka, Genia. 2019.") < text.index("Closing words")


# ---------------------------------------------------------------------------- error cases

ERROR_CASES = {
    "missing variable": ("The share is {{< var sample.nope >}}.", "unknown variable 'sample.nope'"),
    "dangling reference": ("As @fig-nowhere shows.", "undefined label 'fig-nowhere'"),
    "dangling table reference": ("See [@tbl-nowhere].", "undefined label 'tbl-nowhere'"),
    "unknown citation": ("As argued before [@nobody2020].", "'nobody2020' is not in the bib"),
    "missing include": ("{{< include _tables/nowhere.md >}}", "include file '_tables/nowhere.md'"),
    "missing embed label": ("{{< embed notebooks/analysis.ipynb#fig-nowhere >}}",
                            "no cell labelled 'fig-nowhere'"),
    "missing notebook": ("{{< embed notebooks/nowhere.ipynb#fig-approval >}}",
                         "notebook 'notebooks/nowhere.ipynb' not found"),
    "missing image": ("![A caption](figures/nowhere.png){#fig-lost}",
                      "image file 'figures/nowhere.png' does not exist"),
    "unsupported shortcode": ("{{< video https://example.org/v.mp4 >}}",
                              "unsupported shortcode 'video'"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors_name_file_and_line_and_leave_no_output(tmp_path: Path, case: str) -> None:
    project = copy_fixture(tmp_path)
    article = project / "index.qmd"
    lines = article.read_text(encoding="utf-8").splitlines()
    line_no = len(lines) + 2
    bad, message = ERROR_CASES[case]
    article.write_text("\n".join([*lines, "", bad, ""]), encoding="utf-8")
    with pytest.raises(RenderError) as info:
        render_manuscript(project, ["html", "pdf", "docx"], engine="self")
    assert f"{article}:{line_no}:" in str(info.value)
    assert message in str(info.value)
    out = project / "_manuscript"
    assert not out.exists() or not any(out.iterdir())


def test_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    project = copy_fixture(tmp_path)
    methods = project / "sections" / "_methods.qmd"
    methods.write_text(methods.read_text().replace("{{< var sample.n >}}",
                                                   "{{< var sample.size >}}"))
    with pytest.raises(RenderError, match=rf"{re.escape(str(methods))}:3: unknown variable"):
        render_manuscript(project, ["html"], engine="self")


def test_error_in_front_matter_names_its_line(tmp_path: Path) -> None:
    project = copy_fixture(tmp_path)
    article = project / "index.qmd"
    article.write_text(article.read_text().replace("among {{< var sample.n >}}",
                                                   "among {{< var sample.total >}}"))
    with pytest.raises(RenderError, match=rf"{re.escape(str(article))}:2: unknown variable"):
        render_manuscript(project, ["pdf"], engine="self")


def test_failed_render_removes_stale_outputs(tmp_path: Path) -> None:
    project = copy_fixture(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("old paper")
    article = project / "index.qmd"
    article.write_text(article.read_text() + "\nSee @tbl-gone.\n")
    with pytest.raises(RenderError):
        render_manuscript(project, ["html"], out_dir=out, engine="self")
    assert not (out / "index.html").exists()


def test_cli_reports_errors_with_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project = copy_fixture(tmp_path)
    article = project / "index.qmd"
    article.write_text(article.read_text() + "\n{{< var nope >}}\n")
    assert render.main([str(project), "--to", "html", "--engine", "self"]) == 1
    assert "unknown variable 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------------------- Quarto path

# A stand-in `quarto` executable for the driver's own logic (which call, which outputs,
# which warnings fail). The real Quarto is exercised by tests/paperkit/test_quarto.py.
FAKE_QUARTO = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "{version}"; exit 0; fi
if [ "$1" = "render" ]; then
  echo "$@" > "{log}"
  mkdir -p "$2/_manuscript"
  for ext in html pdf docx; do echo "quarto $ext" > "$2/_manuscript/index.$ext"; done
  printf '%s\\n' {stderr} >&2
  exit 0
fi
exit 2
"""


def fake_quarto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str,
                stderr: str = "") -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "quarto"
    log = tmp_path / "quarto-args.txt"
    exe.write_text(FAKE_QUARTO.format(version=version, log=log, stderr=shlex.quote(stderr)))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_quarto_version_reads_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_quarto(tmp_path, monkeypatch, "1.5.57")
    assert quarto_version() == (1, 5, 57)


def test_quarto_older_than_1_4_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_quarto(tmp_path, monkeypatch, "1.3.450")
    assert quarto_version() is None


def test_quarto_renders_all_formats_in_one_call_on_a_scratch_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_quarto(tmp_path, monkeypatch, "1.6.1")
    project = copy_fixture(tmp_path)
    out = tmp_path / "out"
    outputs = render_manuscript(project, ["html", "pdf"], out_dir=out)
    args = log.read_text().split()
    assert args[0] == "render" and len(args) == 2  # no --to: every declared format
    assert Path(args[1]).name == project.name and Path(args[1]) != project
    assert outputs == {"html": out / "index.html", "pdf": out / "index.pdf"}
    assert outputs["pdf"].read_text() == "quarto pdf\n"
    assert not (project / "_manuscript").exists() and not (project / ".quarto").exists()


def test_engine_self_ignores_an_installed_quarto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_quarto(tmp_path, monkeypatch, "1.6.1")
    outputs = render_manuscript(copy_fixture(tmp_path), ["html"], engine="self")
    assert not log.exists() and "quarto html" not in outputs["html"].read_text()


@pytest.mark.parametrize("warning, message", [
    ("WARNING (/x/shortcodes-handlers.lua:302) Unknown var sample.n specified in a var "
     "shortcode.", "unknown variable 'sample.n'"),
    ("WARNING (/x/crossref/refs.lua:128) Unable to resolve crossref @fig-static",
     "cross-reference to an undefined label 'fig-static'"),
    ("[WARNING] Citeproc: citation kostka2019 not found",
     "citation key 'kostka2019' is not in the bibliography"),
])
def test_quarto_warnings_stop_the_render_naming_the_source_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warning: str, message: str
) -> None:
    fake_quarto(tmp_path, monkeypatch, "1.6.1", stderr=warning)
    project = copy_fixture(tmp_path)
    staged = tmp_path / "build" / "paper"
    shutil.copytree(project, staged)
    out = staged / "_manuscript"
    out.mkdir()
    (out / "index.html").write_text("old paper")
    with pytest.raises(RenderError) as err:
        render_manuscript(staged, ["html"], out_dir=out, source_dir=project)
    text = str(err.value)
    assert message in text
    where = re.search(r"(\S+):(\d+): ", text)
    assert where and Path(where.group(1)) == project / "index.qmd"
    needle = message.split("'")[1]
    assert needle in (project / "index.qmd").read_text().splitlines()[int(where.group(2)) - 1]
    assert not (out / "index.html").exists()


def test_crossref_options_set_reference_and_caption_words(tmp_path: Path) -> None:
    project = copy_fixture(tmp_path)
    config = project / "_quarto.yml"
    config.write_text(config.read_text() + "crossref:\n  fig-prefix: Fig.\n  tbl-title: Tab.\n")
    text = html_text(render_manuscript(project, ["html"], engine="self")["html"])
    assert "see Fig. 1 and Fig. 2;" in text
    assert "Figure 1: Static figure" in text
    assert "Tab. 1: Sample composition" in text and "shown in Table 1." in text


def test_a_key_given_twice_in_quarto_yml_stops_the_render_naming_both_lines(
    tmp_path: Path,
) -> None:
    project = copy_fixture(tmp_path)
    config = project / "_quarto.yml"
    lines = config.read_text().splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("bibliography:"))
    config.write_text("\n".join([*lines, "bibliography: other.bib", ""]))
    with pytest.raises(RenderError, match=rf"_quarto.yml: line {len(lines) + 1}: duplicate "
                                          rf"key 'bibliography' \(first given at line {first}\)"):
        render_manuscript(project, ["html"], engine="self")


@pytest.mark.parametrize(("partials", "message"), [
    (["_paperkit/typst-template.typ", "page.typ"], r"template partial\(s\) \['page.typ'\] not "
                                                   r"implemented by the self-render"),
    (["typst-template.typ"], r"template-partials file 'typst-template.typ' not found"),
])
def test_a_template_partial_the_self_render_cannot_honour_stops_the_render(
    tmp_path: Path, partials: list[str], message: str
) -> None:
    project = copy_fixture(tmp_path)
    (project / "page.typ").write_text("// a page partial of Quarto's\n")
    config = yaml.safe_load((project / "_quarto.yml").read_text())
    config["format"]["typst"]["template-partials"] = partials
    (project / "_quarto.yml").write_text(yaml.safe_dump(config))
    with pytest.raises(RenderError, match=message):
        render_manuscript(project, ["pdf"], engine="self")
