"""Steps of the paper half that are more than one call of another module."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from paperkit.notebooks import stage_assets
from paperkit.render import render_manuscript


def render_paper(assets: Sequence[str], stage: str | Path, source: str | Path,
                 formats: Sequence[str], out_dir: str | Path, engine: str) -> dict[str, Path]:
    """Put the images the article shows into the stage, then render it."""
    stage = Path(stage)
    stage_assets(assets, stage)
    return render_manuscript(project_dir=stage, formats=list(formats), out_dir=Path(out_dir),
                             engine=engine, source_dir=Path(source))
