"""Make the project's `analysis` package importable from every rule script.

Snakemake puts this directory on ``sys.path`` when it runs a script, in .venv and
in conda environments alike; importing this module adds the project root too.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
# First on the path, even if already present further down: Snakemake appends the workflow
# directory after site-packages, where a .pth may name another checkout of the project.
if sys.path[:1] != [ROOT]:
    sys.path.insert(0, ROOT)
