"""The survey codebook (data/codebook/survey_codebook.yaml) as typed objects.

The codebook is the single description of the raw export: validation, cleaning and
labelling all read it, so a real export with other codes only needs a new codebook.
Skip logic (``asked_if``) is a small Python-like expression; it is parsed with ``ast``
and evaluated column-wise, never with ``eval``, so a codebook cannot run code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paperkit.io import read_yaml
from paperkit.safe_ast import COMPARISONS

TYPES = ("string", "integer", "float", "binary", "categorical", "timestamp")
REQUIRED = ("always", "if_finished", "if_asked", "never")


class CodebookError(ValueError):
    """The codebook itself is malformed."""


@dataclass(frozen=True)
class Variable:
    """One raw column as the codebook describes it."""

    name: str
    type: str
    block: str | None = None
    ordered: bool = False
    question_en: str = ""
    question_zh: str | None = None
    codes: dict[int, str] = field(default_factory=dict)
    missing_codes: dict[int, str] = field(default_factory=dict)
    range: tuple[float, float] | None = None
    required: str = "always"
    asked_if: str | None = None
    unique: bool = False
    identifying: bool = False
    clean_name: str | None = None

    @property
    def allowed_codes(self) -> set[int]:
        return set(self.codes) | set(self.missing_codes)


@dataclass(frozen=True)
class SurveyCodebook:
    """All variables, in the codebook's column order."""

    path: str
    variables: dict[str, Variable]
    dataset: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return list(self.variables)

    def __getitem__(self, name: str) -> Variable:
        return self.variables[name]

    def clean_names(self) -> dict[str, str]:
        """Raw name -> cleaned name, for the variables that enter the cleaned file."""
        return {v.name: v.clean_name for v in self.variables.values() if v.clean_name}


def _int_keys(mapping: Any, where: str) -> dict[int, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise CodebookError(f"{where}: expected a mapping of codes to labels")
    try:
        return {int(k): str(v) for k, v in mapping.items()}
    except (TypeError, ValueError) as exc:
        raise CodebookError(f"{where}: codes must be integers ({exc})") from exc


def _variable(name: str, spec: dict[str, Any], path: str) -> Variable:
    where = f"{path}: variable '{name}'"
    if not isinstance(spec, dict):
        raise CodebookError(f"{where}: expected a mapping")
    vtype = spec.get("type")
    if vtype not in TYPES:
        raise CodebookError(f"{where}: type {vtype!r} is not one of {TYPES}")
    required = spec.get("required") or "always"
    if required not in REQUIRED:
        raise CodebookError(f"{where}: required {required!r} is not one of {REQUIRED}")
    rng = spec.get("range")
    if rng is not None and (len(rng) != 2 or rng[0] > rng[1]):
        raise CodebookError(f"{where}: range must be [min, max], got {rng!r}")
    codes = _int_keys(spec.get("codes"), f"{where}.codes")
    if vtype == "binary" and not codes:
        codes = {0: "no", 1: "yes"}
    if vtype == "categorical" and not codes:
        raise CodebookError(f"{where}: a categorical variable needs codes")
    asked_if = spec.get("asked_if")
    if asked_if:
        parse_condition(asked_if, where)
    return Variable(
        name=name,
        type=vtype,
        block=spec.get("block"),
        ordered=bool(spec.get("ordered", False)),
        question_en=spec.get("question_en") or "",
        question_zh=spec.get("question_zh"),
        codes=codes,
        missing_codes=_int_keys(spec.get("missing_codes"), f"{where}.missing_codes"),
        range=tuple(rng) if rng is not None else None,
        required=required,
        asked_if=asked_if or None,
        unique=bool(spec.get("unique", False)),
        identifying=bool(spec.get("identifying", False)),
        clean_name=spec.get("clean_name"),
    )


def load_survey_codebook(path: str | Path) -> SurveyCodebook:
    """Read and check the codebook; raise CodebookError naming the variable at fault."""
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("variables"), dict):
        raise CodebookError(f"{path}: no 'variables' mapping")
    variables = {str(n): _variable(str(n), s, str(path)) for n, s in raw["variables"].items()}
    for var in variables.values():
        if var.asked_if:
            unknown = condition_names(var.asked_if) - set(variables)
            if unknown:
                raise CodebookError(
                    f"{path}: variable '{var.name}': asked_if names unknown columns "
                    f"{sorted(unknown)}"
                )
    return SurveyCodebook(
        path=str(path),
        variables=variables,
        dataset=raw.get("dataset") or {},
        blocks=raw.get("blocks") or {},
    )


