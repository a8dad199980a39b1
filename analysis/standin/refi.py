"""Writing a stand-in REFI-QDA project (.qdpx) and codebook (.qdc): one writer for every strand.

Each generator hands over its own data (code tree, texts with codings, case variables) and
its :class:`Origin`; everything that makes the bytes reproducible lives here: GUIDs are
UUID5 of the generator's prefix, the seed and a stable key, every timestamp is the
origin's fixed one, and the ZIP is written by :func:`analysis.standin.files.zip_bytes`.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from analysis.standin.files import zip_bytes

NS = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"


@dataclass(frozen=True)
class Origin:
    """Who writes a project: fixes its GUIDs, ``origin`` attribute, users and dates."""

    prefix: str  # GUID namespace of the generator, e.g. "scs-interviews"
    seed: int
    origin: str  # the generator's file, written into every document
    created: str  # creationDateTime of everything
    zip_date: tuple[int, ...]
    coders: tuple[str, ...] = ("Coder A", "Coder B")

    def guid(self, *key: object) -> str:
        """A GUID stable across runs: UUID5 of prefix, seed and ``key``."""
        name = f"{self.prefix}/{self.seed}/" + "/".join(map(str, key))
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


@dataclass(frozen=True)
class Code:
    """A code of the tree; a code without children is the one that can be coded."""

    name: str
    children: tuple[Code, ...] = ()
    description: str | None = None  # written as <Description> when given


@dataclass
class Text:
    """A plain-text source (one per case) and its codings by every coder."""

    case: str
    text: str = ""
    # (code key, start, end, coder)
    codings: list[tuple[str, int, int, str]] = field(default_factory=list)
    name: str = ""  # the source's name; the case's when empty

    def add(self, line: str) -> tuple[int, int]:
        """Append ``line``; return its (start, end) in characters."""
        start = len(self.text)
        self.text += line
        return start, len(self.text)


def code_tree(paths: Iterable[tuple[str, ...]]) -> tuple[Code, ...]:
    """The tree holding every path of code names, in the order the names first occur."""
    root: dict[str, dict] = {}
    for path in paths:
        node = root
        for name in path:
            node = node.setdefault(name, {})

    def codes(node: dict) -> tuple[Code, ...]:
        return tuple(Code(name, codes(child)) for name, child in node.items())

    return codes(root)


def _codes_xml(parent: ET.Element, codes: Sequence[Code], origin: Origin, ns: str,
               path: tuple[str, ...] = ()) -> None:
    for code in codes:
        here = (*path, code.name)
        el = ET.SubElement(parent, f"{{{ns}}}Code", guid=origin.guid("code", *here),
                           name=code.name, isCodable=str(not code.children).lower())
        if code.description is not None:
            ET.SubElement(el, f"{{{ns}}}Description").text = code.description
        _codes_xml(el, code.children, origin, ns, here)


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def project_xml(origin: Origin, name: str, codes: Sequence[Code],
                code_paths: Mapping[str, tuple[str, ...]], texts: Sequence[Text],
                variables: Sequence[str] = (),
                cases: Sequence[Mapping[str, str]] | None = None) -> bytes:
    """A project.qde (REFI-QDA 1.0): users, code tree, cases (when given) and sources.

    ``code_paths`` maps each coding's key to the names from the root to its code;
    ``cases`` (one per text, in order) gives each case's value of every ``variables``.
    """
    ET.register_namespace("", NS)
    q = f"{{{NS}}}"
    root = ET.Element(f"{q}Project", name=name, origin=origin.origin,
                      creationDateTime=origin.created)
    users = ET.SubElement(root, f"{q}Users")
    for coder in origin.coders:
        ET.SubElement(users, f"{q}User", guid=origin.guid("user", coder), name=coder)
    _codes_xml(ET.SubElement(ET.SubElement(root, f"{q}CodeBook"), f"{q}Codes"), codes,
               origin, NS)
    if cases is not None:
        _cases_xml(root, origin, texts, variables, cases)
    sources = ET.SubElement(root, f"{q}Sources")
    guids = {key: origin.guid("code", *path) for key, path in code_paths.items()}
    for t in texts:
        _source_xml(sources, origin, t, guids)
    return _serialise(root)


def _cases_xml(root: ET.Element, origin: Origin, texts: Sequence[Text],
               variables: Sequence[str], cases: Sequence[Mapping[str, str]]) -> None:
    q = f"{{{NS}}}"
    el = ET.SubElement(root, f"{q}Variables")
    for var in variables:
        ET.SubElement(el, f"{q}Variable", guid=origin.guid("var", var), name=var,
                      typeOfVariable="Text")
    el = ET.SubElement(root, f"{q}Cases")
    for t, values in zip(texts, cases, strict=True):
        case = ET.SubElement(el, f"{q}Case", guid=origin.guid("case", t.case), name=t.case)
        for var in variables:
            vv = ET.SubElement(case, f"{q}VariableValue")
            ET.SubElement(vv, f"{q}VariableRef", targetGUID=origin.guid("var", var))
            ET.SubElement(vv, f"{q}TextValue").text = values[var]
        ET.SubElement(case, f"{q}SourceRef", targetGUID=origin.guid("source", t.case))


def _source_xml(sources: ET.Element, origin: Origin, t: Text, guids: Mapping[str, str]) -> None:
    q = f"{{{NS}}}"
    src_guid = origin.guid("source", t.case)
    src = ET.SubElement(sources, f"{q}TextSource", guid=src_guid, name=t.name or t.case,
                        plainTextPath=f"internal://{src_guid}.txt",
                        creatingUser=origin.guid("user", origin.coders[0]),
                        creationDateTime=origin.created)
    for i, (key, start, end, coder) in enumerate(t.codings):
        user = origin.guid("user", coder)
        sel = ET.SubElement(src, f"{q}PlainTextSelection", guid=origin.guid("sel", t.case, i),
                            startPosition=str(start), endPosition=str(end), creatingUser=user,
                            creationDateTime=origin.created)
        coding = ET.SubElement(sel, f"{q}Coding", guid=origin.guid("coding", t.case, i),
                               creatingUser=user, creationDateTime=origin.created)
        ET.SubElement(coding, f"{q}CodeRef", targetGUID=guids[key])


def codebook_xml(origin: Origin, codes: Sequence[Code]) -> bytes:
    """The bare code tree as a REFI-QDA codebook (.qdc)."""
    ET.register_namespace("", NS_CODEBOOK)
    root = ET.Element(f"{{{NS_CODEBOOK}}}CodeBook", origin=origin.origin)
    _codes_xml(ET.SubElement(root, f"{{{NS_CODEBOOK}}}Codes"), codes, origin, NS_CODEBOOK)
    return _serialise(root)


def qdpx_bytes(origin: Origin, qde: bytes, texts: Sequence[Text]) -> bytes:
    """The .qdpx ZIP: project.qde and every text under sources/, reproducibly zipped."""
    entries = {"project.qde": qde}
    for t in texts:
        entries[f"sources/{origin.guid('source', t.case)}.txt"] = t.text.encode("utf-8")
    return zip_bytes(entries, origin.zip_date)
