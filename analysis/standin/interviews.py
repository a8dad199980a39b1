"""Write the simulated stand-in for the 44 coded interviews of design I.

The real transcripts are not public. This generator writes a REFI-QDA project
(``scs_interviews.qdpx``) with 44 short transcripts written for this project from
template sentences (clearly simulated, paraphrased situations, no real quotations), the
code tree named in the mapping file data/codebook/interview_mapping.yaml (so the build
reads it through the same mapping a researcher writes for a real project), case
variables with the Table A1 demographics, and a double-coded subset (11 of 44
transcripts, coders "Coder A" and "Coder B") for intercoder reliability. Coder A's tally
reproduces Table 1 and Table A1 exactly; Coder B disagrees on a few case x code units.

Also written, as tidy exports of the same project: a segments CSV, a case x code CSV,
a participants CSV and the bare codebook (.qdc).

Byte reproducibility (analysis/standin/refi.py, the REFI-QDA writer shared with the
civilized-city stand-in): GUIDs are UUID5 of the seed and a stable key, timestamps are
fixed, ZIP entries are sorted, stored uncompressed (deflate output can differ between
zlib builds) and carry a fixed date. Run ``python -m analysis.standin.interviews`` to
regenerate and append the checksums to data/raw/MANIFEST.sha256.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from analysis.project import PROJECT_ROOT
from analysis.standin import refi
from analysis.standin.files import csv_text, write_files
from analysis.standin.refi import Text
from paperkit.io import read_yaml

N_CASES = 44
N_PARTICIPANTS = 5
N_MODEL_CITY = 36
N_DOUBLE_CODED = 11
DISAGREE_RATE = 0.05
CODERS = ("Coder A", "Coder B")
ZIP_DATE = (2022, 6, 1, 0, 0, 0)
BASE_TIME = "2022-03-01T09:00:00Z"
PREFIX = "scs_interviews"
# Table 1 (n = 39 non-participants) and Table A1 (n = 44): the targets of the generator.
BARRIER_COUNTS = {
    "awareness_little_awareness": 33,
    "efforts_complicated_registration": 36,
    "efforts_time_energy": 34,
    "efforts_digital_skills": 6,
    "concerns_privacy_safety": 29,
    "concerns_accuracy_algorithm": 17,
    "concerns_fairness": 7,
    "concerns_unclear_rules": 22,
    "concerns_fear_deduction": 28,
    "concerns_abuse_of_power": 6,
    "usefulness_doubts_effectiveness": 14,
    "usefulness_unappealing_benefits": 31,
    "usefulness_alternatives": 9,
    "voluntariness_not_mandatory": 31,
}
DEMOGRAPHIC_COUNTS = {
    "Age group": {"10-19": 1, "20-29": 28, "30-39": 7, "40-49": 4, "50-59": 4},
    "Gender": {"Male": 27, "Female": 17},
    "Region": {"East": 37, "Central": 6, "West": 1},
    "Education": {"High school": 7, "Bachelor's degree": 18, "Master's degree": 19},
}

# One or more paraphrased, invented situations per code (not quotations of anyone).
SENTENCES: dict[str, list[str]] = {
    "awareness_little_awareness": [
        "Honestly, I did not know that our city runs its own credit score for residents.",
        "I had never heard of the local score until a neighbour mentioned it last year.",
        "Nobody around me talks about the city’s score; I only know Sesame Credit.",
    ],
    "efforts_complicated_registration": [
        "Signing up asked for my ID card, a face scan and several forms, so I gave up.",
        "The registration in the city app kept failing at the verification step.",
    ],
    "efforts_time_energy": [
        "Raising the score means volunteering or donating blood, and I have no spare time.",
        "Checking and managing another score every week sounds exhausting to me.",
    ],
    "efforts_digital_skills": [
        "My parents could never use that platform; even I find the menus confusing.",
        "You need to be good with apps to find the score page at all.",
    ],
    "concerns_privacy_safety": [
        "I worry about where my personal data go once I hand them to the platform.",
        "They ask for so much information that I fear a leak of my details.",
    ],
    "concerns_accuracy_algorithm": [
        "I am not sure the system calculates the score correctly for everyone.",
        "An algorithm can make mistakes, and then who corrects my record?",
    ],
    "concerns_fairness": [
        "People with money can buy points through donations, which is not fair.",
        "The scoring favours some groups over others, I think.",
    ],
    "concerns_unclear_rules": [
        "Nobody explains which behaviour adds points and which takes them away.",
        "The rules for deductions are vague, so I would not know what to avoid.",
    ],
    "concerns_fear_deduction": [
        "If I lose points by mistake, it might follow me when I apply for a job.",
        "I am afraid a deduction would have consequences I cannot foresee.",
    ],
    "concerns_abuse_of_power": [
        "Officials could use such a score to punish people they do not like.",
        "A tool like this could be misused by those in power.",
    ],
    "usefulness_doubts_effectiveness": [
        "I doubt the score changes how honest people really are.",
        "I do not see what the local score is actually good for.",
    ],
    "usefulness_unappealing_benefits": [
        "The rewards are small, like a discount at the library or the gym.",
        "A free bike ride now and then is not worth the trouble.",
    ],
    "usefulness_alternatives": [
        "Alipay and WeChat already give me the same services without a new score.",
        "There are so many other apps that do this better.",
    ],
    "voluntariness_not_mandatory": [
        "Joining is voluntary, so there is no reason for me to do it.",
        "Nobody forces you to take part, so I simply did not.",
    ],
    "participant": [
        "I joined the city’s score programme last year through the government app.",
        "Yes, I have a local score; I signed up when my workplace encouraged it.",
    ],
    "non_participant": [
        "No, I have not joined the local government’s score.",
        "I am not part of the city’s credit programme.",
    ],
    "model_city": [
        "I live in one of the cities that pilot the social credit system.",
        "My city is one of the model cities for social credit.",
    ],
}
FILLER = [
    "I use my phone for almost everything, from paying for breakfast to booking trains.",
    "We talked about this at dinner once, but only briefly.",
    "My work keeps me busy most evenings.",
    "I read about the national plans in the news a few years ago.",
    "Most of my friends use Sesame Credit for deposit-free rentals.",
]
PROMPTS = [
    "Could you tell me a little about how you use digital services?",
    "Have you heard of the social credit score that your city runs?",
    "Have you taken part in it? Why or why not?",
    "Is there anything else you would like to add?",
]


def _origin(seed: int) -> refi.Origin:
    return refi.Origin(prefix="scs-interviews", seed=seed,
                       origin="analysis/standin/interviews.py", created=BASE_TIME,
                       zip_date=ZIP_DATE, coders=CODERS)


def _assign_demographics(rng: random.Random) -> list[dict[str, str]]:
    """Independent permutations of the Table A1 margins; the teenager is at high school."""
    columns = {}
    for var, counts in DEMOGRAPHIC_COUNTS.items():
        values = [v for v, n in counts.items() for _ in range(n)]
        rng.shuffle(values)
        columns[var] = values
    teen = columns["Age group"].index("10-19")
    edu = columns["Education"]
    swap = edu.index("High school")
    edu[teen], edu[swap] = edu[swap], edu[teen]
    return [{var: columns[var][i] for var in columns} for i in range(N_CASES)]


def _assign_codes(rng: random.Random) -> tuple[list[set[str]], list[bool], list[bool]]:
    """Participants live in model cities; barrier counts hit Table 1 among the 39 others."""
    cases = list(range(N_CASES))
    model_city = set(rng.sample(cases, N_MODEL_CITY))
    participants = set(rng.sample(sorted(model_city), N_PARTICIPANTS))
    others = [c for c in cases if c not in participants]
    codes: list[set[str]] = [set() for _ in cases]
    for key, n in BARRIER_COUNTS.items():
        for c in rng.sample(others, n):
            codes[c].add(key)
    for c in sorted(participants):  # participants voice a few barriers too
        codes[c].update(rng.sample(sorted(BARRIER_COUNTS), 2))
    return codes, [c in participants for c in cases], [c in model_city for c in cases]


def _write_transcript(
    rng: random.Random, case: str, barriers: set[str], participant: bool, model_city: bool
) -> Text:
    tr = Text(case, name=f"{case} transcript")
    tr.add(f"[SIMULATED INTERVIEW {case}: written for software testing; not a real person.]\n\n")
    status = "participant" if participant else "non_participant"
    keys = sorted(barriers)
    rng.shuffle(keys)
    blocks = [[rng.choice(FILLER)], [status] + (["model_city"] if model_city else []), keys, []]
    for prompt, block in zip(PROMPTS, blocks, strict=True):
        tr.add(f"Interviewer: {prompt}\nRespondent: ")
        if not block:
            tr.add("No, I think that covers it.\n\n")
            continue
        for item in block:
            if item in SENTENCES:
                start, end = tr.add(rng.choice(SENTENCES[item]))
                tr.codings.append((item, start, end, CODERS[0]))
                if item in BARRIER_COUNTS and rng.random() < 0.15:  # named twice
                    tr.add(" ")
                    start, end = tr.add(rng.choice(SENTENCES[item]))
                    tr.codings.append((item, start, end, CODERS[0]))
            else:
                tr.add(item)
            tr.add(" ")
        tr.text = tr.text[:-1]
        tr.add("\n\n")
    return tr


def _second_coder(rng: random.Random, tr: Text) -> None:
    """Coder B recodes the transcript: wider spans, a few omitted or added barrier codes."""
    first = [c for c in tr.codings if c[3] == CODERS[0]]
    coded = {c[0] for c in first}
    for key, start, end, _ in first:
        if key in BARRIER_COUNTS and rng.random() < DISAGREE_RATE:
            continue
        lo = tr.text.rfind("\n", 0, start) + 1 if rng.random() < 0.3 else start
        tr.codings.append((key, lo, end, CODERS[1]))
    for key in sorted(set(BARRIER_COUNTS) - coded):
        if rng.random() < DISAGREE_RATE / 2:
            _k, start, end, _c = rng.choice(first)
            tr.codings.append((key, start, end, CODERS[1]))


def simulate(seed: int) -> tuple[list[Text], list[dict[str, str]]]:
    """Draw the 44 transcripts and their demographics from ``seed``."""
    rng = random.Random(seed)
    demographics = _assign_demographics(rng)
    codes, participants, model_city = _assign_codes(rng)
    transcripts = [
        _write_transcript(rng, f"INT-{i + 1:02d}", codes[i], participants[i], model_city[i])
        for i in range(N_CASES)
    ]
    for i in sorted(rng.sample(range(N_CASES), N_DOUBLE_CODED)):
        _second_coder(rng, transcripts[i])
    return transcripts, demographics


def _code_paths(mapping: dict) -> dict[str, tuple[str, ...]]:
    """Study key (barrier key or status key) -> path of code names, from the mapping file."""
    out = {k: tuple(v.split("/")) for k, v in mapping["barriers"].items()}
    out.update({k: tuple(rule["code"].split("/")) for k, rule in mapping["status"].items()})
    return out


def _labels(mapping: dict) -> dict[str, str]:
    """Study key -> the project's code name (the last name of its path)."""
    return {k: path[-1] for k, path in _code_paths(mapping).items()}


