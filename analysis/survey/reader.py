"""Read a raw survey export (CSV, SPSS .sav, Stata .dta) without trusting it.

Vendors deliver CSV in UTF-8, UTF-8 with BOM or GB18030/GBK, and exports break in a
handful of familiar ways (wrong delimiter, a download cut off mid-line, an Excel title
row above the header, an empty file). Each is detected here and reported as a
:class:`SurveyReadError` naming the file, line and problem, before any value is
interpreted. CSV cells are returned as strings (blank = NA); typing is validation's job,
so that a bad value is reported with its rule rather than silently coerced.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Encodings tried in order for a CSV without a byte-order mark. GB18030 is a superset
#: of GBK and GB2312, so it also reads files labelled as either.
CSV_ENCODINGS = ("utf-8", "gb18030")
_SUSPECT_DELIMITERS = (";", "\t", "|")
_HEADER_SEARCH_LINES = 20
_MAX_LISTED = 10
_SNIFF_BYTES = 1 << 16


class SurveyReadError(ValueError):
    """The file cannot be read as a survey export; the message says why and where."""


@dataclass
class SurveyData:
    """A raw export as read: cells untyped, plus where each row came from."""

    path: str
    format: str  # csv | sav | dta
    frame: pd.DataFrame
    lines: pd.Series  # physical line (CSV) or record number (sav/dta) of each row
    encoding: str | None = None
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    variable_labels: dict[str, str] = field(default_factory=dict)


def read_survey(path: str | Path, expected_columns: Sequence[str] | None = None) -> SurveyData:
    """Read a raw export by its extension; ``expected_columns`` helps locate the header."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise SurveyReadError(f"{path}: file not found")
    if suffix in (".csv", ".txt"):
        return read_csv_export(path, expected_columns)
    if suffix in (".sav", ".zsav", ".dta"):
        return read_labelled(path)
    raise SurveyReadError(f"{path}: unsupported file type '{suffix}' (use .csv, .sav or .dta)")


# --- CSV ---------------------------------------------------------------------------


def _bad_byte(data: bytes, exc: UnicodeDecodeError, codec: str) -> str:
    line = data[: exc.start].count(b"\n") + 1
    return f"{codec}: invalid byte {data[exc.start]:#04x} on line {line}"


def decode_bytes(data: bytes, path: str | Path = "<bytes>") -> tuple[str, str]:
    """Return (text, encoding name reported to the user); reject undecodable input."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise SurveyReadError(
            f"{path}: wrong encoding: the file looks like UTF-16 (NUL bytes / UTF-16 BOM); "
            "re-export it as UTF-8 or GB18030 CSV"
        )
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    candidates = (("utf-8", "utf-8-sig (UTF-8 with BOM)"),) if bom else tuple(
        (c, c) for c in CSV_ENCODINGS)
    failures = []
    for codec, reported in candidates:
        try:
            return body.decode(codec), reported
        except UnicodeDecodeError as exc:
            failures.append(_bad_byte(body, exc, codec))
    raise SurveyReadError(
        f"{path}: wrong encoding: not readable as UTF-8, UTF-8 with BOM or GB18030/GBK ("
        + "; ".join(failures)
        + ")"
    )


def _reject_binary(path: Path) -> None:
    """Refuse a binary file from its first bytes, before the whole file is read.

    NUL bytes never occur in a UTF-8 or GB18030 CSV. UTF-16 text has them at every other
    position and is left to :func:`decode_bytes`, which names that encoding; anything else
    with NUL bytes (an archive, a spreadsheet, a corrupted download) is rejected here, so a
    multi-gigabyte file of garbage fails at once instead of being loaded into memory.
    """
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return
    even, odd = head[0::2], head[1::2]
    if any(h.count(0) > 0.9 * len(h) and o.count(0) < 0.1 * len(o)
           for h, o in ((even, odd), (odd, even))):
        return  # UTF-16 without a byte-order mark
    raise SurveyReadError(
        f"{path}: not a text file: binary data (NUL bytes) in the first "
        f"{len(head):,} bytes; expected a comma-separated CSV export"
    )


def _parse_rows(text: str, path: Path) -> list[tuple[int, list[str]]]:
    """Split CSV text into (physical line, fields), skipping fully blank lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SurveyReadError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from exc
    return rows


def _check_delimiter(header: list[str], path: Path) -> None:
    if len(header) != 1:
        return
    for delim in _SUSPECT_DELIMITERS:
        if delim in header[0]:
            shown = {"\t": "tab", ";": "semicolon", "|": "pipe"}[delim]
            raise SurveyReadError(
                f"{path}: wrong delimiter: line 1 is a single column containing the {shown} "
                f"character; the export must be comma-separated"
            )
    raise SurveyReadError(f"{path}: line 1 has a single column; the export must be comma-separated")


