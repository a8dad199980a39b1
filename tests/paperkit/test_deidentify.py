"""`python -m paperkit deidentify` leaves no participant's words and no name in any tool's export.

Every tool style of tests/refi_styles.py is written with what real exports carry (person
names, NVivo's DOCX copies, a PDF and a picture, selections named after their text,
descriptions, memos, a set, a link, exact ages, a participants CSV keyed by document),
de-identified through the command line, and then checked by an independent scan: no run
of six words of any text the export held and no original name anywhere in the output,
every member opened. The copy must still read to the same tally, with the participants
file joined through the same pseudonyms.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from analysis.interviews.study import build_study
from analysis.interviews.themes import analyse, load_barrier_codebook, load_study_mapping
from analysis.project import PROJECT_ROOT, load_config
from analysis.qda.qdpx import read_qdpx, validate_qde
from paperkit.__main__ import main
from paperkit.deidentify import Options, band_age, deidentify_project
from paperkit.leakgate import Secrets, scan
from tests.refi_styles import (
    STYLES,
    docx_bytes,
    mapping_for,
    person_names,
    stand_in_interviews,
    write_style,
)

SETTINGS = load_config()["themes"]
QDPX = PROJECT_ROOT / "data" / "raw" / "interviews" / "scs_interviews.qdpx"
XSD = PROJECT_ROOT / "tests" / "fixtures" / "refi" / "Project-mrt2019.xsd"
COMPARED = ("barriers", "design", "demographics", "reliability", "cooccurrence")
VARIABLES = ("Age group", "Gender", "Region", "Education")


@pytest.fixture(scope="module")
def codebook():
    return load_barrier_codebook(PROJECT_ROOT / SETTINGS["codebook"])


@pytest.fixture(scope="module")
def interviews(codebook):
    mapping = load_study_mapping(PROJECT_ROOT / SETTINGS["mapping"], codebook)
    project = read_qdpx(QDPX)
    return person_names(stand_in_interviews(project, build_study(project, mapping).keys))


@pytest.fixture(scope="module")
def exports(tmp_path_factory, codebook, interviews):
    """name -> (private export, mapping path, participants CSV or None)."""
    out = tmp_path_factory.mktemp("private_exports")
    made = {}
    for name, style in STYLES.items():
        qdpx = write_style(style, codebook, interviews, out / f"{name}.qdpx", private=True)
        mapping = mapping_for(style, codebook, out, interviews, private=True)
        people = mapping.pop("_participants", None)
        path = out / f"{name}_mapping.yaml"
        path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
        made[name] = (qdpx, path, people)
    return made


def _deidentify(exports, name, out: Path) -> tuple[Path, Path | None, int]:
    qdpx, _mapping, people = exports[name]
    argv = ["deidentify", str(qdpx), str(out / f"{name}.qdpx"), "--keep-name", "(?i)guide",
            "--keep-name", "^Field site", "--keep-name", "^Pilot",
            "--age-bands", "10-19,20-29,30-39,40-49,50-59"]
    argv += [a for v in VARIABLES[1:] for a in ("--keep-variable", v)]
    if people:
        argv += ["--participants", people, str(out / f"{name}_people.csv"), "--key", "document"]
    code = main(argv)
    return out / f"{name}.qdpx", (out / f"{name}_people.csv") if people else None, code


def _readable(data: bytes, label: str) -> dict[str, str]:
    """Every member as a person could read it: ZIPs opened, XML entities resolved, DOCX
    runs joined (written independently of paperkit.leakgate)."""
    if data[:2] == b"PK":
        out = {}
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for member in zf.namelist():
                out.update(_readable(zf.read(member), f"{label}!{member}"))
                out[f"{label}!{member} (name)"] = member
        return out
    text = re.sub(r"<\?xml[^>]*\?>", "", data.decode("utf-8", errors="ignore"))
    joined = re.sub(r"</w:t>\s*</w:r>\s*<w:r>\s*<w:t[^>]*>", "", text)
    plain = re.sub(r"<[^>]+>", " ", joined)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
                         ("&#10;", "\n"), ("&#13;", "\r"), ("&amp;", "&")):
        plain = plain.replace(entity, char)
    return {label: text + "\n" + plain}


def _six_word_runs(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + 6]) for i in range(len(words) - 5)}


def _originals(exports, name) -> tuple[set[tuple[str, ...]], set[str]]:
    """Every six-word run of every text the export holds, and the people's names."""
    qdpx, _mapping, people = exports[name]
    texts = _readable(qdpx.read_bytes(), "in")
    qde = next(t for k, t in texts.items() if k.endswith(".qde") and "(name)" not in k)
    names = {n for n in re.findall(r'<(?:\w+:)?Case\b[^>]*?\bname="([^"]+)"', qde)
             if not n.startswith("Pilot")}
    names |= {n for n in re.findall(r'<(?:\w+:)?(?:TextSource|PDFSource|AudioSource)\b[^>]*?'
                                    r'\bname="([^"]+)"', qde)
              if not re.search(r"(?i)guide|^Field site", n)}
    runs: set[tuple[str, ...]] = set()
    for key, text in texts.items():
        if not key.endswith((".qde", "(name)")):
            runs |= _six_word_runs(text)
    if people:
        rows = csv.DictReader(io.StringIO(Path(people).read_text(encoding="utf-8")))
        names |= {row["document"] for row in rows}
    return runs, names