def qdpx_bytes(
    transcripts: list[Text], demographics: list[dict], mapping: dict, seed: int
) -> bytes:
    """The .qdpx: the mapped code tree, the cases with their demographics, the transcripts."""
    paths = _code_paths(mapping)
    qde = refi.project_xml(
        _origin(seed), "SCS interviews (SIMULATED stand-in)", refi.code_tree(paths.values()),
        paths, transcripts, list(DEMOGRAPHIC_COUNTS), demographics)
    return refi.qdpx_bytes(_origin(seed), qde, transcripts)


def codebook_xml(mapping: dict, seed: int) -> bytes:
    """The bare codebook as a REFI-QDA .qdc document."""
    return refi.codebook_xml(_origin(seed), refi.code_tree(_code_paths(mapping).values()))


def tidy_exports(
    transcripts: list[Text], demographics: list[dict], mapping: dict
) -> dict[str, str]:
    """Segments, case x code (Coder A) and participants CSVs, as tools export them."""
    labels = _labels(mapping)
    segments = [
        [tr.case, coder, labels[key], start, end, tr.text[start:end]]
        for tr in transcripts
        for key, start, end, coder in tr.codings
    ]
    code_cols = list(labels.values())
    matrix = []
    for tr in transcripts:
        present = {labels[k] for k, _s, _e, c in tr.codings if c == CODERS[0]}
        matrix.append([tr.case] + [int(c in present) for c in code_cols])
    people = [[tr.case, *d.values()] for tr, d in zip(transcripts, demographics, strict=True)]
    return {
        f"{PREFIX}_segments.csv": csv_text(
            list(("case", "coder", "code", "start", "end", "text")), segments
        ),
        f"{PREFIX}_case_codes.csv": csv_text(["case", *code_cols], matrix),
        f"{PREFIX}_participants.csv": csv_text(["case", *DEMOGRAPHIC_COUNTS], people),
    }


