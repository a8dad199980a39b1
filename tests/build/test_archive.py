"""The replication package: complete, private data removed, and it rebuilds the paper.

One package is built from the shared cold build (`built`). The tests scan it for the
interview transcripts and the values of every survey column the codebook marks as
identifying, check its manifest and RO-Crate, and unpack it into an empty directory
where the paper is rebuilt without network access; the numbers file, the tables and the
figures must be byte-identical to the original build.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import yaml

from analysis.paper.archive import build, identifying_columns
from analysis.project import load_config
from paperkit.archive import ArchiveError, deidentify_csv, reclock
from paperkit.leakgate import LeakError
from tests.buildutil import ROOT, SNAKEMAKE, project_env, snakemake

QDPX = "data/raw/interviews/scs_interviews.qdpx"
SURVEY = "data/raw/survey/scs_survey_2018_export.csv"
CODEBOOK = "data/codebook/survey_codebook.yaml"
# The simulator writes the stand-in transcripts from its template sentences, so it holds
# their text by construction; with real interviews there is no such file. Exempt only it.
GENERATORS = {"analysis/standin/interviews.py", "analysis/standin/civilized.py"}
RESIDENTS = "data/raw/civilized/civilized_interviews.qdpx"
DOCUMENTS = "data/raw/civilized/civilized_documents.qdpx"


def test_reclock_keeps_order_and_durations_but_not_the_dates() -> None:
    rows = [{"s": "2018-03-02 10:00:00", "e": "2018-03-02 10:20:05"},
            {"s": "2018-02-15 23:59:00", "e": ""},
            {"s": "2018-03-02 10:00:00", "e": "2018-03-02 10:01:00"}]
    reclock(rows, ["s", "e"])
    assert rows == [{"s": "2000-01-01 00:01:00", "e": "2000-01-01 00:21:05"},
                    {"s": "2000-01-01 00:00:00", "e": ""},
                    {"s": "2000-01-01 00:01:00", "e": "2000-01-01 00:02:00"}]


def test_deidentified_survey_changes_only_the_identifying_columns() -> None:
    codebook = yaml.safe_load((ROOT / CODEBOOK).read_text())["variables"]
    identifying = {c for c, v in codebook.items() if v.get("identifying")}
    original = list(csv.DictReader(io.StringIO((ROOT / SURVEY).read_text("utf-8-sig"))))
    shipped = list(csv.DictReader(io.StringIO(
        deidentify_csv(ROOT / SURVEY, identifying_columns(ROOT / CODEBOOK), CODEBOOK
                       ).decode("utf-8-sig"))))
    assert len(original) == len(shipped) and identifying
    for before, after in zip(original, shipped, strict=True):
        assert {c: v for c, v in before.items() if c not in identifying} == \
               {c: v for c, v in after.items() if c not in identifying}
    for column in identifying:
        assert not {r[column] for r in original if r[column]} & {r[column] for r in shipped}


def _git(project: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), "-c", "user.name=Test", "-c",
                           "user.email=test@example.org", *args], check=True,
                          capture_output=True, text=True).stdout


def _commit_all(project: Path) -> None:
    """The scratch copy as a repository with everything it holds committed (outputs are
    ignored by .gitignore), as an author's clone is."""
    if not (project / ".git").exists():
        _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "--allow-empty", "-m", "scratch")


