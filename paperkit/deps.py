"""Code dependencies of a rule, derived from what its script imports.

A rule's program is its script plus every first-party module the script imports,
directly or through other modules, plus the non-Python files those modules read
(a Lua filter, a template, a CSL style). Listing these by hand drifts: a restyled
figure module or an edited filter would never reach the paper. Here they are
derived from the source, the way R targets derives a target's dependencies.

Imports are read with :mod:`ast` (nothing is executed). A module's resource files
are the files or folders next to it that a string literal in its source names
(``Path(__file__).parent / "filters"``; names without spaces), so a module declares
what it reads by reading it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from paperkit import ipynb
from paperkit.io import write_text


def _module_file(name: str, root: Path) -> Path | None:
    """The source file of dotted module ``name`` under ``root``, if it is first-party."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_inits(name: str, root: Path) -> Iterator[Path]:
    """``__init__.py`` of every package on the way to ``name``: importing runs them all."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        init = root.joinpath(*parts[:i], "__init__.py")
        if init.is_file():
            yield init


def _source_code(path: Path) -> str:
    """Python source of a module, or the code cells of a notebook."""
    if path.suffix == ipynb.SUFFIX:
        return ipynb.python_source(ipynb.read_notebook(path))
    return path.read_text(encoding="utf-8")


# What each source file imports and names, by the hash of its content: every Snakemake
# start derives the rules' code inputs, and parsing ~80 modules each time costs ~0.3 s.
# Keyed by content (never by file time), so an edited file is always parsed again.
CACHE_FILE = Path(".snakemake") / "paperkit-deps.json"
_CACHE: dict[Path, dict[str, list[list[str]]]] = {}  # root -> key -> [names, strings]
_DIRTY: set[Path] = set()


def _cache_for(root: Path) -> dict[str, list[list[str]]]:
    if root not in _CACHE:
        try:
            data = json.loads((root / CACHE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        _CACHE[root] = data if isinstance(data, dict) else {}
    return _CACHE[root]


def _save_cache(root: Path) -> None:
    """Write the cache atomically (parallel Snakemake starts may race; any one wins)."""
    if root not in _DIRTY or not (root / CACHE_FILE.parent).is_dir():
        return
    try:
        write_text(root / CACHE_FILE, json.dumps(_CACHE[root], sort_keys=True))
    except OSError:
        return  # a read-only checkout: derive again next time
    _DIRTY.discard(root)


@cache
def _scan(path: Path, root: Path) -> tuple[frozenset[str], frozenset[str]]:
    """What a module imports (``from a import b`` gives a and a.b) and the string literals
    that could name a resource file, from the cache or one pass over its syntax tree."""
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    package = ".".join(rel.with_suffix("").parts[:-1])
    # the package too: relative imports resolve against it
    key = f"{package}:{path.suffix}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    cache_ = _cache_for(root)
    if key not in cache_:
        names, strings = _parse(path, package)
        cache_[key] = [sorted(names), sorted(strings)]
        _DIRTY.add(root)
    names, strings = cache_[key]
    return frozenset(names), frozenset(strings)


def _parse(path: Path, package: str) -> tuple[frozenset[str], frozenset[str]]:
    tree = ast.parse(_source_code(path), filename=str(path))
    names: set[str] = set()
    strings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and _could_name_resource(node.value)):
            strings.add(node.value)
    return frozenset(names), frozenset(strings)


def _imported_names(path: Path, root: Path) -> frozenset[str]:
    """Dotted names of the modules ``path`` imports."""
    return _scan(path, root)[0]


@cache
def _resources(path: Path, root: Path) -> frozenset[Path]:
    """Files next to a module that its source names in a string literal."""
    if path.suffix != ".py":
        return frozenset()
    found: set[Path] = set()
    for text in _scan(path, root)[1]:
        if not _could_name_resource(text):
            continue
        target = path.parent / text
        try:
            if target.is_file():
                found.add(target)
            elif (target.is_dir() and target != path.parent
                  and not (target / "__init__.py").is_file()):  # a package is code: imports
                found.update(p for p in target.rglob("*")
                             if p.is_file() and "__pycache__" not in p.parts)
        except OSError:
            continue
    return frozenset(found)


RESOURCE_NAME = re.compile(r"[\w.\-/]+")  # resource files are named without spaces


def _could_name_resource(text: str) -> bool:
    """A relative path below the module's folder (no absolute paths, no ``..``)."""
    if len(text) > 200 or not RESOURCE_NAME.fullmatch(text) or text.endswith(".py"):
        return False
    parts = Path(text).parts
    return not Path(text).is_absolute() and ".." not in parts and text not in (".", "./")


@cache
def _direct(path: Path, root: Path, packages: tuple[str, ...]) -> frozenset[Path]:
    deps: set[Path] = set()
    for name in _imported_names(path, root):
        if name.split(".")[0] not in packages:
            continue
        deps.update(_package_inits(name, root))
        module = _module_file(name, root)
        if module is not None:
            deps.add(module)
    return frozenset(deps)


def code_closure(entries: Iterable[str | Path], root: str | Path,
                 packages: Iterable[str]) -> list[str]:
    """Every file the programs ``entries`` run or read, as paths relative to ``root``.

    Parameters
    ----------
    entries
        Rule scripts or notebooks (relative to ``root`` or absolute).
    root
        The project directory holding the first-party packages.
    packages
        Names of the first-party top-level packages (third-party imports are ignored:
        the lock file pins them).

    Returns
    -------
    list of str
        Sorted POSIX paths: the entries, the transitive first-party imports with their
        package ``__init__`` files, and the resource files those modules name.
    """
    root = Path(root).resolve()
    pkgs = tuple(sorted(packages))
    todo = [(root / e).resolve() for e in entries]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_direct(path, root, pkgs) - seen)
    files = set(seen)
    for path in seen:
        files |= _resources(path, root)
    _save_cache(root)
    # a kit installed outside the project is a pinned package, not the project's code
    return sorted(p.relative_to(root).as_posix() for p in files if p.is_relative_to(root))
