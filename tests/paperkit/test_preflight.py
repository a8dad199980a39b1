"""The pre-flight step: content, not file times, decides what is stale; stale locks go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperkit.freshness import STALE_MTIME_NS, Digests, write_record
from paperkit.manifest import ManifestError, register
from paperkit.preflight import preflight

OLD = 1_500_000_000_000_000_000  # an mtime years ago, in ns


def _file(root: Path, rel: str, data: bytes, mtime_ns: int = OLD) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def _built(root: Path, out: str, *inputs: str) -> None:
    """``out`` made from ``inputs`` as they are now (what a finished job records)."""
    _file(root, out, b"made")
    digests = Digests(root)
    write_record([out], {rel: digests(rel) for rel in inputs}, root)


def test_an_output_built_from_other_content_is_invalidated_until_the_content_is_back(
        tmp_path: Path):
    _file(tmp_path, "data/a.csv", b"1,2\n")
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    _built(tmp_path, "out/a.txt", "data/a.csv")
    made = (tmp_path / "out/a.txt").stat().st_mtime_ns
    assert preflight(tmp_path, [], "data/raw/MANIFEST.sha256", "x", outputs=["out/a.txt"]) == {}
    _file(tmp_path, "data/a.csv", b"1,3\n")  # `cp -p`: new bytes, the old mtime
    assert list(preflight(tmp_path, [], "data/raw/MANIFEST.sha256", "x",
                          outputs=["out/a.txt"])) == ["out/a.txt"]
    assert (tmp_path / "out/a.txt").stat().st_mtime_ns == STALE_MTIME_NS  # older than any input
    assert (tmp_path / "out/a.txt").read_bytes() == b"made"
    assert (tmp_path / "data/a.csv").stat().st_mtime_ns == OLD  # the input untouched
    _file(tmp_path, "data/a.csv", b"1,2\n")  # put back before any rebuild
    assert preflight(tmp_path, [], "data/raw/MANIFEST.sha256", "x", outputs=["out/a.txt"]) == {}
    assert (tmp_path / "out/a.txt").stat().st_mtime_ns == made


def test_touching_an_input_without_changing_it_keeps_the_output(tmp_path: Path):
    _file(tmp_path, "a.txt", b"x")
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    _built(tmp_path, "out.txt", "a.txt")
    _file(tmp_path, "a.txt", b"x", mtime_ns=OLD + 10**12)
    assert preflight(tmp_path, [], "data/raw/MANIFEST.sha256", "x", outputs=["out.txt"]) == {}
    assert (tmp_path / "out.txt").exists()


def test_an_output_downstream_of_a_stale_one_takes_the_paper_with_it(tmp_path: Path):
    _file(tmp_path, "a.txt", b"x")
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    _built(tmp_path, "mid.txt", "a.txt")
    _built(tmp_path, "paper/p.html", "mid.txt")
    _file(tmp_path, "a.txt", b"y")
    stale = preflight(tmp_path, [], "data/raw/MANIFEST.sha256", "x",
                      outputs=["mid.txt", "paper/p.html"], paper=["paper/p.html"])
    assert list(stale) == ["mid.txt"]
    assert "a.txt" in (tmp_path / "paper/OUT_OF_DATE.txt").read_text()


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
    preflight(tmp_path, ["data/raw/x.csv"], "data/raw/MANIFEST.sha256", "make register-data")
    assert raw.stat().st_mtime_ns == OLD


def test_preflight_releases_the_lock_of_a_killed_build(tmp_path: Path):
    lock = _file(tmp_path, ".snakemake/locks/0.input.lock", b"x")
    register([], "data/raw/MANIFEST.sha256", tmp_path)
    preflight(tmp_path, [], "data/raw/MANIFEST.sha256", "make register-data")
    assert not lock.exists()
