"""The one Markdown table writer of a paperkit project.

Pipe tables render alike in HTML, PDF (typst) and DOCX through pandoc and Quarto. Cells
are Markdown (a table may set a row in bold or a path in code); a ``|`` is escaped so it
cannot split a cell, a line break becomes a space, and ``literal=True`` escapes ``*``
too, for cells such as significance stars that must print as themselves. Relative column
widths are given by the dashes of the separator line, which pandoc uses when a row is
wider than the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type here: the paper's rules that write tables import no pandas
    import pandas as pd

_MARKS = {"l": ":{}", "r": "{}:", "c": ":{}:"}


def cell(value: Any, literal: bool = False) -> str:
    """A value as the text of one table cell."""
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ").strip()
    return text.replace("*", "\\*") if literal else text


def pipe_table(header: Sequence[Any], rows: Sequence[Sequence[Any]], align: str = "",
               widths: Sequence[int] = (), literal: bool = False) -> str:
    """A Markdown pipe table; ``align`` holds l/r/c per column (default: all left)."""
    align = align or "l" * len(header)
    widths = widths or [3] * len(header)
    if not len(align) == len(widths) == len(header):
        raise ValueError(f"table of {len(header)} columns given {len(align)} alignments "
                         f"and {len(widths)} widths")
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise ValueError(f"table row {number} has {len(row)} cells, not {len(header)}")
    marks = [_MARKS[a].format("-" * max(3, w)) for a, w in zip(align, widths, strict=True)]
    lines = ["| " + " | ".join(cell(h, literal) for h in header) + " |",
             "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(cell(c, literal) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def frame_table(frame: pd.DataFrame, align: str = "", widths: Sequence[int] = (),
                literal: bool = False) -> str:
    """A DataFrame as a pipe table (column names as the header, no index)."""
    rows = [list(row) for row in frame.itertuples(index=False)]
    return pipe_table([str(c) for c in frame.columns], rows, align, widths, literal)
