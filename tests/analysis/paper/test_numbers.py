"""The numbers stage formats every value for the prose and refuses values it cannot quote."""

from __future__ import annotations

import math

import pytest

from analysis.paper.numbers import copy_tree
from analysis.project import load_config
from paperkit.variables import NumbersError, format_p, format_tree, format_value, sanitize_tree

RULES = load_config()["paper"]["number_formats"]


@pytest.mark.parametrize(
    ("p", "text"), [(0.0004, "< .001"), (0.001, "= .001"), (0.0123, "= .012"), (0.5, "= .500")]
)
def test_p_values_follow_apa_style(p, text):
    assert format_p(p) == text


def test_integers_get_thousands_separators():
    assert format_value("cleaning.valid", 2209, RULES) == "2,209"


def test_percentages_have_one_decimal_and_a_percent_sign():
    assert format_value("survey.approval.approve_any.pct", 80.26, RULES) == "80.3%"


def test_coefficients_have_three_decimals_and_p_values_apa_style():
    tree = {"models": {"m7": {"coefficients": {"ccp_member": {"coef": 0.31449, "p": 0.00002}}}}}
    out = format_tree(tree, RULES)
    assert out["models"]["m7"]["coefficients"]["ccp_member"] == {"coef": "0.314", "p": "< .001"}


def test_result_keys_become_identifiers_for_var_shortcodes():
    tree = {"m7": {"income[>4000]": 1, "income[1000-4000]": 2, "Region[West]": 3}}
    assert sanitize_tree(tree) == {"m7": {"income_gt4000": 1, "income_1000_4000": 2,
                                          "region_west": 3}}


def test_keys_that_collide_after_sanitising_are_an_error():
    with pytest.raises(NumbersError, match="both become 'a_b'"):
        sanitize_tree({"x": {"a-b": 1, "a b": 2}})


def test_first_matching_rule_wins():
    rules = [{"pattern": "a.*", "format": "percent0"}, {"pattern": "a.b", "format": "decimal3"}]
    assert format_value("a.b", 12.345, rules) == "12%"


def test_undefined_values_are_said_in_words_not_as_nan():
    assert format_value("interviews.reliability.kappa", None, RULES) == "not defined"


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_and_infinity_stop_the_build_naming_the_key(bad):
    with pytest.raises(NumbersError, match="survey.x.pct"):
        format_value("survey.x.pct", bad, RULES)


def test_lists_become_positional_keys():
    assert format_tree({"a": [1, 2000]}, RULES) == {"a": {"0": "1", "1": "2,000"}}


@pytest.mark.parametrize(("models", "words"), [
    ({"weight": "weight", "weight_type": "sampling", "variance_method": "calibrated"},
     "sandwich standard errors under the same convention"),
    ({"weight": "weight", "weight_type": "sampling"}, "of the modelled sample alone"),
    ({"weight": "weight", "weight_type": "frequency"}, "frequency weights and model-based"),
    ({"weight": None, "weight_type": "sampling"}, "without weights"),
])
def test_the_methods_say_how_the_models_were_weighted_as_configured(models, words):
    from analysis.paper.numbers import model_estimation

    assert words in model_estimation(models)


def test_design_columns_are_named_in_the_methods_words():
    from analysis.paper.numbers import design_words

    words = design_words({"cluster": "school", "strata": "district", "fpc": None})
    assert words["design_words"] == ("with primary sampling units from the column school "
                                     "and strata from the column district")
    assert "primary sampling units less the number of strata" in words["whole_sample_df_words"]
    assert "without clusters" in design_words({})["design_words"]


def test_sanitising_keeps_leaves_and_lists_as_they_are():
    tree = {"A[x]": [1, 2.5, None, True, "Text", {"B>c": math.nan}], "n": 3}
    out = sanitize_tree(tree)
    assert out == {"a_x": [1, 2.5, None, True, "Text", {"bgtc": out["a_x"][5]["bgtc"]}],
                   "n": 3}
    assert math.isnan(out["a_x"][5]["bgtc"]) and out["a_x"] is not tree["A[x]"]


def test_copying_a_stage_tree_gives_an_independent_deep_copy():
    class Other:  # anything that is not plain JSON is deep-copied as copy.deepcopy does
        def __init__(self) -> None:
            self.items = [1]

    stage = {"source": {"sha256": "abc"}, "a": [1, {"b": 2.0}], "t": (1, [2]), "o": Other()}
    out = copy_tree(stage)
    assert out == {**stage, "o": out["o"]} and out["o"].items == [1]
    out["source"].pop("sha256")
    out["a"][1]["b"] = 3.0
    out["t"][1].append(3)
    out["o"].items.append(2)
    assert stage == {"source": {"sha256": "abc"}, "a": [1, {"b": 2.0}], "t": (1, [2]),
                     "o": stage["o"]} and stage["o"].items == [1]
