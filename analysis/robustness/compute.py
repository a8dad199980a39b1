"""Run the robustness grid: shared work once, then each batch of specifications.

What specifications share is computed once and reused:

- ``prepare_shared`` (one job): the raw export is verified, read and validated once,
  every configured exclusion rule is evaluated on every row, and the cleaned layout is
  built for all rows; each exclusion set is then a row selection (its flow counts are
  stored), and the interview tally is made once per coder of the grid.
- ``run_batch`` (one job per batch): the specifications of a batch share one set of
  weights (same exclusions, margins and cap); within it the descriptives are computed once
  per variance convention and the models once per convention and model variant, fitting
  only the models the claims and headline estimates read.

A specification the data cannot support (a cap below the feasible minimum, exclusions that
leave repeated respondent ids, a model that does not converge) is recorded as infeasible
with the reason, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.interviews.study import build_study
from analysis.interviews.themes import analyse
from analysis.interviews.themes import load_inputs as load_interviews
from analysis.paper.fidelity import FidelityError
from analysis.paper.numbers import assemble
from analysis.project import REGISTER_COMMAND
from analysis.qda.coding import QdaError, coder_ranking
from analysis.robustness.evaluate import evaluate_claims, headline_estimates, headline_paths
from analysis.robustness.grid import RobustnessConfigError, Spec, build_grid, grid_batches
from analysis.stats.ordinal import ModelError
from analysis.stats.raking import WeightingError
from analysis.survey.cleaning import apply_rules, build_clean, flow, read_provinces
from analysis.survey.codebook import load_survey_codebook
from analysis.survey.describe import attach_weights, describe_frame
from analysis.survey.models import fit_models
from analysis.survey.reader import read_survey
from analysis.survey.validation import ID_COLUMN, validate_raw
from analysis.survey.weighting import rake_frame, read_targets
from paperkit.claims import (
    Claim,
    ClaimsError,
    UnsafeExpressionError,
    load_claims,
    parse_assertion,
)
from paperkit.io import read_json, read_yaml, write_json, write_parquet
from paperkit.manifest import verify_registered
from paperkit.variables import sanitize_tree

INFEASIBLE = (WeightingError, ModelError, np.linalg.LinAlgError)


def exclusion_key(rules: Sequence[str]) -> str:
    """Name of an exclusion set (the rules applied, in configured order)."""
    return "+".join(rules) or "none"


# --------------------------------------------------------------------------- shared work


def prepare_shared(config: Mapping[str, Any], files: Mapping[str, Any],
                   registered: dict[str, str | None], out_survey: str | Path,
                   out_flags: str | Path, out_shared: str | Path) -> None:
    """Clean once for every exclusion set and tally the interviews once per coder.

    ``files``: the inputs the rule passes in (``raw``, ``codebook``, ``provinces``,
    ``interviews``, ``interview_codebook``, ``mapping``, ``participants`` (a list));
    ``registered``: the raw survey's registered checksum, verified first.
    """
    rules = dict(config["cleaning"]["rules"])
    verify_registered(registered, register_hint=REGISTER_COMMAND)
    codebook = load_survey_codebook(files["codebook"])
    data = read_survey(files["raw"], codebook.columns)
    typed = validate_raw(data, codebook)
    flags = apply_rules(typed, codebook, rules)
    survey = build_clean(typed, codebook, read_provinces(files["provinces"]))
    specs = build_grid(config)
    sets: dict[str, Any] = {}
    for spec in specs:
        applied = spec.excluded_rules(list(rules))
        key = exclusion_key(applied)
        if key not in sets:
            sets[key] = _exclusion_set(typed, flags, rules, applied)
    coders = sorted({spec.as_dict["coder"] for spec in specs})
    shared = {"exclusion_sets": sets, "interviews": _interviews(config, coders, files)}
    write_parquet(out_survey, survey)
    write_parquet(out_flags, flags.reset_index(drop=True))
    write_json(out_shared, shared)


def _exclusion_set(typed: pd.DataFrame, flags: pd.DataFrame, rules: Mapping[str, Any],
                   applied: Sequence[str]) -> dict[str, Any]:
    """Flow counts of one exclusion set, or why it cannot be analysed."""
    sub = flags[list(applied)] if applied else flags.iloc[:, :0]
    valid = ~sub.any(axis=1) if applied else pd.Series(True, index=flags.index)
    ids = typed.loc[valid.to_numpy(), ID_COLUMN]
    if not valid.any():
        return {"status": "infeasible", "reason": "no respondent is left"}
    if "incomplete" not in applied:
        return {"status": "infeasible", "reason": "unfinished questionnaires have no answers "
                "to analyse (the incomplete rule cannot be turned off)"}
    if ids.duplicated().any():
        return {"status": "infeasible",
                "reason": f"respondent id {ids[ids.duplicated()].iloc[0]!r} repeats without "
                          "the duplicate rule; weights and answers are matched by id"}
    counts = flow(typed, sub, {r: rules[r] for r in applied}) if applied else {}
    return {"status": "ok", "flow": counts}


def _interviews(config: Mapping[str, Any], coders: Sequence[str], files: Mapping[str, Any]
                ) -> dict[str, Any]:
    """The interview tally under each coder choice of the grid: a coder who is not in the
    project is a config error; one whose coding cannot be tallied alone is infeasible."""
    project, codebook, mapping, resolved = load_interviews(
        files["interviews"], files["interview_codebook"], files["mapping"],
        dict(config["themes"]), files["participants"])
    known = coder_ranking(build_study(project, mapping).long)
    out: dict[str, Any] = {}
    for coder in coders:
        if coder not in ("primary", "union", *known):
            raise RobustnessConfigError(
                f"robustness: coder {coder!r} is not a coder of {config['paths']['interviews']} "
                f"(coders: {known}; or primary, union)")
        try:
            out[coder] = {"status": "ok", "result": analyse(
                project, codebook, {**resolved, "tally_coder": coder}, mapping)}
        except QdaError as exc:
            out[coder] = {"status": "infeasible", "reason": f"coder {coder}: {exc}"}
    return out


# --------------------------------------------------------------------------- one batch


class _Batch:
    """Memoised stages of one batch: weights once, describe per variance, models per
    (variance, model variant)."""

    def __init__(self, config: Mapping[str, Any], survey: pd.DataFrame, flags: pd.DataFrame,
                 shared: Mapping[str, Any], targets_path: Path,
                 claims: Mapping[str, Claim]) -> None:
        self.config, self.survey, self.flags, self.shared = config, survey, flags, shared
        self.targets_all = read_targets(targets_path)
        self.targets_path = targets_path
        self.cache: dict[tuple, Any] = {}
        rob = config["robustness"]
        wanted = {p[1] for p in _claim_and_headline_names(config, claims) if p[0] == "models"}
        # the Brant summary (models.brant_test) is computed from the last model's tests
        self.brant = "brant_test" in wanted
        wanted.discard("brant_test")
        if self.brant:
            wanted.add(config["models"]["models"][-1]["id"])
        self.model_ids = sorted(str(w) for w in wanted)
        self.variants = rob["model_variants"]

    def _memo(self, key: tuple, make: Any) -> Any:
        """Compute once per key; an infeasible stage is remembered with its reason."""
        if key not in self.cache:
            try:
                self.cache[key] = ("ok", make())
            except INFEASIBLE as exc:
                self.cache[key] = ("infeasible", f"{key[0]}: {exc}")
        return self.cache[key]

    def stages(self, spec: Spec) -> tuple[str, Any]:
        """("ok", stage results) or ("infeasible", reason) for one specification."""
        choice = spec.as_dict
        rules = list(self.config["cleaning"]["rules"])
        applied = spec.excluded_rules(rules)
        excl = self.shared["exclusion_sets"][exclusion_key(applied)]
        if excl["status"] != "ok":
            return "infeasible", f"exclusions: {excl['reason']}"
        keep = ~self.flags[list(applied)].any(axis=1).to_numpy()
        clean = self.survey.loc[keep].reset_index(drop=True)
        weighting = {**self.config["weighting"], "cap": choice["cap"],
                     "margins": list(choice["margins"]), "variance": choice["variance"]}
        key = spec.weights_key
        status, weights = self._memo(("weighting", key), lambda: self._weights(clean, weighting))
        if status != "ok":
            return status, weights
        # the weighted frame depends on the weights key alone (exclusions, margins, cap)
        status, frame = self._memo(
            ("frame", key), lambda: attach_weights(clean, weights[0], "robustness weights"))
        if status != "ok":
            return status, frame
        status, survey = self._memo(("describe", key, choice["variance"]), lambda: describe_frame(
            frame, self.config["describe"], self.targets_all, weighting,
            self.config.get("design")))
        if status != "ok":
            return status, survey
        spec_models = self._model_spec(choice["model"])
        status, models = self._memo(
            ("models", key, choice["variance"], choice["model"]),
            lambda: fit_models(frame, spec_models, weighting, only=self.model_ids, extras=False,
                               brant=self.brant, design=self.config.get("design")))
        if status != "ok":
            return status, models
        interviews = self.shared["interviews"][choice["coder"]]
        if interviews["status"] != "ok":
            return "infeasible", interviews["reason"]
        return "ok", {
            "cleaning": excl["flow"], "weighting": weights[1], "survey": survey,
            "models": models, "interviews": interviews["result"],
        }

    def _weights(self, clean: pd.DataFrame, weighting: Mapping[str, Any]) -> tuple:
        """Raked weights under the specification's margins and cap (mean 1)."""
        unknown = [m for m in weighting["margins"] if m not in self.targets_all]
        if unknown:
            raise RobustnessConfigError(
                f"robustness: margins {unknown} have no targets in {self.targets_path} "
                f"(margins there: {sorted(self.targets_all)})")
        targets = {m: self.targets_all[m] for m in weighting["margins"]}
        frame, report = rake_frame(clean, targets, weighting)
        report["targets_file"] = self.targets_path.name
        return frame, report

    def _model_spec(self, variant: str) -> dict[str, Any]:
        """The models section without the variant's dropped blocks."""
        drop = set(self.variants[variant]["drop"])
        spec = dict(self.config["models"])
        unknown = sorted(drop - {m["id"] for m in spec["models"]})
        if unknown:
            raise RobustnessConfigError(
                f"robustness.model_variants.{variant}.drop: {unknown} are not model ids of "
                f"models.models ({[m['id'] for m in spec['models']]})")
        spec["models"] = [m for m in spec["models"] if m["id"] not in drop]
        return spec


