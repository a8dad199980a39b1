"""The data status in notes comes from the dataset's own flag, never from typed text.

A non-simulated copy of the survey (its codebook's ``dataset.simulated: false``) dropped
in where the stand-in sits gives notes under every figure and table without the word
"simulated"; the stand-in's flag gives the "Simulated data" sentence back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import yaml

from analysis.figures import describe as fd
from analysis.figures import models as fm
from analysis.project import PROJECT_ROOT, load_config
from analysis.survey import status
from analysis.survey.cleaning import clean_survey
from analysis.survey.describe import describe_survey
from analysis.survey.model_table import table_note
from paperkit.io import read_json
from paperkit.manifest import registered, sha256_file

RAW = "data/raw/survey/scs_survey_2018_export.csv"


@pytest.fixture(scope="module")
def real_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The survey with a codebook that declares it real, cleaned and described."""
    root = tmp_path_factory.mktemp("real")
    paths = load_config()["paths"]
    (root / RAW).parent.mkdir(parents=True)
    shutil.copyfile(PROJECT_ROOT / RAW, root / RAW)
    (root / "MANIFEST.sha256").write_text(f"{sha256_file(root / RAW)}  {RAW}\n")
    codebook = yaml.safe_load((PROJECT_ROOT / paths["survey_codebook"]).read_text("utf-8"))
    codebook["dataset"] = {"name": "scs_survey_2018_export", "simulated": False}
    (root / "codebook.yaml").write_text(yaml.safe_dump(codebook, allow_unicode=True), "utf-8")
    clean_survey(root / RAW, root / "codebook.yaml", PROJECT_ROOT / paths["provinces"],
                 registered(root / "MANIFEST.sha256", [root / RAW], root),
                 load_config()["cleaning"], root / "clean.parquet",
                 root / "log.csv", root / "flow.json")
    clean = pd.read_parquet(root / "clean.parquet")
    pd.DataFrame({"resp_id": clean["resp_id"], "weight": 1.0}).to_parquet(root / "w.parquet")
    describe_survey(root / "clean.parquet", root / "w.parquet",
                    PROJECT_ROOT / paths["population_targets"], load_config()["describe"],
                    root / "descriptives.json", root / "tables")
    return root


def test_the_clean_stage_records_the_codebooks_flag(real_copy):
    assert status.is_simulated(pd.read_parquet(real_copy / "clean.parquet"), "clean") is False
    assert read_json(real_copy / "flow.json")["source"]["simulated"] is False
    assert read_json(real_copy / "descriptives.json")["meta"]["simulated"] is False


def test_a_cleaned_file_without_the_flag_is_refused(tmp_path):
    pd.DataFrame({"resp_id": ["a"]}).to_parquet(tmp_path / "old.parquet")
    with pytest.raises(status.DataStatusError, match="old.parquet: the cleaned file does not"):
        status.is_simulated(pd.read_parquet(tmp_path / "old.parquet"), tmp_path / "old.parquet")


def test_no_descriptive_figure_of_real_data_says_simulated(real_copy, tmp_path, monkeypatch):
    texts: list[str] = []

    def keep_texts(fig: plt.Figure, stem, formats=()) -> list[Path]:
        texts.extend(t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text")))
        plt.close(fig)
        return []

    monkeypatch.setattr(fd, "save_figure", keep_texts)
    fd.make_descriptive_figures(real_copy / "descriptives.json", tmp_path)
    notes = [t for t in texts if "N = " in t]
    assert notes and not any("simulated" in t.lower() for t in texts)


@pytest.mark.parametrize("simulated", [False, True])
def test_model_notes_follow_the_flag(simulated):
    results = {"models": {"m1": {"weight_type": "sampling", "cov_type": "sandwich (fixed)"}},
               "model_order": ["m1"], "common_sample_n": 1593, "weight_type": "sampling",
               "simulated": simulated}
    notes = [table_note(results), fm._note_text(results)]
    assert all(("Simulated data" in n) is simulated for n in notes)
    assert all("N = 1,593" in n for n in notes)


@pytest.mark.parametrize("simulated", [False, True])
def test_the_variance_tables_note_gives_n_weighting_and_the_flag(simulated):
    from analysis.paper.appendix import variance_note

    numbers = {"survey": {"meta": {"simulated": simulated, "raking_margins": ["age_band"]},
                          "design": {"n_valid": 2209}},
               "models": {"simulated": simulated, "common_sample_n": 1463}}
    note = variance_note(numbers)
    assert "N = 2,209" in note and "N = 1,463" in note and "age band" in note
    assert ("simulated" in note.lower()) is simulated


def test_describe_tables_carry_a_note_without_simulated_for_real_data(real_copy):
    for table in (real_copy / "tables").glob("*.md"):
        note = table.read_text(encoding="utf-8").rstrip().splitlines()[-1]
        assert note.startswith("Unweighted percentages") or "Weighted" in note
        assert "N = " in note and "simulated" not in note.lower(), table.name


def _real_project(source: Path, target: Path) -> Path:
    """A copy of a REFI-QDA project whose name no longer says SIMULATED (the flag the
    interview and civilized-city strands read)."""
    import zipfile

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith(".qde"):
                data = data.replace(b"SIMULATED", b"fieldwork", 1)
            dst.writestr(info, data)
    return target


def _figure_texts(fig: plt.Figure) -> str:
    text = " ".join(t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text")))
    plt.close(fig)
    return text


def test_no_note_of_the_interview_and_civilized_strands_says_simulated_for_real_data(tmp_path):
    from analysis.civilized.overlap import tally_overlap
    from analysis.civilized.residents import tally_residents
    from analysis.figures import civilized as fc
    from analysis.figures import themes as ft
    from analysis.interviews.themes import tally_themes

    config, paths = load_config(), load_config()["paths"]
    themes = config["themes"]
    tally_themes(_real_project(PROJECT_ROOT / paths["interviews"], tmp_path / "i.qdpx"),
                 PROJECT_ROOT / themes["codebook"], PROJECT_ROOT / themes["mapping"],
                 themes, tmp_path / "themes.json", tmp_path / "themes")
    tally_overlap(PROJECT_ROOT / paths["civilized_manual"],
                  PROJECT_ROOT / paths["civilized_websites"],
                  _real_project(PROJECT_ROOT / paths["civilized_documents"], tmp_path / "d.qdpx"),
                  PROJECT_ROOT / config["civilized"]["codebook"],
                  config["civilized"], tmp_path / "overlap.json", tmp_path / "overlap")
    tally_residents(_real_project(PROJECT_ROOT / paths["civilized_interviews"],
                                  tmp_path / "r.qdpx"),
                    PROJECT_ROOT / paths["provinces"],
                    PROJECT_ROOT / config["civilized"]["codebook"], config["civilized"],
                    tmp_path / "residents.json", tmp_path / "residents")
    results = {name: read_json(tmp_path / f"{name}.json")
               for name in ("themes", "overlap", "residents")}
    assert all(r["source"]["simulated"] is False for r in results.values())
    texts = [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.md")]
    texts += [ft.figure_note(results["themes"]), _figure_texts(ft.barrier_chart(results["themes"])),
              _figure_texts(fc.overlap_heatmap(results["overlap"])),
              _figure_texts(fc.residents_chart(results["residents"]))]
    assert len(texts) > 4 and not any("simulated" in t.lower() for t in texts)
