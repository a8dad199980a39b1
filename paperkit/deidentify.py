"""De-identify any REFI-QDA project (.qdpx), whichever tool wrote it.

Private by construction: the project XML is parsed and rebuilt element by element, and
whatever is not known to be safe is withheld.

* **Texts.** Every text layer (``TextSource``, a PDF's ``Representation``, an audio or
  video ``Transcript``, inline ``PlainTextContent``) is replaced by a notice of the same
  shape: at least as long as the original under every counting convention of QDA tools
  and at least as long as its furthest coding, so every coded position stays valid. Every
  other member of the ZIP (NVivo's DOCX copy of each text, PDFs, pictures, audio, video,
  anything unknown) is removed; the codings on it (regions, spans) stay and the log
  counts them.
* **Free text.** Selection names (ATLAS.ti, MAXQDA and QualCoder name selections after
  their text), every ``Description``, notes and memos (``Notes``), note references,
  links, sets and graphs are withheld; text values of variables are withheld unless the
  variable is declared safe (``keep_variables``), and ages are banded.
* **Names.** Every case and source name (and the names of transcripts and PDF text layers)
  becomes a stable pseudonym: ``case-NN`` and ``source-NN``, numbered in the sorted order
  of the original names, so sorting by name sorts the same way. Names matching a
  ``keep_names`` pattern (an interview guide the study excludes by name) are kept. Member
  paths are renamed after element GUIDs, so no file name carries a person's name.

The result carries what a leak gate needs (:class:`paperkit.leakgate.Secrets`): every
withheld text and every replaced name.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from paperkit.leakgate import Secrets, docx_text, name_pattern, runs

WITHHELD = "[Transcript withheld from the replication package; codings kept.] "
WITHHELD_FIELD = "[withheld]"
SOURCE_KINDS = {"TextSource", "PDFSource", "PictureSource", "AudioSource", "VideoSource"}
NAMED = SOURCE_KINDS | {"Case", "Transcript", "Representation", "TextDescription"}  # pseudonymised
LAYERS = {"TextSource", "Representation", "Transcript", "TextDescription"}
REMOVED_BLOCKS = {"Notes", "Links", "Sets", "Graphs"}
VALUE_TAGS = {"TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue",
              "DateTimeValue"}
# Elements whose text is structural or already handled; any other element's text is
# withheld (tool extensions included).
TEXT_KEPT = VALUE_TAGS | {"PlainTextContent"}
AGE = re.compile(r"(?i)\bage\b")
TEXT_SUFFIXES = (".txt", ".rtf", ".htm", ".html", ".xml", ".csv", ".md", ".json")
BAND = re.compile(r"^\s*(\d+)\s*(?:-|–|to)\s*(\d+)\s*$|^\s*(\d+)\s*\+\s*$")


class DeidentifyError(ValueError):
    """The project cannot be de-identified; the message names the project and member."""


@dataclass(frozen=True)
class Options:
    """What the author declares: variables safe to ship, names to keep, age bands.

    ``age_bands`` are labels such as ``"20-29"`` or ``"60+"``; an age falls in the band
    whose label is its range. Empty: ten-year bands (``"30-39"``).
    """

    keep_variables: frozenset[str] = frozenset()
    keep_names: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()


@dataclass
class Result:
    """The de-identified project and what was done to it.

    ``secrets`` holds every run of every withheld text; ``guide`` the runs found in more
    than half of the source texts (at least three), the interviewer's questions of the
    interview guide, which a paper may print (:meth:`beyond_guide`).
    """

    data: bytes
    names: dict[str, str]
    secrets: Secrets
    guide: frozenset[tuple[str, ...]] = frozenset()
    log: list[str] = field(default_factory=list)

    def beyond_guide(self) -> Secrets:
        """The secrets less the interview guide's runs: what a paper must never print."""
        return Secrets(self.secrets.shingles - self.guide, self.secrets.names)


# ------------------------------------------------------------------------------ helpers


