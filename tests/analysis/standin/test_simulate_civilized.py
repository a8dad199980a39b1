"""Tests of the simulated stand-in of design C (analysis/standin/civilized.py)."""

from __future__ import annotations

import csv
import hashlib
import io
import xml.etree.ElementTree as ET
import zipfile

import pytest

from analysis.civilized.codebook import load_civilized_codebook
from analysis.civilized.residents import analyse as analyse_residents
from analysis.civilized.residents import read_residents
from analysis.project import PROJECT_ROOT, load_config
from analysis.qda.qdpx import read_qdc, read_qdpx
from analysis.standin.civilized import FILES, ZIP_DATE, build_files, read_regions, write_stand_in
from paperkit.io import read_yaml

CONFIG = load_config()
SEED = CONFIG["simulation"]["civilized_seed"]
CODEBOOK_PATH = PROJECT_ROOT / CONFIG["civilized"]["codebook"]
PROVINCES = PROJECT_ROOT / CONFIG["paths"]["provinces"]
RAW = PROJECT_ROOT / "data" / "raw" / "civilized"
MANIFEST = PROJECT_ROOT / CONFIG["paths"]["raw_manifest"]
PUBLISHED = read_yaml(PROJECT_ROOT / CONFIG["paths"]["published_values"])["civilized_cities"]
QDC = "{urn:QDA-XML:codebook:1.0}"


@pytest.fixture(scope="module")
def files():
    return build_files(SEED, read_yaml(CODEBOOK_PATH), read_regions(PROVINCES))


def test_committed_files_are_byte_reproducible_from_the_seed(files):
    assert set(files) == set(FILES.values())
    for name, data in files.items():
        assert (RAW / name).read_bytes() == data, f"{name} differs from a fresh build"


def test_manifest_registers_the_committed_checksums():
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    registered = dict(reversed(line.split("  ", 1)) for line in lines if line.strip())
    for name in FILES.values():
        rel = (RAW / name).relative_to(PROJECT_ROOT).as_posix()
        assert registered[rel] == hashlib.sha256((RAW / name).read_bytes()).hexdigest(), rel


def test_every_file_is_labelled_simulated(files):
    for key in ("documents", "interviews"):
        project = read_qdpx(RAW / FILES[key])
        assert "SIMULATED" in project.name
        assert all("[SIMULATED" in s.text for s in project.sources.values())
    for key in ("manual", "websites"):
        rows = list(csv.DictReader(io.StringIO(files[FILES[key]].decode("utf-8"))))
        assert rows and all("SIMULATED" in (r.get("document") or r.get("website")) for r in rows)
    assert "SIMULATED" in (RAW / "README.md").read_text(encoding="utf-8")


def test_zip_entries_are_sorted_with_fixed_dates_and_no_compression(files):
    for key in ("documents", "interviews"):
        with zipfile.ZipFile(io.BytesIO(files[FILES[key]])) as zf:
            infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names) and names[0] == "project.qde"
        assert all(i.date_time == ZIP_DATE and i.compress_type == zipfile.ZIP_STORED
                   for i in infos)


def test_the_manual_is_a_bilingual_hierarchy_with_pages(files):
    rows = list(csv.DictReader(io.StringIO(files[FILES["manual"]].decode("utf-8"))))
    assert len({r["category_id"] for r in rows}) > 1
    assert all(r["item_id"].startswith(r["subcategory_id"] + ".") for r in rows)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r["item_zh"]) for r in rows)
    assert all(r["item_en"].isascii() and int(r["page"]) > 0 for r in rows)


def test_codebooks_carry_every_code_with_its_definition_and_example(files):
    codebook = read_yaml(CODEBOOK_PATH)
    for key, codes in (("documents_codebook", codebook["documents"]["dimensions"]),
                       ("interviews_codebook", codebook["interviews"]["codes"])):
        path = RAW / FILES[key]
        names = {c.name for c in read_qdc(path).values() if c.codable}
        assert names == {c["label"] for c in codes.values()}
        root = ET.fromstring(files[FILES[key]])
        described = {el.get("name"): el.find(f"{QDC}Description").text
                     for el in root.iter(f"{QDC}Code")}
        for code in codes.values():
            assert code["definition"].strip() in described[code["label"]]
            assert code["example"].strip() in described[code["label"]]


@pytest.mark.parametrize("seed", [1, 987654321])
def test_any_seed_gives_the_published_design(seed, tmp_path):
    write_stand_in(tmp_path, seed, CODEBOOK_PATH, PROVINCES, root=tmp_path)
    codebook = load_civilized_codebook(CODEBOOK_PATH)
    project, cases, long = read_residents(tmp_path / FILES["interviews"], codebook, PROVINCES)
    design = analyse_residents(project, cases, long, codebook, CONFIG["civilized"])["design"]
    assert design["n_interviews"] == PUBLISHED["design"]["interviews"]["value"]
    assert design["n_cities"] == PUBLISHED["design"]["cities"]["value"]
    assert len(codebook.dimensions) == PUBLISHED["design"]["overlap_dimensions"]["value"]


def test_different_seeds_give_different_projects():
    codebook, regions = read_yaml(CODEBOOK_PATH), read_regions(PROVINCES)
    a, b = build_files(1, codebook, regions), build_files(2, codebook, regions)
    assert a[FILES["documents"]] != b[FILES["documents"]]
    assert a[FILES["interviews"]] != b[FILES["interviews"]]