@pytest.mark.parametrize("name", sorted(STYLES))
def test_every_tool_style_deidentifies_leaving_no_six_word_run_and_no_name(
        name, exports, interviews, tmp_path):
    out, people_out, code = _deidentify(exports, name, tmp_path)
    assert code == 0
    runs, names = _originals(exports, name)
    runs |= {r for iv in interviews for r in _six_word_runs(iv.text)}
    names |= {iv.name for iv in interviews}
    assert len(runs) > 1000 and len(names) >= 44
    shipped = _readable(out.read_bytes(), "out")
    if people_out:
        shipped.update(_readable(people_out.read_bytes(), "people"))
    leaks = [(k, " ".join(r)) for k, t in shipped.items() for r in _six_word_runs(t) & runs]
    assert leaks == []
    found = [(k, n) for k, t in shipped.items() for n in names
             if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", t)]
    assert found == []


@pytest.mark.parametrize("name", sorted(STYLES))
def test_deidentified_copy_reads_to_the_same_tally_with_the_same_pseudonyms(
        name, exports, codebook, tmp_path):
    qdpx, mapping_path, people = exports[name]
    out, people_out, code = _deidentify(exports, name, tmp_path)
    assert code == 0
    mapping = load_study_mapping(mapping_path, codebook)
    original = analyse(read_qdpx(qdpx, mapping.positions), codebook,
                       {**SETTINGS, "participants": people}, mapping)
    copy = analyse(read_qdpx(out, mapping.positions), codebook,
                   {**SETTINGS, "participants": str(people_out) if people else None}, mapping)
    for key in COMPARED:
        assert copy[key] == original[key], key
    with zipfile.ZipFile(out) as zf:
        qde = next(n for n in zf.namelist() if n.endswith(".qde"))
        if STYLES[name].namespace == "urn:QDA-XML:project:1.0":
            validate_qde(zf.read(qde), XSD)
        members = zf.namelist()
    assert not [m for m in members if not m.endswith((".qde", ".txt"))]


def test_log_accounts_for_removed_files_and_withheld_fields(exports, tmp_path, capsys):
    out, _people, code = _deidentify(exports, "nvivo_windows", tmp_path)
    assert code == 0
    log = capsys.readouterr().out
    for line in ("rich-text copies (DOCX) removed: 44", "PDFSource files removed: 1",
                 "PictureSource files removed: 1",
                 "codings on PDFSource kept (their regions, spans and text layers): 1",
                 "<Notes> withheld: 1", "<Links> withheld: 1", "<Sets> withheld: 1",
                 "<NoteRef> withheld: 44", "names replaced by pseudonyms: 44",
                 "leak gate: no run of six words"):
        assert line in log, line


def test_ages_are_banded_as_the_paper_reports_them():
    bands = ("10-19", "20-29", "60+")
    assert [band_age(v, bands) for v in ("19", "20", "29.5", "71", "x")] == \
        ["10-19", "20-29", "20-29", "60+", None]
    assert band_age("34", ()) == "30-39"


def test_pseudonyms_are_stable_and_sort_as_the_names_do(exports):
    first = deidentify_project(exports["atlas"][0])
    again = deidentify_project(exports["atlas"][0])
    assert first.data == again.data and first.names == again.names
    cases = sorted(n for n in first.names.values() if n.startswith("case-"))
    assert [first.names[n] for n in sorted(first.names) if first.names[n] in cases] == cases


def _project(tmp_path: Path, qde: str, members: dict[str, bytes]) -> Path:
    path = tmp_path / "in.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde)
        for name, data in members.items():
            zf.writestr(name, data)
    return path


QDE = ('<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" '
       'name="p"><CodeBook><Codes><Code guid="{g}1" name="{code}" isCodable="true"/></Codes>'
       '</CodeBook><Sources><TextSource guid="{g}2" name="Zhou Min" plainTextPath='
       '"internal://a.txt"><PlainTextSelection guid="{g}3" startPosition="0" endPosition='
       '"40"><Coding guid="{g}4"><CodeRef targetGUID="{g}1"/></Coding></PlainTextSelection>'
       '</TextSource></Sources></Project>')
G = "00000000-0000-0000-0000-00000000000"
TEXT = "My neighbour lost points when she complained about the new road, so I keep quiet."


def test_an_in_vivo_code_quoting_the_text_is_renamed_and_its_codings_kept(tmp_path, capsys):
    qde = QDE.format(g=G, code="she complained about the new road so")
    path = _project(tmp_path, qde, {"sources/a.txt": TEXT.encode()})
    assert main(["deidentify", str(path), str(tmp_path / "out.qdpx")]) == 0
    assert "<Code> names quoting a withheld text renamed: 1" in capsys.readouterr().out
    project = read_qdpx(tmp_path / "out.qdpx")
    assert [c.name for c in project.codes.values()] == ["in-vivo code 01"]
    assert len(project.segments) == 1


def test_a_declared_column_quoting_a_text_stops_it_and_nothing_is_written(tmp_path, capsys):
    path = _project(tmp_path, QDE.format(g=G, code="Fear"), {"sources/a.txt": TEXT.encode()})
    people = tmp_path / "people.csv"
    people.write_text("case,Comment\nZhou Min,lost points when she complained about it\n",
                      encoding="utf-8")
    assert main(["deidentify", str(path), str(tmp_path / "out.qdpx"), "--participants",
                 str(people), str(tmp_path / "p.csv"), "--key", "case",
                 "--keep-variable", "Comment"]) == 1
    err = capsys.readouterr().err
    assert "p.csv: the withheld words 'lost points when she complained about'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.qdpx", "people.csv"]


