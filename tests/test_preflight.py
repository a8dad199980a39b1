"""The pre-flight step: content, not file times, decides what is new; stale locks go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperkit.manifest import ManifestError, register
from paperkit.preflight import RECORD, mark_changed, preflight, scan_inputs

OLD = 1_500_000_000_000_000_000  # an mtime years ago, in ns


def _file(root: Path, rel: str, data: bytes, mtime_ns: int = OLD) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def _sync(root: Path, rels: list[str]) -> list[str]:
    scan = scan_inputs(rels, root)
    mark_changed(scan, root)
    return scan.changed


def test_content_changed_under_an_old_mtime_is_marked_new(tmp_path: Path):
    path = _file(tmp_path, "data/a.csv", b"1,2\n")
    assert _sync(tmp_path, ["data/a.csv"]) == []  # first sight: recorded, not marked
    _file(tmp_path, "data/a.csv", b"1,3\n")  # `cp -p`: new bytes, the old mtime
    assert _sync(tmp_path, ["data/a.csv"]) == ["data/a.csv"]
    assert path.stat().st_mtime_ns > OLD
    assert path.read_bytes() == b"1,3\n"
    assert _sync(tmp_path, ["data/a.csv"]) == []


def test_unchanged_content_is_never_marked_even_when_touched(tmp_path: Path):
    path = _file(tmp_path, "a.txt", b"x")
    _sync(tmp_path, ["a.txt"])
    _file(tmp_path, "a.txt", b"x", mtime_ns=OLD + 10**12)
    assert _sync(tmp_path, ["a.txt"]) == []
    assert path.stat().st_mtime_ns == OLD + 10**12


def test_a_build_without_a_record_marks_every_input_once(tmp_path: Path):
    _file(tmp_path, "a.txt", b"x")
    (tmp_path / ".snakemake/metadata").mkdir(parents=True)
    (tmp_path / ".snakemake/metadata/x").write_text("{}")
    assert _sync(tmp_path, ["a.txt"]) == ["a.txt"]
    assert _sync(tmp_path, ["a.txt"]) == []
    assert (tmp_path / RECORD).is_file()


def test_unregistered_raw_change_stops_before_anything_is_touched(tmp_path: Path):
    raw = _file(tmp_path, "data/raw/x.csv", b"a\n")
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    preflight(tmp_path, ["data/raw/x.csv"], "data/raw/MANIFEST.sha256", "make register-data")
    _file(tmp_path, "data/raw/x.csv", b"b\n")
    with pytest.raises(ManifestError, match=r"data/raw/x.csv: changed since it was registered"
                       r"[\s\S]*make register-data"):
        preflight(tmp_path, ["data/raw/x.csv"], "data/raw/MANIFEST.sha256", "make register-data")
    assert raw.stat().st_mtime_ns == OLD and raw.read_bytes() == b"b\n"
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    scan = preflight(tmp_path, ["data/raw/x.csv"], "data/raw/MANIFEST.sha256", "make register-data")
    assert scan.changed == ["data/raw/x.csv"] and raw.stat().st_mtime_ns > OLD


def test_preflight_releases_the_lock_of_a_killed_build(tmp_path: Path):
    lock = _file(tmp_path, ".snakemake/locks/0.input.lock", b"x")
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    preflight(tmp_path, [], "data/raw/MANIFEST.sha256", "make register-data")
    assert not lock.exists()