def build_files(seed: int, mapping: dict) -> dict[str, bytes]:
    """Every file of data/raw/interviews/ as bytes, keyed by file name."""
    transcripts, demographics = simulate(seed)
    files = {
        f"{PREFIX}.qdpx": qdpx_bytes(transcripts, demographics, mapping, seed),
        f"{PREFIX}_codebook.qdc": codebook_xml(mapping, seed),
    }
    files.update(
        {k: v.encode("utf-8") for k, v in tidy_exports(transcripts, demographics, mapping).items()}
    )
    return files


def write_stand_in(
    out_dir: Path,
    seed: int,
    mapping_path: Path,
    manifest: Path | None = None,
    root: Path = PROJECT_ROOT,
) -> dict[str, str]:
    """Write the stand-in files atomically; register them in ``manifest`` if given.

    Returns {path relative to ``root``: sha256}.
    """
    return write_files(build_files(seed, read_yaml(mapping_path)), out_dir, manifest, root)


def main(argv: list[str] | None = None) -> None:
    from analysis.project import load_config, project_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="default: config simulation")
    args = parser.parse_args(argv)
    config = load_config()
    seed = args.seed if args.seed is not None else config["simulation"]["interview_seed"]
    out_dir = project_path(config["paths"]["interviews"]).parent
    mapping = project_path(config["themes"]["mapping"])
    manifest = project_path(config["paths"]["raw_manifest"])
    for rel, digest in write_stand_in(out_dir, seed, mapping, manifest).items():
        print(f"{digest}  {rel}")


if __name__ == "__main__":
    main()
