"""The rendered paper, checked as a reader sees it.

The HTML is opened in a real headless browser (Debian's chromium driven by
Playwright): no console errors, every figure image loads, every internal link
resolves; a screenshot of the first page is kept in build/test-artifacts/. The PDF's
text (poppler's pdftotext) contains every formatted number the article uses.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.buildutil import ROOT

pytestmark = [pytest.mark.build, pytest.mark.slow, pytest.mark.xdist_group("build")]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "build" / "test-artifacts"
VAR = re.compile(r"\{\{<\s*var\s+([\w.\-]+)\s*>\}\}")


def _lookup(tree: dict, key: str) -> str:
    for part in key.split("."):
        tree = tree[part]
    return str(tree)


@pytest.fixture(scope="module")
def page(built):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it on Debian)")
    from playwright.sync_api import sync_playwright

    html = built / "build/paper/_manuscript/index.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        tab = browser.new_page(viewport={"width": 1200, "height": 1600})
        messages: list[tuple[str, str]] = []
        tab.on("console", lambda m: messages.append((m.type, m.text)))
        tab.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
        tab.goto(html.as_uri(), wait_until="load")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "html_first_page.png"))
        yield tab, messages
        browser.close()


def test_html_loads_without_console_errors(page):
    _, messages = page
    errors = [m for m in messages if m[0] in ("error", "pageerror")]
    assert errors == []


def test_every_figure_image_loads(page):
    tab, _ = page
    images = tab.evaluate(
        "Array.from(document.images).map(i => [i.getAttribute('src').slice(0, 40), i.naturalWidth])"
    )
    assert len(images) >= 3
    assert [src for src, width in images if width == 0] == []


def test_every_internal_link_resolves(page):
    tab, _ = page
    targets = tab.evaluate(
        "Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.getAttribute('href'))"
    )
    assert targets, "the HTML has no internal links (cross-references)"
    missing = tab.evaluate(
        "ids => ids.filter(h => h.length > 1"
        " && !document.getElementById(decodeURIComponent(h.slice(1))))",
        targets,
    )
    assert missing == []


def test_html_screenshot_is_kept_as_an_artifact(page):
    shot = ARTIFACTS / "html_first_page.png"
    assert shot.is_file() and shot.stat().st_size > 5_000


def test_pdf_text_contains_every_number_the_article_uses(built):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    variables = yaml.safe_load((built / "build/paper/_variables.yml").read_text())
    pdf = built / "build/paper/_manuscript/index.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    # typography as the reader sees it: a minus sign, and smart apostrophes (R's -> R’s)
    flat = " ".join(text.replace("\u2212", "-").replace("\u2019", "'").split())
    used = set(VAR.findall((built / "paper/index.qmd").read_text()))
    assert len(used) >= 20
    missing = {k: _lookup(variables, k) for k in sorted(used) if _lookup(variables, k) not in flat}
    assert missing == {}
