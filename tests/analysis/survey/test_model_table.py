"""Tests of analysis.survey.model_table and analysis.figures.models on models.json fitted from a
synthetic frame in the cleaned layout."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.figures import models as figure_models
from analysis.figures.models import make_model_figures
from analysis.figures.style import save_figure
from analysis.project import load_config
from analysis.survey import models as M
from analysis.survey.model_table import ModelTableError, display_table, make_model_table, stars
from tests.analysis.survey.test_models import synthetic_clean, synthetic_weights


@pytest.fixture(scope="module")
def models_json(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    clean = synthetic_clean()
    clean.to_parquet(tmp / "clean.parquet")
    synthetic_weights(clean).to_parquet(tmp / "w.parquet")
    M.fit_paper_models(tmp / "clean.parquet", tmp / "w.parquet", load_config()["models"],
                       tmp / "models.json")
    return tmp / "models.json"


def test_stars_follow_the_stated_convention():
    levels = [0.05, 0.01, 0.001]
    assert [stars(p, levels) for p in (0.2, 0.04, 0.005, 0.0001)] == ["", "*", "**", "***"]


def test_table_has_seven_models_thresholds_n_and_pseudo_r2(models_json):
    res = json.loads(models_json.read_text())
    table = display_table(res)
    assert list(table.columns) == ["", *[f"({i})" for i in range(1, 8)]]
    first = table.columns[1]
    label = res["labels"]["age10"]
    row = table.index[table[""] == label][0]
    coef = res["models"]["m1"]["coefficients"]["age10"]
    assert table.loc[row, first].startswith(f"{coef['coef']:.3f}".replace("-", "\u2212"))
    assert table.loc[row + 1, first] == f"({coef['se']:.3f})"
    # a term first entered in model 7 is blank in model 1
    fn_row = table.index[table[""] == res["labels"]["fn_regulations"]][0]
    assert table.loc[fn_row, "(1)"] == "" and table.loc[fn_row, "(7)"] != ""
    n_row = table[table[""] == "N"].iloc[0]
    assert set(n_row.iloc[1:]) == {f"{res['common_sample_n']:,}"}
    assert (table[""] == "McFadden pseudo-R\u00b2").sum() == 1
    assert table[""].str.startswith("Threshold").sum() == 4


def test_make_model_table_writes_md_html_csv_deterministically(models_json, tmp_path):
    paths = make_model_table(models_json, tmp_path / "a")
    again = make_model_table(models_json, tmp_path / "b")
    assert [p.name for p in paths] == ["model_table.md", "model_table.html", "model_table.csv"]
    for p, q in zip(paths, again, strict=True):
        assert p.read_bytes() == q.read_bytes()
    md = paths[0].read_text()
    assert "\\* p < 0.05, \\*\\* p < 0.01, \\*\\*\\* p < 0.001" in md
    assert "Simulated data" in md and md.count("\n|") >= 60
    assert "<table" in paths[1].read_text()
    csv = pd.read_csv(paths[2], keep_default_na=False)
    assert csv.shape[1] == 8


def test_make_model_table_rejects_json_without_models(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ModelTableError, match="model_order"):
        make_model_table(bad, tmp_path / "out")
    assert not (tmp_path / "out" / "model_table.md").exists()


def test_make_model_figures_writes_both_figures_as_png_only(models_json, tmp_path):
    paths = make_model_figures(models_json, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["coefficients.png", "predicted_probabilities.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_model_figure_notes_state_weighting_and_data_status(models_json, tmp_path,
                                                            monkeypatch):
    """The note's text, read from an SVG copy (PNG pixels hold no text)."""
    monkeypatch.setattr(figure_models, "save_figure",
                        lambda fig, stem: save_figure(fig, stem, ("png", "svg")))
    make_model_figures(models_json, tmp_path)
    svg = (tmp_path / "coefficients.svg").read_text()
    assert "Simulated data" in svg and "Weighted" in svg
