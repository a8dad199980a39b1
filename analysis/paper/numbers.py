"""The numbers stage: every value the paper quotes, in one tree.

``results/numbers.json`` gathers the results files of all stages under one tree
(raw values, read by the claim checks and the fidelity table). paperkit's workflow
formats it into the Quarto variables file, so the prose only ever writes
``{{< var survey.approval.approve_any.pct >}}`` and never formats a number by hand
(by the ordered patterns of the config section ``paper.number_formats``).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Any

from analysis.paper.fidelity import compare_with_published
from analysis.survey.describe import CI_WORDS
from paperkit import variables
from paperkit.io import read_json, read_yaml
from paperkit.variables import sanitize_tree, software_versions

SOFTWARE = (
    "snakemake", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn",
    "pyarrow", "pandera", "pyreadstat", "nbclient", "great_tables", "pypandoc_binary", "typst",
)

# Each top-level section of the numbers tree and the input of rule `numbers` it is read
# from (the number-tracing appendix credits a section's values to the rule behind it).
def _drop_input_checksums(stage: Any) -> None:
    """Remove ``source.sha256`` of a stage result: a checksum of an input file, not a value.

    The replication package rebuilds from de-identified raw files (other checksums, same
    values); without this the numbers file would differ although every number is equal.
    Input checksums are kept in data/raw/MANIFEST.sha256 and the stage results.
    """
    source = stage.get("source") if isinstance(stage, Mapping) else None
    if isinstance(source, dict):
        source.pop("sha256", None)


SEPARATING_TERMS = re.compile(r"the variables \[(.*)\] are")


def brant_summary(models: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Brant test of the full (last) model as the text reports it: which cut-points
    could be tested, which not and the terms that separate the outcome there (from the
    fit's own message), and the omnibus statistic."""
    order = models.get("model_order") or []
    fit = models.get("models", {}).get(order[-1]) if order else None
    brant = (fit or {}).get("brant")
    if not brant or "tests" not in brant:
        return None
    cuts = list(fit["threshold_order"])
    labels = models.get("labels", {})
    terms: dict[str, None] = {}
    for why in brant["cutpoints_skipped"].values():
        for found in SEPARATING_TERMS.findall(why):
            for term in (t.strip(" '\"") for t in found.split("', ")):
                if term and term != "(intercept)":
                    terms[labels.get(term, term)] = None

    def above(cut: str) -> int:  # "3|4": the binary split "approval above 3"
        return cuts.index(cut) + 1

    return {
        "model": order[-1], "model_number": len(order),
        "n_cutpoints": len(cuts), "n_tested": len(brant["cutpoints_used"]),
        "tested_above": [above(c) for c in brant["cutpoints_used"]],
        "untested_above": [above(c) for c in brant["cutpoints_skipped"]],
        "separating_terms": list(terms),
        "omnibus": brant["tests"]["omnibus"],
    }


# The variance conventions in the study's words (analysis.survey.design.variance_method).
VARIANCE_WORDS = {"calibrated": "calibrated to the raking margins",
                  "fixed": "with the raked weights taken as given"}


def rao_scott_design(survey: Mapping[str, Any], n_valid: int) -> dict[str, Any]:
    """The design behind the Rao-Scott tests: its variance convention, and the design's
    degrees of freedom each F test's denominator df are based on (ddf = ndf x design df,
    R's svychisq(statistic = "F")): those of the whole sample's design in every test, also
    within a subsample, as R's svychisq on a subset of the design."""
    tests = survey.get("tests", {}).values()
    design_dfs = sorted({round(t["ddf"] / t["ndf"], 6) for t in tests
                         if all(isinstance(t.get(k), (int, float)) and math.isfinite(t[k])
                                for k in ("ddf", "ndf")) and t["ndf"] > 0})
    meta = survey["meta"]
    method = meta["variance_method"]
    design_df = meta.get("design_df", n_valid - 1)
    whole = design_dfs == [design_df]
    return {
        "variance_method": method,
        "variance_words": VARIANCE_WORDS.get(method, method),
        # R's svychisq on a subset of a calibrated design keeps the whole sample's df; with
        # fixed weights each test's df are those of the respondents it compares
        "calibrated": int(method == "calibrated"),
        "whole_sample_df": int(whole),
        "ddf_basis_words": ("the design of the whole sample, also when a test compares groups "
                            "within a subsample such as the commercial users") if whole else
                           "the respondents each test compares",
        "n_tests": len(survey.get("tests", {})),
        "design_df_values": design_dfs,
        "design_df": design_dfs[0] if len(design_dfs) == 1 else None,
        "design_df_whole_sample": design_df,
        **design_words(meta.get("design_columns") or {}),
        "ci_words": CI_WORDS[meta["ci_method"]],
    }


