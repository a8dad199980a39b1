"""The one table writer: cells escaped, widths and alignment on the separator line."""

from __future__ import annotations

import pandas as pd
import pypandoc
import pytest

from paperkit.tables import cell, frame_table, pipe_table


def test_a_pipe_in_a_cell_cannot_split_it_and_a_newline_becomes_a_space():
    assert cell("a|b\nc") == "a\\|b c"


def test_stars_are_escaped_only_in_literal_tables():
    assert cell("0.12***") == "0.12***"
    assert cell("0.12***", literal=True) == "0.12\\*\\*\\*"


def test_alignment_and_relative_widths_are_written_on_the_separator_line():
    text = pipe_table(["a", "b", "c"], [[1, 2, 3]], "lrc", widths=(5, 3, 4))
    assert text.splitlines()[1] == "| :----- | ---: | :----: |"


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="row 1 has 1 cells, not 2"):
        pipe_table(["a", "b"], [[1]])


def test_a_frame_table_renders_as_a_table_with_its_cells():
    frame = pd.DataFrame({"Group": ["x|y", "z"], "%": ["1.0", "2.0"]})
    html = pypandoc.convert_text(frame_table(frame, "lr"), "html", format="markdown")
    assert "<table" in html and "x|y" in html and html.count("<tr") == 3
