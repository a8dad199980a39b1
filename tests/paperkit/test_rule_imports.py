"""The paper rules start fast: their scripts import no data-analysis library.

Each rule is a new Python process; pandas, numpy, matplotlib or scipy imported for a
type hint or a helper costs a prose edit that much per rule (`make bench`).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import paperkit

SCRIPTS = sorted((Path(paperkit.__file__).parent / "workflow" / "scripts").glob("*.py"))
HEAVY = ("pandas", "numpy", "matplotlib", "scipy", "seaborn", "statsmodels")


def _imported_modules(script: Path) -> list[str]:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    return sorted({node.module for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and node.module}
                  | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names})


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_paper_rule_script_imports_no_data_analysis_library(script):
    modules = _imported_modules(script)
    assert modules, f"{script.name}: no imports found"
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + (
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == [], f"{script.name} imports {', '.join(loaded)}"
