"""Tests of the machine-checked claims (paperkit.claims)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperkit.claims import (
    ClaimsError,
    NameResolutionError,
    UnsafeExpressionError,
    assert_claims,
    check_claims,
    evaluate,
    format_path,
    load_claims,
    main,
    parse_assertion,
    resolve,
    sentence_bounds,
    sentence_ends,
)
from tests.buildutil import FIXTURES

FIX = FIXTURES / "prose"
QMD = FIX / "pass.qmd"
CLAIMS = FIX / "claims.yml"
TRUE = FIX / "numbers_true.json"
FLIPPED = FIX / "numbers_flipped.json"
NUMBERS = json.loads(TRUE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _status(results) -> dict[str, str]:
    return {r.claim_id: r.status for r in results}


def test_all_claims_hold_on_the_true_numbers() -> None:
    results = assert_claims(QMD, CLAIMS, TRUE)
    assert _status(results) == {
        "clm-four-in-five": "pass",
        "clm-age-positive": "pass",
        "clm-urban-rural": "pass",
        "clm-threshold": "pass",
    }


def test_same_claim_fails_when_the_sign_flips() -> None:
    results = check_claims(QMD, CLAIMS, FLIPPED)
    assert _status(results)["clm-age-positive"] == "fail"
    assert [r.claim_id for r in results if not r.ok] == ["clm-age-positive"]


def test_failure_message_names_id_text_location_assertion_and_values() -> None:
    with pytest.raises(ClaimsError) as info:
        assert_claims(QMD, CLAIMS, FLIPPED)
    msg = str(info.value)
    assert f"clm-age-positive ({QMD}:55): claim is false" in msg
    assert "older respondents approve more (p < .05)" in msg
    assert "models.m7.coef.age10.estimate > 0 and models.m7.coef.age10.p < 0.05" in msg
    assert "models.m7.coef.age10.estimate = -0.02" in msg
    assert "models.m7.coef.age10.p = 0.31" in msg
    assert msg.startswith("1 of 4 claim check(s) failed")


def test_every_failing_claim_is_listed_not_only_the_first(tmp_path: Path) -> None:
    numbers = json.loads(FLIPPED.read_text(encoding="utf-8"))
    numbers["desc"]["approval"]["urban"]["pct"] = 60.0
    numbers["survey"]["approval"]["approve_any"]["pct"] = 70.0
    path = _write(tmp_path, "n.json", json.dumps(numbers))
    with pytest.raises(ClaimsError) as info:
        assert_claims(QMD, CLAIMS, path)
    msg = str(info.value)
    for cid in ("clm-four-in-five", "clm-age-positive", "clm-urban-rural", "clm-threshold"):
        assert f"- {cid} (" in msg
    assert "desc.approval.urban.pct = 60.0" in msg


def test_unmatched_spans_and_unused_claims_are_errors() -> None:
    results = check_claims(FIX / "unmatched.qmd", FIX / "claims_bad.yml", TRUE)
    got = [(r.claim_id, r.status, r.locations) for r in results]
    path = str(FIX / "unmatched.qmd")
    assert got == [
        ("clm-age-positive", "pass", (f"{path}:5",)),
        ("clm-never-cited", "unused", ()),
        ("clm-not-in-file", "unmatched", (f"{path}:6",)),
        ("clm-typo", "unmatched", (f"{path}:6",)),
        ("(no id)", "unmatched", (f"{path}:7",)),
    ]
    assert "lacks the class .claim" in results[3].message
    assert "no id" in results[4].message
    with pytest.raises(ClaimsError, match="clm-never-cited .*never used"):
        assert_claims(FIX / "unmatched.qmd", FIX / "claims_bad.yml", TRUE)


def test_duplicate_span_id_is_an_error(tmp_path: Path) -> None:
    qmd = _write(tmp_path, "d.qmd", "[A]{.claim #clm-a} and\n\n[B]{.claim #clm-a}.\n")
    claims = _write(tmp_path, "c.yml", "clm-a: {text: t, assert: 'survey.n_valid > 0'}\n")
    results = check_claims(qmd, claims, TRUE)
    assert [(r.status, r.locations) for r in results] == [
        ("pass", (f"{qmd}:1", f"{qmd}:3")),
        ("error", (f"{qmd}:3",)),
    ]
    assert "duplicate span id" in results[1].detail


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('true')",
        "().__class__.__bases__",
        "survey.__class__ == 1",
        "(1).real > 0",
        "abs(survey.n_valid).real > 0",
        "open('x') == 1",
        "exec('1')",
        "survey.n_valid.bit_length() > 1",
        "[x for x in survey] == 1",
        "lambda: 1",
        "survey.n_valid ** 99999 > 1",
        "'a' == 'a'",
        "survey.n_valid if 1 else 2",
        "survey[survey.n_valid] > 0",
        "max(*survey) > 0",
        "round(survey.n_valid, ndigits=2) > 0",
        "survey.n_valid in 1",
        "survey.n_valid is 1",
        "abs > 1",
    ],
)
def test_unsafe_or_foreign_expressions_are_rejected(expr: str) -> None:
    with pytest.raises(UnsafeExpressionError):
        parse_assertion(expr)


def test_unknown_function_is_named_in_the_error() -> None:
    with pytest.raises(UnsafeExpressionError, match="unknown function 'median'"):
        parse_assertion("median(survey.n_valid) > 0")


@pytest.mark.parametrize("expr", ["survey.n_valid >", "", "survey.n_valid > 0 and"])
def test_malformed_assertion_is_rejected(expr: str) -> None:
    with pytest.raises(UnsafeExpressionError):
        parse_assertion(expr)


def test_wrong_arity_is_rejected() -> None:
    with pytest.raises(UnsafeExpressionError, match=r"between\(\) takes 3"):
        parse_assertion("between(survey.n_valid, 1)")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("survey.n_valid == 2209", True),
        ("survey.n_valid > 2209", False),
        ("70 < survey.approval.approve_any.pct < 85", True),
        ("not survey.n_valid > 0", False),
        ("survey.n_valid > 3000 or survey.n_valid > 2000", True),
        ("abs(models.m7.coef.age10.estimate / models.m7.coef.age10.se) > 1.96", True),
        ("min(desc.approval.urban.pct, desc.approval.rural.pct) == 68.1", True),
        ("max(desc.approval.urban.pct, desc.approval.rural.pct) - 82.4 == 0", True),
        ("round(survey.approval.approve_any.pct / 20) == 4", True),
        (
            "all_positive(models.m7.coef.age10.se, -models.m7.coef['income[T.>4000]'].estimate)",
            True,
        ),
        ('all_negative(models.m7.coef["income[T.>4000]"].estimate, -1)', True),
        ("between(survey.approval.approve_any.pct, 75, 85)", True),
        ("-survey.n_valid < 0 and +survey.n_valid > 1", True),
    ],
)
def test_assertion_language_evaluates_correctly(expr: str, expected: bool) -> None:
    result, _ = evaluate(parse_assertion(expr), NUMBERS)
    assert result is expected


def test_evaluate_returns_the_value_of_every_name() -> None:
    a = parse_assertion('models.m7.coef["income[T.>4000]"].p > 0.05 and survey.n_valid > 0')
    ok, values = evaluate(a, NUMBERS)
    shown = {format_path(p): v for p, v in values.items()}
    assert ok is True
    assert shown == {'models.m7.coef["income[T.>4000]"].p': 0.4, "survey.n_valid": 2209}


def test_missing_name_says_which_part_is_missing_and_lists_available_keys() -> None:
    with pytest.raises(NameResolutionError) as info:
        resolve(NUMBERS, ("models", "m8", "coef"))
    msg = str(info.value)
    assert "models.m8.coef: 'm8' not found under models (available: m7)" in msg


def test_missing_top_level_name_lists_top_level_keys() -> None:
    with pytest.raises(NameResolutionError, match="top level of numbers.json"):
        resolve(NUMBERS, ("modelz",))
    with pytest.raises(NameResolutionError, match=r"available: desc, models, survey"):
        resolve(NUMBERS, ("modelz",))


@pytest.mark.parametrize(
    ("numbers", "path", "fragment"),
    [
        ({"a": {"b": 1}}, ("a",), "is a mapping, not a number (available: b)"),
        ({"a": None}, ("a",), "is null"),
        ({"a": "p < .001"}, ("a",), "is str 'p < .001', not a number"),
        ({"a": float("nan")}, ("a",), "is NaN"),
        ({"a": 3}, ("a", "b"), "a is a value (3), it has no key 'b'"),
        ({"a": [1, 2]}, ("a", 5), "5 not found under a (available: 0..1)"),
    ],
)
def test_names_that_do_not_lead_to_a_number_are_errors(numbers, path, fragment) -> None:
    with pytest.raises(NameResolutionError) as info:
        resolve(numbers, path)
    assert fragment in str(info.value)


def test_list_index_resolves() -> None:
    assert resolve({"a": [1, {"b": 2.5}]}, ("a", 1, "b")) == 2.5


def test_names_in_unevaluated_branches_must_still_resolve() -> None:
    with pytest.raises(NameResolutionError, match="typo"):
        evaluate(parse_assertion("survey.n_valid > 0 or survey.typo > 0"), NUMBERS)


def test_non_boolean_assertion_is_rejected() -> None:
    with pytest.raises(UnsafeExpressionError, match="not true/false"):
        evaluate(parse_assertion("survey.n_valid + 1"), NUMBERS)


def test_claim_with_missing_name_is_reported_as_error_with_available_keys(tmp_path: Path) -> None:
    claims = _write(
        tmp_path,
        "c.yml",
        "clm-age-positive: {text: t, assert: 'models.m7.coef.age.estimate > 0'}\n"
        "clm-never-cited: {text: u, assert: 'survey.n_valid > 0'}\n",
    )
    (res, _unused, *_spans) = check_claims(FIX / "unmatched.qmd", claims, TRUE)
    assert res.status == "error"
    assert "'age' not found under models.m7.coef" in res.detail
    assert "available: age10, income[T.>4000]" in res.detail


def test_claim_with_unsafe_assertion_is_reported_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    attack = f"__import__('pathlib').Path('{marker}').touch()"
    claims = _write(
        tmp_path,
        "c.yml",
        f'clm-age-positive: {{text: t, assert: "{attack}"}}\n'
        "clm-never-cited: {text: u, assert: 'survey.n_valid > 0'}\n",
    )
    (res, *_rest) = check_claims(FIX / "unmatched.qmd", claims, TRUE)
    assert res.status == "error"
    assert "unknown function" in res.detail
    assert not marker.exists()


def test_list_of_assertions_must_all_hold(tmp_path: Path) -> None:
    qmd = _write(tmp_path, "d.qmd", "[older approve more]{.claim #clm-a}\n")
    claims = _write(
        tmp_path,
        "c.yml",
        "clm-a:\n  text: t\n  assert:\n    - 'models.m7.coef.age10.estimate > 0'\n"
        "    - 'models.m7.coef.age10.p < 0.001'\n",
    )
    (res,) = check_claims(qmd, claims, TRUE)
    assert res.status == "fail"
    assert res.detail == "false: models.m7.coef.age10.p < 0.001"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- a\n", "top level must be a mapping"),
        ("clm-a: {text: t}\n", "claim 'clm-a': needs the keys 'text' and 'assert'"),
        ("clm-a: {text: t, assert: 'x > 0', why: y}\n", "unknown key(s) ['why']"),
        ("clm-a: {text: '', assert: 'x > 0'}\n", "'text' must be a non-empty string"),
        ("clm-a: {text: t, assert: [1]}\n", "'assert' must be a string or a list"),
        ("clm-a: {text: t, assert: [\n", "not valid YAML"),
    ],
)
def test_malformed_claims_file_is_rejected(tmp_path: Path, text: str, fragment: str) -> None:
    path = _write(tmp_path, "c.yml", text)
    with pytest.raises(ClaimsError, match="c.yml") as info:
        load_claims(path)
    assert fragment in str(info.value)


def test_invalid_numbers_json_names_the_file(tmp_path: Path) -> None:
    bad = _write(tmp_path, "numbers.json", "{not json")
    with pytest.raises(ClaimsError, match="numbers.json: not valid JSON"):
        check_claims(QMD, CLAIMS, bad)


def test_cli_passes_and_writes_deterministic_report(tmp_path: Path) -> None:
    outs = []
    for name in ("a.json", "b.json"):
        report = tmp_path / "checks" / name
        assert main([str(QMD), str(CLAIMS), str(TRUE), "--report", str(report)]) == 0
        outs.append(report.read_bytes())
    assert outs[0] == outs[1]
    data = json.loads(outs[0])
    assert data["status"] == "ok" and data["n_claims"] == 4
    assert data["claims"][1]["values"] == {
        "models.m7.coef.age10.estimate": 0.21,
        "models.m7.coef.age10.p": 0.003,
    }


def test_cli_fails_with_message_and_writes_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "claims.json"
    rc = main([str(QMD), str(CLAIMS), str(FLIPPED), "--report", str(report)])
    assert rc == 1
    assert "models.m7.coef.age10.estimate = -0.02" in capsys.readouterr().err
    assert not report.exists()


def test_assertions_written_over_several_lines_parse_as_one_expression():
    from paperkit.claims import parse_assertion

    assertion = parse_assertion("max(a.x,\n    a.y)\n- min(a.x, a.y) < 5")
    assert assertion.source == "max(a.x, a.y) - min(a.x, a.y) < 5"


@pytest.mark.parametrize("expr", ["1 == 1", "2 > 1 and not 0 > 1", "abs(-3) == 3", "True"])
def test_assertion_that_refers_to_no_result_value_is_refused(expr: str) -> None:
    with pytest.raises(UnsafeExpressionError, match="refers to no result value"):
        parse_assertion(expr)


# --------------------------------------------------------------------------- sentences

_KEYS = {"a": {"x": 1.0, "y": 2.0, "z": 3.0}}


def _sentence_problems(tmp_path: Path, text: str, claims: dict[str, str]) -> list[str]:
    """Problems of a document whose claims each assert over the given expression."""
    qmd = _write(tmp_path, "p.qmd", text)
    yml = _write(tmp_path, "c.yml", "".join(
        f"{cid}:\n  text: t\n  assert: \"{expr}\"\n" for cid, expr in claims.items()))
    nums = _write(tmp_path, "n.json", json.dumps(_KEYS))
    return [r.message for r in check_claims(qmd, yml, nums) if not r.ok]


@pytest.mark.parametrize("text", [
    "Most approve ({{< var a.x >}}), [more than before]{.claim #clm-a}, and {{< var a.z >}} "
    "strongly.\n",
    "[More than before]{.claim #clm-a} ({{< var a.x >}}), as Smith et al. note, e.g. in a "
    "table, with 0.5 and {{< var a.z >}}.\n",
    "[More than before]{.claim #clm-a}\n({{< var a.x >}}), and\n{{< var a.z >}} strongly!\n",
])
def test_a_value_anywhere_in_the_claims_sentence_must_be_read_by_its_assertion(
        tmp_path: Path, text: str) -> None:
    problems = _sentence_problems(tmp_path, text, {"clm-a": "a.x > 0.5"})
    assert any("clm-a" in p and "sentence prints {{< var a.z >}}" in p for p in problems), \
        problems
    assert _sentence_problems(tmp_path, text, {"clm-a": "a.x < a.z"}) == []


@pytest.mark.parametrize("text", [
    "[More than before]{.claim #clm-a} ({{< var a.x >}}). And {{< var a.z >}} strongly.\n",
    "[More than before.]{.claim #clm-a} And {{< var a.z >}} strongly.\n",
    "[More than before]{.claim #clm-a} ({{< var a.x >}}).\n\n{{< var a.z >}} strongly.\n",
    "[More than before]{.claim #clm-a} ({{< var a.x >}})\n- {{< var a.z >}} strongly\n",
    "[More than before]{.claim #clm-a} ({{< var a.x >}}) `{{< var a.z >}}` in code.\n",
    "Is it {{< var a.z >}}? [More than before]{.claim #clm-a} ({{< var a.x >}}).\n",
])
def test_values_outside_the_claims_sentence_or_in_code_are_not_its_values(
        tmp_path: Path, text: str) -> None:
    assert _sentence_problems(tmp_path, text, {"clm-a": "a.x > 0.5"}) == []


def test_a_sentence_with_two_claims_may_print_what_either_reads(tmp_path: Path) -> None:
    text = ("[Most approve]{.claim #clm-a} ({{< var a.x >}}) and [few object]{.claim #clm-b} "
            "({{< var a.y >}}), but {{< var a.z >}} abstain.\n")
    claims = {"clm-a": "a.x > 0.5", "clm-b": "a.y < 5"}
    problems = _sentence_problems(tmp_path, text, claims)
    assert len(problems) == 1 and "clm-a / clm-b" in problems[0] and "a.z" in problems[0]
    assert _sentence_problems(tmp_path, text, {**claims, "clm-b": "a.y < a.z"}) == []
    # A value in one claim's parenthesis is that claim's: the other reading it is not enough.
    swapped = {"clm-a": "a.y > 0.5", "clm-b": "a.x < a.z"}
    assert any("clm-a" in p and "(in its span or the parenthesis" in p
               for p in _sentence_problems(tmp_path, text, swapped))


def test_sentence_bounds_from_the_texts_sentence_ends_equal_a_scan_from_its_start() -> None:
    # A long article: the one scan of sentence ends must find, for every offset, the
    # sentence a scan from the text's start finds, across paragraphs, headings, lists,
    # abbreviations, spans' attributes and a line longer than the look-ahead window.
    pieces = ["Approval is high (e.g. 68.5%). ", "Dr. Li and Mr. Wu agree!", "\n\n",
              "## A heading\n", "- item one.\n", "[Most approve.]{.claim #clm-a} ",
              "Fig. 2 shows it? ", "x" * 5000 + ". ", "It is 1.5 i.e. small. ", "\n| a | b |\n"]
    text = "".join(pieces[i % len(pieces)] for i in range(400))
    ends = sentence_ends(text)

    for start in range(0, len(text), 97):
        assert sentence_bounds(text, start, start + 5, ends) == \
            sentence_bounds(text, start, start + 5)


def test_parsing_the_same_assertion_again_reuses_the_first_parse() -> None:
    first = parse_assertion("models.m7.coef.age10.p < 0.05")
    assert parse_assertion("models.m7.coef.age10.p < 0.05") is first
    assert evaluate(first, {"models": {"m7": {"coef": {"age10": {"p": 0.01}}}}})[0] is True


@pytest.mark.parametrize("expr", ["x > 0 or x <= 0", "__import__('os')", "", None, ["a.x > 0"]])
def test_a_refused_assertion_is_refused_again_on_every_parse(expr) -> None:
    for _ in range(2):
        with pytest.raises(UnsafeExpressionError):
            parse_assertion(expr)
