"""Every number of the built paper is traceable from the page, checked in a real browser.

In the HTML of a fresh build each value of a `var` shortcode of paper/index.qmd is an
element with data-var="<key>" whose tooltip (hover or keyboard focus) shows the key and
the rule and links to the key's entry in the "Numbers and claims" appendix; each claim id
of paper/claims.yml has an anchor there, linked from the claim in the text; and no number
of the body text is neither a variable's value nor an allowed literal.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml

from paperkit.prose_check import load_allowlist
from paperkit.trace import article_keys
from paperkit.trace_check import untraced_numbers
from tests.build.test_paper_outputs import CHROMIUM

pytestmark = [pytest.mark.build, pytest.mark.slow, pytest.mark.xdist_group("build")]


@pytest.fixture(scope="module")
def tab(built):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it on Debian)")
    from playwright.sync_api import sync_playwright

    html = built / "build/paper/_manuscript/index.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.goto(html.as_uri(), wait_until="load")
        yield page
        browser.close()


def test_every_var_of_the_article_is_a_data_var_element(built, tab):
    keys = set(article_keys(built / "paper" / "index.qmd"))
    shown = set(tab.eval_on_selector_all("[data-var]", "els => els.map(e => e.dataset.var)"))
    assert keys - shown == set()
    entries = set(tab.eval_on_selector_all("[id^='var-']", "els => els.map(e => e.id)"))
    assert {f"var-{k}" for k in keys} <= entries


def test_hovering_a_number_shows_its_record_and_a_link_to_its_entry(tab):
    number = tab.locator("p [data-var='survey.approval.approve_any.pct']").first
    tip = number.locator(".data-var-tip")
    assert not tip.is_visible()
    number.hover()
    assert tip.is_visible()
    text = tip.inner_text()
    assert "survey.approval.approve_any.pct" in text and "describe" in text
    assert re.search(r"[0-9a-f]{64}", text)  # an input file's full checksum
    href = tip.locator("a").get_attribute("href")
    assert href == "#var-survey.approval.approve_any.pct"
    assert tab.locator(f"[id='{href[1:]}']").count() == 1


def test_each_claim_is_marked_and_links_to_its_entry_named_by_the_claim_id(built, tab):
    claims = yaml.safe_load((built / "paper" / "claims.yml").read_text(encoding="utf-8"))
    for claim_id in claims:
        assert tab.locator(f"[id='{claim_id}']").count() == 1, claim_id
        marks = tab.locator(f"[id='{claim_id}-text'] a.claim-mark[href='#{claim_id}']")
        assert marks.count() == 1, claim_id


def test_no_id_is_used_twice(tab):
    ids = Counter(tab.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_number_of_the_body_text_is_traceable(built, tab):
    allow = load_allowlist(built / "paper" / "_number_allowlist.yml")
    claims = yaml.safe_load((built / "paper" / "claims.yml").read_text(encoding="utf-8"))
    assert untraced_numbers(tab.content(), allow, claims) == []
