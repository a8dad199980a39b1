"""The stand-in interview project re-exported as NVivo, ATLAS.ti, MAXQDA and QualCoder write it.

Each style reproduces the habits of one tool seen in real REFI-QDA exports: NVivo counts
positions in UTF-16 code units with CRLF as two, writes ``Sources/`` and no Cases (or
cases as nodes coded onto the text, ``Case/CodeRef``) and a ``1:0`` namespace; ATLAS.ti
names the project XML after the project, stores transcripts as PDFs with a text
``Representation`` (paths without ``internal://``), keeps CRLF in the file but counts it as
one, and puts a source in two cases; MAXQDA keeps document variables in nameless cases
and codes an audio interview's transcript through sync points; QualCoder names
selections after their text, inlines a text and writes zero-length selections and
picture sources. Transcripts get emoji (astral characters) so conventions differ.

Every style writes the same interviews and codings, so each must read to the same tally
as the stand-in; the mapping file each needs is returned with it. Built in the tests
(tmp directories): nothing binary is committed.

``private=True`` adds what real exports carry and a de-identifier must withhold: person-like
document and case names, NVivo's DOCX copy of each text (``richTextPath``), a PDF and a
picture source (excluded by name), selections named after their text, descriptions and
memos quoting the transcript, a set and a link, text variables with exact ages and a
participants CSV keyed by document with exact ages.
"""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.qda.qdpx import Project

STATUS = ("participant", "non_participant", "model_city")
FAMILY = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu")
GIVEN = ("Fang", "Wei", "Min", "Jing", "Lei")
EMOJI = "\U0001f642"  # outside the BMP: two UTF-16 units


@dataclass
class Interview:
    name: str
    text: str
    variables: dict[str, str]
    codings: list[tuple[str, int, int, str]]  # study key, start, end, coder


@dataclass
class Style:
    name: str
    origin: str
    member: str = "project.qde"
    namespace: str = "urn:QDA-XML:project:1.0"
    folder: str = "sources"
    path_prefix: str = "internal://"
    newline: str = "\n"
    utf16: bool = False
    crlf_as_one: bool = False
    lf_as_two: bool = False
    emoji: bool = True
    cases: str = "sourceref"  # none | sourceref | coderef | nameless
    kind: str = "TextSource"
    extra: dict[str, Any] = field(default_factory=dict)


STYLES = {
    "nvivo_windows": Style("nvivo_windows", "NVivo 14 for Windows", folder="Sources",
                           newline="\r\n", utf16=True, cases="none"),
    "nvivo_mac": Style("nvivo_mac", "NVivo 12 For Mac", namespace="urn:QDA-XML:project:1:0",
                       folder="Sources", utf16=True, cases="coderef"),
    "atlas": Style("atlas", "ATLAS.ti 23.2.1", member="SCS interviews.qde", path_prefix="",
                   newline="\r\n", crlf_as_one=True, kind="PDFSource"),
    "nvivo_lf": Style("nvivo_lf", "NVivo 15 for Mac", folder="Sources", utf16=True,
                      lf_as_two=True, cases="none"),
    "maxqda": Style("maxqda", "MAXQDA 24.7", cases="nameless", kind="mixed"),
    "qualcoder": Style("qualcoder", "QualCoder 3.6"),
}


def stand_in_interviews(project: Project, keys: dict[str, str]) -> list[Interview]:
    """The stand-in's transcripts and codings keyed by study key (code GUID -> key)."""
    case_of = project.case_of_source()
    out = []
    for guid, source in sorted(project.sources.items(), key=lambda kv: kv[1].name):
        case = project.cases[case_of[guid]]
        codings = [(keys[s.code], s.start, s.end, project.users[s.coder])
                   for s in project.segments if s.source == guid]
        out.append(Interview(case.name, source.text, dict(case.variables), codings))
    return out


