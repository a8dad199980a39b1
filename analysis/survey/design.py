"""The survey design behind every standard error of the describe and model stages.

Both stages take it from two sections of the config: ``weighting`` (the raking margins the
weight stage raked with, and how the raked weights enter the SEs) and ``design`` (the
sampling design's columns of the data):

* ``variance: calibrated`` (default) -- linearization with the residuals of the raking
  calibration (R's calibrated design, ``calibrate(calfun = "raking")``), which knows that
  raking fixes the margins; ``fixed`` takes the raked weights as given
  (R ``svydesign(weights = ~w)``).
* ``design.cluster``, ``design.strata``, ``design.fpc`` -- columns of the cleaned data
  holding the primary sampling unit, the stratum and R's finite-population correction
  (population PSUs per stratum, or the sampling fraction), or ``null`` when the data carry
  none. A column that is configured but absent from the data is an error, never silently
  ignored.

The calibration is built on **all** rows that were raked (the weight stage rakes without
base weights, so the calibration regression is unweighted, R's ``d = 1``); a domain or a
model's sample is a subset of this design, never a design of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.stats import calibration as cal

DESIGN_COLUMNS = ("cluster", "strata", "fpc")


class DesignError(ValueError):
    """The weighting settings and the data do not make a design (names setting and column)."""


def variance_method(weighting: Mapping[str, Any]) -> cal.Method:
    """The configured convention (the schema's default is ``"calibrated"``)."""
    method = weighting["variance"]
    if method not in cal.METHODS:
        raise DesignError(f"weighting.variance: {method!r} is not one of {cal.METHODS}")
    return method


def describe_variance(weighting: Mapping[str, Any], design: Mapping[str, Any] | None = None
                      ) -> str:
    """One line for the results files: which SEs were computed, in R's terms."""
    design = design or {}
    cols = [f"{k} = {design[k]}" for k in DESIGN_COLUMNS if design.get(k)]
    design = "; ".join(cols) if cols else "ids = ~1, no strata, no fpc"
    if variance_method(weighting) == "calibrated":
        return (f"linearization, calibrated to the raking margins "
                f"{', '.join(weighting['margins'])} (R calibrate(calfun = 'raking'); {design})")
    return f"linearization, raked weights taken as given (R svydesign; {design})"


def _column(frame: pd.DataFrame, design: Mapping[str, Any], key: str) -> Any:
    name = design.get(key)
    if not name:
        return None
    if name not in frame.columns:
        raise DesignError(f"design.{key}: column '{name}' is not in the cleaned data")
    values = frame[name]
    if values.isna().any():
        row = int(values.isna().to_numpy().nonzero()[0][0])
        raise DesignError(f"design.{key}: column '{name}' is missing at row {row}")
    return values.to_numpy()


def survey_design(frame: pd.DataFrame, weighting: Mapping[str, Any],
                  weight: str = "weight", design: Mapping[str, Any] | None = None
                  ) -> cal.Design:
    """The design of every row of ``frame`` (the raked sample), with its raking calibration
    (``weighting``: the margins) and the sampling design's columns (``design``)."""
    margins = list(weighting["margins"])
    absent = [m for m in [*margins, weight] if m not in frame.columns]
    if absent:
        raise DesignError(f"weighting.margins: columns {absent} are not in the data")
    w = frame[weight].to_numpy(dtype=float)
    try:
        calib = cal.calibration([frame[m] for m in margins], w)
        cols = {k: _column(frame, design or {}, k) for k in DESIGN_COLUMNS}
        return cal.survey_design(w, calibration=calib, clusters=cols["cluster"],
                                 strata=cols["strata"], fpc=cols["fpc"])
    except cal.CalibrationVarianceError as err:
        raise DesignError(f"survey design from weighting {dict(weighting)} and design "
                          f"{dict(design or {})}: {err}") from err
