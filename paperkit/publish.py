"""From a numbers file and Quarto sources to the checked, rendered paper, in one call.

A large study runs these steps as separate workflow rules (stage, variables, number
check, claim check, render) so that each reruns only when its inputs change; a small
paper can take them together. Either way the same functions run, and nothing is
rendered unless every number in the prose comes from the numbers file and every
claim holds.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from paperkit.claims import assert_claims
from paperkit.io import read_json, read_yaml
from paperkit.prose_check import (
    ProseCheckError,
    assert_no_literals,
    check_var_keys,
    load_allowlist,
)
from paperkit.render import render_manuscript
from paperkit.variables import write_numbers_and_variables

ALLOWLIST = "_number_allowlist.yml"
CLAIMS = "claims.yml"


def stage(paper_dir: Path, build_dir: Path, assets: Sequence[str | Path] = ()) -> Path:
    """Copy the paper's sources, and the ``assets`` (figures, say) at their relative paths."""
    if build_dir.exists():
        shutil.rmtree(build_dir)
    shutil.copytree(paper_dir, build_dir, ignore=shutil.ignore_patterns("_manuscript",
                                                                        ".quarto"))
    for asset in map(Path, assets):
        target = build_dir / (asset.name if asset.is_absolute() else asset)
        target.parent.mkdir(parents=True, exist_ok=True)
        if asset.is_dir():
            shutil.copytree(asset, target)
        else:
            shutil.copyfile(asset, target)
    return build_dir


def check(article: Path, numbers_path: Path, variables_path: Path) -> None:
    """Stop unless every number of the prose is a variable and every claim holds."""
    folder = article.parent
    allow = load_allowlist(folder / ALLOWLIST if (folder / ALLOWLIST).exists() else None)
    claims_path = folder / CLAIMS
    claims = read_yaml(claims_path) if claims_path.exists() else None
    assert_no_literals(article, allow, claims=claims if isinstance(claims, dict) else None)
    unknown = check_var_keys(article, variables_path)
    if unknown:
        raise ProseCheckError(f"{len(unknown)} var shortcode(s) name no value:\n"
                              + "\n".join(f.message for f in unknown))
    if claims_path.exists():
        assert_claims(article, claims_path, numbers_path)


def publish(paper_dir: str | Path, numbers: Mapping[str, Any] | str | Path,
            formats: list[str], build_dir: str | Path,
            rules: list[Mapping[str, str]] | None = None,
            assets: Sequence[str | Path] = (), engine: str = "auto") -> dict[str, Path]:
    """Stage, write the variables, check numbers and claims, render; return the outputs.

    ``numbers`` is the study's results tree (or a JSON file of it); ``rules`` are the
    ``{pattern, format}`` rules of :mod:`paperkit.variables`; ``engine`` is that of
    :func:`paperkit.render.render_manuscript` (auto: Quarto when installed).
    """
    build = stage(Path(paper_dir), Path(build_dir), assets)
    tree = read_json(numbers) if isinstance(numbers, (str, Path)) else numbers
    write_numbers_and_variables(tree, list(rules or []), str(build / "numbers.json"),
                                str(build / "_variables.yml"))
    # Checked where the author edits it, so that messages name paper/index.qmd and its lines.
    check(Path(paper_dir) / "index.qmd", build / "numbers.json", build / "_variables.yml")
    return render_manuscript(build, formats, build / "_manuscript", engine=engine,
                             source_dir=Path(paper_dir))
