"""Tests of the simulated interview stand-in (analysis/standin/interviews.py)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from analysis.interviews.themes import analyse, load_barrier_codebook, load_study_mapping
from analysis.project import PROJECT_ROOT, load_config
from analysis.qda.qdpx import read_qdpx
from analysis.standin.interviews import (
    BARRIER_COUNTS,
    N_DOUBLE_CODED,
    ZIP_DATE,
    build_files,
    write_stand_in,
)
from paperkit.io import read_yaml

CONFIG = load_config()
SEED = CONFIG["simulation"]["interview_seed"]
CODEBOOK_PATH = PROJECT_ROOT / CONFIG["themes"]["codebook"]
MAPPING_PATH = PROJECT_ROOT / CONFIG["themes"]["mapping"]
RAW = PROJECT_ROOT / "data" / "raw" / "interviews"
MANIFEST = PROJECT_ROOT / CONFIG["paths"]["raw_manifest"]
PUBLISHED = read_yaml(PROJECT_ROOT / CONFIG["paths"]["published_values"])["interviews"]


@pytest.fixture(scope="module")
def files():
    return build_files(SEED, read_yaml(MAPPING_PATH))


def test_committed_files_are_byte_reproducible_from_the_seed(files):
    assert (RAW / "scs_interviews.qdpx").exists()
    for name, data in files.items():
        assert (RAW / name).read_bytes() == data, f"{name} differs from a fresh build"


def test_manifest_registers_the_committed_checksums():
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    registered = dict(reversed(line.split("  ", 1)) for line in lines if line.strip())
    assert lines == sorted(lines, key=lambda line: line.split("  ", 1)[1])
    for path in sorted(RAW.iterdir()):
        if path.name.startswith(".") or path.name == "README.md":
            continue
        rel = path.relative_to(PROJECT_ROOT).as_posix()
        assert registered[rel] == hashlib.sha256(path.read_bytes()).hexdigest(), rel


def test_generator_targets_match_published_table1():
    expected = {k: v["value"] for k, v in PUBLISHED["barriers"].items()}
    assert expected == BARRIER_COUNTS


def test_zip_entries_are_sorted_with_fixed_dates_and_no_compression(files):
    with zipfile.ZipFile(io.BytesIO(files["scs_interviews.qdpx"])) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and names[0] == "project.qde"
    assert all(i.date_time == ZIP_DATE and i.compress_type == zipfile.ZIP_STORED for i in infos)
    assert len(names) == 1 + 44


def test_every_transcript_is_labelled_simulated():
    project = read_qdpx(RAW / "scs_interviews.qdpx")
    assert "SIMULATED" in project.name
    for source in project.sources.values():
        assert source.text.startswith("[SIMULATED INTERVIEW")


def test_about_a_quarter_of_transcripts_are_double_coded():
    project = read_qdpx(RAW / "scs_interviews.qdpx")
    coders: dict[str, set[str]] = {}
    for s in project.segments:
        coders.setdefault(s.source, set()).add(project.users[s.coder])
    double = [src for src, who in coders.items() if len(who) == 2]
    assert len(double) == N_DOUBLE_CODED
    assert all(who >= {"Coder A"} for who in coders.values())


@pytest.mark.parametrize("seed", [1, 987654321])
def test_any_seed_reproduces_table1_and_table_a1(seed, tmp_path):
    codebook = load_barrier_codebook(CODEBOOK_PATH)
    mapping = load_study_mapping(MAPPING_PATH, codebook)
    digests = write_stand_in(tmp_path, seed, MAPPING_PATH, root=tmp_path)
    assert set(digests) == {p.name for p in tmp_path.iterdir()}
    project = read_qdpx(tmp_path / "scs_interviews.qdpx")
    result = analyse(project, codebook, CONFIG["themes"], mapping)
    assert {k: v["n"] for k, v in result["barriers"].items()} == BARRIER_COUNTS
    assert result["demographics"] == {k: v["value"] for k, v in PUBLISHED["demographics"].items()}
    assert result["design"] == {k: v["value"] for k, v in PUBLISHED["design"].items()}


def test_different_seeds_give_different_transcripts(tmp_path):
    a = build_files(1, read_yaml(MAPPING_PATH))["scs_interviews.qdpx"]
    b = build_files(2, read_yaml(MAPPING_PATH))["scs_interviews.qdpx"]
    assert a != b
