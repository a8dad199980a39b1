"""Checksums of the raw data (data/raw/MANIFEST.sha256).

Raw files are read-only inputs: the build refuses to run on a raw file whose bytes
differ from the registered checksum, so a silently replaced or damaged export cannot
change the paper. Authors who hold the real data replace the files and register them
on purpose with one command::

    python -m paperkit.manifest register --manifest data/raw/MANIFEST.sha256 [paths...]
    python -m paperkit.manifest verify --manifest data/raw/MANIFEST.sha256

The manifest has ``sha256sum`` format, ``<sha256>  <path>`` per line, sorted by path,
paths relative to the project root, so ``sha256sum -c`` works from the root too.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from paperkit.io import write_text

REGISTER_HINT = "python -m paperkit.manifest register --manifest {manifest} {paths}"
_IGNORED_NAMES = {".gitkeep", ".gitignore", "README.md", "README"}


class ManifestError(RuntimeError):
    """A raw file does not match, or is missing from, the manifest."""


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks so large exports do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _relative(path: str | Path, root: Path) -> str:
    resolved = (root / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError as exc:
        raise ManifestError(f"{path}: outside the project root {root}") from exc


def read_manifest(manifest_path: str | Path) -> dict[str, str]:
    """Path -> checksum; a malformed line is an error naming the line."""
    entries: dict[str, str] = {}
    manifest_path = Path(manifest_path)
    if not manifest_path.exists():
        return entries
    for number, line in enumerate(manifest_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ManifestError(
                f"{manifest_path}:{number}: malformed line {line!r}; expected '<sha256>  <path>'"
            )
        entries[rel.lstrip("*")] = digest
    return entries


def registered(manifest_path: str | Path, paths: Iterable[str | Path], root: str | Path = "."
               ) -> dict[str, str | None]:
    """Each path's registered checksum (None when not registered), keyed as given.

    A workflow hands these to the rules that read raw files as parameters: a rule then
    verifies exactly its own inputs without reading the manifest, and registering one
    file reruns only the rules whose checksum changed.
    """
    root = Path(root)
    entries = read_manifest(manifest_path if Path(manifest_path).is_absolute()
                            else root / manifest_path)
    return {str(p): entries.get(_relative(p, root)) for p in paths}


def verify_registered(checksums: Mapping[str, str | None],
                      register_hint: str | None = None) -> None:
    """Raise ManifestError unless every file (path -> registered checksum) matches."""
    problems = [f"{path}: not registered in the raw-data manifest" if digest is None
                else f"{path}: {p}" for path, digest in checksums.items()
                if digest is None or (p := _file_problem(Path(path), digest))]
    if problems:
        raise ManifestError(
            "raw data do not match the registered checksums:\n  " + "\n  ".join(problems)
            + "\nRaw files are read-only to the pipeline. If you replaced them on purpose "
            "(e.g. with the real data), register them with:\n  "
            + (register_hint or REGISTER_HINT.format(manifest="<manifest>",
                                                     paths=" ".join(checksums))))


def format_manifest(entries: dict[str, str]) -> str:
    return "".join(f"{digest}  {rel}\n" for rel, digest in sorted(entries.items()))


def _data_files(directory: Path, manifest_path: Path) -> list[Path]:
    return sorted(
        p for p in directory.rglob("*")
        if p.is_file() and p.resolve() != manifest_path.resolve()
        and p.name not in _IGNORED_NAMES and not p.name.startswith(".")
    )


def verify_manifest(manifest_path: str | Path, root: str | Path,
                    paths: Iterable[str | Path] | None = None, *,
                    digests: Mapping[str, str] | None = None,
                    register_hint: str | None = None) -> None:
    """Raise ManifestError unless the raw files match their registered checksums.

    With ``paths`` only those files are checked (each must be registered and match): a
    stage verifies exactly the raw files it reads. Without, every registered file is
    checked, and files next to the manifest (under its directory) that are not registered
    are errors too: an unregistered raw file is what this check exists to catch.
    ``digests`` (relative path -> sha256, computed just before) spares hashing a file
    twice; ``register_hint`` is the command the message tells the author to run
    (default: this module's command line with the files' paths).
    """
    root, manifest_path = Path(root), Path(manifest_path)
    if not manifest_path.is_absolute():
        manifest_path = root / manifest_path
    try:  # the hint names the manifest as the author would type it, from the project root
        given = manifest_path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        given = manifest_path.as_posix()
    if not manifest_path.exists():
        raise ManifestError(
            f"{manifest_path}: raw-data manifest not found; register the raw files with: "
            + REGISTER_HINT.format(manifest=given, paths="").rstrip()
        )
    entries = read_manifest(manifest_path)
    if paths is None:
        checked = sorted(entries)
        present = {_relative(p, root) for p in _data_files(manifest_path.parent, manifest_path)}
        unregistered = sorted(present - set(entries))
    else:
        wanted = sorted({_relative(p, root) for p in paths})
        checked = [rel for rel in wanted if rel in entries]
        unregistered = [rel for rel in wanted if rel not in entries]
    known = digests or {}
    problems = [f"{rel}: {p}" for rel in checked
                if (p := _file_problem(root / rel, entries[rel], known.get(rel)))]
    problems += [f"{rel}: not registered in the manifest" for rel in unregistered]
    if problems:
        names = " ".join(sorted({p.split(": ")[0] for p in problems}))
        raise ManifestError(
            f"{manifest_path}: raw data do not match the registered checksums:\n  "
            + "\n  ".join(problems)
            + "\nRaw files are read-only to the pipeline. If you replaced them on purpose "
            "(e.g. with the real data), register them with:\n  "
            + (register_hint or REGISTER_HINT.format(manifest=given, paths=names))
        )


def _file_problem(path: Path, digest: str, known: str | None = None) -> str | None:
    if not path.is_file():
        return "registered but missing"
    if (known or sha256_file(path)) != digest:
        return "changed since it was registered (sha256 differs)"
    return None


def register(paths: Sequence[str | Path], manifest_path: str | Path, root: str | Path) -> None:
    """Record the current checksums of ``paths`` (default: every file under the manifest's
    directory) and drop entries whose files no longer exist."""
    root, manifest_path = Path(root), Path(manifest_path)
    if not manifest_path.is_absolute():
        manifest_path = root / manifest_path
    targets = [root / p if not Path(p).is_absolute() else Path(p) for p in paths]
    if not targets:
        targets = _data_files(manifest_path.parent, manifest_path)
    entries = {rel: d for rel, d in read_manifest(manifest_path).items() if (root / rel).is_file()}
    for path in targets:
        if not path.is_file():
            raise ManifestError(f"{path}: cannot register, no such file")
        entries[_relative(path, root)] = sha256_file(path)
    write_text(manifest_path, format_manifest(entries))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperkit.manifest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["register", "verify"])
    parser.add_argument("paths", nargs="*", help="files to register (default: all raw files)")
    parser.add_argument("--manifest", required=True, help="the manifest, relative to --root")
    parser.add_argument("--root", default=".", help="the project directory (default: here)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    manifest = args.manifest
    try:
        if args.command == "register":
            register(args.paths, manifest, root)
            print(f"registered {len(read_manifest(root / manifest))} file(s) in {manifest}")
        else:
            verify_manifest(manifest, root, args.paths or None)
            print(f"{manifest}: all raw files match")
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
