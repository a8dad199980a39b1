"""Both engines mark every var value (data-var) and every checked claim in the HTML.

paperkit/filters/datavar.lua turns each value into an element carrying its key, with a
tooltip that shows the record of paperkit/trace.py and links to the appendix entry; a
claim span links to its entry, whose anchor is the claim id. Other formats print the
plain values. The self-render runs the filter itself; Quarto runs it at `pre-ast`, as the
project's _quarto.yml declares it (the Quarto cases are skipped without Quarto on PATH).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from lxml import etree

from paperkit.quarto import quarto_version
from paperkit.render import render_manuscript
from tests.paperkit.test_render import EPOCH, FIXTURE, docx_text

RECORD = {"key": "sample.n", "value": "2209", "unrounded": "2209", "rule": "clean",
          "function": "analysis.survey.cleaning.clean_survey",
          "inputs": [{"file": "data/raw/survey.csv", "sha256": "ab" * 32}]}


ENGINES = ["self", pytest.param("quarto", marks=[pytest.mark.slow, pytest.mark.skipif(
    quarto_version() is None, reason="needs quarto >= 1.4 on PATH")])]


@pytest.fixture(scope="module", params=ENGINES)
def rendered(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    project = tmp_path_factory.mktemp("datavar") / "paper"
    shutil.copytree(FIXTURE, project)
    article = project / "index.qmd"
    article.write_text(article.read_text(encoding="utf-8")
                       + "\n[Most approve]{.claim #clm-most} of them.\n", encoding="utf-8")
    (project / "_traces.json").write_text(json.dumps(
        {"vars": {"sample.n": RECORD}, "claims": {"clm-most": {"id": "clm-most"}}}),
        encoding="utf-8")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        return render_manuscript(project, ["html", "docx"], engine=request.param)
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


@pytest.fixture(scope="module")
def html(rendered: dict[str, Path]) -> etree._Element:
    return etree.HTML(rendered["html"].read_bytes())


def test_every_body_value_is_an_element_carrying_its_key(html):
    keys = html.xpath("//body//*[@data-var]/@data-var")
    assert {"sample.n", "approval.high_pct", "approval.model.or_honest"} <= set(keys)
    element = html.xpath("//p//*[@data-var='approval.model.or_honest']")[0]
    assert element.text == "1.63" and element.get("tabindex") == "0"


def test_abstract_values_are_elements_carrying_their_keys_with_tooltips(html):
    """Quarto leaves a shortcode of the front matter as words until after `pre-ast`: the
    filter finds them there too."""
    abstract = html.xpath("//*[contains(@class, 'abstract')]")[0]
    element = abstract.xpath(".//*[@data-var='approval.high_pct']")[0]
    assert element.text == "80.4"
    assert element.xpath(".//a/@href") == ["#var-approval.high_pct"]
    assert "{{<" not in "".join(abstract.itertext())


def test_the_tooltip_shows_the_record_and_links_to_the_appendix_entry(html):
    element = html.xpath("//p//*[@data-var='sample.n']")[0]
    tip = element.xpath(".//*[contains(@class, 'data-var-tip')]")[0]
    text = " ".join("".join(tip.itertext()).split())
    for part in ("sample.n", "clean", "analysis.survey.cleaning.clean_survey",
                 "data/raw/survey.csv", "ab" * 32):
        assert part in text
    assert tip.xpath(".//a/@href") == ["#var-sample.n"]
    # a key without a record (not expected: both come from the article) still links
    bare = html.xpath("//p//*[@data-var='approval.high_pct']//a/@href")
    assert bare == ["#var-approval.high_pct"]


def test_a_claim_links_to_its_entry_and_leaves_the_claim_id_to_the_entry(html):
    span = html.xpath("//*[@id='clm-most-text']")[0]
    assert "claim" in span.get("class")
    assert span.xpath(".//a[contains(@class, 'claim-mark')]/@href") == ["#clm-most"]
    assert html.xpath("//*[@id='clm-most']") == []


def test_docx_prints_the_plain_values(rendered):
    text = docx_text(rendered["docx"])
    assert "We surveyed 2209 respondents" in text and "Entry in Numbers" not in text


def test_without_records_the_values_carry_their_keys_but_no_tooltips_or_links(tmp_path):
    project = tmp_path / "paper"
    shutil.copytree(FIXTURE, project)
    article = project / "index.qmd"
    article.write_text(article.read_text(encoding="utf-8")
                       + "\n[Most approve]{.claim #clm-most} of them.\n", encoding="utf-8")
    html = etree.HTML(render_manuscript(project, ["html"], engine="self")["html"].read_bytes())
    assert "sample.n" in html.xpath("//body//*[@data-var]/@data-var")
    assert html.xpath("//*[contains(@class, 'data-var-tip')]") == []
    assert html.xpath("//a[contains(@class, 'claim-mark')]") == []
    assert html.xpath("//*[@id='clm-most-text']")  # the entry's id stays free all the same
