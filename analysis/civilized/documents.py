"""Read and validate the documents of design C: the NCCA manual, the SCSP websites and
their coded REFI-QDA project.

The manual (CSV, one row per assessment item with its category, sub-category, Chinese and
English text and page) and the websites' indicator lists (CSV, one row per indicator) say
what the units are; the REFI-QDA project holds one text source per manual item and per
website, named by its ID, with the two coders' codings. A coding of a manual item's
source codes that item; a coding of a website's source codes the indicator on whose line
the selection lies.

Every problem of the three files is collected and reported at once, each naming file,
row or element and rule. Every coding is either assigned to a unit and code, or reported:
none is dropped silently, and the accounting says how many were read and assigned.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.civilized.codebook import (
    CivilizedCodebook,
    CivilizedError,
    coder_name,
    match_codes,
    raise_if,
    unmapped_codings,
)
from analysis.qda.qdpx import Project, read_qdpx

MANUAL_COLUMNS = ("item_id", "category_id", "category_zh", "category_en", "subcategory_id",
                  "subcategory_zh", "subcategory_en", "item_zh", "item_en", "page")
WEBSITE_COLUMNS = ("website_id", "city", "province", "indicator_id", "indicator_zh",
                   "indicator_en")
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class Documents:
    """The units of the document analysis and the codings assigned to them."""

    units: pd.DataFrame  # unit, kind (manual/website), category_id, website_id
    categories: dict[str, dict[str, str]]  # category_id -> {en, zh}, manual order
    long: pd.DataFrame  # unit, coder, code: one row per coded presence
    coders: list[str]
    simulated: bool
    accounting: dict[str, int] = field(default_factory=dict)


def read_csv_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a UTF-8 CSV; a missing file or column stops at once."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CivilizedError([f"{path}: rule: not a readable UTF-8 CSV: {exc}"]) from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise CivilizedError([f"{path}: header: rule: required column(s) {missing} missing"])
    if not rows:
        raise CivilizedError([f"{path}: rule: no rows below the header"])
    return rows


def _blank(path: Path, line: int, row: dict[str, str | None], columns: tuple[str, ...]
           ) -> list[str]:
    return [f"{path}: line {line}, column {c!r}: rule: must not be blank"
            for c in columns if not (row.get(c) or "").strip()]


def _checked_rows(path: Path, required: tuple[str, ...]
                  ) -> tuple[list[tuple[str, int, dict[str, str]]], list[str]]:
    """(where, line, stripped row) of every row without blank required cells, and the
    problems of the blank ones."""
    rows, problems = [], []
    for line, row in read_csv_rows(path, required):
        blank = _blank(path, line, row, required)
        problems += blank
        if not blank:
            rows.append((f"{path}: line {line}", line,
                         {k: (v or "").strip() for k, v in row.items() if k is not None}))
    return rows, problems


def _repeated(seen: dict[str, int], value: str, line: int, where: str, column: str) -> list[str]:
    """A problem if ``value`` of a unique ``column`` was seen on an earlier line."""
    first = seen.setdefault(value, line)
    return [] if first == line else [
        f"{where}, column {column!r}: rule: {value!r} repeats line {first} (IDs are unique)"]


def validate_manual(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """Rows of the manual and every problem: IDs unique and nested, labels consistent,
    Chinese text in Chinese, page a positive integer."""
    rows, problems = _checked_rows(path, MANUAL_COLUMNS)
    seen: dict[str, int] = {}
    labels: dict[str, tuple[str, str, int]] = {}
    for where, line, row in rows:
        item, cat, sub = row["item_id"], row["category_id"], row["subcategory_id"]
        problems += _repeated(seen, item, line, where, "item_id")
        if not sub.startswith(cat + ".") or not item.startswith(sub + "."):
            problems.append(f"{where}, column 'item_id': rule: {item!r} must lie in "
                            f"sub-category {sub!r} of category {cat!r} (ID prefixes)")
        for key, pair in ((cat, ("category_en", "category_zh")),
                          (sub, ("subcategory_en", "subcategory_zh"))):
            first = labels.setdefault(key, (row[pair[0]], row[pair[1]], line))
            if first[:2] != (row[pair[0]], row[pair[1]]):
                problems.append(f"{where}, columns {list(pair)}: rule: {key!r} is labelled "
                                f"differently on line {first[2]}")
        for column in ("category_zh", "subcategory_zh", "item_zh"):
            if not CJK.search(row[column]):
                problems.append(f"{where}, column {column!r}: rule: holds no Chinese text")
        if not row["page"].isdigit() or int(row["page"]) < 1:
            problems.append(f"{where}, column 'page': rule: {row['page']!r} is not a page "
                            "number (a positive integer)")
    return [row for _w, _l, row in rows], problems


def validate_websites(path: Path, manual_ids: set[str]) -> tuple[list[dict[str, str]], list[str]]:
    """Rows of the website indicator lists and every problem: indicator IDs unique and
    prefixed by their website's, one city and province per website."""
    rows, problems = _checked_rows(path, WEBSITE_COLUMNS)
    seen: dict[str, int] = {}
    sites: dict[str, tuple[str, str, int]] = {}
    for where, line, row in rows:
        site, ind = row["website_id"], row["indicator_id"]
        problems += _repeated(seen, ind, line, where, "indicator_id")
        if site in manual_ids:
            problems.append(f"{where}, column 'website_id': rule: {site!r} is also a manual "
                            "item ID (source names must be unambiguous)")
        if not ind.startswith(site):
            problems.append(f"{where}, column 'indicator_id': rule: {ind!r} must start with "
                            f"its website ID {site!r}")
        first = sites.setdefault(site, (row["city"], row["province"], line))
        if first[:2] != (row["city"], row["province"]):
            problems.append(f"{where}, columns ['city', 'province']: rule: website {site!r} "
                            f"has another city or province on line {first[2]}")
    return [row for _w, _l, row in rows], problems