@pytest.fixture(scope="module")
def package(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The replication package of the shared build (report generated first)."""
    snakemake(built, "--report", "build/paper/_manuscript/report.html")
    _commit_all(built)
    return build(built, load_config(built / "config/config.yaml"), tmp_path_factory.mktemp("dist"))


PRIVATE = {"private-notes.txt": "Call Mrs Wang back about her son.\n",
           "notes/interview-excerpts.txt": "excerpts\n",
           "data/codebook/.env": "API_KEY=secret\n",
           "scs_analysis.egg-info/PKG-INFO": "Name: scs-analysis\n"}


@pytest.fixture(scope="module")
def clone(built: Path, package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch clone of the built project with its build outputs and an author's
    untracked private files (a note, interview excerpts, a .env, an egg-info)."""
    target = tmp_path_factory.mktemp("clone") / "project"
    subprocess.run(["git", "clone", "-q", str(built), str(target)], check=True)
    for folder in ("results", "figures", "build/paper"):
        shutil.copytree(built / folder, target / folder, dirs_exist_ok=True)
    for rel, text in PRIVATE.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_text(text, encoding="utf-8")
    return target


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_package_holds_what_git_tracks_and_no_untracked_private_file(clone, tmp_path):
    path = build(clone, load_config(clone / "config/config.yaml"), tmp_path)
    with zipfile.ZipFile(path) as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
    tracked = set(_git(clone, "ls-files").splitlines())
    assert not names & set(PRIVATE)
    assert not [n for n in names if n.startswith(("notes/", "scs_analysis.egg-info/"))]
    assert {n for n in tracked if not n.startswith("data/raw/") and n != "README.md"} <= names
    assert "docs/README-project.md" in names


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_an_uncommitted_change_to_a_tracked_file_stops_the_package(clone, tmp_path):
    config = clone / "config/config.yaml"
    original = config.read_text(encoding="utf-8")
    config.write_text(original + "# an edit not yet committed\n", encoding="utf-8")
    try:
        with pytest.raises(ArchiveError, match=r"uncommitted changes to tracked files: "
                                               r"config/config.yaml\. .*commit them"):
            build(clone, load_config(config), tmp_path)
    finally:
        config.write_text(original, encoding="utf-8")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_a_committed_quote_stops_the_package_naming_file_and_words(clone, tmp_path):
    lines = _respondent_lines(clone / QDPX)
    sentence = min(sorted(lines), key=lines.__getitem__)  # one interviewee's words
    notes = clone / "docs" / "field-notes.md"
    notes.write_text(f"Field notes\n\nShe said: {sentence}\n", encoding="utf-8")
    _git(clone, "add", "docs/field-notes.md")
    _git(clone, "commit", "-q", "-m", "notes")
    try:
        with pytest.raises(LeakError, match=r"docs/field-notes\.md: the withheld words"):
            build(clone, load_config(clone / "config/config.yaml"), tmp_path)
    finally:
        _git(clone, "reset", "-q", "--hard", "HEAD~1")
    assert list(tmp_path.iterdir()) == []


def _respondent_lines(qdpx: Path) -> Counter[str]:
    """Each answer of eight words or more and the number of transcripts it is in."""
    with zipfile.ZipFile(qdpx) as zf:
        texts = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("sources/")]
    return Counter(line for t in texts for line in {
        ln.split(":", 1)[1].strip() for ln in t.splitlines()
        if ln.startswith("Respondent:") and len(ln.split()) > 8})


@pytest.fixture(scope="module")
def members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as zf:
        top = zf.namelist()[0].split("/", 1)[0]
        return {n.split("/", 1)[1]: zf.read(n) for n in zf.namelist() if n.startswith(top + "/")}


def _transcript_sentences(qdpx: Path) -> set[str]:
    with zipfile.ZipFile(qdpx) as zf:
        texts = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("sources/")]
    return {s.strip() for t in texts for s in t.replace("\n", ".").split(".")
            if len(s.strip()) > 25 and not s.strip().startswith(("[", "Interviewer"))}


