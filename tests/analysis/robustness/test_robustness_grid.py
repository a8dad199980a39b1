"""The robustness grid: expansion of the config into specifications, errors for unknown
choices, batches sharing weights, per-specification claim status and the summary."""

from __future__ import annotations

import copy
import csv
import math

import pytest

from analysis.project import ConfigError, load_config, validate_config
from analysis.robustness.evaluate import evaluate_claim, headline_estimates
from analysis.robustness.grid import RobustnessConfigError, baseline, batches, build_grid
from analysis.robustness.summary import claim_status_frame, classify, fails_under, summarise
from paperkit.claims import Claim
from paperkit.io import write_json


@pytest.fixture(scope="module")
def shipped() -> dict:
    return load_config()


def _with_grid(config: dict, choices: dict, subset: list | None = None) -> dict:
    out = copy.deepcopy(config)
    out["robustness"]["grids"]["t"] = {"choices": choices, "subset": subset}
    out["robustness"]["grid"] = "t"
    return out


def test_shipped_small_grid_has_at_least_32_specifications_with_the_baseline_first(shipped):
    specs = build_grid(shipped)
    assert len(specs) >= 32
    first = specs[0].as_dict
    assert specs[0].spec_id == "s0000"
    assert first["cap"] == shipped["weighting"]["cap"]
    assert first["variance"] == shipped["weighting"]["variance"]
    assert all(first[f"exclude.{r}"] for r in shipped["cleaning"]["rules"])
    assert len({s.spec_id for s in specs}) == len(specs)


def test_shipped_large_grid_has_at_least_1000_specifications(shipped):
    config = copy.deepcopy(shipped)
    config["robustness"]["grid"] = "large"
    assert len(build_grid(config)) >= 1000


def test_grid_is_the_product_of_the_alternatives_plus_the_baseline(shipped):
    config = _with_grid(shipped, {"cap": [None, 3.0], "variance": ["calibrated", "fixed"],
                                  "exclude": {"speeder": [True, False]}})
    specs = build_grid(config)
    assert len(specs) == 8 + 1  # the paper's cap 2.0 is not among the alternatives
    assert specs[0].as_dict["cap"] == 2.0
    assert {(s.as_dict["cap"], s.as_dict["variance"], s.as_dict["exclude.speeder"])
            for s in specs[1:]} >= {(None, "fixed", False), (3.0, "calibrated", True)}


def test_declared_subset_runs_only_its_specifications_and_the_baseline(shipped):
    config = _with_grid(shipped, {"cap": [None, 3.0], "variance": ["calibrated", "fixed"]},
                        subset=[{"cap": None}, {"variance": "fixed", "cap": 3.0}])
    specs = build_grid(config)
    assert [s.as_dict["cap"] for s in specs] == [2.0, 3.0, None]
    assert specs[1].as_dict["variance"] == "fixed"


def test_an_unknown_choice_is_a_config_error_naming_it(shipped):
    config = copy.deepcopy(shipped)
    config["robustness"]["grids"]["small"]["choices"]["colour"] = ["red"]
    with pytest.raises(ConfigError, match="colour"):
        validate_config(config)


@pytest.mark.parametrize(("choices", "subset", "needle"), [
    ({"exclude": {"sleeper": [True, False]}}, None, "exclude.sleeper"),
    ({"model": ["full", "no_weather"]}, None, "no_weather"),
    ({"cap": [None]}, [{"cap": 3.0}], r"subset\[0\]\.cap"),
    ({"cap": [None]}, [{"colour": 1}], "unknown choice 'colour'"),
])
def test_unknown_alternatives_are_errors_naming_the_key(shipped, choices, subset, needle):
    with pytest.raises(RobustnessConfigError, match=needle):
        build_grid(_with_grid(shipped, choices, subset))


@pytest.mark.parametrize("size", [3, 8, 20, 64])
def test_batches_keep_a_set_of_weights_together_and_respect_the_size(shipped, size):
    specs = build_grid(shipped)
    groups = batches(specs, size)
    assert sorted(s.spec_id for b in groups.values() for s in b) == [s.spec_id for s in specs]
    home: dict[str, set[str]] = {}
    for name, members in groups.items():
        assert len(members) <= size
        for spec in members:
            home.setdefault(spec.weights_key, set()).add(name)
    per_group = max(sum(s.weights_key == k for s in specs) for k in home)
    if per_group <= size:  # a group is split only when it is larger than a batch
        assert all(len(names) == 1 for names in home.values())


def test_baseline_takes_the_papers_own_choices(shipped):
    base = baseline(shipped)
    assert base["margins"] == tuple(shipped["weighting"]["margins"])
    assert base["coder"] == shipped["themes"]["tally_coder"]


# ------------------------------------------------------------------ claims per specification

CLAIM = Claim("clm-x", "x is positive", ("a.x > 0",))


@pytest.mark.parametrize(("numbers", "status"), [
    ({"a": {"x": 1.0}}, "holds"),
    ({"a": {"x": -1.0}}, "fails"),
    ({"a": {}}, "missing"),
    ({"a": {"x": None}}, "missing"),
    ({"a": {"x": math.nan}}, "error"),
    ({"a": {"x": "text"}}, "error"),
])
def test_claim_status_in_one_specification(numbers, status):
    assert evaluate_claim(CLAIM, numbers)["status"] == status