def test_a_text_in_a_legacy_encoding_is_withheld_without_a_crash(tmp_path):
    qde = QDE.format(g=G, code="Fear")
    text = TEXT.replace("neighbour", "neighbour\u201d").encode("cp1252")
    assert b"\x94" in text
    result = deidentify_project(_project(tmp_path, qde, {"sources/a.txt": text}))
    with zipfile.ZipFile(io.BytesIO(result.data)) as zf:
        (member,) = [n for n in zf.namelist() if n.endswith(".txt")]
        assert len(zf.read(member)) >= len(text) and b"neighbour" not in zf.read(member)
    assert result.names == {"Zhou Min": "source-01"}


def test_a_broken_project_is_named_with_its_member(tmp_path, capsys):
    path = _project(tmp_path, "<Project><Sources>", {})
    assert main(["deidentify", str(path), str(tmp_path / "out.qdpx")]) == 1
    assert f"{path}!project.qde: not well-formed XML" in capsys.readouterr().err


def test_a_participant_the_project_does_not_know_is_named(tmp_path, capsys):
    qde = QDE.format(g=G, code="Fear")
    path = _project(tmp_path, qde, {"sources/a.txt": TEXT.encode()})
    people = tmp_path / "people.csv"
    people.write_text("document,Age\nZhou Min,34\nQian Lei,51\n", encoding="utf-8")
    assert main(["deidentify", str(path), str(tmp_path / "out.qdpx"), "--participants",
                 str(people), str(tmp_path / "p.csv"), "--key", "document"]) == 1
    assert "row 3, column 'document': 'Qian Lei' is no case or source" in \
        capsys.readouterr().err
    assert not (tmp_path / "out.qdpx").exists()


def test_participants_get_the_project_pseudonyms_and_banded_ages(tmp_path):
    qde = QDE.format(g=G, code="Fear")
    path = _project(tmp_path, qde, {"sources/a.txt": TEXT.encode()})
    people = tmp_path / "people.csv"
    people.write_text("document,Age,Phone\nZhou Min,34,555-0199\n", encoding="utf-8")
    assert main(["deidentify", str(path), str(tmp_path / "out.qdpx"), "--participants",
                 str(people), str(tmp_path / "p.csv"), "--key", "document"]) == 0
    assert (tmp_path / "p.csv").read_text() == "document,Age,Phone\nsource-01,30-39,[withheld]\n"