def _all_text(members: dict[str, bytes]) -> dict[str, str]:
    """Every member as text, ZIP members (the .qdpx) opened too."""
    out = {}
    for name, data in members.items():
        if data[:2] == b"PK" and name.endswith(".qdpx"):
            with zipfile.ZipFile(io.BytesIO(data)) as inner:
                for sub in inner.namelist():
                    out[f"{name}!{sub}"] = inner.read(sub).decode("utf-8", "ignore")
        else:
            out[name] = data.decode("utf-8", "ignore")
    return out


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_package_holds_no_transcript_text_and_no_identifying_value(built, members) -> None:
    texts = {n: t for n, t in _all_text(members).items() if n not in GENERATORS}
    sentences = _transcript_sentences(built / QDPX)
    segments = {r["text"] for r in csv.DictReader(
        io.StringIO((built / "data/raw/interviews/scs_interviews_segments.csv").read_text()))}
    assert len(sentences) > 30 and len(segments) > 30
    leaks = [(n, s) for n, t in texts.items() for s in sentences | segments if s and s in t]
    assert leaks == []
    codebook = yaml.safe_load((built / CODEBOOK).read_text())["variables"]
    original = list(csv.DictReader(io.StringIO((built / SURVEY).read_text("utf-8-sig"))))
    for column in (c for c, v in codebook.items() if v.get("identifying")):
        values = {r[column] for r in original if r[column]}
        found = [(n, v) for n, t in texts.items() for v in values if v in t]
        assert values and found == [], column
    case_names = {r["case"] for r in csv.DictReader(io.StringIO(
        (built / "data/raw/interviews/scs_interviews_participants.csv").read_text()))}
    data_text = {n: t for n, t in texts.items() if n.startswith("data/")}
    assert [(n, c) for n, t in data_text.items() for c in case_names if c in t] == []


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_package_withholds_resident_transcripts_and_ships_the_public_documents(built, members):
    texts = {n: t for n, t in _all_text(members).items() if n not in GENERATORS}
    sentences = _transcript_sentences(built / RESIDENTS)
    assert len(sentences) >= 15  # the stand-in's template sentences, all of them
    assert [(n, s) for n, t in texts.items() for s in sentences if s in t] == []
    with zipfile.ZipFile(built / RESIDENTS) as zf:
        names = set(re.findall(r'<Case\b[^>]*?\bname="([^"]*)"', zf.read("project.qde").decode()))
    data_text = {n: t for n, t in texts.items() if n.startswith("data/")}
    assert names and [(n, c) for n, t in data_text.items() for c in names if c in t] == []
    assert members[DOCUMENTS] == (built / DOCUMENTS).read_bytes()


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_package_lists_every_file_in_its_checksum_manifest(members) -> None:
    manifest = dict(reversed(line.split("  ", 1)) for line in
                    members["MANIFEST-sha256.txt"].decode().splitlines())
    assert set(manifest) == set(members) - {"MANIFEST-sha256.txt"}
    assert all(hashlib.sha256(members[p]).hexdigest() == d for p, d in manifest.items())
    for required in ("README.md", "CITATION.cff", "LICENSE", "LICENSE-DATA.md", "Snakefile",
                     "envs/requirements.lock", "outputs/paper/index.pdf",
                     "outputs/paper/index.html", "outputs/paper/index.docx",
                     "outputs/paper/report.html", "data/codebook/survey_codebook.yaml",
                     "data/reference/published_values.yaml", "profiles/slurm/config.yaml"):
        assert required in members, required


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_readme_follows_the_data_editors_template_and_lists_every_figure(members) -> None:
    readme = members["README.md"].decode()
    for heading in ("## Overview", "## Data availability and provenance statements",
                    "### Dataset list", "## Computational requirements",
                    "### Memory, runtime, storage", "## Instructions to replicators",
                    "## List of tables and figures", "## References"):
        assert heading in readme, heading
    assert "(#fig-scs-use) | `figures/describe/scs_use.png` | `figures_describe`" in readme
    assert "`data/raw/survey/scs_survey_2018_export.csv`" in readme
    assert "{" + "runtime}" not in readme


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_ro_crate_describes_the_workflow_run(members) -> None:
    crate = json.loads(members["ro-crate-metadata.json"])
    graph = {e["@id"]: e for e in crate["@graph"]}
    root = graph["./"]
    profiles = {p["@id"] for p in root["conformsTo"]}
    assert "https://w3id.org/ro/wfrun/workflow/0.5" in profiles
    assert root["mainEntity"] == {"@id": "Snakefile"}
    assert "ComputationalWorkflow" in graph["Snakefile"]["@type"]
    run = next(e for e in graph.values() if e["@type"] == "CreateAction")
    inputs = {o["@id"] for o in run["object"]}
    outputs = {o["@id"] for o in run["result"]}
    assert SURVEY in inputs and QDPX in inputs
    assert {"outputs/results/numbers.json", "outputs/paper/index.pdf"} <= outputs
    files = [i for i, e in graph.items() if e["@type"] == "File"
             or "File" in e["@type"]]
    assert all(f in members for f in files)


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_ro_crate_has_a_publisher_a_format_on_every_file_and_no_bookkeeping(members) -> None:
    """What an RO-Crate validator checks beyond structure (roc-validator needs the network
    for its profiles, so the properties are checked here): a publisher that resolves to a
    named entity, an encodingFormat on every File, every referenced entity in the graph,
    and no Snakemake bookkeeping anywhere in the package."""
    crate = json.loads(members["ro-crate-metadata.json"])
    graph = {e["@id"]: e for e in crate["@graph"]}
    publisher = graph[graph["./"]["publisher"]["@id"]]
    assert publisher["@type"] in ("Organization", "Person") and publisher["name"]
    files = [e for e in graph.values() if "File" in (e["@type"] if isinstance(e["@type"], list)
                                                     else [e["@type"]])]
    assert len(files) > 50
    assert [f["@id"] for f in files if not f.get("encodingFormat")] == []

    def refs(value):
        if isinstance(value, dict):
            if set(value) == {"@id"}:
                yield value["@id"]
            for v in value.values():
                yield from refs(v)
        elif isinstance(value, list):
            for v in value:
                yield from refs(v)
    dangling = {r for e in crate["@graph"] for r in refs(e)
                if r not in graph and not r.startswith("http")}
    assert dangling == set()
    assert [m for m in members if m.endswith(".snakemake_timestamp")] == []


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_readme_names_three_strands_one_availability_box_and_the_offline_font(members) -> None:
    readme = members["README.md"].decode()
    for study in ("Kostka 2019", "Li & Kostka 2022", "Trauth-Goik 2023"):
        assert study in readme, study
    availability = readme.split("### Summary of availability", 1)[1].split("###", 1)[0]
    assert availability.count("- [x]") == 1 and "- [x] Some data **cannot" in availability
    for folder in ("data/raw/survey/", "data/raw/interviews/", "data/raw/civilized/",
                   "data/codebook/"):
        assert f"**`{folder}`" in readme or f"`{folder}`," in readme, folder
    assert "fonts-wqy-microhei" in readme and "before going offline" in readme
    assert "two studies" not in members["CITATION.cff"].decode()


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_package_build_is_deterministic(built, package, tmp_path) -> None:
    again = build(built, load_config(built / "config/config.yaml"), tmp_path)
    assert again.read_bytes() == package.read_bytes()


