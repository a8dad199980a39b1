"""The bad-input corpus: one damaged copy of a project input per case.

Each :class:`Case` names the input it replaces (a path relative to the project root),
how to damage the good bytes, whether the damaged file is registered in the raw-data
manifest first (so that the case is about the content, not about the manifest), the
build target that reads it, and what the error must say. The survey damage reuses
``tests/fixtures/survey_bad/corrupt.py``; the rest is built here.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from tests.fixtures.survey_bad import corrupt

SURVEY = "data/raw/survey/scs_survey_2018_export.csv"
SURVEY_CODEBOOK = "data/codebook/survey_codebook.yaml"
INTERVIEWS = "data/raw/interviews/scs_interviews.qdpx"
INTERVIEW_CODEBOOK = "data/codebook/interview_codebook.yaml"
INTERVIEW_MAPPING = "data/codebook/interview_mapping.yaml"
TARGETS = "data/targets/population_margins.yaml"
MANUAL = "data/raw/civilized/ncca_manual_items.csv"
WEBSITES = "data/raw/civilized/scsp_indicators.csv"
DOCUMENTS = "data/raw/civilized/civilized_documents.qdpx"
RESIDENTS = "data/raw/civilized/civilized_interviews.qdpx"
CIVILIZED_CODEBOOK = "data/codebook/civilized_codebook.yaml"
CONFIG = "config/config.yaml"
PROVINCES = "data/codebook/provinces.csv"

CLEAN = ("clean", "results/survey_clean.parquet",
         ("results/survey_clean.parquet", "results/exclusion_log.csv", "results/cleaning.json"))
THEMES = ("themes", "results/themes.json", ("results/themes.json", "results/tables/themes"))
WEIGHT = ("weight", "results/weights.parquet",
          ("results/weights.parquet", "results/weighting.json"))
OVERLAP = ("overlap", "results/overlap.json", ("results/overlap.json", "results/tables/overlap"))
RESIDENTS_STAGE = ("residents", "results/residents.json",
                   ("results/residents.json", "results/tables/residents"))


@dataclass(frozen=True)
class Case:
    """One damaged input and the failure it must cause."""

    family: str
    name: str
    path: str
    damage: Callable[[bytes], bytes]
    problem: str  # regex the error message must match
    register: bool = False
    stage: tuple[str, str, tuple[str, ...]] = CLEAN  # (rule, target, outputs of the rule)
    preflight: bool = False  # refused before any job runs (the message names no rule)
    absent: str | None = None  # regex the message must NOT match (a misleading error)

    @property
    def id(self) -> str:
        return f"{self.family}-{self.name}"


# --------------------------------------------------------------------------- survey export


def _lines(data: bytes) -> tuple[bytes, list[bytes]]:
    prefix = corrupt.BOM if data.startswith(corrupt.BOM) else b""
    return prefix, data[len(prefix):].split(b"\n")


def tab_delimited(data: bytes) -> bytes:
    """A 'Text (tab delimited)' export saved under the .csv name."""
    return data.replace(b",", b"\t")


def merged_header_cells(data: bytes) -> bytes:
    """Excel merged the q8_* header cells into one: only the first keeps its label."""
    prefix, lines = _lines(data)
    names = lines[0].split(b",")
    lines[0] = b",".join(b"" if n.startswith(b"q8_") and n != b"q8_use_sesame" else n
                         for n in names)
    return prefix + b"\n".join(lines)


def two_row_header(data: bytes) -> bytes:
    """Excel block labels (merged cells) in a row above the column names."""
    prefix, lines = _lines(data)
    width = lines[0].count(b",")
    blocks = b"Administrative" + b"," * 5 + b"Demographics" + b"," * (width - 5)
    return prefix + b"\n".join([blocks, *lines])


def ragged_row(data: bytes) -> bytes:
    """A data row in the middle lost its last field (a hand edit in a text editor)."""
    prefix, lines = _lines(data)
    lines[40] = lines[40].rsplit(b",", 1)[0]
    return prefix + b"\n".join(lines)


def unclosed_quote(data: bytes) -> bytes:
    """An opening quote that is never closed swallows the rest of the file."""
    prefix, lines = _lines(data)
    cells = lines[5].split(b",")
    cells[4] = b'"' + cells[4]
    lines[5] = b",".join(cells)
    return prefix + b"\n".join(lines)


def duplicated_column(data: bytes) -> bytes:
    prefix, lines = _lines(data)
    lines[0] = lines[0].replace(b",q1_gender,", b",age,", 1)
    return prefix + b"\n".join(lines)


def excel_date_serial(data: bytes) -> bytes:
    """Excel turned a timestamp into its serial number (43146.51)."""
    return corrupt.set_cell(data, 0, "start_time", "43146.51")


def codebook_unknown_type(data: bytes) -> bytes:
    doc = yaml.safe_load(data)
    doc["variables"]["age"]["type"] = "integr"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


def codebook_not_yaml(data: bytes) -> bytes:
    return data[: len(data) // 3] + b"\n  variables: [unclosed\n"


def every_row(column: str, edit: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """Apply ``edit`` to ``column`` in every data row."""
    def damage(data: bytes) -> bytes:
        prefix, lines = _lines(data)
        position = lines[0].split(b",").index(column.encode())
        for i, line in enumerate(lines[1:], 1):
            cells = line.split(b",")
            if len(cells) > position:
                cells[position] = edit(cells[position])
                lines[i] = b",".join(cells)
        return prefix + b"\n".join(lines)
    return damage


def day_first(stamp: bytes) -> bytes:
    """'YYYY-MM-DD hh:mm:ss' as a European spreadsheet re-saves it: 'DD/MM/YYYY hh:mm'."""
    if len(stamp) < 16:
        return stamp
    return stamp[8:10] + b"/" + stamp[5:7] + b"/" + stamp[:4] + stamp[10:16]


def drop_province_row(data: bytes) -> bytes:
    """The provinces table lost the row of the first export's province (Fujian, 35)."""
    return b"".join(line for line in data.splitlines(keepends=True)
                    if not line.startswith(b"35,"))