def test_missing_names_are_listed():
    result = evaluate_claim(Claim("c", "t", ("a.x > 0 and a.y < 1",)), {"a": {"x": 1}})
    assert result == {"status": "missing", "missing": ["a.y"], "detail": ""}


def test_headline_estimate_is_none_where_the_specification_lacks_it():
    entry = {"id": "e", "label": "E", "value": "m.c", "lower": "m.ci[0]", "upper": "m.ci[1]"}
    assert headline_estimates([entry], {"m": {"c": 0.5, "ci": [0.1, 0.9]}}) == {
        "e": {"value": 0.5, "lower": 0.1, "upper": 0.9}}
    assert headline_estimates([entry], {"m": {}}) == {"e": None}


def _record(spec, status="ok", claims=None, **choices):
    return {"spec": spec, "status": status, "choices": {"cap": 2.0, **choices},
            "claims": claims or {}, "reason": "cap too low" if status != "ok" else ""}


def test_missing_value_the_baseline_has_is_not_applicable_else_an_error():
    base = _record("s0000", claims={"c": {"status": "holds", "missing": []},
                                    "d": {"status": "missing", "missing": ["z.q"]},
                                    "r": {"status": "missing", "missing": ["robustness.n"]}})
    spec = _record("s0001", claims={"c": {"status": "missing", "missing": ["m.b"]},
                                    "d": {"status": "missing", "missing": ["z.q"]},
                                    "r": {"status": "missing", "missing": ["robustness.n"]}})
    assert classify(spec, "c", base) == ("not_applicable", "not computed: m.b")
    assert classify(spec, "d", base)[0] == "error"
    assert classify(spec, "r", base) == ("not_applicable", "about the robustness grid itself")
    assert classify(_record("s0002", status="infeasible"), "c", base) == (
        "infeasible", "cap too low")


def test_fails_under_names_the_alternatives_that_fail_more_often_than_the_grid():
    records = [_record("s0000", claims={"c": {"status": "holds"}}, cap=2.0)]
    records += [_record(f"s000{i}", claims={"c": {"status": s}}, cap=cap)
                for i, (s, cap) in enumerate([("holds", 2.0), ("fails", None), ("fails", None)], 1)]
    frame = claim_status_frame(records, ["c"])
    assert fails_under(frame, ["cap"]) == "cap=none (2/2)"


def test_summary_counts_every_specification_of_every_claim_once(tmp_path):
    claims = tmp_path / "claims.yml"
    claims.write_text("clm-a:\n  text: a\n  assert: 'a.x > 0'\n"
                      "clm-b:\n  text: b\n  assert: 'a.y > 0'\n", encoding="utf-8")
    est = {"e": {"value": 1.0, "lower": 0.0, "upper": 2.0}}
    recs = [
        _record("s0000", claims={"clm-a": {"status": "holds", "missing": []},
                                 "clm-b": {"status": "holds", "missing": []}}, estimates=est),
        _record("s0001", claims={"clm-a": {"status": "fails", "missing": []},
                                 "clm-b": {"status": "missing", "missing": ["a.y"]}},
                cap=None),
        _record("s0002", status="infeasible", cap=1.1),
    ]
    for r in recs:
        r["estimates"] = est
        r["choices"] = {"cap": r["choices"]["cap"]}
    write_json(tmp_path / "b0000.json", {"batch": "b0000", "specs": recs})
    headline = [{"id": "e", "label": "E", "value": "a.x", "lower": "a.x", "upper": "a.x"}]
    out = {k: tmp_path / n for k, n in [("c", "claims.csv"), ("e", "est.parquet"),
                                        ("s", "specs.csv"), ("j", "summary.json")]}
    summarise([tmp_path / "b0000.json"], claims, headline, "t", out["c"], out["e"], out["s"],
              out["j"], tmp_path / "tables")
    rows = {r["claim"]: r for r in csv.DictReader(out["c"].open(encoding="utf-8"))}
    assert set(rows) == {"clm-a", "clm-b"}
    a, b = rows["clm-a"], rows["clm-b"]
    assert (a["holding"], a["failing"], a["infeasible"], a["share"]) == ("1", "1", "1", "0.5")
    assert (b["holding"], b["not_applicable"], b["share"]) == ("1", "1", "1.0")
    for row in rows.values():
        parts = ("holding", "failing", "not_applicable", "infeasible", "error")
        assert sum(int(row[k]) for k in parts) == int(row["specifications"]) == 3
    assert a["fails_under"] == "cap=none (1/1)"
    assert "cap=1.1" not in (tmp_path / "tables" / "claims.md").read_text(encoding="utf-8")
    assert "cap too low" in (tmp_path / "tables" / "grid.md").read_text(encoding="utf-8")


def test_margins_without_targets_stop_the_batch_naming_them(shipped, tmp_path):
    import pandas as pd

    from analysis.project import PROJECT_ROOT
    from analysis.robustness.compute import _Batch

    config = _with_grid(shipped, {"margins": [["age_band", "religion"]]})
    spec = build_grid(config)[1]
    work = _Batch(config, pd.DataFrame(), pd.DataFrame(), {},
                  PROJECT_ROOT / config["paths"]["population_targets"], {})
    with pytest.raises(RobustnessConfigError, match="'religion'"):
        work._weights(pd.DataFrame(), {**config["weighting"], "margins": spec.as_dict["margins"]})
