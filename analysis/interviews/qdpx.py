"""Read coded interviews as qualitative-analysis tools export them.

The main format is REFI-QDA (https://www.qdasoftware.org), the exchange format of
NVivo, ATLAS.ti, MAXQDA, QualCoder and others: a ``.qdpx`` ZIP holding ``project.qde``
(XML in the namespace ``urn:QDA-XML:project:1.0``) plus the plain-text sources, and the
bare codebook ``.qdc`` (``urn:QDA-XML:codebook:1.0``). Only the standard library's
``zipfile`` and ``xml.etree`` are used, so that reading needs nothing that a coding tool
does not also have.

Conventions taken from the standard and from what the tools write in practice:
``PlainTextSelection`` positions count Unicode code points from 0 and ``endPosition`` is
exclusive; ``plainTextPath="internal://x.txt"`` names ``sources/x.txt`` in the ZIP; the
coder of a coding is ``Coding/@creatingUser``, else the selection's ``creatingUser``.

The tidy exports people make by hand or from QualCoder/Taguette are read too: a
segments CSV (case, coder, code, start, end, text), a case x code CSV and a participants
CSV (case ID and demographics). Every reader raises :class:`QdpxError` naming the file
and the element, row or column that broke which rule; nothing is returned half-read.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_NS_PREFIX = "urn:QDA-XML:project:"
CODEBOOK_NS_PREFIX = "urn:QDA-XML:codebook:"
SUPPORTED_MAJOR = "1"
SEGMENT_COLUMNS = ("case", "coder", "code", "start", "end", "text")


class QdpxError(ValueError):
    """A coded-interview file breaks a rule; the message names file, element/row and rule."""


@dataclass(frozen=True)
class Code:
    guid: str
    name: str
    codable: bool
    parent: str | None
    path: tuple[str, ...]  # names from the root code down to this one


@dataclass(frozen=True)
class Segment:
    """One coding of a text span (positions in code points, end exclusive)."""

    source: str
    code: str
    coder: str
    start: int
    end: int
    selection: str


@dataclass(frozen=True)
class Source:
    guid: str
    name: str
    text: str


@dataclass(frozen=True)
class Case:
    guid: str
    name: str
    variables: dict[str, str | int | float | bool]
    sources: tuple[str, ...]


@dataclass
class Project:
    """The parts of a REFI-QDA project the analysis needs."""

    path: str
    namespace: str
    version: str
    schema_version: str | None
    name: str
    users: dict[str, str] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)

    def case_of_source(self) -> dict[str, str]:
        """Map source GUID to case GUID; without Cases, each source is its own case."""
        if not self.cases:
            return {guid: guid for guid in self.sources}
        return {src: case.guid for case in self.cases.values() for src in case.sources}

    def segment_text(self, segment: Segment) -> str:
        return self.sources[segment.source].text[segment.start : segment.end]


def _fail(where: str, rule: str) -> QdpxError:
    return QdpxError(f"{where}: {rule}")


def _parse_xml(data: bytes, where: str) -> ET.Element:
    """Parse untrusted XML; refuse DTDs, which could expand entities without bound."""
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise _fail(where, "DOCTYPE/ENTITY declarations are not allowed in REFI-QDA XML")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line, col = exc.position
        raise _fail(where, f"malformed XML at line {line}, column {col}: {exc}") from exc


def _split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _namespace_version(root: ET.Element, prefix: str, where: str) -> tuple[str, str]:
    ns, _local = _split_tag(root.tag)
    if not ns.startswith(prefix):
        raise _fail(where, f"root element {root.tag!r} is not in a {prefix}<version> namespace")
    version = ns[len(prefix) :]
    if version.split(".")[0] != SUPPORTED_MAJOR:
        raise _fail(where, f"unsupported REFI-QDA version {version!r} (reader supports 1.x)")
    return ns, version


def _schema_version(root: ET.Element) -> str | None:
    """REFI-QDA 1.5 files name their schema release in xsi:schemaLocation (…/v1.5/…)."""
    loc = root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation", "")
    match = re.search(r"/v(\d+(?:\.\d+)*)/", loc)
    return match.group(1) if match else None


def _required(el: ET.Element, attr: str, where: str) -> str:
    value = el.get(attr)
    if value is None or value == "":
        raise _fail(where, f"<{_split_tag(el.tag)[1]}> lacks required attribute {attr!r}")
    return value


def _read_codes(parent: ET.Element, ns: str, where: str) -> dict[str, Code]:
    codes: dict[str, Code] = {}

    def walk(el: ET.Element, parent_guid: str | None, path: tuple[str, ...]) -> None:
        for code_el in el.findall(f"{{{ns}}}Code"):
            guid = _required(code_el, "guid", where)
            name = _required(code_el, "name", f"{where}: Code {guid}")
            codable = code_el.get("isCodable", "true").strip().lower() in ("true", "1")
            if guid in codes:
                raise _fail(where, f"Code guid {guid} is used twice")
            codes[guid] = Code(guid, name, codable, parent_guid, (*path, name))
            walk(code_el, guid, (*path, name))

    walk(parent, None, ())
    return codes


def _read_zip_member(zf: zipfile.ZipFile, name: str, where: str) -> bytes:
    members = {info.filename.lower(): info.filename for info in zf.infolist()}
    actual = members.get(name.lower())
    if actual is None:
        raise _fail(where, f"ZIP member {name!r} not found")
    return zf.read(actual)


def _source_text(el: ET.Element, ns: str, zf: zipfile.ZipFile, where: str) -> str:
    content = el.find(f"{{{ns}}}PlainTextContent")
    if content is not None:
        return content.text or ""
    path = el.get("plainTextPath")
    if not path:
        raise _fail(where, "TextSource has neither PlainTextContent nor plainTextPath")
    if not path.startswith("internal://"):
        raise _fail(where, f"plainTextPath {path!r} points outside the .qdpx (only internal://)")
    raw = _read_zip_member(zf, "sources/" + path[len("internal://") :], where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(where, f"source file {path!r} is not UTF-8: {exc}") from exc
    return text.removeprefix("\ufeff")


def _read_selections(
    src_el: ET.Element, source: Source, project: Project, where: str
) -> list[Segment]:
    ns = project.namespace
    segments = []
    for sel in src_el.findall(f"{{{ns}}}PlainTextSelection"):
        sel_guid = _required(sel, "guid", where)
        here = f"{where}: PlainTextSelection {sel_guid}"
        try:
            start = int(_required(sel, "startPosition", here))
            end = int(_required(sel, "endPosition", here))
        except ValueError as exc:
            raise _fail(here, "startPosition/endPosition must be integers") from exc
        if not 0 <= start < end <= len(source.text):
            raise _fail(
                here,
                f"selection [{start}, {end}) lies outside source {source.name!r} of "
                f"{len(source.text)} characters (need 0 <= start < end <= length)",
            )
        for coding in sel.findall(f"{{{ns}}}Coding"):
            segments.append(_coding_segment(coding, sel, source, start, end, project, here))
    for coding in src_el.findall(f"{{{ns}}}Coding"):  # codes applied to a whole source
        segments.append(
            _coding_segment(coding, src_el, source, 0, len(source.text), project, where)
        )
    return segments


def _coding_segment(
    coding: ET.Element,
    holder: ET.Element,
    source: Source,
    start: int,
    end: int,
    project: Project,
    where: str,
) -> Segment:
    ref = coding.find(f"{{{project.namespace}}}CodeRef")
    if ref is None:
        raise _fail(where, "Coding has no CodeRef")
    target = _required(ref, "targetGUID", where)
    if target not in project.codes:
        raise _fail(where, f"CodeRef targetGUID {target} names no Code in the CodeBook")
    coder = coding.get("creatingUser") or holder.get("creatingUser") or ""
    if coder and project.users and coder not in project.users:
        raise _fail(where, f"creatingUser {coder} names no User in <Users>")
    return Segment(source.guid, target, coder, start, end, holder.get("guid", ""))


def _variable_value(vv: ET.Element, ns: str, where: str) -> tuple[str, str | int | float | bool]:
    ref = vv.find(f"{{{ns}}}VariableRef")
    if ref is None:
        raise _fail(where, "VariableValue has no VariableRef")
    target = _required(ref, "targetGUID", where)
    for child in vv:
        kind = _split_tag(child.tag)[1]
        text = (child.text or "").strip()
        if kind == "TextValue":
            return target, text
        if kind == "IntegerValue":
            return target, int(text)
        if kind == "FloatValue":
            return target, float(text)
        if kind == "BooleanValue":
            return target, text.lower() in ("true", "1")
        if kind in ("DateValue", "DateTimeValue"):
            return target, text
    raise _fail(where, f"VariableValue for {target} holds no value element")


def _read_cases(root: ET.Element, project: Project, where: str) -> dict[str, Case]:
    ns = project.namespace
    cases: dict[str, Case] = {}
    owner: dict[str, str] = {}
    for case_el in root.findall(f"{{{ns}}}Cases/{{{ns}}}Case"):
        guid = _required(case_el, "guid", where)
        here = f"{where}: Case {guid}"
        values: dict[str, str | int | float | bool] = {}
        for vv in case_el.findall(f"{{{ns}}}VariableValue"):
            var_guid, value = _variable_value(vv, ns, here)
            if var_guid not in project.variables:
                raise _fail(here, f"VariableRef targetGUID {var_guid} names no Variable")
            values[project.variables[var_guid]] = value
        sources = []
        for ref in case_el.findall(f"{{{ns}}}SourceRef"):
            target = _required(ref, "targetGUID", here)
            if target not in project.sources:
                raise _fail(here, f"SourceRef targetGUID {target} names no source")
            if target in owner:
                raise _fail(here, f"source {target} already belongs to Case {owner[target]}")
            owner[target] = guid
            sources.append(target)
        cases[guid] = Case(guid, case_el.get("name", guid), values, tuple(sources))
    if cases:
        orphans = sorted(set(project.sources) - set(owner))
        if orphans:
            raise _fail(where, f"TextSource {orphans[0]} belongs to no Case")
    return cases


def read_qdpx(path: str | Path) -> Project:
    """Read a .qdpx project (REFI-QDA 1.x): codebook, users, sources, cases, codings."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(str(path), f"not a readable .qdpx ZIP archive: {exc}") from exc
    with zf:
        where = f"{path}!project.qde"
        root = _parse_xml(_read_zip_member(zf, "project.qde", str(path)), where)
        ns, version = _namespace_version(root, PROJECT_NS_PREFIX, where)
        if _split_tag(root.tag)[1] != "Project":
            raise _fail(where, f"root element is <{_split_tag(root.tag)[1]}>, expected <Project>")
        project = Project(str(path), ns, version, _schema_version(root), root.get("name", ""))
        for user in root.findall(f"{{{ns}}}Users/{{{ns}}}User"):
            project.users[_required(user, "guid", where)] = user.get("name", "")
        codes_el = root.find(f"{{{ns}}}CodeBook/{{{ns}}}Codes")
        if codes_el is None:
            raise _fail(where, "project has no CodeBook/Codes")
        project.codes = _read_codes(codes_el, ns, where)
        for var in root.findall(f"{{{ns}}}Variables/{{{ns}}}Variable"):
            project.variables[_required(var, "guid", where)] = _required(var, "name", where)
        _read_sources(root, zf, project, where)
        project.cases = _read_cases(root, project, where)
    return project


