"""The numbers stage: every value the paper quotes, in one tree.

``results/numbers.json`` gathers the results files of all stages under one tree
(raw values, read by the claim checks and the fidelity table). paperkit's workflow
formats it into the Quarto variables file, so the prose only ever writes
``{{< var survey.approval.approve_any.pct >}}`` and never formats a number by hand
(by the ordered patterns of the config section ``paper.number_formats``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.paper.fidelity import compare_with_published
from paperkit import variables
from paperkit.io import read_json, read_yaml
from paperkit.variables import sanitize_tree, software_versions

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


def gather(
    inputs: Mapping[str, str], published_path: str, fidelity: Mapping[str, Any]
) -> dict[str, Any]:
    """Collect the stage results, the published values and the fidelity comparison."""
    numbers: dict[str, Any] = {name: read_json(path) for name, path in sorted(inputs.items())}
    for stage in numbers.values():
        _drop_input_checksums(stage)
    models = numbers.get("models", {})
    if isinstance(models.get("models"), Mapping):  # models.m7... rather than models.models.m7
        numbers["models"] = {**{k: v for k, v in models.items() if k != "models"},
                             **models["models"]}
    published = read_yaml(published_path)
    numbers["fidelity"] = compare_with_published(numbers, published, fidelity)
    numbers["published"] = published
    numbers["software"] = software_versions(SOFTWARE)
    return sanitize_tree(numbers)


def write_numbers(inputs: Mapping[str, str], published_path: str,
                  fidelity: Mapping[str, Any], out_numbers: str) -> None:
    """Write results/numbers.json: the stage results, published values and fidelity."""
    variables.write_numbers(gather(inputs, published_path, fidelity), out_numbers)
