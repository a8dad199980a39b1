"""Small I/O helpers shared by every stage.

Outputs are written to a temporary file in the target directory and renamed into
place, so that an interrupted or failed step never leaves a half-written file that
a later build could mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give outputs the usual permissions (0666 - umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def copy_if_changed(source: Path, target: Path) -> bool:
    """Copy ``source`` onto ``target`` atomically unless the content is already the same
    (a preview watching the target's folder is then woken only by real changes)."""
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return False
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
        tmp.chmod(0o644)
    return True


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically with Unix newlines."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically, keys sorted, so that two builds give identical bytes."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


class YamlError(yaml.YAMLError, ValueError):
    """A YAML file is malformed or repeats a key; the message names the file and line."""


# libyaml's parser when PyYAML has it (it does in the pinned wheels): the variables file
# of a paper is read on every preview render, and the pure-Python parser takes ~0.5 s.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that refuses a key given twice in one mapping.

    Plain YAML keeps the last value silently: a second ``cap:`` or a second section
    would quietly change the analysis.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.setdefault(key, line)
            except TypeError:  # unhashable key: SafeLoader reports it below
                continue
            if first != line:
                raise YamlError(
                    f"{self.name}: line {line}: duplicate key '{key}' (first given at line "
                    f"{first}); a key may appear only once in a mapping"
                )
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text strictly; errors name ``source`` and the line."""
    loader = _StrictLoader(text)
    loader.name = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}: line {mark.line + 1}" if mark else source
        raise YamlError(f"{where}: not valid YAML: {exc.problem or exc}") from None
    finally:
        loader.dispose()


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Read a YAML file strictly: one loader for every YAML the project reads."""
    return parse_yaml(Path(path).read_text(encoding="utf-8"), source=str(path))


def write_yaml(path: str | os.PathLike[str], data: Any) -> None:
    """Write YAML atomically with a stable key order."""
    write_text(path, yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=1000))


def write_parquet(path: str | os.PathLike[str], frame: Any) -> None:
    """Write a DataFrame to Parquet atomically, without the pandas index."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def replace_dir(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Put the finished directory ``source`` at ``target``, replacing what was there.

    ``source`` is copied next to ``target`` first (same file system), then swapped in
    with renames, so a reader sees either the old or the new directory, never a mix.
    """
    import shutil

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    old = staging.with_name(staging.name + ".old")
    try:
        shutil.copytree(source, staging / "new", symlinks=False)
        if target.exists():
            target.rename(old)
        (staging / "new").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
