"""Rule manuscript: render the staged manuscript (Quarto or the self-render, by config),
then check that every number of the HTML's text is traceable (paperkit/trace_check.py)."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

import os
from pathlib import Path

from paperkit.rules import run
from paperkit.trace_check import render_paper

# Fixed build date, so that rebuilding the same sources gives the same documents.
os.environ.setdefault("SOURCE_DATE_EPOCH", str(smk.params.source_date_epoch))
stage, source = Path(smk.input.variables).parent, Path(smk.input.article).parent
run(smk, render_paper, staged={str(stage): str(source)}, assets=list(smk.input.assets),
    stage=stage, source=source, formats=list(smk.params.formats),
    out_dir=Path(smk.output[0]).parent, engine=smk.params.engine)
