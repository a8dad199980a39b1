"""Steps of the paper half that are more than one call of another module."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from paperkit.notebooks import stage_assets
from paperkit.trace_check import render_traced


def render_paper(assets: Sequence[str], stage: str | Path, source: str | Path,
                 formats: Sequence[str], out_dir: str | Path, engine: str) -> dict[str, Path]:
    """Put the images the article shows into the stage, then render it; every number of
    the HTML must be traceable (paperkit.trace_check), or nothing of this run is left."""
    stage = Path(stage)
    stage_assets(assets, stage)
    return render_traced(stage, list(formats), Path(out_dir), engine=engine,
                         source_dir=Path(source))
