"""The leak gate: nothing is written that holds a participant's words or a private name.

Whatever de-identified the data, the gate checks the result. Every file that would be
written is read the way a person could read it (XML and HTML with tags dropped and
entities resolved, JSON strings decoded, DOCX text joined, PDF text extracted with
``pdftotext``, ZIP members such as a .qdpx opened one by one) and scanned

* for any run of :data:`RUN` words that also occurs in a withheld text (Chinese and
  Japanese characters count as one word each), and
* for every original name that was replaced by a pseudonym (whole words, as written).

A file the gate cannot read as text (a PDF without ``pdftotext``) stops it: it fails
closed. :func:`check` raises :class:`LeakError` naming each file and the run or name
found in it.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

RUN = 6
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(rf"[{CJK}]|[^\W{CJK}]+")
TAG = re.compile(r"<[^>]*>")
DOCX_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml")


class LeakError(RuntimeError):
    """A file would carry withheld text or a replaced name; nothing was written."""


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased (CJK characters one word each)."""
    return WORD.findall(text.lower())


def runs(text: str, n: int = RUN) -> Iterator[tuple[str, ...]]:
    ws = words(text)
    return (tuple(ws[i:i + n]) for i in range(len(ws) - n + 1))


@dataclass(frozen=True)
class Secrets:
    """What must never be written: runs of withheld texts and replaced names."""

    shingles: frozenset[tuple[str, ...]]
    names: tuple[str, ...]

    @classmethod
    def build(cls, texts: Iterable[str], names: Iterable[str]) -> Secrets:
        shingles = frozenset(r for t in texts for r in runs(t))
        return cls(shingles, tuple(sorted({n.strip() for n in names if is_name(n)})))

    def __or__(self, other: Secrets) -> Secrets:
        return Secrets(self.shingles | other.shingles,
                       tuple(sorted(set(self.names) | set(other.names))))

    def without(self, published: Iterable[str]) -> Secrets:
        """The secrets less the runs of quotes the authors cleared for publication."""
        cleared = {r for text in published for r in runs(text)}
        return Secrets(self.shingles - cleared, self.names)

    def name_pattern(self) -> re.Pattern[str] | None:
        return name_pattern(n for n in self.names if is_name(n))


def name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Any of ``names`` as a whole word, longest first (None without names)."""
    names = sorted({n for n in names if n}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(n) for n in names)})(?!\w)")


def is_name(name: str) -> bool:
    """Whether a replaced name can be searched for: a bare number ("12") or a single
    character names nobody and would be found in every position attribute."""
    name = name.strip()
    return len(name) >= 2 and bool(re.search(r"[^\W\d_]", name))


def docx_text(data: bytes) -> str:
    """The text of a DOCX: the runs of each paragraph joined, paragraphs on lines."""
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in sorted(n for n in zf.namelist() if DOCX_PARTS.fullmatch(n)):
            xml = zf.read(name).decode("utf-8", errors="replace")
            for para in re.split(r"</w:p>", xml):
                texts = re.findall(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>", para)
                out.append(html.unescape("".join(texts)))
    return "\n".join(out)


def pdf_text(data: bytes, label: str) -> str:
    """The text of a PDF (pdftotext); the gate fails closed without it."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise LeakError(f"{label}: cannot read the text of this PDF to check it for "
                        "withheld text: install poppler-utils (pdftotext)")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(data)
        tmp.flush()
        proc = subprocess.run([tool, "-q", tmp.name, "-"], capture_output=True)
    if proc.returncode != 0:
        raise LeakError(f"{label}: pdftotext cannot read this PDF, so it cannot be checked")
    return proc.stdout.decode("utf-8", errors="replace")


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="ignore")
    return data.decode("utf-8", errors="ignore")


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)


def views(label: str, data: bytes) -> Iterator[tuple[str, str]]:
    """(label, text) for every way a person could read ``data``; ZIPs member by member."""
    if data[:4] == b"PK\x03\x04":
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            zf = None
        if zf is not None:
            with zf:
                names = zf.namelist()
                yield label, "\n".join(names)
                if "word/document.xml" in names:
                    yield label, docx_text(data)
                for name in names:
                    yield from views(f"{label}!{name}", zf.read(name))
            return
    if data[:5] == b"%PDF-":
        yield label, pdf_text(data, label)
        return
    text = _decode(data)
    yield label, text
    if "<" in text and ">" in text:
        yield label, html.unescape(TAG.sub(" ", text))
        yield label, html.unescape(TAG.sub("", text))
    elif "&" in text:
        yield label, html.unescape(text)
    if text.lstrip()[:1] in ("{", "["):
        try:
            strings = "\n".join(_json_strings(json.loads(text)))
        except ValueError:
            strings = ""
        yield label, strings


def scan(files: dict[str, bytes], secrets: Secrets) -> list[str]:
    """Every leak found, one line each: the file and the run or name it holds."""
    names = secrets.name_pattern()
    hits: list[str] = []
    for path, data in sorted(files.items()):
        found: set[str] = set()
        for label, text in views(path, data):
            if names is not None:
                for m in names.finditer(text):
                    found.add(f"{label}: the original name {m.group(0)!r}")
                    break
            if secrets.shingles:
                run = next((r for r in runs(text) if r in secrets.shingles), None)
                if run is not None:
                    found.add(f"{label}: the withheld words {' '.join(run)!r}")
        hits.extend(sorted(found))
    return hits


def check(files: dict[str, bytes], secrets: Secrets, what: str = "the package") -> None:
    """Raise :class:`LeakError` if any file would carry withheld text or a replaced name."""
    stop_on(scan(files, secrets), what)


def stop_on(hits: list[str], what: str) -> None:
    """Raise :class:`LeakError` listing ``hits`` (the first thirty), if there are any."""
    if hits:
        shown = "\n  ".join(hits[:30])
        more = f"\n  ... and {len(hits) - 30} more" if len(hits) > 30 else ""
        raise LeakError(f"leak gate: {what} would carry withheld text or original names; "
                        f"nothing was written:\n  {shown}{more}")


def write_checked(files: dict[Path, bytes], secrets: Secrets) -> None:
    """Write each file through a temporary file, all only after the gate passed."""
    check({str(p): d for p, d in files.items()}, secrets, "the output")
    tmps = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            tmps.append((tmp, path))
        for tmp, path in tmps:
            tmp.replace(path)
    finally:
        for tmp, _path in tmps:
            tmp.unlink(missing_ok=True)
