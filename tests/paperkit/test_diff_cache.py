"""The cache of base builds of paperkit.diff: used bases stay, old ones go."""

from __future__ import annotations

import os
from pathlib import Path

from paperkit.diff import STAMP, main, prune


def _base(cache: Path, name: str, used: float) -> None:
    (cache / name).mkdir(parents=True)
    (cache / name / STAMP).write_text('{"ok": true}')
    os.utime(cache / name / STAMP, (used, used))


def test_prune_keeps_the_current_base_and_the_most_recently_used_ones(tmp_path):
    for name, used in [("a", 100), ("b", 300), ("c", 200), ("d", 50), ("current", 10)]:
        _base(tmp_path, name, used)
    assert prune(tmp_path, 3, "current") == ["a", "d"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c", "current"]


def test_prune_with_keep_one_leaves_only_the_current_base(tmp_path):
    for name, used in [("a", 100), ("current", 10)]:
        _base(tmp_path, name, used)
    assert prune(tmp_path, 1, "current") == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["current"]


def test_prune_of_a_missing_cache_removes_nothing(tmp_path):
    assert prune(tmp_path / "none", 3, "x") == []


def test_keep_below_one_is_refused_before_anything_is_built(tmp_path, capsys):
    assert main(["--base", "HEAD", "--root", str(tmp_path), "--keep", "0"]) == 2
    assert "--keep 0" in capsys.readouterr().err
