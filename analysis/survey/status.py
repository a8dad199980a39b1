"""Whether the survey data are simulated: read from the dataset's own flag, never typed.

The survey codebook describes its dataset (``dataset.simulated``); the clean stage stores
that flag in the cleaned file's metadata, and every later stage reads it from there, so
notes under figures and tables say "Simulated data" exactly when the data are simulated
(the interview and civilized-city strands read theirs from the REFI-QDA project name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

ATTR = "simulated"
NOTE = "Simulated data, not the original survey."


class DataStatusError(ValueError):
    """The cleaned file does not say whether its data are simulated."""


def mark(frame: pd.DataFrame, dataset: dict[str, Any]) -> pd.DataFrame:
    """Carry the codebook's ``dataset.simulated`` flag (default: real data) in ``frame``."""
    flag = dataset.get("simulated", False)
    if not isinstance(flag, bool):
        raise DataStatusError(f"codebook key 'dataset.simulated' must be true or false, "
                              f"not {flag!r}")
    frame.attrs[ATTR] = flag
    return frame


def is_simulated(frame: pd.DataFrame, source: str | Path) -> bool:
    """The flag the clean stage stored; a cleaned file without it is refused."""
    if not isinstance(frame.attrs.get(ATTR), bool):
        raise DataStatusError(f"{source}: the cleaned file does not record whether its data "
                              "are simulated (rule clean stores 'simulated'); rerun the clean "
                              "stage")
    return bool(frame.attrs[ATTR])


def data_note(simulated: bool | None) -> str:
    """The note's data-status sentence: present only for simulated data."""
    return NOTE if simulated else ""


def with_status(text: str, simulated: bool | None) -> str:
    """``text`` followed by the data-status sentence, when there is one."""
    return f"{text} {data_note(simulated)}".strip()
