"""Analysis package of the reproducible paper build.

One module per pipeline stage; the Snakefile calls these functions through thin
scripts in ``scripts/``. Everything here is importable and unit-tested.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