def _read_sources(root: ET.Element, zf: zipfile.ZipFile, project: Project, where: str) -> None:
    ns = project.namespace
    for src_el in root.findall(f"{{{ns}}}Sources/{{{ns}}}TextSource"):
        guid = _required(src_el, "guid", where)
        here = f"{where}: TextSource {guid}"
        source = Source(guid, src_el.get("name", guid), _source_text(src_el, ns, zf, here))
        if guid in project.sources:
            raise _fail(here, "TextSource guid is used twice")
        project.sources[guid] = source
        project.segments.extend(_read_selections(src_el, source, project, here))


def read_qdc(path: str | Path) -> dict[str, Code]:
    """Read a bare REFI-QDA codebook (.qdc)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(str(path), f"cannot read codebook: {exc}") from exc
    root = _parse_xml(data, str(path))
    ns, _version = _namespace_version(root, CODEBOOK_NS_PREFIX, str(path))
    codes_el = root.find(f"{{{ns}}}Codes")
    if codes_el is None:
        raise _fail(str(path), "codebook has no <Codes>")
    return _read_codes(codes_el, ns, str(path))


def validate_qde(qde: bytes, xsd_path: str | Path) -> None:
    """Validate project.qde bytes against a REFI-QDA Project XSD (needs xmlschema)."""
    import xmlschema  # optional dependency: only validation needs it

    schema = xmlschema.XMLSchema(str(xsd_path))
    errors = list(schema.iter_errors(qde.decode("utf-8")))
    if errors:
        first = errors[0]
        raise QdpxError(f"project.qde: at {first.path}: {first.reason} (XSD {xsd_path})")


# --- tidy exports ------------------------------------------------------------------------


@dataclass(frozen=True)
class TidySegment:
    case: str
    coder: str
    code: str
    start: int
    end: int


def _open_csv(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _fail(str(path), f"cannot read CSV: {exc}") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise _fail(str(path), f"header lacks required column(s) {missing}")
    return header, rows


def read_segments_csv(path: str | Path, code_names: set[str]) -> list[TidySegment]:
    """Read a segments export; every code must be one of ``code_names``."""
    path = Path(path)
    _header, rows = _open_csv(path, SEGMENT_COLUMNS[:5])
    out = []
    for line, row in enumerate(rows, start=2):
        where = f"{path}: row {line}"
        if row["code"] not in code_names:
            raise _fail(f"{where}, column 'code'", f"unknown code {row['code']!r}")
        if not row["case"] or not row["coder"]:
            raise _fail(where, "columns 'case' and 'coder' must not be blank")
        try:
            start, end = int(row["start"]), int(row["end"])
        except ValueError as exc:
            raise _fail(f"{where}, columns 'start'/'end'", "must be integers") from exc
        if not 0 <= start < end:
            raise _fail(f"{where}, columns 'start'/'end'", "need 0 <= start < end")
        out.append(TidySegment(row["case"], row["coder"], row["code"], start, end))
    return out


def read_case_code_csv(path: str | Path, code_names: set[str]) -> dict[str, set[str]]:
    """Read a case x code matrix (first column the case, cells counts or 0/1)."""
    path = Path(path)
    header, rows = _open_csv(path, ("case",))
    codes = [c for c in header if c != "case"]
    unknown = [c for c in codes if c not in code_names]
    if unknown:
        raise _fail(f"{path}: column {unknown[0]!r}", "unknown code")
    out: dict[str, set[str]] = {}
    for line, row in enumerate(rows, start=2):
        present = set()
        for code in codes:
            cell = (row[code] or "0").strip()
            if not cell.isdigit():
                raise _fail(f"{path}: row {line}, column {code!r}", f"{cell!r} is not a count")
            if int(cell) > 0:
                present.add(code)
        if row["case"] in out:
            raise _fail(f"{path}: row {line}", f"case {row['case']!r} appears twice")
        out[row["case"]] = present
    return out


def read_participants(path: str | Path, variables: list[str]) -> dict[str, dict[str, str]]:
    """Read the participants file (case ID plus one column per demographic variable)."""
    path = Path(path)
    _header, rows = _open_csv(path, ("case", *variables))
    out: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        if row["case"] in out:
            raise _fail(f"{path}: row {line}", f"case {row['case']!r} appears twice")
        out[row["case"]] = {v: (row[v] or "").strip() for v in variables}
    return out
