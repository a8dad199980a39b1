"""The word diff of two articles: marks words, keeps atoms whole, shows moves as moves."""

from __future__ import annotations

from paperkit.worddiff import (
    blocks,
    diff_article,
    diff_front_matter,
    diff_paragraph,
    mark_caption,
    tokenize,
)


def test_a_reworded_sentence_marks_only_the_changed_words():
    out = diff_paragraph("Approval is high in cities.", "Approval is very high in cities.")
    assert out == "Approval is [very]{.mark} high in cities."


def test_deleted_words_are_struck_through_and_replaced_words_show_both():
    out = diff_paragraph("The rate rose sharply.", "The rate fell.")
    assert "~~rose sharply.~~" in out
    assert "[fell.]{.mark}" in out


def test_citations_cross_references_and_shortcodes_are_atoms():
    kinds = {t.text: t.kind for t in tokenize(
        "See [@kostka2019; @li2022, p. 3] and @fig-approval at {{< var a.pct >}} now.")}
    assert kinds["[@kostka2019; @li2022, p. 3]"] == "cite"
    assert kinds["@fig-approval"] == "ref"
    assert kinds["{{< var a.pct >}}"] == "shortcode"


def test_a_changed_citation_is_replaced_whole_and_the_old_one_printed_as_text():
    out = diff_paragraph("As shown [@a; @b].", "As shown [@a].")
    assert "~~\\[\\@a; \\@b\\]~~" in out
    assert "[[@a]]{.mark}" in out


def test_a_number_whose_value_changed_shows_old_and_new():
    out = diff_paragraph("SE {{< var s.se >}} here.", "SE {{< var s.se >}} here.",
                         {"s.se": ("0.012", "0.015")})
    assert out == "SE ~~0.012~~ [{{< var s.se >}}]{.mark} here."


def test_a_deleted_variable_is_printed_as_its_old_value():
    out = diff_paragraph("Both {{< var x >}} and y.", "Both y.", {"x": ("4.2%", "")})
    assert out == "Both ~~4.2% and~~ y."


def test_span_structure_stays_outside_the_marks():
    out = diff_paragraph("A [claim is true]{.claim #clm-x} here.",
                         "A [claim is surely true]{.claim #clm-x} here.")
    assert out == "A [claim is [surely]{.mark} true]{.claim #clm-x} here."


def test_a_moved_paragraph_is_not_shown_as_deleted_and_inserted():
    old = "First one stays.\n\nMoved paragraph text here.\n\nSecond stays.\n\nThird stays.\n"
    new = "First one stays.\n\nSecond stays.\n\nThird stays.\n\nMoved paragraph text here.\n"
    out, stats = diff_article(old, new)
    assert stats.moved == 1 and stats.deleted == 0 and stats.inserted == 0
    assert out.count("Moved paragraph text here.") == 1
    assert "~~" not in out


def test_unchanged_article_comes_out_unmarked():
    text = "# Intro {#sec-intro}\n\nSome *text* with [@a] and {{< var k >}}.\n"
    out, stats = diff_article(text, text, {"k": ("1", "1")})
    assert out == text
    assert stats.edited == stats.inserted == stats.deleted == stats.moved == 0


def test_code_and_tables_are_objects_kept_as_they_are_now():
    old = "Text.\n\n| a |\n|---|\n| 1 |\n\n```python\nx = 1\n```\n"
    new = "Text.\n\n| a |\n|---|\n| 2 |\n\n```python\nx = 2\n```\n"
    assert [b.prose for b in blocks(new)] == [True, False, False]
    out, _ = diff_article(old, new)
    assert "| 2 |" in out and "| 1 |" not in out and "x = 2" in out and "mark" not in out


def test_a_new_and_a_removed_paragraph_are_marked_whole():
    out, stats = diff_article("Keep.\n\nGone now entirely.\n", "Keep.\n\nBrand new words.\n")
    assert "~~Gone now entirely.~~" in out and "[Brand new words.]{.mark}" in out
    assert stats.inserted == 1 and stats.deleted == 1


def test_a_changed_table_is_marked_in_its_caption():
    text = "{{< include _tables/x.md >}}\n\n: Results by group {#tbl-x}\n"
    assert ": [\\[changed\\]]{.mark} Results by group {#tbl-x}" in mark_caption(text, "tbl-x")


def test_a_changed_image_figure_is_marked_in_its_caption():
    text = "![Height by girth.](figures/height.png){#fig-height width=80%}\n"
    assert mark_caption(text, "fig-height").startswith("![[\\[changed\\]]{.mark} Height by")


def test_the_abstract_in_the_front_matter_is_diffed_too():
    old = ["---", "title: T", "abstract: |", "  We find {{< var a >}} here.", "  More.",
           "keywords: [x]", "---"]
    new = ["---", "title: T", "abstract: |", "  We found {{< var a >}} here.", "  More.",
           "keywords: [x]", "---"]
    out = diff_front_matter(old, new, {"a": ("1", "2")})
    assert out[:3] == new[:3] and out[-2:] == new[-2:]
    assert out[3] == "  We ~~find~~ [found]{.mark} ~~1~~ [{{< var a >}}]{.mark} here."