def _transform(text: str, style: Style) -> tuple[str, list[int]]:
    """The text as the tool stores it, and old index -> new index."""
    new, where = [], []
    for i, ch in enumerate(text):
        if style.emoji and text.startswith("Respondent:", i):
            new.append(EMOJI + " ")
        where.append(sum(map(len, new)))
        new.append(style.newline if ch == "\n" else ch)
    where.append(sum(map(len, new)))
    return "".join(new), where


def units(text: str, index: int, style: Style) -> int:
    """Position ``index`` of ``text`` counted the tool's way."""
    head = text[:index]
    if style.crlf_as_one:
        head = head.replace("\r\n", "\n")
    if style.lf_as_two:
        head = head.replace("\n", "\r\n")
    return len(head.encode("utf-16-le")) // 2 if style.utf16 else len(head)


def _guid(*key: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "refi-styles/" + "/".join(map(str, key))))


def code_path(style: Style, key: str, label: str, category: str) -> tuple[str, ...]:
    """How each style names the study's codes (never the stand-in's names)."""
    if key.startswith("status:"):
        return ("Interviewee status", key[7:].replace("_", " "))
    if style.name == "atlas":  # ATLAS.ti: flat codes, 'Category: code'
        return (f"{category}: {label}",)
    if style.name.startswith("nvivo"):
        return ("Barriers to joining", category, label.lower())
    return ("Barriers", category, label)


def _codes(style: Style, codebook: Any) -> dict[str, tuple[str, ...]]:
    out = {k: code_path(style, k, b["label"], b["category"]) for k, b in codebook.barriers.items()}
    out.update({f"status:{k}": code_path(style, f"status:{k}", "", "") for k in STATUS})
    out["closing"] = ("Closing remarks",)
    return out


def person_names(interviews: list[Interview]) -> list[Interview]:
    """The interviews renamed after (made-up) people, as real exports often name them."""
    names = [f"{FAMILY[i % len(FAMILY)]} {GIVEN[i // len(FAMILY)]}" for i in range(len(interviews))]
    return [Interview(n, iv.text, iv.variables, iv.codings) for n, iv in zip(names, interviews,
                                                                              strict=True)]


def docx_bytes(text: str) -> bytes:
    """A minimal Word document holding ``text`` (one paragraph per line, words split
    across runs as Word does)."""
    paras = "".join(
        "<w:p>" + "".join(f'<w:r><w:t xml:space="preserve">{_xml(part)}</w:t></w:r>'
                          for part in _halves(line)) + "</w:p>"
        for line in text.splitlines())
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           f"<w:body>{paras}</w:body></w:document>")
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
             '.org/package/2006/content-types"><Default Extension="xml" ContentType='
             '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
             'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("word/document.xml", doc)
    return out.getvalue()