def test_the_gate_reads_docx_and_xml_as_a_person_would():
    secrets = Secrets.build([TEXT], ["Zhou Min"])
    hits = scan({"a.docx": docx_bytes(TEXT), "b.xml": b"<a>so I keep&#32;quiet</a>",
                 "c.html": b"<p>lost <em>points</em> when she complained about</p>",
                 "d.json": b'{"x": "Zhou\\u0020Min"}', "e.txt": b"Zhou Minh is someone else"},
                 secrets)
    assert {h.split(":")[0].split("!")[0] for h in hits} == {"a.docx", "c.html", "d.json"}
    assert Options().keep_variables == frozenset()


def test_utf16_project_with_disk_paths_a_rich_only_text_and_an_outside_text(tmp_path):
    """NVivo-like corners: the project XML in UTF-16, a text held only as DOCX, a text
    linked outside the ZIP, the author's disk paths naming the interviewee."""
    qde = (
        '<?xml version="1.0" encoding="utf-16"?><Project xmlns="urn:QDA-XML:project:1.0" '
        f'name="Interviews of Zhou Min"><CodeBook><Codes><Code guid="{G}1" name="Fear" '
        'isCodable="true"/></Codes></CodeBook><Sources>'
        f'<TextSource guid="{G}2" name="Zhou Min" richTextPath="internal://r.docx" '
        f'currentPath="C:\\Users\\Zhou Min\\interview.docx"><PlainTextSelection guid="{G}3" '
        f'startPosition="3" endPosition="20"><Coding guid="{G}4"><CodeRef targetGUID="{G}1"/>'
        '</Coding></PlainTextSelection></TextSource>'
        f'<TextSource guid="{G}5" name="Qian Lei" plainTextPath="relative://Qian Lei.txt">'
        f'<PlainTextSelection guid="{G}6" startPosition="0" endPosition="30"><Coding '
        f'guid="{G}7"><CodeRef targetGUID="{G}1"/></Coding></PlainTextSelection></TextSource>'
        '</Sources></Project>')
    path = tmp_path / "in.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", "\ufeff".encode("utf-16-le") + qde.encode("utf-16-le"))
        zf.writestr("Sources/r.docx", docx_bytes(TEXT))
    assert main(["deidentify", str(path), str(tmp_path / "out.qdpx")]) == 0
    shipped = _readable((tmp_path / "out.qdpx").read_bytes(), "out")
    text = "\n".join(shipped.values())
    assert not re.search(r"Zhou Min|Qian Lei|Users", text)
    assert not _six_word_runs(text) & _six_word_runs(TEXT)
    project = read_qdpx(tmp_path / "out.qdpx")
    outside, rich = sorted(len(t) for t in project.texts.values())
    assert outside == 30 and rich >= len(TEXT)  # as long as the codings, or the DOCX text
    assert len(project.segments) == 2


def test_a_picture_with_a_text_description_and_a_video_transcript_are_withheld(tmp_path):
    qde = (
        '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" '
        f'name="p"><CodeBook><Codes><Code guid="{G}1" name="Fear" isCodable="true"/></Codes>'
        f'</CodeBook><Sources><PictureSource guid="{G}2" name="Zhou Min at home.jpg" '
        f'path="internal://Zhou Min at home.jpg"><TextDescription guid="{G}3" '
        f'name="Zhou Min at home"><PlainTextContent>{TEXT}</PlainTextContent>'
        f'<PlainTextSelection guid="{G}4" startPosition="3" endPosition="12"><Coding '
        f'guid="{G}5"><CodeRef targetGUID="{G}1"/></Coding></PlainTextSelection>'
        f'</TextDescription><PictureSelection guid="{G}6" firstX="0" firstY="0" secondX="9" '
        f'secondY="9" name="{TEXT[:50]}"><Coding guid="{G}7"><CodeRef targetGUID="{G}1"/>'
        f'</Coding></PictureSelection></PictureSource><VideoSource guid="{G}8" name="Qian Lei" '
        f'path="absolute://C:/Users/me/Qian Lei.mp4"><Transcript guid="{G}9" '
        'plainTextPath="internal://Qian Lei.txt"/></VideoSource></Sources></Project>')
    path = _project(tmp_path, qde, {"sources/Zhou Min at home.jpg": b"\xff\xd8jpeg",
                                    "sources/Qian Lei.txt": TEXT.encode()})
    assert main(["deidentify", str(path), str(tmp_path / "out.qdpx")]) == 0
    shipped = "\n".join(_readable((tmp_path / "out.qdpx").read_bytes(), "out").values())
    assert not re.search(r"Zhou Min|Qian Lei|Users", shipped)
    assert not _six_word_runs(shipped) & _six_word_runs(TEXT)
    project = read_qdpx(tmp_path / "out.qdpx")
    assert len(project.segments) == 2 and len(project.texts) == 2
