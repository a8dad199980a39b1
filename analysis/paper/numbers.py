"""The numbers stage: every value the paper quotes, raw and formatted.

``results/numbers.json`` gathers the results files of all stages under one tree
(raw values, read by the claim checks and the fidelity table). The Quarto
variables file ``_variables.yml`` mirrors that tree with *formatted* strings, so
the prose only ever writes ``{{< var survey.approval.approve_any.pct >}}`` and
never formats a number by hand (paperkit.variables formats each key by the ordered
patterns of the config section ``numbers.formats``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from analysis.paper.fidelity import compare_with_published
from paperkit.io import read_json, read_yaml
from paperkit.variables import sanitize_tree, software_versions, write_numbers_and_variables

SOFTWARE = (
    "snakemake", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn",
    "pyarrow", "pandera", "pyreadstat", "nbclient", "great_tables", "pypandoc_binary", "typst",
)


def _drop_input_checksums(stage: Any) -> None:
    """Remove ``source.sha256`` of a stage result: a checksum of an input file, not a value.

    The replication package rebuilds from de-identified raw files (other checksums, same
    values); without this the numbers file would differ although every number is equal.
    Input checksums are kept in data/raw/MANIFEST.sha256 and the stage results.
    """
    source = stage.get("source") if isinstance(stage, Mapping) else None
    if isinstance(source, dict):
        source.pop("sha256", None)


def assemble(
    stages: Mapping[str, Any], published: Mapping[str, Any],
    fidelity: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The numbers tree of the given stage results (unsanitised, without software).

    Shared by the numbers stage and the robustness grid, which builds one tree per
    specification (``fidelity`` None: no comparison); the stage results are not modified.
    """
    numbers: dict[str, Any] = {name: copy.deepcopy(stage) for name, stage in sorted(stages.items())}
    for stage in numbers.values():
        _drop_input_checksums(stage)
    models = numbers.get("models", {})
    if isinstance(models.get("models"), Mapping):  # models.m7... rather than models.models.m7
        numbers["models"] = {**{k: v for k, v in models.items() if k != "models"},
                             **models["models"]}
    if fidelity is not None:
        numbers["fidelity"] = compare_with_published(numbers, published, fidelity)
    numbers["published"] = copy.deepcopy(dict(published))
    return numbers


def gather(
    inputs: Mapping[str, str], published_path: str, fidelity: Mapping[str, Any]
) -> dict[str, Any]:
    """Collect the stage results, the published values and the fidelity comparison."""
    stages = {name: read_json(path) for name, path in sorted(inputs.items())}
    numbers = assemble(stages, read_yaml(published_path), fidelity)
    numbers["software"] = software_versions(SOFTWARE)
    return sanitize_tree(numbers)


def write_numbers(
    inputs: Mapping[str, str],
    published_path: str,
    settings: Mapping[str, Any],
    fidelity: Mapping[str, Any],
    out_numbers: str,
    out_variables: str,
) -> None:
    """Write results/numbers.json (raw) and the Quarto variables file (formatted)."""
    numbers = gather(inputs, published_path, fidelity)
    write_numbers_and_variables(numbers, list(settings["formats"]), out_numbers, out_variables)