def duplicate_yaml_key(key: bytes, value: bytes) -> Callable[[bytes], bytes]:
    """A second ``key:`` (same indentation) just above the first: plain YAML would keep
    the later one silently; the project's loader names both lines."""
    def damage(data: bytes) -> bytes:
        lines = data.split(b"\n")
        i = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(key + b":"))
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        return b"\n".join([*lines[:i], indent + key + b": " + value, *lines[i:]])
    return damage


SURVEY_CASES = [
    Case("survey", "wrong-encoding", SURVEY, corrupt.wrong_encoding,
         r"wrong encoding.*0xe9 on line 3", register=True),
    Case("survey", "utf16", SURVEY, corrupt.utf16, r"wrong encoding.*UTF-16", register=True),
    Case("survey", "semicolon-delimiter", SURVEY, corrupt.semicolon_delimited,
         r"wrong delimiter.*semicolon", register=True),
    Case("survey", "tab-delimiter", SURVEY, tab_delimited, r"wrong delimiter.*tab",
         register=True),
    Case("survey", "truncated-last-line", SURVEY, corrupt.truncated_last_line,
         r"truncated last line", register=True),
    Case("survey", "ragged-row", SURVEY, ragged_row,
         r"1 row\(s\) do not have the header's \d+ fields: line 41 has \d+", register=True),
    Case("survey", "unclosed-quote", SURVEY, unclosed_quote, r"malformed CSV", register=True),
    Case("survey", "excel-title-row", SURVEY, corrupt.excel_title_row,
         r"header row offset: the column names are on line 3", register=True),
    Case("survey", "excel-two-row-header", SURVEY, two_row_header,
         r"header row offset: the column names are on line 2", register=True),
    Case("survey", "excel-merged-header-cells", SURVEY, merged_header_cells,
         r"header cell \d+ is blank", register=True),
    Case("survey", "duplicated-column", SURVEY, duplicated_column,
         r"duplicated column name\(s\) \['age'\]", register=True),
    Case("survey", "empty-file", SURVEY, corrupt.empty, r"empty file", register=True),
    Case("survey", "header-only", SURVEY, corrupt.header_only, r"header only", register=True),
    Case("survey", "missing-column", SURVEY, lambda d: corrupt.missing_column(d, "age"),
         r"column 'age' -- rule: required column missing", register=True),
    Case("survey", "type-error-integer", SURVEY,
         lambda d: corrupt.set_cell(d, 0, "age", "thirty"),
         r":2 \(respondent_id R\d+\) column 'age': value 'thirty'", register=True),
    Case("survey", "type-error-excel-date-serial", SURVEY, excel_date_serial,
         r":2 \(respondent_id R\d+\) column 'start_time': value '43146.51'", register=True),
    Case("survey", "out-of-range-code", SURVEY,
         lambda d: corrupt.set_cell(d, 0, "q21_approval", "7"),
         r"column 'q21_approval': value '7' -- rule: allowed codes \[1, 2, 3, 4, 5\]",
         register=True),
    Case("survey", "out-of-range-age", SURVEY, lambda d: corrupt.set_cell(d, 1, "age", "130"),
         r":3 \(respondent_id R\d+\) column 'age': value '130'", register=True),
    Case("survey", "duplicate-id", SURVEY, lambda d: corrupt.duplicated_record(d, 0),
         r":3 .*column 'respondent_id'.*unique per submission", register=True),
    Case("survey", "changed-not-registered", SURVEY,
         lambda d: corrupt.set_cell(d, 0, "age", "31"),
         r"data/raw/survey/scs_survey_2018_export.csv: changed since it was registered"
         r"[\s\S]*make register-data", preflight=True),
    Case("survey", "inf-in-numeric-cell", SURVEY, lambda d: corrupt.set_cell(d, 0, "age", "inf"),
         r":2 \(respondent_id R\d+\) column 'age': value 'inf' -- rule: type: integer",
         register=True, absent="OverflowError"),
    Case("survey", "all-respondents-excluded", SURVEY,
         every_row("finished", lambda cell: b"0"),
         r"all 3673 respondents were excluded by the cleaning rules \(by first rule failed: "
         r"incomplete: 3673\)[\s\S]*cleaning.rules in config/config.yaml", register=True,
         absent="has no rows"),
    Case("survey", "timestamps-unparseable", SURVEY, every_row("start_time", day_first),
         r"column 'start_time' -- rule: type: timestamp %Y-%m-%d %H:%M:%S: 3673 of 3673 values "
         r"fail, the first on line 2 \('\d\d/\d\d/2018 \d\d:\d\d'\)", register=True,
         absent="copied record"),
    Case("survey", "province-missing-from-table", PROVINCES, drop_province_row,
         r":2 \(respondent_id R\d+\) column 'province': value 35 -- rule: province code not "
         r"in data/codebook/provinces.csv"),
    Case("survey", "codebook-duplicate-key", SURVEY_CODEBOOK,
         duplicate_yaml_key(b"codes", b"{1: male, 0: female}"),
         r"line \d+: duplicate key 'codes' \(first given at line \d+\)"),
    Case("survey", "codebook-unknown-type", SURVEY_CODEBOOK, codebook_unknown_type,
         r"age.*integr"),
    Case("survey", "codebook-not-yaml", SURVEY_CODEBOOK, codebook_not_yaml,
         r"line \d+"),
]


