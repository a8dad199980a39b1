"""Tests of the manuscript's number check (paperkit.prose_check)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from paperkit.prose_check import (
    KIND_SPELLED,
    AllowlistError,
    ProseCheckError,
    assert_no_literals,
    check_numeric_literals,
    check_var_keys,
    find_claim_spans,
    load_allowlist,
    main,
    mask_code,
    mask_non_prose,
    validate_allowlist,
)
from tests.buildutil import FIXTURES, ROOT

FIX = FIXTURES / "prose"
ALLOW = load_allowlist(FIX / "allowlist.yml")
CLAIMS = yaml.safe_load((FIX / "claims.yml").read_text(encoding="utf-8"))


def _doc(tmp_path: Path, body: str, name: str = "doc.qmd") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _literals(path: Path, allow: dict | None = None, **kw) -> list[tuple[int, str]]:
    return [(f.line, f.literal) for f in check_numeric_literals(path, allow, **kw)]


def test_passing_document_has_no_findings_with_allowlist_and_claims() -> None:
    assert check_numeric_literals(FIX / "pass.qmd", ALLOW, claims=CLAIMS) == []


def test_passing_document_without_allowlist_reports_exactly_the_excused_literals() -> None:
    found = _literals(FIX / "pass.qmd")
    assert found == [(19, "2014"), (21, "2018"), (28, "7"), (29, "A1"), (57, "75%")]


def test_stray_literals_in_prose_are_all_reported_with_line_numbers() -> None:
    assert _literals(FIX / "stray_prose.qmd", ALLOW) == [(5, "80%"), (5, "49%"), (6, "2,209")]


def test_stray_literals_in_figure_and_table_captions_are_reported() -> None:
    assert _literals(FIX / "stray_caption.qmd", ALLOW) == [(7, "1,650"), (13, ".001")]


def test_stray_literal_in_abstract_is_reported_but_other_front_matter_is_not() -> None:
    # keywords: "survey 2018" is metadata, not title/subtitle/abstract
    assert _literals(FIX / "stray_abstract.qmd", ALLOW) == [(5, "0.314")]


def test_assert_no_literals_message_lists_every_offender_with_file_and_line() -> None:
    with pytest.raises(ProseCheckError) as info:
        assert_no_literals(FIX / "stray_prose.qmd", ALLOW)
    msg = str(info.value)
    path = str(FIX / "stray_prose.qmd")
    for line, lit in [(5, "80%"), (5, "49%"), (6, "2,209")]:
        expected = (
            f"{path}:{line}: literal '{lit}' in prose is not produced by the pipeline "
            "(use {{< var ... >}})"
        )
        assert expected in msg
    assert msg.startswith("3 number(s)")


@pytest.mark.parametrize(
    "snippet",
    [
        "See {{< var models.m7.n >}} cases.",
        "Computed as `{python} numbers['n']` inline or ``x = `q19_1` `` here.",
        "As shown in @fig-2 and @tbl-a3 and [-@kostka2019].",
        "Earlier work [see @kostka2019, pp. 33-35; @li2022, chap. 4] agrees.",
        "The data are at https://example.org/v2/data?id=17 and doi:10.1002/poi3.316.",
        "The DOI 10.1177/1461444819826402 is cited.",
        "<!-- 42 is the answer\n spanning 2 lines -->Text.",
        "## Results {#sec-results-2}",
        "## 3.2 Results",
        "A note.[^12]\n\n[^12]: Footnote text.",
        "[a link](https://example.org/page2.html) and ![a picture](fig/plot3.png){width=80%}",
        "::: {#fig-4 layout-ncol=2}\nA figure.\n:::",
        "Write to team2@example.org.",
        '<span style="width: 50%">styled</span> text.',
    ],
)
def test_non_prose_constructs_are_skipped(tmp_path: Path, snippet: str) -> None:
    assert _literals(_doc(tmp_path, f"---\ntitle: A\n---\n\n{snippet}\n")) == []


@pytest.mark.parametrize(
    ("snippet", "literal"),
    [
        ("Approval rose by 3.5 points.", "3.5"),
        ("Approval is `61.3%` of all.", "61.3%"),
        ("Approval is `{python} 0.613` of all.", "0.613"),
        ("Approval is `r 42` of all.", "42"),
        ("The effect was significant (p < .05).", ".05"),
        ("In Table 2 the estimates are shown.", "2"),
        ("Approval among those over 50s differs.", "50s"),
        ("The odds ratio was −1.2 overall.", "1.2"),
        ("Estimates $\\beta = 0.31$ are large.", "0.31"),
        ("Some {3} braces.", "3"),
    ],
)
def test_literals_in_prose_are_found(tmp_path: Path, snippet: str, literal: str) -> None:
    assert _literals(_doc(tmp_path, snippet + "\n")) == [(1, literal)]


def test_executed_cells_are_skipped_but_captions_and_displayed_code_are_checked(
        tmp_path: Path) -> None:
    body = (
        'Text.\n\n```{python}\n#| label: fig-x\n#| fig-cap: "Approval of 80% of users"\n'
        "x = 2209 * 0.8\n```\n\n~~~~\n1234\n~~~~\n"
    )
    assert _literals(_doc(tmp_path, body)) == [(5, "80%"), (10, "1234")]


def test_ordered_list_markers_are_not_literals_but_numbers_in_items_are(tmp_path: Path) -> None:
    body = "Two barriers:\n\n1. knowledge, and\n2. trust among 45 people.\n"
    assert _literals(_doc(tmp_path, body)) == [(4, "45")]


def test_number_at_start_of_wrapped_paragraph_line_is_not_taken_for_a_list_marker(
    tmp_path: Path,
) -> None:
    body = "The fieldwork ended in\n2018. Then the analysis began.\n"
    assert _literals(_doc(tmp_path, body)) == [(2, "2018")]


def test_column_points_at_the_literal(tmp_path: Path) -> None:
    (finding,) = check_numeric_literals(_doc(tmp_path, "ab 42 cd\n"))
    assert (finding.line, finding.column, finding.context) == (1, 4, "ab 42 cd")


def test_masking_keeps_offsets_and_line_numbers(tmp_path: Path) -> None:
    text = (FIX / "pass.qmd").read_text(encoding="utf-8")
    masked = mask_non_prose(text)
    assert len(masked) == len(text)
    assert [i for i, c in enumerate(masked) if c == "\n"] == [
        i for i, c in enumerate(text) if c == "\n"
    ]


def test_allowlist_literal_and_pattern_excuse_only_what_they_match(tmp_path: Path) -> None:
    allow = {
        "literals": [{"value": "2018", "reason": "survey year"}],
        "patterns": [{"regex": r"\bmodel \d+", "reason": "model numbers"}],
    }
    doc = _doc(tmp_path, "In 2018, model 7 fits; 2019 and 7 cases do not.\n")
    assert _literals(doc, allow) == [(1, "2019"), (1, "7")]


def test_pattern_may_span_a_line_break(tmp_path: Path) -> None:
    allow = {"patterns": [{"regex": r"\bmodels\s+\d+\s+and\s+\d+", "reason": "model numbers"}]}
    doc = _doc(tmp_path, "We compare models\n6 and 7 here.\n")
    assert _literals(doc, allow) == []


@pytest.mark.parametrize(
    ("allow", "fragment"),
    [
        ([1, 2], "top level must be a mapping"),
        ({"literal": []}, "unknown key(s) ['literal']"),
        ({"literals": [{"value": "2018"}]}, "literals[0]: needs exactly the keys"),
        ({"literals": [{"value": "2018", "reason": " "}]}, "non-empty string"),
        ({"patterns": [{"regex": "(", "reason": "x"}]}, "patterns[0]: invalid regex"),
        ({"patterns": {"regex": "x"}}, "'patterns' must be a list"),
    ],
)
def test_malformed_allowlist_is_rejected_with_entry_and_rule(allow: object, fragment: str) -> None:
    with pytest.raises(AllowlistError, match="my.yml") as info:
        validate_allowlist(allow, source="my.yml")
    assert fragment in str(info.value)


def test_spelled_out_proportion_outside_a_claim_span_is_reported(tmp_path: Path) -> None:
    body = (
        "Four in five approve. Two thirds use Sesame. A clear majority agree.\n"
        "Half of them trust it, twice as many as before; seventy percent stay.\n"
        "[One in three refuse]{.claim #clm-refuse} is checked. Two barriers differ.\n"
    )
    found = check_numeric_literals(_doc(tmp_path, body))
    assert all(f.kind == KIND_SPELLED for f in found)
    assert [f.literal for f in found] == [
        "Four in five",
        "Two thirds",
        "A clear majority",
        "Half of",
        "twice as",
        "seventy percent",
    ]
    assert "mark it as a checked claim" in found[0].message


def test_spelled_check_can_be_switched_off(tmp_path: Path) -> None:
    assert check_numeric_literals(_doc(tmp_path, "Four in five.\n"), spelled=False) == []


def test_literal_in_claim_span_passes_only_if_its_assertion_tests_that_number(
    tmp_path: Path,
) -> None:
    claims = {"clm-x": {"text": "t", "assert": "a.pct > 75 and a.p < 0.05"}}
    body = "[Above 75% (p < .05)]{.claim #clm-x}; [above 70%]{.claim #clm-x2}; 75% outside.\n"
    assert _literals(_doc(tmp_path, body), claims=claims) == [(1, "70%"), (1, "75%")]


def test_included_files_are_checked_too(tmp_path: Path) -> None:
    _doc(tmp_path, "Included text with 42 cases.\n", "_part.qmd")
    doc = _doc(tmp_path, "Main text.\n\n{{< include _part.qmd >}}\n")
    (finding,) = check_numeric_literals(doc)
    assert (Path(finding.path).name, finding.line, finding.literal) == ("_part.qmd", 1, "42")


def test_find_claim_spans_ignores_code_and_reads_ids_and_classes() -> None:
    text = (FIX / "unmatched.qmd").read_text(encoding="utf-8")
    spans = find_claim_spans(text, "u.qmd")
    got = [(s.claim_id, "claim" in s.classes, s.line) for s in spans]
    assert got == [
        ("clm-age-positive", True, 5),
        ("clm-not-in-file", True, 6),
        ("clm-typo", False, 6),
        (None, True, 7),
    ]
    assert text[spans[0].text_start : spans[0].text_end] == "Older respondents approve more"


def test_missing_manuscript_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.qmd"):
        check_numeric_literals(tmp_path / "nope.qmd")


def test_cli_writes_report_on_success(tmp_path: Path) -> None:
    report = tmp_path / "out" / "prose.json"
    args = [str(FIX / "pass.qmd"), "--allow", str(FIX / "allowlist.yml")]
    rc = main([*args, "--claims", str(FIX / "claims.yml"), "--report", str(report)])
    data = json.loads(report.read_text(encoding="utf-8"))
    assert rc == 0
    assert data["status"] == "ok"
    assert [a["literal"] for a in data["allowed"]] == ["2014", "2018", "7", "A1", "75%"]
    assert data["unused_allowlist_entries"] == []


def test_cli_reports_unused_allowlist_entries(tmp_path: Path) -> None:
    allow = _doc(tmp_path, "literals:\n  - {value: '1999', reason: stale}\n", "allow.yml")
    report = tmp_path / "prose.json"
    doc = _doc(tmp_path, "No numbers at all.\n")
    assert main([str(doc), "--allow", str(allow), "--report", str(report)]) == 0
    assert json.loads(report.read_text())["unused_allowlist_entries"] == ["literals: 1999"]


def test_cli_fails_with_messages_and_writes_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "prose.json"
    rc = main([str(FIX / "stray_caption.qmd"), "--report", str(report)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "literal '1,650'" in err and "literal '.001'" in err
    assert not report.exists()


def test_report_is_byte_identical_across_runs(tmp_path: Path) -> None:
    outs = []
    for name in ("a.json", "b.json"):
        args = [str(FIX / "pass.qmd"), "--allow", str(FIX / "allowlist.yml")]
        args += ["--claims", str(FIX / "claims.yml"), "--report", str(tmp_path / name)]
        assert main(args) == 0
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]


def test_html_entities_and_ordinal_fractions_are_not_flagged(tmp_path: Path) -> None:
    body = "A dash&#8212;and&nbsp;space. A third wave came; the second half began.\n"
    assert check_numeric_literals(_doc(tmp_path, body)) == []


def test_var_keys_all_resolve_in_the_passing_document() -> None:
    assert check_var_keys(FIX / "pass.qmd", FIX / "_variables.yml") == []


def test_unknown_or_non_scalar_var_keys_are_reported(tmp_path: Path) -> None:
    body = (
        "N is {{< var survey.n_vald >}}.\n\nSee {{< var survey.approval >}} and `{{< var x >}}`.\n"
    )
    found = check_var_keys(_doc(tmp_path, body), FIX / "_variables.yml")
    assert [(f.line, f.column, f.literal) for f in found] == [
        (1, 6, "survey.n_vald"),
        (3, 5, "survey.approval"),
        (3, 38, "x"),  # Quarto expands var inside inline code too
    ]
    assert "'n_vald' not found under survey (available: approval, n_valid)" in found[0].message
    assert "does not name a single value" in found[1].message


def test_cli_reports_literals_and_unknown_vars_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _doc(tmp_path, "About 42 of {{< var survey.n_vald >}} agree.\n")
    rc = main([str(doc), "--variables", str(FIX / "_variables.yml")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "literal '42'" in err and "survey.n_vald" in err


def test_cli_rejects_malformed_allowlist_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = _doc(tmp_path, "literals: [{value: '2018'}]\n", "allow.yml")
    assert main([str(FIX / "pass.qmd"), "--allow", str(allow)]) == 1
    assert f"{allow}: literals[0]: needs exactly the keys" in capsys.readouterr().err


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "---\n",
                "title: 4\n",
                "```\n",
                "~~~\n",
                "`",
                "{{< var a >}}",
                "<!--",
                "-->",
                "[",
                "]",
                "{#x}",
                "(",
                ")",
                "@k1",
                "1. ",
                "## 2 ",
                "\n",
                "\n\n",
                " 42 ",
                "a",
                "::: ",
                "#| fig-cap: 3\n",
                "https://x.org/1 ",
                "[^1]",
                "$x^2$",
                "&#8;",
            ]
        ),
        max_size=40,
    )
)
def test_masking_never_moves_text_whatever_the_input(parts: list[str]) -> None:
    text = "".join(parts)
    for masked in (mask_non_prose(text), mask_code(text)):
        assert len(masked) == len(text)
        assert all((a == "\n") == (b == "\n") for a, b in zip(masked, text, strict=True))
        assert all(a in (b, " ") for a, b in zip(masked, text, strict=True))


def test_numbers_in_included_files_are_checked_too(tmp_path):
    from paperkit.prose_check import check_numeric_literals

    (tmp_path / "sections.md").write_text("Typed by hand: 42 people.\n")
    doc = tmp_path / "index.qmd"
    doc.write_text("Intro.\n\n{{< include sections.md >}}\n")
    findings = check_numeric_literals(doc, None)
    assert [(Path(f.path).name, f.literal) for f in findings] == [("sections.md", "42")]


def _notebook(path: Path, caption: str) -> Path:
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": ["#| label: fig-x\n", f'#| fig-cap: "{caption}"\n', "plot()\n"]}
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_hand_typed_number_in_an_embedded_notebook_caption_is_found(tmp_path: Path) -> None:
    _notebook(tmp_path / "notebooks/a.ipynb", "Approval of 61.3% of respondents")
    doc = _doc(tmp_path, "Text.\n\n{{< embed notebooks/a.ipynb#fig-x >}}\n")
    findings = check_numeric_literals(doc)
    assert [(f.path, f.line, f.literal) for f in findings] == [
        (f"{tmp_path / 'notebooks/a.ipynb'}#fig-x", 2, "61.3%")]


def test_caption_of_an_embedded_notebook_without_numbers_passes(tmp_path: Path) -> None:
    _notebook(tmp_path / "notebooks/a.ipynb", "Approval by group (weighted)")
    doc = _doc(tmp_path, "Text.\n\n{{< embed notebooks/a.ipynb#fig-x >}}\n")
    assert check_numeric_literals(doc) == []


@pytest.mark.parametrize("regex", [r"\d+", r".*", r"[Mm]odel \d+|\d+%", r"(?:\d+(?:\.\d+)?)"])
def test_allowlist_pattern_that_matches_a_bare_number_is_refused(regex: str) -> None:
    with pytest.raises(AllowlistError, match="matches a bare number"):
        validate_allowlist({"patterns": [{"regex": regex, "reason": "too broad"}]})


def test_shipped_allowlist_has_no_pattern_that_excuses_a_result() -> None:
    allow = load_allowlist(ROOT / "paper/_number_allowlist.yml")
    for entry in allow["patterns"]:
        assert not re.search(entry["regex"], "model 3, 80 respondents in model 12 (61.3%)")
