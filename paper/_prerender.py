"""Quarto pre-render hook of this paper (`project: pre-render` in _quarto.yml).

`quarto render paper` and `quarto preview paper` render the sources in paper/. The article
reads files the pipeline makes (the variables, the tables and the executed notebooks);
this hook runs the pipeline up to them (Snakemake target `paper_inputs`, which also runs
the number and claim checks) and copies them into paper/, where Quarto looks for them.
They are git-ignored: nothing generated is committed. When the pipeline itself renders
its staged copy (build/paper), the hook does nothing.

Quarto runs this file with its own Python; it only starts the project's .venv.
"""

import os
import subprocess
import sys
from pathlib import Path

PAPER = Path(__file__).resolve().parent
ROOT = PAPER.parent
GENERATED = ["_variables.yml", "_traces.json", "notebooks"]

if os.environ.get("PAPERKIT_PIPELINE_RENDER"):
    sys.exit(0)
python = ROOT / ".venv" / "bin" / "python"
if not python.exists():
    sys.exit(f"pre-render: {python} not found; run `make .venv/.installed` in {ROOT} first")
sys.exit(subprocess.call(
    [str(python), "-m", "paperkit.quarto", "prerender", "paper_inputs",
     "--stage", "build/paper", "--project", str(PAPER.relative_to(ROOT)),
     "--generated", *GENERATED, "--quarto-pid", str(os.getppid())],
    cwd=ROOT,
))
