"""The raw-data manifest: checksums verified before use, registered on purpose."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from paperkit.manifest import ManifestError, main, register, sha256_file, verify_manifest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    raw = tmp_path / "data" / "raw"
    (raw / "survey").mkdir(parents=True)
    (raw / "interviews").mkdir()
    (raw / "survey" / "export.csv").write_bytes(b"respondent_id\nR1\n")
    (raw / "interviews" / "a.qdpx").write_bytes(b"PK\x03\x04")
    (raw / "survey" / ".gitkeep").write_bytes(b"")
    return tmp_path


MANIFEST = "data/raw/MANIFEST.sha256"


def test_sha256_file_matches_hashlib(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert sha256_file(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_register_writes_sorted_relative_sha256sum_lines(project):
    register([], MANIFEST, project)
    lines = (project / MANIFEST).read_text().splitlines()
    assert [line.split("  ")[1] for line in lines] == [
        "data/raw/interviews/a.qdpx", "data/raw/survey/export.csv"]
    digest = sha256_file(project / "data/raw/survey/export.csv")
    assert f"{digest}  data/raw/survey/export.csv" in lines
    verify_manifest(MANIFEST, project)


def test_changed_raw_file_stops_with_message_on_how_to_register(project):
    register([], MANIFEST, project)
    (project / "data/raw/survey/export.csv").write_bytes(b"respondent_id\nR2\n")
    with pytest.raises(ManifestError) as info:
        verify_manifest(MANIFEST, project)
    message = str(info.value)
    assert "data/raw/survey/export.csv: changed since it was registered" in message
    assert ("python -m paperkit.manifest register --manifest data/raw/MANIFEST.sha256 "
            "data/raw/survey/export.csv") in message


def test_registering_one_file_keeps_the_other_entries(project):
    register([], MANIFEST, project)
    before = (project / MANIFEST).read_text().splitlines()
    (project / "data/raw/survey/export.csv").write_bytes(b"respondent_id\nR9\n")
    register(["data/raw/survey/export.csv"], MANIFEST, project)
    after = (project / MANIFEST).read_text().splitlines()
    assert before[0] == after[0] and before[1] != after[1]
    verify_manifest(MANIFEST, project)


def test_unregistered_and_missing_files_are_reported(project):
    register(["data/raw/survey/export.csv"], MANIFEST, project)
    with pytest.raises(ManifestError, match="a.qdpx: not registered"):
        verify_manifest(MANIFEST, project)
    register([], MANIFEST, project)
    (project / "data/raw/interviews/a.qdpx").unlink()
    with pytest.raises(ManifestError, match="a.qdpx: registered but missing"):
        verify_manifest(MANIFEST, project)


def test_missing_manifest_and_malformed_line_are_errors(project):
    with pytest.raises(ManifestError, match="manifest not found"):
        verify_manifest(MANIFEST, project)
    (project / MANIFEST).write_text("abc data/raw/survey/export.csv\n")
    with pytest.raises(ManifestError, match=r"MANIFEST.sha256:1: malformed line"):
        verify_manifest(MANIFEST, project)


def test_required_path_outside_root_is_refused(project, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere") / "x.csv"
    other.write_text("x")
    with pytest.raises(ManifestError, match="outside the project root"):
        register([other], MANIFEST, project)


def test_cli_register_then_verify(project, capsys):
    args = ["--manifest", MANIFEST, "--root", str(project)]
    assert main(["register", *args]) == 0
    assert main(["verify", *args]) == 0
    (project / "data/raw/survey/export.csv").write_bytes(b"tampered\n")
    assert main(["verify", *args]) == 1
    assert "changed since it was registered" in capsys.readouterr().err


def test_verifying_named_paths_checks_only_those_files(project):
    register(["data/raw/survey/export.csv"], MANIFEST, project)
    verify_manifest(MANIFEST, project, ["data/raw/survey/export.csv"])  # a.qdpx not needed
    with pytest.raises(ManifestError, match="a.qdpx: not registered"):
        verify_manifest(MANIFEST, project, ["data/raw/interviews/a.qdpx"])
    (project / "data/raw/survey/export.csv").write_bytes(b"changed\n")
    with pytest.raises(ManifestError, match="export.csv: changed since it was registered"):
        verify_manifest(MANIFEST, project, [project / "data/raw/survey/export.csv"])