def design_words(columns: Mapping[str, str | None]) -> dict[str, str]:
    """The sampling design (config ``design``) as the Methods state it: which columns are
    the primary sampling units, strata and finite-population correction, and so what the
    design's degrees of freedom are (R's degf: PSUs less strata)."""
    parts = [f"{what} from the column {columns[key]}" for key, what in (
        ("cluster", "primary sampling units"), ("strata", "strata"),
        ("fpc", "a finite-population correction")) if columns.get(key)]
    if not parts:
        return {"design_words": "each respondent drawn independently, without clusters, "
                                "strata or a finite-population correction",
                "whole_sample_df_words": "one less than the number of valid respondents"}
    return {"design_words": "with " + _series(parts),
            "whole_sample_df_words": ("the number of primary sampling units less the number of "
                                "strata" if columns.get("cluster") else
                                "the number of valid respondents less the number of strata")}


def _series(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def model_estimation(models: Mapping[str, Any]) -> str:
    """How the models were estimated (config ``models.weight`` and ``weight_type``, and
    the variance convention of ``weighting.variance``), as the Methods state it."""
    if not models.get("weight"):
        return "by maximum likelihood without weights, with model-based standard errors"
    if models.get("weight_type") == "frequency":
        return ("by maximum likelihood with the weights taken as frequency weights and "
                "model-based standard errors")
    if models.get("variance_method"):
        return ("by weighted pseudo-maximum likelihood with sandwich standard errors under "
                "the same convention, the modelled sample being a subset of the raked sample "
                "(R's svyolr on a subset of the design)")
    return ("by weighted pseudo-maximum likelihood with sandwich standard errors of the "
            "modelled sample alone")


_ATOMS = (str, int, float, bool, type(None))


def copy_tree(node: Any) -> Any:
    """A deep copy of a results tree: what ``copy.deepcopy`` gives, several times faster.

    Plain dicts and lists are rebuilt, immutable scalars shared, anything else deep-copied;
    unlike ``copy.deepcopy`` a container that occurs twice is copied twice. The robustness
    grid copies every stage result once per specification.
    """
    kind = type(node)
    if kind is dict:
        return {key: copy_tree(value) for key, value in node.items()}
    if kind is list:
        return [copy_tree(value) for value in node]
    if kind in _ATOMS:
        return node
    return copy.deepcopy(node)


def assemble(
    stages: Mapping[str, Any], published: Mapping[str, Any],
    fidelity: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The numbers tree of the given stage results (unsanitised, without software).

    Shared by the numbers stage and the robustness grid, which builds one tree per
    specification (``fidelity`` None: no comparison); the stage results are not modified.
    """
    numbers: dict[str, Any] = {name: copy_tree(stage) for name, stage in sorted(stages.items())}
    for stage in numbers.values():
        _drop_input_checksums(stage)
    models = numbers.get("models", {})
    if isinstance(models.get("models"), Mapping):  # models.m7... rather than models.models.m7
        numbers["models"] = {**{k: v for k, v in models.items() if k != "models"},
                             **models["models"]}
    if "models" in numbers and "weight_type" in models:
        numbers["models"]["estimation_words"] = model_estimation(models)
        # how many conditions select the modelled sample (a claim ties the text to them)
        numbers["models"]["n_sample_filters"] = len(models.get("sample_filter") or {})
    if "models" in numbers and brant_summary(models) is not None:
        numbers["models"]["brant_test"] = brant_summary(models)
    if "survey" in numbers and "cleaning" in numbers:
        numbers["survey"]["rao_scott"] = rao_scott_design(numbers["survey"],
                                                          numbers["cleaning"]["valid"])
    if fidelity is not None:
        numbers["fidelity"] = compare_with_published(numbers, published, fidelity)
    numbers["published"] = copy_tree(dict(published))
    return numbers


def gather(
    inputs: Mapping[str, str], published_path: str, fidelity: Mapping[str, Any]
) -> dict[str, Any]:
    """Collect the stage results, the published values and the fidelity comparison."""
    stages = {name: read_json(path) for name, path in sorted(inputs.items())}
    numbers = assemble(stages, read_yaml(published_path), fidelity)
    numbers["software"] = software_versions(SOFTWARE)
    return sanitize_tree(numbers)


def write_numbers(inputs: Mapping[str, str], published_path: str,
                  fidelity: Mapping[str, Any], out_numbers: str) -> None:
    """Write results/numbers.json: the stage results, published values and fidelity."""
    variables.write_numbers(gather(inputs, published_path, fidelity), out_numbers)