def _indicator_lines(text: str, indicators: list[str]) -> dict[str, tuple[int, int]]:
    """Span [start, end) of the line of each indicator (the line starting with its ID)."""
    spans, pos = {}, 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        for ind in indicators:
            if body.startswith(ind) and (len(body) == len(ind) or not body[len(ind)].isalnum()
                                         and body[len(ind)] != "-"):
                spans[ind] = (pos, pos + len(body))
        pos += len(line)
    return spans


def _sources_by_name(project: Project, units: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Source GUID -> manual item or website ID; every source and every unit accounted for."""
    where = f"{project.path}!project.qde"
    out: dict[str, str] = {}
    problems = []
    for guid, src in project.sources.items():
        if src.name not in units:
            problems.append(f"{where}: TextSource {src.name!r}: rule: names neither a manual "
                            "item nor a website of the CSV files")
        elif src.name in out.values():
            problems.append(f"{where}: TextSource {src.name!r}: rule: a second source of the "
                            f"same {units[src.name]}")
        else:
            out[guid] = src.name
    problems += [f"{where}: Sources: rule: no text source for {kind} {name!r}"
                 for name, kind in units.items() if name not in out.values()]
    return out, problems


def read_documents(manual_csv: str | Path, websites_csv: str | Path, qdpx: str | Path,
                   codebook: CivilizedCodebook) -> Documents:
    """Read and validate the three document files; raise listing every problem at once."""
    manual_csv, websites_csv = Path(manual_csv), Path(websites_csv)
    manual, problems = validate_manual(manual_csv)
    websites, more = validate_websites(websites_csv, {r["item_id"] for r in manual})
    problems += more
    project = read_qdpx(qdpx)
    keys, more = match_codes(project, codebook.dimension_paths, codebook.path)
    problems += more + unmapped_codings(project, keys)
    kinds = {r["item_id"]: "manual item" for r in manual}
    kinds.update({r["website_id"]: "website" for r in websites})
    source_unit, more = _sources_by_name(project, kinds)
    problems += more
    by_site: dict[str, list[str]] = {}
    for r in websites:
        by_site.setdefault(r["website_id"], []).append(r["indicator_id"])
    lines = {}
    for guid, name in source_unit.items():
        if name in by_site:
            lines[guid] = _indicator_lines(project.sources[guid].text, by_site[name])
            problems += [f"{project.path}!project.qde: TextSource {name!r}: rule: no line "
                         f"starts with indicator {ind!r} of {websites_csv}"
                         for ind in by_site[name] if ind not in lines[guid]]
    rows, more = _assign_codings(project, keys, source_unit, lines)
    problems += more
    raise_if(problems)
    return _documents(project, manual, websites, rows)


def _assign_codings(project: Project, keys: dict[str, str], source_unit: dict[str, str],
                    lines: dict[str, dict[str, tuple[int, int]]]
                    ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(unit, coder, code) of every coding; a website coding must lie on one indicator line."""
    rows, problems = [], []
    for seg in project.segments:
        if seg.code not in keys or seg.source not in source_unit:
            continue  # reported above (unknown code or unknown source)
        unit = source_unit[seg.source]
        if seg.source in lines:
            hits = [] if seg.start is None or seg.end is None else [
                ind for ind, (a, b) in lines[seg.source].items() if seg.start < b and a < seg.end]
            if len(hits) != 1:
                problems.append(
                    f"{project.path}!project.qde: TextSource {unit!r}, selection "
                    f"{seg.selection} [{seg.start}, {seg.end}): rule: a website coding must "
                    f"lie on exactly one indicator line (it touches {len(hits)})")
                continue
            unit = hits[0]
        rows.append((unit, coder_name(project, seg.coder), keys[seg.code]))
    return rows, problems


def _documents(project: Project, manual: list[dict[str, str]], websites: list[dict[str, str]],
               rows: list[tuple[str, str, str]]) -> Documents:
    units = pd.DataFrame(
        [{"unit": r["item_id"], "kind": "manual", "category_id": r["category_id"],
          "website_id": ""} for r in manual]
        + [{"unit": r["indicator_id"], "kind": "website", "category_id": "",
            "website_id": r["website_id"]} for r in websites])
    categories = {}
    for r in manual:
        categories.setdefault(r["category_id"], {"en": r["category_en"], "zh": r["category_zh"],
                                                 "subcategories": set()})
        categories[r["category_id"]]["subcategories"].add(r["subcategory_id"])
    long = pd.DataFrame(sorted(set(rows)), columns=["unit", "coder", "code"])
    coders = sorted({coder_name(project, g) for g in project.users} | set(long["coder"]))
    accounting = {"codings_read": len(project.segments), "codings_assigned": len(rows),
                  "unit_code_presences": len(long),
                  "pages": len({r["page"] for r in manual})}
    return Documents(units, categories, long, coders, "SIMULATED" in project.name.upper(),
                     accounting)