def check_approval_direction(codebook: SurveyCodebook) -> None:
    """The models, the claims and the text read higher codes as more approval: on every
    approval scale the highest code must be labelled as approving and the lowest as not.
    Checked by the clean rule, the first to read the codebook, so a reversed codebook
    stops the build before any estimate, table or figure is made from it."""
    for var in codebook.variables.values():
        labels = {str(code): str(label) for code, label in var.codes.items()}
        if not any("approv" in v.lower() for v in labels.values()):
            continue
        codes = sorted(labels, key=float)
        low, high = labels[codes[0]].lower(), labels[codes[-1]].lower()
        if "disapprov" in high or "approv" not in high or "disapprov" not in low:
            raise CodebookError(
                f"{codebook.path}: variable {var.name!r}: codes: code {codes[-1]} is labelled "
                f"{labels[codes[-1]]!r} and code {codes[0]} {labels[codes[0]]!r}, but the "
                "models, the claims and the text read higher codes as more approval "
                "(describe.approve_codes): fix the labels, or recode the scale in the "
                "cleaning step")


# --- skip-logic conditions -------------------------------------------------------

_CMP = COMPARISONS
_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Compare,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.In, ast.NotIn,
    *tuple(_CMP),
)


def parse_condition(expr: str, where: str = "condition") -> ast.Expression:
    """Parse an ``asked_if`` expression, allowing only comparisons and boolean logic."""
    try:
        tree = ast.parse(expr.replace("&&", " and ").replace("||", " or "), mode="eval")
    except SyntaxError as exc:
        raise CodebookError(f"{where}: cannot parse asked_if {expr!r}: {exc.msg}") from exc
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise CodebookError(
                f"{where}: asked_if {expr!r} uses {type(node).__name__}, which is not allowed"
            )
    return tree


def condition_names(expr: str) -> set[str]:
    return {n.id for n in ast.walk(parse_condition(expr)) if isinstance(n, ast.Name)}


def _value(node: ast.AST, frame: pd.DataFrame) -> Any:
    if isinstance(node, ast.Name):
        return pd.to_numeric(frame[node.id], errors="coerce").astype("float64")
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(e, frame) for e in node.elts]
    return _truth(node, frame)


def _truth(node: ast.AST, frame: pd.DataFrame) -> pd.Series:
    """Evaluate to a boolean Series; comparisons with a blank cell are False."""
    if isinstance(node, ast.Expression):
        return _truth(node.body, frame)
    if isinstance(node, ast.BoolOp):
        parts = [_truth(v, frame) for v in node.values]
        out = parts[0]
        for part in parts[1:]:
            out = (out & part) if isinstance(node.op, ast.And) else (out | part)
        return out
    if isinstance(node, ast.UnaryOp):
        return ~_truth(node.operand, frame)
    if isinstance(node, ast.Compare):
        left = _value(node.left, frame)
        out = pd.Series(True, index=frame.index)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _value(comp, frame)
            if isinstance(op, ast.In | ast.NotIn):
                hit = pd.Series(np.asarray(left.isin(right)), index=frame.index)
                res = hit if isinstance(op, ast.In) else (~hit & left.notna())
            else:
                res = _CMP[type(op)](left, right)
                for side in (left, right):
                    if isinstance(side, pd.Series):
                        res = res & side.notna()
                res = pd.Series(np.asarray(res, dtype=bool), index=frame.index)
            out &= res.fillna(False).astype(bool)
            left = right
        return out
    if isinstance(node, ast.Name):
        return _value(node, frame).fillna(0).astype(bool)
    raise CodebookError(f"unsupported expression {ast.dump(node)}")


def evaluate_condition(expr: str, frame: pd.DataFrame) -> pd.Series:
    """Rows of ``frame`` for which the skip-logic condition ``expr`` holds."""
    return _truth(parse_condition(expr), frame).astype(bool)
