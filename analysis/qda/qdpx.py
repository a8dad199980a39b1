"""Read coded interviews as qualitative-analysis tools export them.

The main format is REFI-QDA (https://www.qdasoftware.org), the exchange format of
NVivo, ATLAS.ti, MAXQDA, QualCoder and others: a ``.qdpx`` ZIP holding the project XML
(``project.qde``, or ``<project name>.qde`` as ATLAS.ti writes it) plus the sources, and
the bare codebook ``.qdc``. Only the standard library's ``zipfile`` and ``xml.etree``
are used, so that reading needs nothing that a coding tool does not also have.

What the tools write, and how it is read:

* Namespaces ``urn:QDA-XML:project:1.0`` as the standard has it, and the variants in the
  wild (``1:0`` from NVivo, ``0:4`` from early exports); major versions 0 and 1.
* Sources of every type. ``TextSource`` text, the text ``Representation`` of a
  ``PDFSource`` (ATLAS.ti codes PDFs there) and the ``Transcript`` of an audio or video
  source are text layers with ``PlainTextSelection``/``TranscriptSelection`` codings;
  codings of picture regions, PDF regions, audio/video spans and whole sources have no
  text but count like any other coding. Nothing is skipped.
* Text files under ``sources/`` or ``Sources/``, named ``internal://x.txt`` or plain
  ``x.txt``; ``relative://`` and ``absolute://`` paths point outside the ZIP and are
  refused with that reason.
* Positions in the convention the tool used (analysis/qda/positions.py): found from
  the text and reported, never assumed.
* Cases from ``SourceRef`` (whole sources), ``SelectionRef`` (single selections) and
  ``CodeRef`` (everything coded with a case code, NVivo's way); a source may be in two
  cases or in none; a case without a name is named after its source (MAXQDA).
* A project without a ``CodeBook`` is read (it then has no codes to map).

The coder of a coding is ``Coding/@creatingUser``, else the selection's ``creatingUser``.
Every reader raises :class:`QdpxError` naming the file and the element, row or column
that broke which rule; nothing is returned half-read.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from analysis.qda.positions import (
    Convention,
    Detected,
    PositionError,
    RawSelection,
    detect,
    index_map,
    to_index,
)

PROJECT_NS_PREFIX = "urn:QDA-XML:project:"
CODEBOOK_NS_PREFIX = "urn:QDA-XML:codebook:"
SUPPORTED_MAJORS = ("0", "1")
SEGMENT_COLUMNS = ("case", "coder", "code", "start", "end", "text")
SOURCE_KINDS = ("TextSource", "PDFSource", "PictureSource", "AudioSource", "VideoSource")
NON_TEXT_SELECTIONS = ("PictureSelection", "PDFSelection", "AudioSelection", "VideoSelection")
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


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
    """One coding. Text codings carry Python string indices into ``Project.texts[layer]``
    (end exclusive); codings of pictures, PDF regions, media spans and whole sources have
    ``start``/``end``/``layer`` None."""

    source: str
    code: str
    coder: str
    start: int | None
    end: int | None
    selection: str
    layer: str | None = None
    kind: str = "PlainTextSelection"
    coding: str = ""


@dataclass(frozen=True)
class Source:
    guid: str
    name: str
    text: str = ""  # the main text layer ('' for a picture or untranscribed media)
    kind: str = "TextSource"
    variables: dict[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    guid: str
    name: str
    variables: dict[str, str | int | float | bool]
    sources: tuple[str, ...]
    selections: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()


@dataclass
class Project:
    """The parts of a REFI-QDA project the analysis needs."""

    path: str
    namespace: str
    version: str
    schema_version: str | None
    name: str
    origin: str = ""
    member: str = "project.qde"
    users: dict[str, str] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # text layer guid -> text
    cases: dict[str, Case] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    positions: Detected | None = None
    note_codings: int = 0  # codings inside <Notes> (memos): counted, never tallied

    @property
    def where(self) -> str:
        return f"{self.path}!{self.member}"

    def case_codes(self) -> set[str]:
        """Codes that stand for cases (Case/CodeRef, or a Code sharing a Case's GUID)."""
        return {code for case in self.cases.values() for code in case.codes}

    def case_of_source(self) -> dict[str, str]:
        """Map source GUID to its (first) case GUID; without Cases, each source is its own."""
        if not self.cases:
            return {guid: guid for guid in self.sources}
        out: dict[str, str] = {}
        for case in self.cases.values():
            for src in case.sources:
                out.setdefault(src, case.guid)
        return out

    def cases_of_segments(self, not_cases: frozenset[str] | set[str] = frozenset()
                          ) -> list[tuple[str, ...]]:
        """The cases each segment belongs to, most specific reference first.

        A selection named by Case/SelectionRef belongs to those cases; else to the cases
        whose case-code codings overlap it in the same source (NVivo codes a case's parts
        of a transcript with the case's node); else to the cases holding its source.
        Without Cases every source is its own case. Codes in ``not_cases`` (those a
        mapping gives a study key) never make a segment a case's.
        """
        if not self.cases:
            return [(s.source,) for s in self.segments]
        by_selection: dict[str, list[str]] = {}
        by_source: dict[str, list[str]] = {}
        code_case: dict[str, list[str]] = {}
        for case in self.cases.values():
            for sel in case.selections:
                by_selection.setdefault(sel, []).append(case.guid)
            for src in case.sources:
                by_source.setdefault(src, []).append(case.guid)
            for code in case.codes:
                if code not in not_cases:
                    code_case.setdefault(code, []).append(case.guid)
        spans = [(s, code_case[s.code]) for s in self.segments if s.code in code_case]
        return [
            tuple(by_selection.get(seg.selection) or _overlapping(seg, spans)
                  or by_source.get(seg.source, []))
            for seg in self.segments
        ]

    def segment_text(self, segment: Segment) -> str:
        if segment.layer is None or segment.start is None:
            return ""
        return self.texts[segment.layer][segment.start : segment.end]


def _overlapping(seg: Segment, spans: list[tuple[Segment, list[str]]]) -> list[str]:
    out: list[str] = []
    for span, cases in spans:
        if span.source != seg.source or span is seg:
            continue
        if span.layer is None or seg.layer is None or span.start is None or seg.start is None:
            hit = True  # a whole-source or non-text case coding covers the source
        else:
            hit = span.layer == seg.layer and (
                span.start < seg.end and seg.start < span.end  # type: ignore[operator]
                or span.start <= seg.start <= span.end  # type: ignore[operator]
            )
        out += [c for c in cases if hit and c not in out]
    return out


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
    """The root's namespace and version; '1.0', '1:0' (NVivo) and '0:4' are all read."""
    ns, _local = _split_tag(root.tag)
    if not ns.lower().startswith(prefix.lower()):
        raise _fail(
            where,
            f"root element {root.tag!r} is not in a {prefix}<version> namespace "
            "(is this a REFI-QDA export?)",
        )
    version = ns[len(prefix) :].replace(":", ".")
    if re.split(r"[.]", version)[0] not in SUPPORTED_MAJORS:
        raise _fail(
            where,
            f"unsupported REFI-QDA version {version!r} in namespace {ns!r} "
            f"(reader supports versions {', '.join(m + '.x' for m in SUPPORTED_MAJORS)})",
        )
    return ns, version


def _schema_version(root: ET.Element) -> str | None:
    """REFI-QDA 1.5 files name their schema release in xsi:schemaLocation (…/v1.5/…)."""
    loc = root.get(f"{XSI}schemaLocation", "")
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


class _Zip:
    """Member lookup in a .qdpx: case-insensitive, ``sources/`` or ``Sources/``."""

    def __init__(self, zf: zipfile.ZipFile, path: Path) -> None:
        self.zf, self.path = zf, path
        self.members = {i.filename.lower(): i.filename for i in zf.infolist() if not i.is_dir()}

    def project_member(self) -> str:
        """The project XML: project.qde, else the one .qde file (ATLAS.ti names it freely)."""
        if "project.qde" in self.members:
            return self.members["project.qde"]
        qde = sorted(name for low, name in self.members.items() if low.endswith(".qde"))
        if len(qde) == 1:
            return qde[0]
        found = f"several .qde files {qde}" if qde else "no .qde file"
        raise _fail(
            str(self.path),
            f"ZIP member 'project.qde' not found and {found} to use instead "
            f"(members: {sorted(self.members.values())[:10]})",
        )

    def read(self, name: str) -> bytes | None:
        actual = self.members.get(name.lower())
        return None if actual is None else self.zf.read(actual)

    def source(self, ref: str, where: str) -> bytes:
        """The bytes a plainTextPath names; a clear error if it is not in the ZIP."""
        if re.match(r"(?i)(relative|absolute|file)://", ref):
            raise _fail(
                where,
                f"plainTextPath {ref!r} points outside the .qdpx; export the project with "
                "its sources embedded (internal://)",
            )
        rel = re.sub(r"(?i)^internal://", "", ref).lstrip("/")
        for candidate in (f"sources/{rel}", rel):
            data = self.read(candidate)
            if data is not None:
                return data
        base = PurePosixPath(rel).name.lower()
        hits = [n for low, n in self.members.items() if PurePosixPath(low).name == base]
        if len(hits) == 1:
            return self.zf.read(hits[0])
        raise _fail(where, f"text file {ref!r} is not in the .qdpx (looked for sources/{rel})")


def _decode(raw: bytes, where: str) -> str:
    """UTF-8 (with or without BOM), or UTF-16 with a BOM, as the tools write it."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _fail(where, f"text is neither UTF-8 nor UTF-16 with a BOM: {exc}") from exc


@dataclass(frozen=True)
class _Pending:
    """A coding read from the XML, its text positions not yet converted."""

    source: str
    code: str
    coder: str
    selection: str
    kind: str
    coding: str
    raw: RawSelection | None = None


@dataclass
class _Reader:
    project: Project
    zipr: _Zip
    pending: list[_Pending] = field(default_factory=list)
    raw: list[RawSelection] = field(default_factory=list)
    selections: set[str] = field(default_factory=set)

    @property
    def ns(self) -> str:
        return self.project.namespace

    def q(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def codings(
        self, holder: ET.Element, source: str, kind: str, where: str, raw: RawSelection | None
    ) -> None:
        for coding in holder.findall(self.q("Coding")):
            ref = coding.find(self.q("CodeRef"))
            if ref is None:
                raise _fail(where, "Coding has no CodeRef")
            target = _required(ref, "targetGUID", where)
            if target not in self.project.codes:
                raise _fail(where, f"CodeRef targetGUID {target} names no Code in the CodeBook")
            coder = coding.get("creatingUser") or holder.get("creatingUser") or ""
            if coder and self.project.users and coder not in self.project.users:
                raise _fail(where, f"creatingUser {coder} names no User in <Users>")
            self.pending.append(
                _Pending(source, target, coder, holder.get("guid", ""), kind,
                         coding.get("guid", ""), raw)
            )

    def text(self, el: ET.Element, where: str) -> str | None:
        content = el.find(self.q("PlainTextContent"))
        if content is not None:
            return content.text or ""
        ref = el.get("plainTextPath")
        return None if not ref else _decode(self.zipr.source(ref, where), where)

    def layer(self, el: ET.Element, source: Source, guid: str, where: str) -> str:
        """A text layer (TextSource, Representation, TextDescription) and its selections."""
        text = self.text(el, where)
        sels = el.findall(self.q("PlainTextSelection"))
        if text is None:
            if sels:
                raise _fail(where, f"<{_split_tag(el.tag)[1]}> has PlainTextSelections but "
                            "neither PlainTextContent nor plainTextPath")
            text = ""
        self.project.texts[guid] = text
        for sel in sels:
            sel_guid = _required(sel, "guid", where)
            here = f"{where}: PlainTextSelection {sel_guid}"
            raw = self.raw_selection(sel, "startPosition", "endPosition", guid, source, here)
            self.codings(sel, source.guid, "PlainTextSelection", here, raw)
        return text

    def raw_selection(self, sel: ET.Element, a: str, b: str, layer: str, source: Source,
                      where: str, values: tuple[int, int] | None = None) -> RawSelection:
        guid = _required(sel, "guid", where)
        if values is None:
            try:
                values = int(_required(sel, a, where)), int(_required(sel, b, where))
            except ValueError as exc:
                raise _fail(where, f"{a}/{b} must be integers") from exc
        start, end = values
        if not 0 <= start <= end:
            raise _fail(where, f"selection [{start}, {end}) lies outside source "
                        f"{source.name!r} (need 0 <= start <= end <= length)")
        kind = _split_tag(sel.tag)[1]
        raw = RawSelection(layer, guid, start, end, where.rsplit(":", 1)[0], kind, source.name,
                           sel.get("name", ""))
        self.raw.append(raw)
        self.selections.add(guid)
        return raw

    def transcript(self, el: ET.Element, source: Source, where: str) -> str:
        guid = _required(el, "guid", where)
        here = f"{where}: Transcript {guid}"
        text = self.text(el, here) or ""
        self.project.texts[guid] = text
        sync: dict[str, int] = {}
        for point in el.findall(self.q("SyncPoint")):
            try:
                sync[_required(point, "guid", here)] = int(point.get("position", ""))
            except ValueError as exc:
                raise _fail(here, "SyncPoint position must be an integer") from exc
        for sel in el.findall(self.q("TranscriptSelection")):
            sel_here = f"{here}: TranscriptSelection {sel.get('guid', '')}"
            ends = [sync.get(sel.get(attr, "")) for attr in ("fromSyncPoint", "toSyncPoint")]
            if None in ends:
                raise _fail(sel_here, "fromSyncPoint/toSyncPoint name no SyncPoint of the "
                            "Transcript")
            raw = self.raw_selection(sel, "", "", guid, source, sel_here,
                                     (ends[0], ends[1]))  # type: ignore[arg-type]
            self.codings(sel, source.guid, "TranscriptSelection", sel_here, raw)
        return text

    def source(self, el: ET.Element, kind: str) -> None:
        guid = _required(el, "guid", self.project.where)
        where = f"{self.project.where}: {kind} {guid}"
        if guid in self.project.sources:
            raise _fail(where, f"{kind} guid is used twice")
        transcripts = el.findall(self.q("Transcript"))
        name = el.get("name") or (transcripts[0].get("name") if transcripts else "") or guid
        values = _variable_values(el, self.project, where)
        source = Source(guid, name, "", kind, values)
        text = ""
        if kind == "TextSource":
            text = self.layer(el, source, guid, where)
        for rep_tag in ("Representation", "TextDescription"):
            for rep in el.findall(self.q(rep_tag)):
                rep_guid = rep.get("guid") or f"{guid}#{rep_tag}"
                layer_text = self.layer(rep, source, rep_guid, f"{where}: {rep_tag} {rep_guid}")
                text = text or layer_text
        for tr in transcripts:
            text = text or self.transcript(tr, source, where)
        for sel_kind in NON_TEXT_SELECTIONS:
            for sel in el.findall(self.q(sel_kind)):
                here = f"{where}: {sel_kind} {_required(sel, 'guid', where)}"
                self.selections.add(sel.get("guid", ""))
                self.codings(sel, guid, sel_kind, here, None)
        self.codings(el, guid, kind, where, None)  # codes applied to the whole source
        self.project.sources[guid] = Source(guid, name, text, kind, values)


def _variable_value(vv: ET.Element, ns: str, where: str) -> tuple[str, str | int | float | bool]:
    ref = vv.find(f"{{{ns}}}VariableRef")
    if ref is None:
        raise _fail(where, "VariableValue has no VariableRef")
    target = _required(ref, "targetGUID", where)
    for child in vv:
        kind = _split_tag(child.tag)[1]
        text = (child.text or "").strip()
        try:
            if kind == "TextValue":
                return target, text
            if kind == "IntegerValue":
                return target, int(text)
            if kind == "FloatValue":
                return target, float(text)
        except ValueError as exc:
            raise _fail(where, f"VariableValue for {target}: {kind} {text!r} is not a "
                        "number") from exc
        if kind == "BooleanValue":
            return target, text.lower() in ("true", "1")
        if kind in ("DateValue", "DateTimeValue"):
            return target, text
    raise _fail(where, f"VariableValue for {target} holds no value element")


def _variable_values(
    el: ET.Element, project: Project, where: str
) -> dict[str, str | int | float | bool]:
    values: dict[str, str | int | float | bool] = {}
    for vv in el.findall(f"{{{project.namespace}}}VariableValue"):
        var_guid, value = _variable_value(vv, project.namespace, where)
        if var_guid not in project.variables:
            raise _fail(where, f"VariableRef targetGUID {var_guid} names no Variable")
        values[project.variables[var_guid]] = value
    return values


def _read_cases(root: ET.Element, reader: _Reader) -> dict[str, Case]:
    project, q = reader.project, reader.q
    cases: dict[str, Case] = {}
    for case_el in root.findall(f"{q('Cases')}/{q('Case')}"):
        guid = _required(case_el, "guid", project.where)
        here = f"{project.where}: Case {guid}"
        refs: dict[str, list[str]] = {}
        for tag, known, what in (
            ("SourceRef", project.sources, "source"),
            ("SelectionRef", reader.selections, "selection"),
            ("CodeRef", project.codes, "Code"),
        ):
            refs[tag] = []
            for ref in case_el.findall(q(tag)):
                target = _required(ref, "targetGUID", here)
                if target not in known:
                    raise _fail(here, f"{tag} targetGUID {target} names no {what}")
                refs[tag].append(target)
        if guid in project.codes:  # NVivo: a case is also a node coded onto its text
            refs["CodeRef"].append(guid)
        name = case_el.get("name") or ""
        if not name and len(refs["SourceRef"]) == 1:
            name = project.sources[refs["SourceRef"][0]].name
        cases[guid] = Case(guid, name or guid, _variable_values(case_el, project, here),
                           tuple(refs["SourceRef"]), tuple(refs["SelectionRef"]),
                           tuple(dict.fromkeys(refs["CodeRef"])))
    return cases


def read_qdpx(
    path: str | Path, positions: str = "auto", min_word_boundary_share: float = 0.75
) -> Project:
    """Read a .qdpx project (REFI-QDA 0.x/1.x): codebook, users, sources, cases, codings.

    ``positions`` is a convention key of analysis/qda/positions.py or "auto".
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(str(path), f"not a readable .qdpx ZIP archive: {exc}") from exc
    with zf:
        zipr = _Zip(zf, path)
        member = zipr.project_member()
        where = f"{path}!{member}"
        root = _parse_xml(zf.read(member), where)
        ns, version = _namespace_version(root, PROJECT_NS_PREFIX, where)
        if _split_tag(root.tag)[1] != "Project":
            raise _fail(where, f"root element is <{_split_tag(root.tag)[1]}>, expected <Project>")
        project = Project(str(path), ns, version, _schema_version(root), root.get("name", ""),
                          root.get("origin", ""), member)
        reader = _Reader(project, zipr)
        for user in root.findall(f"{reader.q('Users')}/{reader.q('User')}"):
            project.users[_required(user, "guid", where)] = user.get("name", "")
        codes_el = root.find(f"{reader.q('CodeBook')}/{reader.q('Codes')}")
        if codes_el is not None:
            project.codes = _read_codes(codes_el, ns, where)
        for var in root.findall(f"{reader.q('Variables')}/{reader.q('Variable')}"):
            project.variables[_required(var, "guid", where)] = _required(var, "name", where)
        sources_el = root.find(reader.q("Sources"))
        for el in [] if sources_el is None else list(sources_el):
            kind = _split_tag(el.tag)[1]
            if kind not in SOURCE_KINDS:
                raise _fail(where, f"<Sources> holds an unknown element <{kind}>")
            reader.source(el, kind)
        project.cases = _read_cases(root, reader)
        notes = root.find(reader.q("Notes"))
        if notes is not None:
            project.note_codings = len(notes.findall(f".//{reader.q('Coding')}"))
        _place_segments(reader, positions, min_word_boundary_share)
    return project


def _place_segments(reader: _Reader, wanted: str, min_share: float) -> None:
    """Find the position convention, then turn every coding into a Segment."""
    project = reader.project
    try:
        project.positions = detect(project.texts, reader.raw, project.origin, wanted, min_share)
    except PositionError as exc:
        raise _fail(project.where, str(exc).removeprefix(project.where + ": ")) from exc
    conv: Convention = project.positions.convention
    tables = {layer: index_map(text, conv) for layer, text in project.texts.items()}
    for p in reader.pending:
        start = end = layer = None
        if p.raw is not None:
            layer, text = p.raw.layer, project.texts[p.raw.layer]
            start = to_index(tables[layer], p.raw.start, text)
            end = to_index(tables[layer], p.raw.end, text)
        project.segments.append(
            Segment(p.source, p.code, p.coder, start, end, p.selection, layer, p.kind, p.coding)
        )


def source_kinds(project: Project) -> Counter[str]:
    """Number of sources per REFI-QDA source type."""
    return Counter(source.kind for source in project.sources.values())


def read_qdc(path: str | Path) -> dict[str, Code]:
    """Read a bare REFI-QDA codebook (.qdc); namespace variants as for projects."""
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
    """Validate project XML bytes against a REFI-QDA Project XSD (needs xmlschema)."""
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


def open_csv(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 CSV (BOM allowed) that has the ``required`` columns."""
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
    _header, rows = open_csv(path, SEGMENT_COLUMNS[:5])
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
    header, rows = open_csv(path, ("case",))
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
    _header, rows = open_csv(path, ("case", *variables))
    out: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        if row["case"] in out:
            raise _fail(f"{path}: row {line}", f"case {row['case']!r} appears twice")
        out[row["case"]] = {v: (row[v] or "").strip() for v in variables}
    return out