def _offline(command: list[str]) -> list[str]:
    """Run without network when user namespaces allow it (loopback only, for the kernels)."""
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        return command
    return ["unshare", "-rn", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh",
            *command]


@pytest.mark.slow
@pytest.mark.build
@pytest.mark.xdist_group("build")
def test_unpacked_package_rebuilds_the_paper_offline_byte_for_byte(built, package,
                                                                   tmp_path) -> None:
    with zipfile.ZipFile(package) as zf:
        zf.extractall(tmp_path)
    project = next(tmp_path.iterdir())
    env = project_env(project, PIP_NO_INDEX="1", http_proxy="http://127.0.0.1:9",
                      https_proxy="http://127.0.0.1:9")
    proc = subprocess.run(_offline([SNAKEMAKE, "--cores", "2"]), cwd=project, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (project / "results/numbers.json").read_bytes() == \
        (built / "results/numbers.json").read_bytes()
    for folder in ("figures", "results/tables"):
        original = {p.relative_to(built / folder): _same_but_checksums(p.read_bytes())
                    for p in (built / folder).rglob("*") if p.is_file()}
        rebuilt = {p.relative_to(project / folder): _same_but_checksums(p.read_bytes())
                   for p in (project / folder).rglob("*") if p.is_file()}
        assert original == rebuilt, folder
    if shutil.which("pdftotext"):
        texts = [subprocess.run(["pdftotext", str(p / "build/paper/_manuscript/index.pdf"), "-"],
                                capture_output=True, text=True).stdout for p in (built, project)]
        assert _same_but_checksums(texts[0].encode()) == _same_but_checksums(texts[1].encode())


# The "Numbers and claims" appendix shows the checksum of each input a number came from;
# the package ships de-identified raw files, whose checksums (and those of the stage
# results that record them) differ by construction. Everything else must be identical.
_CHECKSUM = re.compile(rb"\(([0-9a-f]{12})\)")


def _same_but_checksums(data: bytes) -> bytes:
    return _CHECKSUM.sub(b"(<sha256>)", data)
