"""Rule notebook: execute one analysis notebook with a Jupyter kernel."""

import _bootstrap  # noqa: F401 - puts the project root on sys.path

from paperkit.notebooks import execute_notebook
from paperkit.rules import run

smk = snakemake  # noqa: F821 - injected by Snakemake
run(smk, execute_notebook, source=smk.input.notebook, target=smk.output[0])