# --------------------------------------------------------------------------- interviews


def _rewrite_project_xml(data: bytes, edit: Callable[[str], str]) -> bytes:
    """Copy the .qdpx ZIP, passing project.qde through ``edit``; other members as they are."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = src.read(info.filename)
            if info.filename == "project.qde":
                member = edit(member.decode("utf-8")).encode("utf-8")
            dst.writestr(info, member)
    return out.getvalue()


def _first(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text)
    if match is None:
        raise AssertionError(f"corpus builder: {pattern!r} not found in project.qde")
    return match


UNKNOWN_GUID = "00000000-dead-beef-0000-000000000000"


def _retarget_first_coding(xml: str, guid: str) -> str:
    ref = _first(r'<CodeRef targetGUID="([^"]+)"', xml)
    return xml.replace(ref.group(0), f'<CodeRef targetGUID="{guid}"', 1)


def unknown_code(data: bytes) -> bytes:
    return _rewrite_project_xml(data, lambda xml: _retarget_first_coding(xml, UNKNOWN_GUID))


def selection_out_of_range(data: bytes) -> bytes:
    def edit(xml: str) -> str:
        sel = _first(r'endPosition="\d+"', xml)
        return xml.replace(sel.group(0), 'endPosition="99999999"', 1)
    return _rewrite_project_xml(data, edit)


def selection_reversed(data: bytes) -> bytes:
    def edit(xml: str) -> str:
        sel = _first(r'startPosition="(\d+)" endPosition="(\d+)"', xml)
        start, end = sel.groups()
        return xml.replace(sel.group(0), f'startPosition="{end}" endPosition="{start}"', 1)
    return _rewrite_project_xml(data, edit)


def selection_not_integer(data: bytes) -> bytes:
    def edit(xml: str) -> str:
        sel = _first(r'startPosition="\d+"', xml)
        return xml.replace(sel.group(0), 'startPosition="12.5"', 1)
    return _rewrite_project_xml(data, edit)


def malformed_xml(data: bytes) -> bytes:
    return _rewrite_project_xml(data, lambda xml: xml.replace("</CodeBook>", "</Codebook>", 1))


def entity_expansion(data: bytes) -> bytes:
    """A 'billion laughs' DOCTYPE: must be refused, not expanded."""
    doctype = ('<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
               '&a;&a;&a;&a;&a;">]>\n')
    return _rewrite_project_xml(
        data, lambda xml: xml.replace("<Project ", doctype + "<Project ", 1))


def missing_project_member(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != "project.qde":
                dst.writestr(info, src.read(info.filename))
    return out.getvalue()


def interview_codebook_unknown_category(data: bytes) -> bytes:
    doc = yaml.safe_load(data)
    first = next(iter(doc["barriers"]))
    doc["barriers"][first]["category"] = "Awarenes"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


def interview_mapping_code_not_in_project(data: bytes) -> bytes:
    doc = yaml.safe_load(data)
    first = next(iter(doc["barriers"]))
    doc["barriers"][first] = "Barriers/Awareness/A barrier nobody coded"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


def _code_guid(xml: str, name: str) -> str:
    return _first(rf'<Code guid="([^"]+)" name="{re.escape(name)}"', xml).group(1)


def coding_on_category_code(data: bytes) -> bytes:
    """One coding moved onto the non-codable category code 'Efforts' (issue: silent drop)."""
    return _rewrite_project_xml(
        data, lambda xml: _retarget_first_coding(xml, _code_guid(xml, "Efforts")))


def new_barrier_code(data: bytes) -> bytes:
    """A new barrier code, in no mapping entry, applied to a segment."""
    new = "00000000-0000-4000-8000-00000000beef"

    def edit(xml: str) -> str:
        efforts = _first(r'<Code guid="[^"]+" name="Efforts" isCodable="false">', xml).group(0)
        xml = xml.replace(efforts, efforts + f'<Code guid="{new}" name="Costs" isCodable="true"/>')
        return _retarget_first_coding(xml, new)
    return _rewrite_project_xml(data, edit)


INTERVIEW_CASES = [
    Case("interviews", "not-a-zip", INTERVIEWS, lambda d: b"PK\x03\x04 this is not a zip" * 50,
         r"not a readable .qdpx ZIP archive", register=True, stage=THEMES),
    Case("interviews", "truncated-zip", INTERVIEWS, lambda d: d[: len(d) // 2],
         r"not a readable .qdpx ZIP archive", register=True, stage=THEMES),
    Case("interviews", "no-project-xml", INTERVIEWS, missing_project_member,
         r"ZIP member 'project.qde' not found", register=True, stage=THEMES),
    Case("interviews", "malformed-xml", INTERVIEWS, malformed_xml,
         r"project.qde: malformed XML at line \d+", register=True, stage=THEMES),
    Case("interviews", "entity-expansion", INTERVIEWS, entity_expansion,
         r"DOCTYPE/ENTITY declarations are not allowed", register=True, stage=THEMES),
    Case("interviews", "unknown-code", INTERVIEWS, unknown_code,
         r"CodeRef targetGUID 00000000-dead-beef-0000-000000000000 names no Code",
         register=True, stage=THEMES),
    Case("interviews", "selection-out-of-range", INTERVIEWS, selection_out_of_range,
         r"PlainTextSelection .*selection \[\d+, 99999999\) lies outside source",
         register=True, stage=THEMES),
    Case("interviews", "selection-reversed", INTERVIEWS, selection_reversed,
         r"PlainTextSelection .*lies outside source", register=True, stage=THEMES),
    Case("interviews", "selection-not-integer", INTERVIEWS, selection_not_integer,
         r"startPosition/endPosition must be integers", register=True, stage=THEMES),
    Case("interviews", "changed-not-registered", INTERVIEWS, selection_out_of_range,
         r"changed since it was registered[\s\S]*make register-data", stage=THEMES,
         preflight=True),
    Case("interviews", "codebook-duplicate-key", INTERVIEW_CODEBOOK,
         duplicate_yaml_key(b"category", b"Awareness"),
         r"line \d+: duplicate key 'category' \(first given at line \d+\)", stage=THEMES),
    Case("interviews", "codebook-unknown-category", INTERVIEW_CODEBOOK,
         interview_codebook_unknown_category, r"unknown category 'Awarenes'", stage=THEMES),
    Case("interviews", "mapping-code-not-in-project", INTERVIEW_MAPPING,
         interview_mapping_code_not_in_project,
         r"barriers.awareness_little_awareness: no code 'Barriers/Awareness/A barrier nobody "
         r"coded' in the project", stage=THEMES),
    Case("interviews", "coding-on-category-code", INTERVIEWS, coding_on_category_code,
         r"code 'Barriers/Efforts' \(.*a category code \(isCodable=false\)\) is in no entry"
         r"[\s\S]*coding \S+ in source 'INT-\d\d transcript'", register=True, stage=THEMES),
    Case("interviews", "new-barrier-code", INTERVIEWS, new_barrier_code,
         r"code 'Barriers/Efforts/Costs' \(00000000-0000-4000-8000-00000000beef\) is in no "
         r"entry", register=True, stage=THEMES),
]


# --------------------------------------------------------------------------- civilized cities


def _csv_cell(line: int, column: str, value: bytes) -> Callable[[bytes], bytes]:
    """Set one cell (``line`` counted from 1, the header) of a simple CSV without quotes."""
    def damage(data: bytes) -> bytes:
        lines = data.split(b"\n")
        names = lines[0].split(b",")
        cells = lines[line - 1].split(b",")
        cells[names.index(column.encode())] = value
        lines[line - 1] = b",".join(cells)
        return b"\n".join(lines)
    return damage


def _rename_source(old: str, new: str) -> Callable[[bytes], bytes]:
    return lambda data: _rewrite_project_xml(
        data, lambda xml: xml.replace(f'name="{old}"', f'name="{new}"', 1))


def website_coding_off_its_line(data: bytes) -> bytes:
    """A website coding moved onto the page header, where no indicator is."""
    def edit(xml: str) -> str:
        sel = _first(r'<TextSource [^>]*name="SCSP-01"[\s\S]*?(startPosition="\d+" '
                     r'endPosition="\d+")', xml)
        return xml[: sel.start(1)] + 'startPosition="0" endPosition="5"' + xml[sel.end(1):]
    return _rewrite_project_xml(data, edit)


def coding_on_the_root_code(data: bytes) -> bytes:
    """A coding of the non-codable root "Overlap with social credit", not of a dimension."""
    return _rewrite_project_xml(data, lambda xml: _retarget_first_coding(
        xml, _code_guid(xml, "Overlap with social credit")))


def region_contradicts_province(data: bytes) -> bytes:
    return _rewrite_project_xml(data, lambda xml: xml.replace(
        "<TextValue>West</TextValue>", "<TextValue>East</TextValue>", 1))


def civilized_codebook_without_example(data: bytes) -> bytes:
    doc = yaml.safe_load(data)
    doc["documents"]["dimensions"]["data_sharing"].pop("example")
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


CIVILIZED_CASES = [
    Case("civilized", "manual-page-not-a-number", MANUAL, _csv_cell(2, "page", b"xi"),
         r"ncca_manual_items.csv: line 2, column 'page': rule: 'xi' is not a page number",
         register=True, stage=OVERLAP),
    Case("civilized", "manual-duplicate-item", MANUAL, _csv_cell(3, "item_id", b"1.1.1"),
         r"line 3, column 'item_id': rule: '1.1.1' repeats line 2", register=True,
         stage=OVERLAP),
    Case("civilized", "manual-no-chinese", MANUAL, _csv_cell(4, "item_zh", b"Government"),
         r"line 4, column 'item_zh': rule: holds no Chinese text", register=True,
         stage=OVERLAP),
    Case("civilized", "website-indicator-of-another-site", WEBSITES,
         _csv_cell(2, "indicator_id", b"SCSP-02-99"),
         r"scsp_indicators.csv: line 2, column 'indicator_id': rule: 'SCSP-02-99' must start "
         r"with its website ID 'SCSP-01'", register=True, stage=OVERLAP),
    Case("civilized", "documents-source-not-a-unit", DOCUMENTS, _rename_source("1.1.1", "1.1.x"),
         r"TextSource '1.1.x': rule: names neither a manual item nor a website", register=True,
         stage=OVERLAP),
    Case("civilized", "documents-coding-off-indicator-line", DOCUMENTS,
         website_coding_off_its_line,
         r"TextSource 'SCSP-01', selection .*: rule: a website coding must lie on exactly one "
         r"indicator line", register=True, stage=OVERLAP),
    Case("civilized", "documents-coding-on-root-code", DOCUMENTS, coding_on_the_root_code,
         r"coded with 'Overlap with social credit', which is not a code of the codebook",
         register=True, stage=OVERLAP),
    Case("civilized", "documents-malformed-xml", DOCUMENTS, malformed_xml,
         r"project.qde: malformed XML at line \d+", register=True, stage=OVERLAP),
    Case("civilized", "documents-changed-not-registered", DOCUMENTS, coding_on_the_root_code,
         r"changed since it was registered[\s\S]*make register-data", stage=OVERLAP,
         preflight=True),
    Case("civilized", "residents-region-contradicts-province", RESIDENTS,
         region_contradicts_province,
         r"Case 'R-\d+': rule: region 'East' contradicts .*provinces.csv", register=True,
         stage=RESIDENTS_STAGE),
    Case("civilized", "residents-not-a-zip", RESIDENTS, lambda d: d[: len(d) // 2],
         r"not a readable .qdpx ZIP archive", register=True, stage=RESIDENTS_STAGE),
    Case("civilized", "codebook-code-without-example", CIVILIZED_CODEBOOK,
         civilized_codebook_without_example,
         r"documents.dimensions.data_sharing: rule: needs a non-empty 'example'", stage=OVERLAP),
]


# --------------------------------------------------------------------------- population targets


def _edit_targets(edit: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        doc = yaml.safe_load(data)
        edit(doc["margins"])
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
    return damage


def _set(margin: str, category: str, value: object) -> Callable[[dict], None]:
    def edit(margins: dict) -> None:
        margins[margin][category] = value
    return edit


def _rename(margin: str, old: str, new: str) -> Callable[[dict], None]:
    def edit(margins: dict) -> None:
        margins[margin] = {new if k == old else k: v for k, v in margins[margin].items()}
    return edit


TARGET_CASES = [
    Case("targets", "not-summing-to-one", TARGETS, _edit_targets(_set("gender", "male", 0.51)),
         r"gender.*sum to 0.9", stage=WEIGHT),
    Case("targets", "unknown-category", TARGETS,
         _edit_targets(_rename("region", "West", "North")), r"region.*'North'", stage=WEIGHT),
    Case("targets", "missing-margin", TARGETS,
         _edit_targets(lambda m: m.pop("gender")),
         r"no targets for configured margins \['gender'\]", stage=WEIGHT),
    Case("targets", "not-a-number", TARGETS, _edit_targets(_set("gender", "male", "61%")),
         r"margins.gender.male: target must be a number, not '61%'", stage=WEIGHT),
    Case("targets", "negative-share", TARGETS,
         _edit_targets(lambda m: m["gender"].update(female=-0.39, male=1.39)),
         r"gender.*positive and finite", stage=WEIGHT),
    Case("targets", "not-a-mapping", TARGETS, lambda d: b"- age_band\n- gender\n",
         r"expected a top-level 'margins' mapping", stage=WEIGHT),
    Case("targets", "duplicate-key", TARGETS, duplicate_yaml_key(b"male", b"0.39"),
         r"line \d+: duplicate key 'male' \(first given at line \d+\)", stage=WEIGHT),
]


# --------------------------------------------------------------------------- config


def _edit_config(edit: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        doc = yaml.safe_load(data)
        edit(doc)
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
    return damage


def _config_set(section: str, key: str, value: object) -> Callable[[dict], None]:
    def edit(doc: dict) -> None:
        doc[section][key] = value
    return edit


CONFIG_CASES = [
    Case("config", "unknown-key", CONFIG, _edit_config(_config_set("weighting", "cpa", 2.0)),
         r"Additional properties are not allowed \('cpa' was unexpected\)"),
    Case("config", "unknown-section", CONFIG, _edit_config(_config_set("paths", "extra", "x")),
         r"'extra' was unexpected"),
    Case("config", "wrong-type", CONFIG, _edit_config(_config_set("weighting", "cap", "two")),
         r"'two' is not of type 'number', 'null'"),
    Case("config", "path-escapes-project", CONFIG,
         _edit_config(_config_set("paths", "raw_survey", "../../outside/export.csv")),
         r"'../../outside/export.csv' does not match"),
    Case("config", "absolute-path", CONFIG,
         _edit_config(_config_set("paths", "raw_survey", "/etc/passwd")),
         r"'/etc/passwd' does not match"),
    Case("config", "yaml-syntax", CONFIG, lambda d: d + b"\nweighting: [unclosed\n",
         r"config/config.yaml: line \d+: not valid YAML"),
    Case("config", "duplicate-cap", CONFIG, duplicate_yaml_key(b"cap", b"3.0"),
         r"config/config.yaml: line \d+: duplicate key 'cap' \(first given at line \d+\)"),
]

ALL_CASES = SURVEY_CASES + INTERVIEW_CASES + CIVILIZED_CASES + TARGET_CASES + CONFIG_CASES