def _find_header(
    rows: list[tuple[int, list[str]]], expected: Sequence[str] | None, path: Path
) -> None:
    """Reject a title row or blank rows above the real header (Excel 'Save as CSV')."""
    first_line, header = rows[0]
    names = [h.strip() for h in header]
    expected_set = set(expected or ())
    if expected_set and len(expected_set & set(names)) >= max(1, len(expected_set) // 2):
        _check_blank_names(names, first_line, path)
        return
    for line, fields in rows[1:_HEADER_SEARCH_LINES]:
        cells = {f.strip() for f in fields}
        looks_like_header = (
            len(expected_set & cells) >= max(1, len(expected_set) // 2)
            if expected_set
            else ("respondent_id" in cells)
        )
        if looks_like_header:
            raise SurveyReadError(
                f"{path}: header row offset: the column names are on line {line}, not line "
                f"{first_line}; line(s) above it hold a title or notes (Excel export?). Delete "
                f"them so the header is the first line"
            )
    _check_blank_names(names, first_line, path)


def _check_blank_names(names: list[str], line: int, path: Path) -> None:
    """A blank column name: a title row, an offset header or merged Excel header cells."""
    if "" in names:
        blank = names.index("")
        raise SurveyReadError(
            f"{path}: line {line}: header cell {blank + 1} is blank (a title row, an "
            "Excel export with an offset header, or merged header cells?)"
        )


def _check_shape(
    rows: list[tuple[int, list[str]]], ends_with_newline: bool, path: Path
) -> None:
    width = len(rows[0][1])
    last_line, last = rows[-1]
    if not ends_with_newline:
        detail = (
            f"it has {len(last)} of {width} fields"
            if len(last) != width
            else "the file does not end with a newline"
        )
        raise SurveyReadError(
            f"{path}: truncated last line {last_line}: {detail}; the file was probably cut off "
            "during download or export (re-download it; a complete export ends with a newline)"
        )
    bad = [(line, len(fields)) for line, fields in rows[1:] if len(fields) != width]
    if bad:
        listed = ", ".join(f"line {ln} has {n}" for ln, n in bad[:_MAX_LISTED])
        more = f" (and {len(bad) - _MAX_LISTED} more)" if len(bad) > _MAX_LISTED else ""
        raise SurveyReadError(
            f"{path}: {len(bad)} row(s) do not have the header's {width} fields: {listed}{more}"
        )


def read_csv_export(path: str | Path, expected_columns: Sequence[str] | None = None) -> SurveyData:
    """Read a vendor CSV, detecting its encoding and rejecting broken layouts."""
    path = Path(path)
    _reject_binary(path)
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SurveyReadError(f"{path}: empty file (no header, no data)")
    text, reported = decode_bytes(data, path)
    rows = _parse_rows(text, path)
    _check_delimiter(rows[0][1], path)
    _find_header(rows, expected_columns, path)
    if len(rows) == 1:
        raise SurveyReadError(f"{path}: header only: the file has column names but no data rows")
    _check_shape(rows, text.endswith(("\n", "\r")), path)
    header = [h.strip() for h in rows[0][1]]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise SurveyReadError(f"{path}: line {rows[0][0]}: duplicated column name(s) {dupes}")
    records = [[cell.strip() for cell in fields] for _, fields in rows[1:]]
    frame = pd.DataFrame(records, columns=header, dtype=object).replace("", pd.NA)
    lines = pd.Series([ln for ln, _ in rows[1:]], index=frame.index, name="line")
    return SurveyData(str(path), "csv", frame, lines, encoding=reported)


# --- SPSS / Stata ------------------------------------------------------------------


def read_labelled(path: str | Path) -> SurveyData:
    """Read .sav/.dta with pyreadstat, keeping value and variable labels."""
    import pyreadstat

    path = Path(path)
    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else pyreadstat.read_sav
    try:
        frame, meta = reader(str(path), apply_value_formats=False)
    except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
        raise SurveyReadError(f"{path}: cannot read {path.suffix} file ({exc})") from exc
    if frame.shape[1] == 0:
        raise SurveyReadError(f"{path}: empty file (no variables)")
    if frame.shape[0] == 0:
        raise SurveyReadError(f"{path}: header only: the file has variables but no cases")
    labels = {
        col: {int(k): str(v) for k, v in mapping.items()}
        for col, mapping in (meta.variable_value_labels or {}).items()
    }
    var_labels = {
        c: lab for c, lab in zip(meta.column_names, meta.column_labels or [], strict=False) if lab
    }
    frame = frame.reset_index(drop=True)
    for col in frame.columns:
        if pd.api.types.is_object_dtype(frame[col]) or pd.api.types.is_string_dtype(frame[col]):
            frame[col] = frame[col].astype(object).mask(frame[col].isna() | frame[col].eq(""))
    lines = pd.Series(range(1, len(frame) + 1), index=frame.index, name="line")
    fmt = path.suffix.lower().lstrip(".").replace("zsav", "sav")
    return SurveyData(str(path), fmt, frame, lines, None, labels, var_labels)
