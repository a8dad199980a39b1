"""Rule notebook: execute one of the paper's notebooks with a Jupyter kernel."""

from paperkit.warm import handoff

smk = snakemake  # noqa: F821 - injected by Snakemake
handoff(smk)  # in a warm worker's fork when the build has one (paperkit/warm.py)

from pathlib import Path

from paperkit.notebooks import execute_notebook
from paperkit.rules import run

# The kernel starts in the project directory, where the notebook's relative paths point.
run(smk, execute_notebook, source=smk.input.notebook, target=smk.output[0], cwd=Path.cwd(),
    inputs=list(smk.input))
