"""Make the project's `analysis` package importable from every rule script.

Snakemake puts this directory on ``sys.path`` when it runs a script, in .venv and
in conda environments alike; importing this module adds the project root too.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
