"""Tests of analysis/figures/describe.py: figures drawn from descriptives.json alone."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.figures import describe as fd
from analysis.figures.style import DOUBLE_COLUMN_IN, OKABE_ITO, set_theme
from analysis.project import load_config
from analysis.survey import status
from analysis.survey.describe import describe_frame
from paperkit.io import write_json
from tests.analysis.survey.test_describe import synthetic_clean, synthetic_weights


@pytest.fixture(scope="module")
def results() -> dict:
    frame = synthetic_clean(600, seed=3)
    frame["weight"] = synthetic_weights(frame)["weight"].to_numpy()
    # through JSON, exactly as the figure step reads it
    res = describe_frame(frame, load_config()["describe"])
    res["meta"]["simulated"] = True  # what the describe step adds from the cleaned file
    return json.loads(json.dumps(res, sort_keys=True))


def _texts(fig: plt.Figure) -> str:
    return " ".join(t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text")))


@pytest.mark.parametrize("name", sorted(fd.FIGURES))
def test_every_figure_notes_weighting_n_and_simulated_data(results, name) -> None:
    set_theme()
    fig = fd.FIGURES[name](results, status.NOTE)
    text = _texts(fig)
    assert "Weighted" in text and "95% CIs" in text and "Simulated data" in text
    n = (results["other"]["commercial_users_n"]["n"] if name == "benefits_urban_rural"
         else None)
    assert "N = " in text and (n is None or f"N = {n:,}" in text)
    assert fig.get_size_inches()[0] <= DOUBLE_COLUMN_IN + 1e-9
    plt.close(fig)


@pytest.mark.parametrize("name", sorted(fd.FIGURES))
def test_bars_use_only_the_colour_blind_safe_palette(results, name) -> None:
    set_theme()
    fig = fd.FIGURES[name](results, status.NOTE)
    safe = {mcolors.to_hex(c) for c in OKABE_ITO}
    bars = [p for ax in fig.axes for p in ax.patches if p.get_width() > 0 and p.get_height() > 0
            and p.get_height() < 1]
    assert bars
    assert {mcolors.to_hex(p.get_facecolor()) for p in bars} <= safe
    plt.close(fig)


def test_bar_lengths_are_the_json_percentages(results) -> None:
    set_theme()
    fig = fd.fig_approval_distribution(results, "x")
    widths = sorted(round(p.get_width(), 9) for p in fig.axes[0].patches if p.get_height() < 1)
    expected = sorted(round(v["pct"], 9) for v in results["approval_distribution"].values())
    assert widths == expected
    plt.close(fig)


def test_small_multiples_have_one_panel_per_grouping_with_its_test(results) -> None:
    set_theme()
    fig = fd.fig_approval_by_group(results, "x")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 6 and all("Rao–Scott p" in t for t in titles)
    assert titles[0].startswith("Age band")
    plt.close(fig)


@pytest.mark.slow
def test_entry_point_writes_identical_files_without_reading_microdata(
    results, tmp_path, monkeypatch
) -> None:
    src = tmp_path / "descriptives.json"
    write_json(src, results)

    def refuse(*args, **kwargs):
        raise AssertionError("the figure step must not read microdata")

    monkeypatch.setattr(pd, "read_parquet", refuse)
    first = fd.make_descriptive_figures(src, tmp_path / "a")
    second = fd.make_descriptive_figures(src, tmp_path / "b")
    assert len(first) == len(fd.FIGURES)
    assert {p.suffix for p in first} == {".png"}
    assert (tmp_path / "a" / "approval_distribution.png") in first
    for a, b in zip(first, second, strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes(), a.name