def withheld_notice(length: int) -> str:
    """A notice of exactly ``length`` characters, ASCII and without line breaks."""
    return (WITHHELD * (length // len(WITHHELD) + 1))[:length]


def counted_length(text: str) -> int:
    """The longest a text is under any counting convention of QDA tools: UTF-16 units
    (an astral character counts two) with every line break counted as two (CRLF)."""
    return len(text.encode("utf-16-le")) // 2 + text.count("\n") - text.count("\r\n")


def decode_text(raw: bytes) -> str | None:
    """A source text as the tools write it (UTF-8 with or without BOM, UTF-16 with BOM)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None


def band_age(value: str, bands: tuple[str, ...]) -> str | None:
    """The band label of a numeric age (None if ``value`` is no number or fits no band)."""
    try:
        age = float(value.strip())
    except ValueError:
        return None
    if not bands:
        low = int(age) // 10 * 10
        return f"{low}-{low + 9}"
    for label in bands:
        m = BAND.match(label)
        if m and m.group(3) is not None and age >= int(m.group(3)):
            return label
        if m and m.group(1) is not None and int(m.group(1)) <= age < int(m.group(2)) + 1:
            return label
    return None


def pseudonyms(case_names: set[str], source_names: set[str], keep: tuple[str, ...]
               ) -> dict[str, str]:
    """Original name -> pseudonym, numbered in sorted order (a name both a case and a
    source, as it often is, gets its case pseudonym); kept names map to themselves."""
    patterns = [re.compile(p) for p in keep]

    def kept(name: str) -> bool:
        return not name.strip() or any(p.search(name) for p in patterns)

    out: dict[str, str] = {}
    for prefix, names in (("case", case_names), ("source", source_names - case_names)):
        todo = sorted(n for n in names if not kept(n))
        width = max(2, len(str(len(todo))))
        out.update({n: f"{prefix}-{i:0{width}d}" for i, n in enumerate(todo, start=1)})
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# ------------------------------------------------------------------------------ project


class _Project:
    """One de-identification run over one .qdpx (state kept between the passes)."""

    def __init__(self, path: Path, options: Options) -> None:
        self.path, self.options = path, options
        self.log: list[str] = []
        self.texts: list[str] = []  # everything withheld, for the leak gate
        self.layer_texts: list[str] = []  # the source texts among them
        self.counts: Counter[str] = Counter()
        self.members_out: dict[str, bytes] = {}
        self.current = ""  # the member being read, for error messages

    def fail(self, member: str, problem: str) -> DeidentifyError:
        return DeidentifyError(f"{self.path}!{member}: {problem}")

    # -------------------------------------------------------------------- reading

    def run(self) -> Result:
        try:
            zf = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise DeidentifyError(f"{self.path}: not a readable .qdpx ZIP archive: {exc}"
                                  ) from exc
        with zf:
            self.zf = zf
            self.members = {n.lower(): n for n in zf.namelist() if not n.endswith("/")}
            qdes = [n for n in zf.namelist() if "/" not in n and n.lower().endswith(".qde")]
            if len(qdes) != 1:
                raise DeidentifyError(f"{self.path}: expected one .qde project file at the "
                                      f"top of the ZIP, found {qdes or 'none'}")
            self.qde_name = qdes[0]
            root = self.parse(qdes[0])
            self.folder = self.sources_folder()
            self.used: set[str] = set()
            names = self.rename(root)
            self.variables(root)
            self.walk(root)
            for member in sorted(set(self.members.values()) - self.used - {self.qde_name}):
                self.removed_member(member)
            self.current = self.qde_name
            self.find_secrets(names)
            self.scrub_kept(root)
            qde = self.serialise(root)
        out_name = self.qde_name
        if self.quotes(out_name, self.secrets.name_pattern()):  # named after a person
            out_name = "project.qde"
        self.members_out[out_name] = qde
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as out:
            for name in sorted(self.members_out):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, self.members_out[name])
        self.log += [f"{what}: {n}" for what, n in sorted(self.counts.items()) if n]
        return Result(data.getvalue(), names, self.secrets, self.guide, self.log)

    def find_secrets(self, names: dict[str, str]) -> None:
        """Every run of every withheld text, and the runs of the interview guide."""
        per_layer = [set(runs(t)) for t in self.layer_texts]
        seen = Counter(r for layer in per_layer for r in layer)
        n = len(per_layer)
        self.guide = frozenset(r for r, k in seen.items() if n >= 3 and k > n / 2)
        if self.guide:
            self.counts[f"runs of six words in more than half of the {n} texts (the "
                        "interview guide; checked here, not in a paper)"] = len(self.guide)
        other = {r for t in self.texts for r in runs(t)}
        self.secrets = Secrets(frozenset(set(seen) | other), tuple(sorted(names)))

    def scrub_kept(self, root: ET.Element) -> None:
        """Names and values kept so far that quote a withheld text (an in-vivo code named
        after the answer it codes) or hold a replaced name: renamed or withheld."""
        pattern = self.secrets.name_pattern()
        n = 0
        for el in root.iter():
            tag = _local(el.tag)
            for key, value in list(el.attrib.items()):
                if key == "name" and tag not in NAMED and self.quotes(value, pattern):
                    n += 1
                    el.set(key, f"in-vivo code {n:02d}" if tag == "Code" else WITHHELD_FIELD)
                    self.counts[f"<{tag}> names quoting a withheld text renamed"] += 1
            if tag == "TextValue" and el.text and self.quotes(el.text, pattern):
                el.text = WITHHELD_FIELD
                self.counts["kept variable values holding a name or quote withheld"] += 1

    def quotes(self, value: str, pattern: re.Pattern[str] | None) -> bool:
        return bool(pattern and pattern.search(value)) or any(
            r in self.secrets.shingles for r in runs(value))

    def parse(self, member: str) -> ET.Element:
        self.current = member
        try:
            return ET.fromstring(self.zf.read(member))
        except ET.ParseError as exc:
            raise self.fail(member, f"not well-formed XML: {exc}") from exc

    def sources_folder(self) -> str:
        folders = Counter(n.split("/", 1)[0] for n in self.members.values()
                          if "/" in n and n.split("/", 1)[0].lower() == "sources")
        return folders.most_common(1)[0][0] if folders else "sources"

    # -------------------------------------------------------------------- names

    def rename(self, root: ET.Element) -> dict[str, str]:
        cases = {el.get("name", "") for el in root.iter() if _local(el.tag) == "Case"}
        sources = {el.get("name", "") for el in root.iter()
                   if _local(el.tag) in NAMED - {"Case"}}
        names = pseudonyms(cases, sources, self.options.keep_names)
        inside = name_pattern(names)
        for el in root.iter():
            name = el.get("name")
            if name is None:
                continue
            if _local(el.tag) in NAMED or name in names:
                el.set("name", names.get(name, name))
            elif inside is not None and inside.search(name):
                # A code named after a person (NVivo's case nodes), a set or a memo
                el.set("name", inside.sub(lambda m: names[m.group(0)], name))
                self.counts["other names holding a case or document name renamed"] += 1
        self.counts["names replaced by pseudonyms"] = len(names)
        return names

    # -------------------------------------------------------------------- variables

    def variables(self, root: ET.Element) -> None:
        """Text values withheld unless the variable is declared safe; ages banded."""
        declared = {el.get("guid"): el for el in root.iter() if _local(el.tag) == "Variable"}
        for holder in list(root.iter()):
            for vv in [c for c in holder if _local(c.tag) == "VariableValue"]:
                ref = next((c for c in vv if _local(c.tag) == "VariableRef"), None)
                var = declared.get(ref.get("targetGUID") if ref is not None else None)
                name = var.get("name", "") if var is not None else ""
                value = next((c for c in vv if _local(c.tag) in VALUE_TAGS), None)
                if value is None:
                    continue
                if AGE.search(name):
                    self.age(holder, vv, value, var, name)
                elif name in self.options.keep_variables:
                    self.counts[f"values of variable {name!r} kept (declared safe)"] += 1
                elif _local(value.tag) == "BooleanValue":
                    continue
                else:
                    self.texts.append(value.text or "")
                    holder.remove(vv)
                    self.counts["variable values withheld (not declared safe)"] += 1

    def age(self, holder: ET.Element, vv: ET.Element, value: ET.Element,
            var: ET.Element | None, name: str) -> None:
        text = (value.text or "").strip()
        band = band_age(text, self.options.age_bands)
        if band is None and text in self.options.age_bands:
            band = text
        if band is None and BAND.match(text) and not self.options.age_bands:
            band = text
        if band is None:
            self.texts.append(text)
            holder.remove(vv)
            self.counts[f"values of age variable {name!r} withheld (no band fits)"] += 1
            return
        value.tag = value.tag.replace(_local(value.tag), "TextValue")
        value.text = band
        if var is not None:
            var.set("typeOfVariable", "Text")
        self.counts[f"values of age variable {name!r} banded"] += 1

    # -------------------------------------------------------------------- the tree

    def walk(self, el: ET.Element) -> None:
        tag = _local(el.tag)
        for child in list(el):
            ctag = _local(child.tag)
            if ctag in REMOVED_BLOCKS or ctag == "NoteRef":
                self.collect(child)
                el.remove(child)
                self.counts[f"<{ctag}> withheld"] += 1
            elif ctag == "Description":
                if tag != "Code":  # a code's definition is the codebook's, not a quote
                    self.texts.append("".join(child.itertext()))
                for sub in list(child):
                    child.remove(sub)
                child.text = WITHHELD_FIELD
                self.counts["descriptions withheld"] += 1
            else:
                self.walk(child)
            if child.tail and child.tail.strip():
                self.texts.append(child.tail)
                child.tail = "\n"
                self.counts["text between elements withheld"] += 1
        for key in [k for k in el.attrib if k.lower() in ("currentpath", "absolutepath")]:
            el.attrib.pop(key)  # where the file lay on the author's disk
            self.counts["paths on the author's disk removed"] += 1
        if tag.endswith("Selection") and "name" in el.attrib:
            self.texts.append(el.attrib.pop("name"))
            self.counts["selection names withheld"] += 1
        if tag in LAYERS:
            self.layer(el)
        elif tag in SOURCE_KINDS and el.get("path"):
            el.set("path", self.media(el, el.get("path", "")))
        if el.text and el.text.strip() and tag not in TEXT_KEPT and tag != "Description":
            self.texts.append(el.text)
            el.text = WITHHELD_FIELD
            self.counts[f"text of <{tag}> withheld"] += 1

    def collect(self, el: ET.Element) -> None:
        """Everything a removed block held goes to the leak gate's texts."""
        for sub in el.iter():
            self.texts.extend(v for k, v in sub.attrib.items() if k == "name")
            if sub.text and sub.text.strip():
                self.texts.append(sub.text)
            ref = sub.get("plainTextPath")
            if ref:
                member = self.member(ref)
                if member:
                    self.used.add(member)
                    self.texts.append(decode_text(self.zf.read(member)) or "")
                    self.counts["note and memo files removed"] += 1

    def member(self, ref: str) -> str | None:
        """The ZIP member a path attribute names, if it is in the project."""
        if re.match(r"(?i)(relative|absolute|file)://", ref):
            return None
        rel = re.sub(r"(?i)^internal://", "", ref).lstrip("/")
        for candidate in (f"sources/{rel}", rel):
            if candidate.lower() in self.members:
                return self.members[candidate.lower()]
        base = PurePosixPath(rel).name.lower()
        hits = [n for low, n in self.members.items() if PurePosixPath(low).name == base]
        return hits[0] if len(hits) == 1 else None

    def layer(self, el: ET.Element) -> None:
        """A text layer: its text replaced by a notice keeping every position valid.

        The notice is as long as the text under every counting convention and as the
        furthest position coded on it; a text the project only links to (outside the ZIP)
        or holds only as rich text gets one as long as what is known of it.
        """
        guid = el.get("guid") or f"layer-{self.counts['text layers withheld'] + 1}"
        length = self.reach(el)
        inline = next((c for c in el if _local(c.tag) == "PlainTextContent"), None)
        if inline is not None:
            original = inline.text or ""
            self.layer_texts.append(original)
            inline.text = withheld_notice(max(counted_length(original), length))
        rich = el.attrib.pop("richTextPath", None)
        if rich:
            member = self.member(rich)
            if member:
                self.used.add(member)
                length = max(length, counted_length(self.rich_text(member)))
            self.counts["rich-text copies (DOCX) removed"] += 1
        ref = el.get("plainTextPath")
        if ref:
            length = max(length, self.plain_text(ref, guid))
        if ref or (rich and inline is None):
            self.members_out[f"{self.folder}/{guid}.txt"] = withheld_notice(length).encode()
            el.set("plainTextPath", f"internal://{guid}.txt")
        if inline is not None or ref or rich:
            self.counts["text layers withheld"] += 1

    def plain_text(self, ref: str, guid: str) -> int:
        """Read a layer's text file for the leak gate; its longest counted length."""
        member = self.member(ref)
        if member is None:
            self.counts["texts outside the project (notice as long as their codings)"] += 1
            return 0
        self.used.add(member)
        self.current = member
        raw = self.zf.read(member)
        text = decode_text(raw)
        if text is None:  # an unknown encoding: an upper bound of any count
            self.layer_texts.append("\n".join(raw.decode(e, errors="replace")
                                               for e in ("cp1252", "gb18030")))
            self.counts["texts neither UTF-8 nor UTF-16 (withheld by byte length)"] += 1
            return 2 * len(raw)
        self.layer_texts.append(text)
        return counted_length(text)

    def reach(self, el: ET.Element) -> int:
        """The furthest position any selection or sync point of this layer names."""
        far = 0
        for sub in el:
            for key in ("endPosition", "startPosition", "position"):
                try:
                    far = max(far, int(sub.get(key, "0")))
                except ValueError as exc:
                    raise self.fail(self.qde_name, f"<{_local(sub.tag)} guid="
                                    f"{sub.get('guid')!r}>: {key} is not an integer") from exc
        return far

    def rich_text(self, member: str) -> str:
        """The text of a DOCX (or RTF, read as text) member, kept for the leak gate."""
        self.current = member
        raw = self.zf.read(member)
        try:
            text = docx_text(raw)
        except (zipfile.BadZipFile, KeyError, ET.ParseError):
            text = decode_text(raw) or ""
        self.layer_texts.append(text)
        return text

    def media(self, el: ET.Element, ref: str) -> str:
        """A PDF, picture, audio or video file: removed; the path keeps only the GUID."""
        member = self.member(ref)
        if member:
            self.used.add(member)
            if member.lower().endswith(".docx"):
                self.rich_text(member)
        kind = _local(el.tag)
        n = sum(1 for s in el.iter() if _local(s.tag) == "Coding")
        self.counts[f"{kind} files removed"] += 1
        self.counts[f"codings on {kind} kept (their regions, spans and text layers)"] += n
        suffix = PurePosixPath(re.sub(r"(?i)^\w+://", "", ref)).suffix
        return f"internal://{el.get('guid', 'withheld')}{suffix}"

    def removed_member(self, member: str) -> None:
        """A member no element uses: removed; a text or DOCX one read for the gate."""
        self.current = member
        self.counts["other members removed"] += 1
        if member.lower().endswith(".docx"):
            self.rich_text(member)
        elif member.lower().endswith(TEXT_SUFFIXES):
            self.texts.append(decode_text(self.zf.read(member)) or "")

    def serialise(self, root: ET.Element) -> bytes:
        """The XML with the project's namespace as the default one, as the tools write it
        (ElementTree would prefix it ``ns0:``)."""
        data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        plain = any(isinstance(el.tag, str) and not el.tag.startswith("{")
                    for el in root.iter())
        if not ns or plain or b"xmlns:ns0=" not in data or b"xmlns:ns1=" in data:
            return data
        data = data.replace(b"<ns0:", b"<").replace(b"</ns0:", b"</")
        return data.replace(b"xmlns:ns0=", b"xmlns=", 1)


def deidentify_project(path: Path, options: Options | None = None) -> Result:
    """The de-identified .qdpx (bytes), its pseudonyms, the leak gate's secrets and a log.

    Any failure is a :class:`DeidentifyError` naming the project and the member."""
    runner = _Project(Path(path), options or Options())
    try:
        return runner.run()
    except DeidentifyError:
        raise
    except Exception as exc:  # an export no rule foresaw: say where, never half-write
        where = f"{path}!{runner.current}" if runner.current else str(path)
        raise DeidentifyError(f"{where}: cannot de-identify: {type(exc).__name__}: {exc}"
                              ) from exc


# ------------------------------------------------------------------------------ tables


def deidentify_participants(path: Path, key: str, names: dict[str, str],
                            options: Options | None = None) -> tuple[bytes, list[str]]:
    """A participants CSV keyed by case or document: keys pseudonymised (a key the
    project does not know stops it), age columns banded, undeclared columns withheld.

    Returns the CSV bytes and the values withheld (for the leak gate).
    """
    options = options or Options()
    data = Path(path).read_bytes()
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    if key not in header:
        raise DeidentifyError(f"{path}: no key column {key!r} (columns: {header})")
    withheld: list[str] = []
    rows = []
    for line, row in enumerate(reader, start=2):
        value = row[key]
        if value not in names and not any(re.search(p, value) for p in options.keep_names):
            raise DeidentifyError(f"{path}: row {line}, column {key!r}: {value!r} is no case "
                                  "or source of the project, so it has no pseudonym")
        row[key] = names.get(value, value)
        for column in header:
            if column == key or not row[column]:
                continue
            if AGE.search(column):
                band = band_age(row[column], options.age_bands) or (
                    row[column] if row[column] in options.age_bands or
                    (BAND.match(row[column]) and not options.age_bands) else None)
                if band is None:
                    raise DeidentifyError(f"{path}: row {line}, column {column!r}: age "
                                          f"{row[column]!r} fits none of the bands")
                row[column] = band
            elif column not in options.keep_variables:
                withheld.append(row[column])
                row[column] = WITHHELD_FIELD
        rows.append(row)
    newline = "\r\n" if "\r\n" in text[:10_000] else "\n"
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, header, lineterminator=newline)
    writer.writeheader()
    writer.writerows(rows)
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    return bom + out.getvalue().encode("utf-8"), withheld
