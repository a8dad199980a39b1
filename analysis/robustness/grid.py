"""The specifications of the robustness grid, from the validated ``robustness`` config.

A specification is one alternative for each choice. The choices are:

``cap``          weight cap (relative to the mean weight); ``null`` = uncapped
``margins``      the raking margins (a list of margin names)
``exclude.R``    exclusion rule ``R`` of ``cleaning.rules`` applied (true) or not (false)
``variance``     ``calibrated`` or ``fixed`` standard errors
``model``        a named model variant of ``robustness.model_variants`` (blocks dropped)
``coder``        whose coding the interview tallies count (``themes.tally_coder`` values)

The grid is the product of the alternatives, or the declared ``subset`` of it. The
paper's own choices (the baseline) are always specification ``s0000``: a claim input a
specification does not compute is told apart from a broken one by comparing with it.
Specifications sharing their exclusions, margins and cap share one set of weights, so
they go into the same batch (one job), which computes the weights once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.robustness.evaluate import headline_paths

#: Choices in the order they vary in the grid (the first varies slowest).
CHOICES = ("exclude", "margins", "cap", "model", "variance", "coder")


class RobustnessConfigError(ValueError):
    """The robustness section names a choice or alternative the study does not have."""


@dataclass(frozen=True)
class Spec:
    """One specification: an id and one alternative per choice (flat, JSON-ready)."""

    spec_id: str
    choices: tuple[tuple[str, Any], ...]

    @property
    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.choices}

    def excluded_rules(self, configured: Sequence[str]) -> tuple[str, ...]:
        """The configured exclusion rules this specification applies, in configured order."""
        on = self.as_dict
        return tuple(r for r in configured if on.get(f"exclude.{r}", True))

    @property
    def weights_key(self) -> str:
        """What the weights depend on: specifications with equal keys share a batch."""
        d = self.as_dict
        excl = ",".join(f"{k[8:]}={int(v)}" for k, v in sorted(d.items())
                        if k.startswith("exclude."))
        return f"{excl}|{','.join(d['margins'])}|{d['cap']}"


def baseline(config: Mapping[str, Any]) -> dict[str, Any]:
    """The paper's own choice for every choice of the grid."""
    rob = config["robustness"]
    out: dict[str, Any] = {
        "cap": config["weighting"]["cap"],
        "margins": tuple(config["weighting"]["margins"]),
        "variance": config["weighting"]["variance"],
        "model": rob["baseline_model"],
        "coder": config["themes"]["tally_coder"],
    }
    for rule in config["cleaning"]["rules"]:
        out[f"exclude.{rule}"] = True
    return out


def _alternatives(config: Mapping[str, Any], grid: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Each choice's alternatives (the baseline alone for a choice the grid does not vary)."""
    base = baseline(config)
    rob = config["robustness"]
    alts: dict[str, list[Any]] = {k: [v] for k, v in base.items()}
    where = f"robustness.grids.{rob['grid']}"
    for choice, values in grid.get("choices", {}).items():
        if choice == "exclude":
            for rule, flags in values.items():
                if rule not in config["cleaning"]["rules"]:
                    # Imported here: the workflow reads the grid at every start, and the
                    # cleaning module brings pandas; only this message needs its rules.
                    from analysis.survey.cleaning import RULES

                    known = list(config["cleaning"]["rules"]) or list(RULES)
                    raise RobustnessConfigError(
                        f"{where}.choices.exclude.{rule}: not an exclusion rule of "
                        f"cleaning.rules (configured: {known})")
                alts[f"exclude.{rule}"] = list(dict.fromkeys(bool(f) for f in flags))
            continue
        if choice == "model":
            unknown = [v for v in values if v not in rob["model_variants"]]
            if unknown:
                raise RobustnessConfigError(
                    f"{where}.choices.model: unknown model variant(s) {unknown}; defined in "
                    f"robustness.model_variants: {sorted(rob['model_variants'])}")
        if choice == "margins":
            values = [tuple(v) for v in values]
        alts[choice] = list(dict.fromkeys(values))
    return alts


def _order(key: str) -> tuple[int, str]:
    head = key.split(".")[0]
    return (CHOICES.index(head) if head in CHOICES else len(CHOICES), key)


def build_grid(config: Mapping[str, Any]) -> list[Spec]:
    """Every specification of the configured grid, baseline first, ids stable for a config."""
    rob = config["robustness"]
    if rob["grid"] not in rob["grids"]:
        raise RobustnessConfigError(
            f"robustness.grid: {rob['grid']!r} is not one of robustness.grids "
            f"({sorted(rob['grids'])})")
    grid = rob["grids"][rob["grid"]]
    alts = _alternatives(config, grid)
    keys = sorted(alts, key=_order)
    base = baseline(config)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(
        *(alts[k] for k in keys))]
    if grid.get("subset") is not None:
        combos = [_subset_entry(config, alts, base, entry, i)
                  for i, entry in enumerate(grid["subset"])]
    rest = [c for c in combos if c != base]
    ordered = [base, *sorted(rest, key=lambda c: _weights_sort(c, keys))]
    unique = list({_freeze(c, keys): c for c in ordered}.values())
    return [Spec(f"s{i:04d}", tuple((k, c[k]) for k in keys)) for i, c in enumerate(unique)]


def _weights_sort(combo: Mapping[str, Any], keys: Sequence[str]) -> tuple:
    return tuple(str(combo[k]) for k in keys)


def _freeze(combo: Mapping[str, Any], keys: Sequence[str]) -> tuple:
    return tuple(combo[k] for k in keys)


def _subset_entry(config: Mapping[str, Any], alts: Mapping[str, list[Any]],
                  base: Mapping[str, Any], entry: Mapping[str, Any], index: int
                  ) -> dict[str, Any]:
    """One declared specification: the baseline with the named choices changed."""
    where = f"robustness.grids.{config['robustness']['grid']}.subset[{index}]"
    combo = dict(base)
    for key, value in entry.items():
        if key not in alts:
            raise RobustnessConfigError(
                f"{where}: unknown choice {key!r}; choices: {sorted(alts, key=_order)}")
        value = tuple(value) if isinstance(value, list) else value
        if value not in alts[key]:
            raise RobustnessConfigError(
                f"{where}.{key}: {value!r} is not one of the grid's alternatives {alts[key]}")
        combo[key] = value
    return combo


def batches(specs: Sequence[Spec], size: int) -> dict[str, list[Spec]]:
    """Batches of at most ``size`` specifications. Specifications sharing one set of
    weights stay together (a group larger than ``size`` is split), and whole groups are
    packed into a batch up to ``size``: fewer, longer jobs where start-up matters (a
    laptop), more, shorter ones with a small ``size`` (a cluster)."""
    groups: dict[str, list[Spec]] = {}
    for spec in specs:
        groups.setdefault(spec.weights_key, []).append(spec)
    chunks = [members[i:i + size] for members in groups.values()
              for i in range(0, len(members), size)]
    out: list[list[Spec]] = []
    for chunk in chunks:
        if out and len(out[-1]) + len(chunk) <= size:
            out[-1].extend(chunk)
        else:
            out.append(list(chunk))
    return {f"b{i:04d}": batch for i, batch in enumerate(out)}


def grid_batches(config: Mapping[str, Any]) -> dict[str, list[Spec]]:
    """The configured grid in batches (checks the headline names on the way)."""
    rob = config["robustness"]
    headline_paths(rob["headline"])
    grid = rob["grids"].get(rob["grid"], {})
    return batches(build_grid(config), int(grid.get("batch_size") or rob["batch_size"]))