def _claim_and_headline_names(config: Mapping[str, Any], claims: Mapping[str, Claim]
                              ) -> list[tuple]:
    """Every numbers-tree name the claims and headline estimates read (an assertion the
    claim check will refuse reads nothing here: the grid records it as an error)."""
    names = []
    for claim in claims.values():
        for expr in claim.asserts:
            try:
                names += parse_assertion(expr).names
            except (ClaimsError, UnsafeExpressionError):
                continue
    return names + headline_paths(config["robustness"]["headline"])


def run_batch(config: Mapping[str, Any], batch: str, survey_path: str | Path,
              flags_path: str | Path, shared_path: str | Path, claims_path: str | Path,
              targets_path: str | Path, published_path: str | Path,
              extra_stages: Mapping[str, str | Path], out_json: str | Path) -> None:
    """Every specification of one batch: claim results and headline estimates."""
    specs = grid_batches(config).get(batch)
    if specs is None:
        raise RobustnessConfigError(f"robustness: no batch {batch!r} in the configured grid")
    claims = load_claims(claims_path)
    extra = {name: read_json(path) for name, path in extra_stages.items()}
    published = read_yaml(published_path)
    work = _Batch(config, pd.read_parquet(survey_path), pd.read_parquet(flags_path),
                  read_json(shared_path), Path(targets_path), claims)
    records = []
    for spec in specs:
        status, stages = work.stages(spec)
        record: dict[str, Any] = {"spec": spec.spec_id, "choices": spec.as_dict,
                                  "status": status}
        if status != "ok":
            record["reason"] = stages
        else:
            numbers = _numbers({**stages, **extra}, published, config["fidelity"])
            record["claims"] = evaluate_claims(claims, numbers)
            record["estimates"] = headline_estimates(config["robustness"]["headline"], numbers)
        records.append(record)
    write_json(out_json, {"batch": batch, "specs": records})


def _numbers(stages: Mapping[str, Any], published: Mapping[str, Any],
             fidelity: Mapping[str, Any]) -> dict[str, Any]:
    """The specification's numbers tree; without the fidelity comparison when the
    specification lacks a value the comparison needs (its claims are then not applicable)."""
    try:
        tree = assemble(stages, published, fidelity)
    except FidelityError:
        tree = assemble(stages, published, None)
    return sanitize_tree(json.loads(json.dumps(tree)))
