"""The weight stage: rake the cleaned survey to the population margins of the config.

The estimator is :func:`analysis.stats.raking.rake` (checked against R ``survey``); this
module reads the targets file, applies the configured margins, cap and floor, and writes
the weights (mean 1) and their diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.stats.raking import WeightingError, rake
from paperkit.io import read_yaml, write_json, write_parquet


def read_targets(path: str | Path, margins: Sequence[str] | None = None
                 ) -> dict[str, dict[str, float]]:
    """Population margins as ``{variable: {category: proportion}}``: the one reader.

    Shares may be given as proportions (summing to 1) or percentages (summing to 100);
    ``margins`` keeps the configured ones, each of which must be in the file.
    """
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("margins"), dict):
        raise WeightingError(f"{path}: expected a top-level 'margins' mapping")
    wanted = list(margins) if margins is not None else [str(m) for m in doc["margins"]]
    missing = [m for m in wanted if m not in doc["margins"]]
    if missing:
        raise WeightingError(f"{path}: no targets for configured margins {missing}")
    return {m: _shares(doc["margins"][m], f"{path}: margins.{m}") for m in wanted}


def _shares(cats: Any, where: str) -> dict[str, float]:
    """One margin's shares as proportions; percentages are recognised by their sum."""
    if not isinstance(cats, dict):
        raise WeightingError(f"{where} must map category -> share")
    values = {str(k): _share(v, f"{where}.{k}") for k, v in cats.items()}
    total = sum(values.values())
    if abs(total - 100) < 0.5:
        return {k: v / 100 for k, v in values.items()}
    if abs(total - 1) > 0.005:
        raise WeightingError(f"{where}: the shares sum to {total:g} "
                             "(rule: they sum to 1, or to 100 in %)")
    return values


def _share(value: Any, where: str) -> float:
    """A target value as a float; a string such as '61%' is an error naming its key."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WeightingError(f"{where}: target must be a number, not {value!r}")
    return float(value)


def rake_frame(data: pd.DataFrame, targets: Mapping[str, Mapping[str, float]],
               settings: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Raked weights (mean 1, by ``resp_id``) and their diagnostics, written nowhere.

    Shared by the weight stage and the robustness grid, which rakes under other caps and
    margins; a cap the data cannot meet raises :class:`WeightingError`.
    """
    if "resp_id" not in data.columns:
        raise WeightingError("column 'resp_id' missing")
    result = rake(
        data,
        targets,
        cap=settings["cap"],
        floor=settings["floor"],
        tol=float(settings["tolerance"]),
        max_iter=int(settings["max_iter"]),
    )
    w = result.weights.to_numpy()
    w = w / w.mean()
    frame = pd.DataFrame({"resp_id": data["resp_id"].astype(str).to_numpy(), "weight": w})
    report = result.diagnostics.to_dict()
    report["margin_names"] = list(targets)
    return frame, report


def weight_survey(
    clean_path: str | Path,
    targets_path: str | Path,
    settings: Mapping[str, Any],
    out_weights: str | Path,
    out_diagnostics: str | Path,
) -> None:
    """Snakemake entry: rake the cleaned survey, write weights (mean 1) and diagnostics."""
    data = pd.read_parquet(clean_path)
    targets = read_targets(targets_path, list(settings["margins"]))
    try:
        frame, report = rake_frame(data, targets, settings)
    except WeightingError as err:
        raise WeightingError(f"{clean_path} with targets {targets_path}: {err}") from err
    report["targets_file"] = Path(targets_path).name
    write_parquet(out_weights, frame)
    write_json(out_diagnostics, report)
