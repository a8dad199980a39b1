"""Tests of paperkit/trace_check.py: every number of the HTML's text is traceable."""

from __future__ import annotations

from paperkit.trace_check import untraced_numbers

ALLOW = {"literals": [{"value": "2018", "reason": "fieldwork year"}],
         "patterns": [{"regex": r"\b95% confidence", "reason": "convention"}]}


def page(body: str) -> str:
    return f"<html><body>{body}</body></html>"


def test_values_in_data_var_elements_and_allowed_literals_pass():
    html = page('<p>In 2018, <span class="data-var" data-var="survey.n">2,209</span> people '
                'answered; 95% confidence intervals.</p>')
    assert untraced_numbers(html, ALLOW) == []


def test_a_typed_number_is_reported_with_its_sentence():
    html = page('<p>Of <span class="data-var" data-var="n">2,209</span> people, 79.8% '
                'approve.</p><p>Unrelated.</p>')
    found = untraced_numbers(html, ALLOW)
    assert [(u.literal, u.context) for u in found] == [
        ("79.8%", "Of people, 79.8% approve.")]


def test_tables_figures_references_appendix_and_crossrefs_are_not_body_text():
    html = page(
        '<div><table><tr><td>41</td></tr></table><p>N = 39 interviewees.</p></div>'
        '<figure><img src="x.png"/><figcaption>Figure 3: N = 12</figcaption></figure>'
        '<p>See <a href="#tbl-models">Table 7</a> (<span class="citation">Kostka 2019</span>).</p>'
        '<div id="refs"><p>Kostka, G. 2019. 21: 1565.</p></div>'
        '<section class="level1 appendix"><p>Value 80.2%</p></section>'
        '<p><span class="data-var" data-var="x">5<span class="data-var-tip">unrounded '
        '5.01</span></span></p>')
    assert untraced_numbers(html, ALLOW) == []


def test_a_number_in_a_checked_claim_is_allowed_only_as_a_constant_of_its_assertion():
    claims = {"clm-sig": {"text": "significant", "assert": "models.p < 0.05"}}
    ok = page('<p><span id="clm-sig-text" class="claim">significant (p &lt; .05)</span></p>')
    assert untraced_numbers(ok, ALLOW, claims) == []
    bad = page('<p><span id="clm-sig-text" class="claim">significant (p &lt; .01)</span></p>')
    assert [u.literal for u in untraced_numbers(bad, ALLOW, claims)] == [".01"]


def test_the_title_blocks_names_dates_and_notes_are_not_body_text():
    html = page('<header id="title-block-header"><p class="author">Ada<br/>'
                '<span class="affiliation">Lab 42</span></p><p class="date">March 1, 2019</p>'
                '<div class="abstract"><p>We find <span data-var="n">80.4</span> percent.</p>'
                '<div class="title-notes"><p>ORCID: 0000-0002-1825-0097</p></div></div>'
                '</header><aside>Page 3</aside>')
    assert untraced_numbers(html, ALLOW) == []
    typed = page('<header><div class="abstract"><p>We find 80.4 percent.</p></div></header>')
    assert [u.literal for u in untraced_numbers(typed, ALLOW)] == ["80.4"]