def _halves(line: str) -> list[str]:
    mid = len(line) // 2
    return [line[:mid], line[mid:]] if line else [""]


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF whose text (uncompressed, Helvetica) is ``text``."""
    safe = text.replace("\u2019", "'").encode("latin-1", errors="replace").decode("latin-1")
    lines = [ln.replace("\\", "").replace("(", "").replace(")", "") for ln in safe.splitlines()]
    ops = "BT /F1 9 Tf 40 800 Td 11 TL " + " ".join(f"({ln}) '" for ln in lines) + " ET"
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            "/Resources << /Font << /F1 5 0 R >> >> >>",
            f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    body, offsets = "%PDF-1.4\n", []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(body.encode("latin-1")))
        body += f"{i} 0 obj\n{obj}\nendobj\n"
    xref = len(body.encode("latin-1"))
    body += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n"
    body += "".join(f"{o:010d} 00000 n \n" for o in offsets)
    body += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return body.encode("latin-1")


# A 1x1 PNG: the picture source of the private extras.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


class _Writer:
    def __init__(self, style: Style, codebook: Any, interviews: list[Interview],
                 private: bool = False) -> None:
        self.style, self.interviews, self.private = style, interviews, private
        self.notes: list[tuple[str, str, str]] = []  # guid, name, text
        self.ns = style.namespace
        self.paths = _codes(style, codebook)
        self.files: dict[str, bytes] = {}
        self.root = ET.Element(self.q("Project"), name="SCS interviews (SIMULATED)",
                               origin=style.origin)
        self.users = {c: _guid("user", c) for c in ("Coder A", "Coder B")}
        self.vars = {v: _guid("var", v) for v in interviews[0].variables}

    def q(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def sub(self, parent: ET.Element, local: str, **attrs: str) -> ET.Element:
        return ET.SubElement(parent, self.q(local), **attrs)

    def codebook(self) -> None:
        codes = self.sub(self.sub(self.root, "CodeBook"), "Codes")
        nodes: dict[tuple[str, ...], ET.Element] = {}
        leaves = set(self.paths.values())
        for path in self.paths.values():
            for depth in range(1, len(path) + 1):
                sub = path[:depth]
                if sub not in nodes:
                    parent = nodes[sub[:-1]] if depth > 1 else codes
                    nodes[sub] = self.sub(parent, "Code", guid=_guid("code", *sub), name=sub[-1],
                                          isCodable=str(sub in leaves).lower())
        if self.style.cases == "coderef":  # NVivo: each case is also a node
            cases = self.sub(codes, "Code", guid=_guid("code", "Cases"), name="Cases",
                             isCodable="false")
            for iv in self.interviews:
                self.sub(cases, "Code", guid=_guid("case", iv.name), name=iv.name,
                         isCodable="true")

    def header(self) -> None:
        users = self.sub(self.root, "Users")
        for name, guid in self.users.items():
            self.sub(users, "User", guid=guid, name=name)
        self.codebook()
        if self.style.cases != "none":
            variables = self.sub(self.root, "Variables")
            for name, guid in self.vars.items():
                self.sub(variables, "Variable", guid=guid, name=name, typeOfVariable="Text")

    def text_file(self, guid: str, text: str) -> str:
        self.files[f"{self.style.folder}/{guid}.txt"] = text.encode("utf-8")
        return f"{self.style.path_prefix}{guid}.txt"

    def quote(self, parent: ET.Element, iv: Interview, text: str) -> None:
        """Private extras: a description and a memo quoting the interviewee by name."""
        if not self.private:
            return
        answer = text[text.find("Respondent:"):][:160]
        self.sub(parent, "Description").text = f"{iv.name} said: {answer}"
        guid = _guid("memo", iv.name)
        self.notes.append((guid, f"Memo on {iv.name}", f"Memo. {iv.name} told us: {answer}"))

    def note_ref(self, el: ET.Element, iv: Interview) -> None:
        if self.private:
            self.sub(el, "NoteRef", targetGUID=_guid("memo", iv.name))

    def selections(self, layer: ET.Element, iv: Interview, text: str, where: list[int],
                   tag: str = "PlainTextSelection") -> None:
        for i, (key, start, end, coder) in enumerate(iv.codings):
            a, b = units(text, where[start], self.style), units(text, where[end], self.style)
            attrs = {"guid": _guid("sel", iv.name, i), "creatingUser": self.users[coder]}
            if tag == "PlainTextSelection":
                attrs.update(startPosition=str(a), endPosition=str(b))
            if self.style.name == "qualcoder":
                attrs["name"] = text[where[start]:where[end]][:30] + "..."
            elif self.private:  # ATLAS.ti and MAXQDA: the first 100 characters of the text
                attrs["name"] = text[where[start]:where[end]][:100]
            sel = self.sub(layer, tag, **attrs)
            coding = self.sub(sel, "Coding", guid=_guid("coding", iv.name, i),
                              creatingUser=self.users[coder])
            self.sub(coding, "CodeRef", targetGUID=_guid("code", *self.paths[key]))

    def source(self, sources: ET.Element, iv: Interview, n: int) -> None:
        text, where = _transform(iv.text, self.style)
        guid = _guid("source", iv.name)
        kind = self.style.kind
        if kind == "mixed":
            kind = "AudioSource" if n == 0 else "TextSource"
        if kind == "TextSource":
            el = self.sub(sources, "TextSource", guid=guid, name=iv.name)
            self.quote(el, iv, text)
            if self.style.name == "qualcoder" and n == 0:
                self.sub(el, "PlainTextContent").text = text
            else:
                el.set("plainTextPath", self.text_file(guid, text))
            if self.private and self.style.name.startswith("nvivo"):  # NVivo's DOCX copy
                self.files[f"{self.style.folder}/{guid}.docx"] = docx_bytes(text)
                el.set("richTextPath", f"{self.style.path_prefix}{guid}.docx")
            self.selections(el, iv, text, where)
            self._case_node_coding(el, iv, text)
            self.note_ref(el, iv)
        elif kind == "PDFSource":
            el = self.sub(sources, "PDFSource", guid=guid, name=f"{iv.name}.pdf",
                          path=f"internal://{guid}.pdf")
            self.quote(el, iv, text)
            self.files[f"{self.style.folder}/{guid}.pdf"] = (
                pdf_bytes(text) if self.private else b"%PDF-1.4 simulated\n")
            rep = self.sub(el, "Representation", guid=_guid("rep", iv.name),
                           plainTextPath=self.text_file(_guid("rep", iv.name), text))
            self.selections(rep, iv, text, where)
            self.note_ref(el, iv)
        else:
            el = self._audio(sources, iv, guid, text, where)
            self.note_ref(el, iv)
        if self.style.cases == "nameless":  # MAXQDA: document variables on the source
            for var, value in iv.variables.items():
                vv = self.sub(el, "VariableValue")
                self.sub(vv, "VariableRef", targetGUID=self.vars[var])
                self.sub(vv, "TextValue").text = value

    def _audio(self, sources: ET.Element, iv: Interview, guid: str, text: str,
               where: list[int]) -> ET.Element:
        el = self.sub(sources, "AudioSource", guid=guid, name="", path=f"internal://{guid}.m4a")
        self.files[f"{self.style.folder}/{guid}.m4a"] = b"simulated audio"
        tr = self.sub(el, "Transcript", guid=_guid("tr", iv.name), name=f"{iv.name}.m4a",
                      plainTextPath=self.text_file(_guid("tr", iv.name), text))
        points: dict[int, str] = {}
        for _key, start, end, _coder in iv.codings:
            for pos in (start, end):
                pos_units = units(text, where[pos], self.style)
                if pos_units not in points:
                    points[pos_units] = _guid("sync", iv.name, pos_units)
                    self.sub(tr, "SyncPoint", guid=points[pos_units], position=str(pos_units),
                             timeStamp=str(1000 * pos_units))
        for i, (key, start, end, coder) in enumerate(iv.codings):
            sel = self.sub(tr, "TranscriptSelection", guid=_guid("sel", iv.name, i),
                           fromSyncPoint=points[units(text, where[start], self.style)],
                           toSyncPoint=points[units(text, where[end], self.style)],
                           creatingUser=self.users[coder])
            coding = self.sub(sel, "Coding", guid=_guid("coding", iv.name, i),
                              creatingUser=self.users[coder])
            self.sub(coding, "CodeRef", targetGUID=_guid("code", *self.paths[key]))
        span = self.sub(el, "AudioSelection", guid=_guid("audio", iv.name), begin="0",
                        end="60000", creatingUser=self.users["Coder A"])
        key = iv.codings[0][0]
        coding = self.sub(span, "Coding", guid=_guid("acoding", iv.name),
                          creatingUser=self.users["Coder A"])
        self.sub(coding, "CodeRef", targetGUID=_guid("code", *self.paths[key]))
        return el

    def _case_node_coding(self, el: ET.Element, iv: Interview, text: str) -> None:
        if self.style.cases != "coderef":
            return
        sel = self.sub(el, "PlainTextSelection", guid=_guid("casesel", iv.name),
                       startPosition="0", endPosition=str(units(text, len(text), self.style)),
                       creatingUser=self.users["Coder A"])
        coding = self.sub(sel, "Coding", guid=_guid("casecoding", iv.name),
                          creatingUser=self.users["Coder A"])
        self.sub(coding, "CodeRef", targetGUID=_guid("case", iv.name))

    def cases(self) -> None:
        mode = self.style.cases
        if mode == "none":
            return
        cases = self.sub(self.root, "Cases")
        for iv in self.interviews:
            attrs = {"guid": _guid("case", iv.name)}
            if mode != "nameless":
                attrs["name"] = iv.name
            case = self.sub(cases, "Case", **attrs)
            if self.private:
                self.sub(case, "Description").text = f"Interviewee {iv.name}, " + \
                    iv.text[iv.text.find("Respondent:"):][:120]
            if mode == "coderef":
                self.sub(case, "CodeRef", targetGUID=_guid("case", iv.name))
            if mode != "nameless":
                for var, value in iv.variables.items():
                    vv = self.sub(case, "VariableValue")
                    self.sub(vv, "VariableRef", targetGUID=self.vars[var])
                    self.sub(vv, "TextValue").text = value
            if mode != "coderef":
                self.sub(case, "SourceRef", targetGUID=_guid("source", iv.name))
        if self.style.name == "atlas":  # a second case over the first source: not a person
            pilot = self.sub(cases, "Case", guid=_guid("case", "pilot"), name="Pilot group")
            self.sub(pilot, "SourceRef", targetGUID=_guid("source", self.interviews[0].name))

    def extras(self, sources: ET.Element) -> None:
        """A document that is not an interview; QualCoder's picture and zero-length mark."""
        guide = self.sub(sources, "TextSource", guid=_guid("source", "guide"),
                         name="Interview guide")
        guide.set("plainTextPath", self.text_file(_guid("source", "guide"),
                                                  "1. Tell me about digital services.\n"))
        if self.style.name == "qualcoder":
            self.sub(sources, "PictureSource", guid=_guid("source", "photo"),
                     name="Field site photo.jpg", path=f"internal://{_guid('p')}.jpg")
            self.files[f"{self.style.folder}/{_guid('p')}.jpg"] = b"simulated jpeg"
        if self.private:
            self.private_extras(sources)

    def private_extras(self, sources: ET.Element) -> None:
        """A PDF leaflet quoting an interviewee, and a photo of one, both coded."""
        iv = self.interviews[0]
        quote = iv.text[iv.text.find("Respondent:"):][:300]
        pdf = self.sub(sources, "PDFSource", guid=_guid("source", "leaflet"),
                       name="Field site leaflet.pdf", path=f"internal://{_guid('leaflet')}.pdf")
        self.files[f"{self.style.folder}/{_guid('leaflet')}.pdf"] = pdf_bytes(
            f"Leaflet with a quote from {iv.name}:\n{quote}")
        region = self.sub(pdf, "PDFSelection", guid=_guid("leaflet-sel"), page="1",
                          firstX="10", firstY="10", secondX="200", secondY="80",
                          name=quote[:60], creatingUser=self.users["Coder A"])
        coding = self.sub(region, "Coding", guid=_guid("leaflet-coding"),
                          creatingUser=self.users["Coder A"])
        self.sub(coding, "CodeRef", targetGUID=_guid("code", *self.paths["closing"]))
        pic = self.sub(sources, "PictureSource", guid=_guid("source", "portrait"),
                       name="Field site portrait.png",
                       path=f"internal://{_guid('portrait')}.png")
        self.sub(pic, "Description").text = f"Portrait of {iv.name} at home"
        self.files[f"{self.style.folder}/{_guid('portrait')}.png"] = PNG

    def memos(self) -> None:
        """Notes (memos) quoting interviewees, a set of sources and a link between two."""
        if not self.private:
            return
        notes = self.sub(self.root, "Notes")
        for guid, name, text in self.notes:
            note = self.sub(notes, "Note", guid=guid, name=name)
            note.set("plainTextPath", self.text_file(guid, text))
        first, second = self.interviews[0], self.interviews[1]
        links = self.sub(self.root, "Links")
        self.sub(links, "Link", guid=_guid("link"), name=f"{first.name} knows {second.name}",
                 originGUID=_guid("source", first.name), targetGUID=_guid("source", second.name))
        sets = self.sub(self.root, "Sets")
        group = self.sub(sets, "Set", guid=_guid("set"), name=f"Friends of {first.name}")
        self.sub(group, "Description").text = self.notes[0][2]
        self.sub(group, "MemberSource", targetGUID=_guid("source", second.name))

    def write(self, out: Path) -> Path:
        self.header()
        self.cases()  # the schema orders Cases before Sources
        sources = self.sub(self.root, "Sources")
        for n, iv in enumerate(self.interviews):
            self.source(sources, iv, n)
        self.extras(sources)
        self.memos()
        if self.private:
            self.sub(self.root, "Description").text = self.notes[1][2]
        ET.register_namespace("", self.ns)
        self.files[self.style.member] = ET.tostring(self.root, encoding="utf-8",
                                                    xml_declaration=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in sorted(self.files.items()):
                zf.writestr(name, data)
        return out


def add_closing_and_memo(interviews: list[Interview]) -> list[Interview]:
    """Code each transcript's last words (a 'Closing remarks' code the study ignores) and,
    for QualCoder, nothing else: the texts lose their trailing newlines so the coding
    ends at the very end of the text."""
    out = []
    for iv in interviews:
        text = iv.text.rstrip("\n")
        last = text.rfind("Respondent: ") + len("Respondent: ")
        codings = [*iv.codings, ("closing", last, len(text), "Coder A")]
        out.append(Interview(iv.name, text, iv.variables, codings))
    return out


def write_style(style: Style, codebook: Any, interviews: list[Interview], out: Path,
                private: bool = False) -> Path:
    """The project as ``style``'s tool exports it (``private``: with what real exports
    carry that must be withheld; pass the interviews through :func:`person_names`)."""
    return _Writer(style, codebook, add_closing_and_memo(interviews), private).write(out)


def mapping_for(style: Style, codebook: Any, tmp: Path,
                interviews: list[Interview], private: bool = False) -> dict[str, Any]:
    """The mapping file a researcher would write for this style's project."""
    paths = _codes(style, codebook)
    sep = "\\" if style.name in ("nvivo_windows", "nvivo_lf") else "/"

    def spell(key: str) -> str:
        if style.name == "maxqda":
            return _guid("code", *paths[key]).upper()  # by GUID, as some tools show them
        if style.name == "atlas":
            return paths[key][-1]  # bare name, unique in the project
        return sep.join(paths[key])

    mapping: dict[str, Any] = {
        "barriers": {k: spell(k) for k in codebook.barriers},
        "status": {k: {"code": spell(f"status:{k}")} for k in STATUS},
        "ignore_codes": ["Closing remarks"],
        "interviewees": {"exclude_documents": ["(?i)guide"], "exclude_cases": ["^Pilot"]},
    }
    if private:
        mapping["interviewees"]["exclude_documents"].append("^Field site")
    if style.cases == "none":  # no case variables: a participants CSV keyed by document
        csv_path = tmp / f"{style.name}{'_private' if private else ''}_people.csv"
        with open(csv_path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["document", "Age", *list(interviews[0].variables)[1:]])
            # Exact ages: a de-identifier bands them
            for iv in interviews:
                values = list(iv.variables.values())
                writer.writerow([iv.name, int(values[0].split("-")[0]) + 4, *values[1:]])
        mapping["participants_key"] = "document"
        mapping["demographics"] = {"Age group": {"variable": "Age"}}
        mapping["_participants"] = str(csv_path)
    return mapping
