"""Write the simulated stand-in for the civilized-city comparison (design C).

The NCCA work manual, the Social Credit System project (SCSP) websites and the 30
interviews of Trauth-Goik (2023) are not public, and the article publishes no figures
beyond its design (30 interviews, 20 cities, three overlap dimensions). This generator
writes files with the structure real material would have, every one labelled SIMULATED:

* ``ncca_manual_items.csv``: an assessment-system manual as a hierarchy of categories,
  sub-categories and items, each with Chinese and English text and its page. The
  hierarchy is invented in the shape of an NCCA 测评体系; items are template phrases;
* ``scsp_indicators.csv``: the indicator lists of 12 local SCSP websites (invented
  addresses under ``example.invalid``);
* ``civilized_documents.qdpx``: a REFI-QDA project with every manual item and every
  website as a text source (named by its ID), coded by "Coder A" and "Coder B" for
  overlap with social credit on the three dimensions of the codebook;
* ``civilized_interviews.qdpx``: 30 interview transcripts written from template
  sentences (no real person, no quotation) with residents of 20 cities (case variables
  City, Province, Region), coded for knowing each system, conflating them and what each
  is for; 8 transcripts double-coded;
* the two bare codebooks (``.qdc``), every code with its definition and example.

Byte reproducibility as for the interview stand-in, through the same REFI-QDA writer
(analysis/standin/refi.py): UUID5 GUIDs from the seed, fixed timestamps, sorted and
uncompressed ZIP entries with a fixed date. Run
``python -m analysis.standin.civilized`` to regenerate and register the checksums.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from analysis.project import PROJECT_ROOT
from analysis.standin import refi
from analysis.standin.files import csv_text, write_files
from analysis.standin.refi import Code, Text
from paperkit.io import read_yaml

CODERS = ("Coder A", "Coder B")
ZIP_DATE = (2022, 9, 1, 0, 0, 0)
BASE_TIME = "2022-09-01T09:00:00Z"
FILES = {
    "manual": "ncca_manual_items.csv",
    "websites": "scsp_indicators.csv",
    "documents": "civilized_documents.qdpx",
    "documents_codebook": "civilized_documents_codebook.qdc",
    "interviews": "civilized_interviews.qdpx",
    "interviews_codebook": "civilized_interviews_codebook.qdc",
}
N_INTERVIEWS = 30
N_DOUBLE_CODED_INTERVIEWS = 8
DOCUMENT_DISAGREE = 0.06
INTERVIEW_DISAGREE = 0.05
DIMENSIONS = ("criteria_indices", "virtues_behaviours", "data_sharing")

# The invented manual: category (zh, en, propensity per dimension) -> sub-categories.
MANUAL = [
    ("诚信建设", "Integrity building", (0.55, 0.5, 0.4), [
        ("政务诚信", "Government integrity"), ("个人诚信", "Personal integrity")]),
    ("思想道德建设", "Moral education", (0.15, 0.6, 0.05), [
        ("道德模范", "Moral models"), ("家风家教", "Family virtues")]),
    ("公共文明秩序", "Public order and civility", (0.15, 0.5, 0.1), [
        ("交通秩序", "Traffic order"), ("公共场所文明", "Civility in public places")]),
    ("法治与社会治理", "Rule of law and governance", (0.3, 0.25, 0.25), [
        ("基层治理", "Grassroots governance"), ("法治宣传", "Legal education")]),
    ("志愿服务", "Volunteer service", (0.2, 0.55, 0.15), [
        ("志愿者队伍", "Volunteer teams"), ("志愿服务记录", "Volunteer records")]),
    ("生态环境", "Ecological environment", (0.05, 0.15, 0.05), [
        ("垃圾分类", "Waste sorting"), ("市容环境", "Cityscape")]),
    ("公共服务与文化", "Public services and culture", (0.05, 0.1, 0.05), [
        ("公共文化设施", "Public cultural facilities"), ("便民服务", "Services for residents")]),
]
# Aspects of every sub-category (zh, en, boost per dimension): items are sub-category x aspect.
ASPECTS = [
    ("建立工作机制", "a working mechanism is in place", (0.15, 0.0, 0.0)),
    ("纳入考核指标", "it is included in the assessment indicators", (0.4, 0.0, 0.05)),
    ("开展宣传教育活动", "publicity and education campaigns are held", (0.0, 0.2, 0.0)),
    ("评选表彰先进典型", "exemplary persons are selected and honoured", (0.05, 0.3, 0.1)),
    ("信息归集共享", "information is collected and shared", (0.05, 0.0, 0.5)),
]
MANUAL_TITLE = "NCCA assessment-system work manual (SIMULATED stand-in)"
ITEMS_PER_PAGE = 2
FIRST_PAGE = 11

# SCSP indicator pool (zh, en, propensity per dimension).
INDICATORS = [
    ("将文明城市创建纳入信用评价", "civilized-city creation counted in credit evaluations",
     (0.8, 0.3, 0.4)),
    ("志愿服务时长加分", "volunteer hours add points", (0.3, 0.9, 0.3)),
    ("无偿献血加分", "blood donation adds points", (0.2, 0.9, 0.2)),
    ("交通违法行为扣分", "traffic violations deduct points", (0.2, 0.8, 0.4)),
    ("信用平台接入文明办数据", "the credit platform receives data of the civilization office",
     (0.3, 0.1, 0.95)),
    ("守信激励清单", "a list of incentives for the trustworthy", (0.4, 0.5, 0.2)),
    ("失信联合惩戒", "joint punishment of the untrustworthy", (0.3, 0.4, 0.5)),
    ("诚信示范街区评选", "selection of model integrity neighbourhoods", (0.7, 0.6, 0.1)),
    ("企业信用分级分类监管", "graded supervision of firms by credit", (0.4, 0.1, 0.3)),
    ("个人信用积分查询", "look-up of personal credit points", (0.1, 0.2, 0.3)),
    ("文明家庭评选结果计入信用档案", "civilized-family awards recorded in credit files",
     (0.4, 0.7, 0.8)),
    ("信用体系建设考核排名", "ranking in the assessment of credit-system construction",
     (0.9, 0.1, 0.2)),
    ("不文明行为曝光", "publication of uncivil behaviour", (0.1, 0.8, 0.4)),
    ("信用免押金服务", "deposit-free services for good credit", (0.05, 0.3, 0.2)),
    ("诚信宣传进社区", "integrity campaigns in neighbourhoods", (0.3, 0.7, 0.05)),
]
# 20 cities (city, province); the region comes from data/codebook/provinces.csv.
CITIES = [
    ("Hangzhou", "Zhejiang"), ("Suzhou", "Jiangsu"), ("Xiamen", "Fujian"),
    ("Rongcheng", "Shandong"), ("Shanghai", "Shanghai"), ("Beijing", "Beijing"),
    ("Shenzhen", "Guangdong"), ("Nanjing", "Jiangsu"), ("Qingdao", "Shandong"),
    ("Fuzhou", "Fujian"), ("Wuhan", "Hubei"), ("Changsha", "Hunan"), ("Zhengzhou", "Henan"),
    ("Hefei", "Anhui"), ("Nanchang", "Jiangxi"), ("Taiyuan", "Shanxi"), ("Chengdu", "Sichuan"),
    ("Chongqing", "Chongqing"), ("Xi'an", "Shaanxi"), ("Kunming", "Yunnan"),
]
WEBSITE_CITIES = ("Rongcheng", "Suzhou", "Xiamen", "Hangzhou", "Fuzhou", "Wuhan",
                  "Changsha", "Hefei", "Chengdu", "Chongqing", "Qingdao", "Nanjing")
# Interview codes: probability among all interviewees, or given knowing the system.
INTERVIEW_P = {"knows_ncca": 0.8, "knows_scs": 0.7}
PURPOSE_P = {"ncca_city_image": 0.5, "ncca_civility": 0.55, "ncca_environment": 0.45,
             "scs_financial": 0.5, "scs_behaviour": 0.55, "scs_monitoring": 0.25}
CONFLATE_P = 0.55  # among those who know both
SENTENCES: dict[str, list[str]] = {
    "knows_ncca": [
        "For years our city has tried to win the national civilized-city title.",
        "I have seen the civilized-city banners at every bus stop.",
    ],
    "knows_scs": [
        "I know the city app has a credit score for residents.",
        "I have heard of the social credit system, mostly from the news.",
    ],
    "not_ncca": ["I am not sure what the civilized-city title is."],
    "not_scs": ["I have never heard of a credit score run by the city."],
    "conflates": [
        "To me the civilized city and the credit points are the same campaign.",
        "I cannot tell whether the volunteer hours count for the credit score or the "
        "civilized city; maybe both.",
    ],
    "ncca_city_image": ["I think it is mostly about the city's reputation among other cities."],
    "ncca_civility": ["They want people to queue, not to spit and to cross on green."],
    "ncca_environment": ["When the inspectors come, every street is swept twice a day."],
    "scs_financial": ["It shows whether you pay back your loans."],
    "scs_behaviour": ["You earn points for good deeds and lose them when you break rules."],
    "scs_monitoring": ["I suspect it helps the authorities watch what everyone does."],
}
# The transcripts' sentences differ from the codebook's examples, so that a check for
# leaked transcript text is not fooled by the codebook.
PROMPTS = [
    "Have you heard of the National Civilized City Award or of social credit?",
    "Do you see a connection between the two?",
    "What do you think each of them is for?",
]


def _origin(seed: int) -> refi.Origin:
    return refi.Origin(prefix="scs-civilized", seed=seed, origin="analysis/standin/civilized.py",
                       created=BASE_TIME, zip_date=ZIP_DATE, coders=CODERS)


def _draw(rng: random.Random, propensity: tuple[float, ...]) -> set[str]:
    return {d for d, p in zip(DIMENSIONS, propensity, strict=True) if rng.random() < p}


def _second_coder(rng: random.Random, truth: set[str], keys: tuple[str, ...],
                  rate: float) -> set[str]:
    """Coder B: each unit x code decision of Coder A flipped with probability ``rate``."""
    return {k for k in keys if (k in truth) != (rng.random() < rate)}


def manual_rows(rng: random.Random) -> tuple[list[dict[str, object]], list[set[str]]]:
    """The manual's items and the dimensions each overlaps in (Coder A's coding)."""
    rows, truth = [], []
    n = 0
    for ci, (cat_zh, cat_en, base, subs) in enumerate(MANUAL, start=1):
        for si, (sub_zh, sub_en) in enumerate(subs, start=1):
            for ai, (asp_zh, asp_en, boost) in enumerate(ASPECTS, start=1):
                rows.append({
                    "document": MANUAL_TITLE, "item_id": f"{ci}.{si}.{ai}",
                    "category_id": str(ci),
                    "category_zh": cat_zh, "category_en": cat_en,
                    "subcategory_id": f"{ci}.{si}", "subcategory_zh": sub_zh,
                    "subcategory_en": sub_en, "item_zh": f"{sub_zh}：{asp_zh}",
                    "item_en": f"{sub_en}: {asp_en}", "page": FIRST_PAGE + n // ITEMS_PER_PAGE,
                })
                n += 1
                truth.append(_draw(rng, tuple(min(0.95, b + x)
                                              for b, x in zip(base, boost, strict=True))))
    return rows, truth


def website_rows(rng: random.Random, regions: dict[str, str]
                 ) -> tuple[list[dict[str, object]], list[set[str]]]:
    """Indicator lists of the SCSP websites and each indicator's overlap (Coder A)."""
    province = dict(CITIES)
    rows, truth = [], []
    for wi, city in enumerate(WEBSITE_CITIES, start=1):
        picks = rng.sample(range(len(INDICATORS)), rng.randint(6, 9))
        for k, ii in enumerate(sorted(picks), start=1):
            zh, en, prop = INDICATORS[ii]
            rows.append({
                "website_id": f"SCSP-{wi:02d}",
                "website": f"{city} social credit project (SIMULATED stand-in)",
                "city": city, "province": province[city],
                "region": regions[province[city]],
                "url": f"https://scsp-{wi:02d}.example.invalid/indicators",
                "indicator_id": f"SCSP-{wi:02d}-{k:02d}", "indicator_zh": zh,
                "indicator_en": en,
            })
            truth.append(_draw(rng, prop))
    return rows, truth


def document_sources(
    rng: random.Random, manual: list[dict], manual_truth: list[set[str]],
    websites: list[dict], website_truth: list[set[str]],
) -> list[Text]:
    """One text per manual item and per website; both coders code every unit."""
    texts = []
    for row, truth in zip(manual, manual_truth, strict=True):
        t = Text(str(row["item_id"]))
        t.add(f"[SIMULATED NCCA MANUAL ITEM {row['item_id']}, page {row['page']}; "
              "written for software testing]\n")
        span = t.add(f"{row['item_zh']}\n{row['item_en']}")
        t.add("\n")
        _code_unit(rng, t, span, truth)
        texts.append(t)
    by_site: dict[str, list[int]] = {}
    for i, row in enumerate(websites):
        by_site.setdefault(str(row["website_id"]), []).append(i)
    for site, idx in by_site.items():
        t = Text(site)
        t.add(f"[SIMULATED WEBSITE {site}: indicators of the {websites[idx[0]]['city']} social "
              "credit project; written for software testing]\n")
        for i in idx:
            row = websites[i]
            span = t.add(f"{row['indicator_id']} {row['indicator_zh']} / {row['indicator_en']}")
            t.add("\n")
            _code_unit(rng, t, span, website_truth[i])
        texts.append(t)
    return texts


def _code_unit(rng: random.Random, t: Text, span: tuple[int, int], truth: set[str]) -> None:
    for coder, codes in zip(CODERS, (truth, _second_coder(rng, truth, DIMENSIONS,
                                                          DOCUMENT_DISAGREE)), strict=True):
        for key in DIMENSIONS:
            if key in codes:
                t.codings.append((key, *span, coder))


def _cities_of_interviewees(rng: random.Random) -> list[tuple[str, str]]:
    """Every one of the 20 cities once, ten of them twice: 30 interviewees."""
    cities = list(CITIES) + rng.sample(CITIES, N_INTERVIEWS - len(CITIES))
    rng.shuffle(cities)
    return cities


def _interview_codes(rng: random.Random) -> set[str]:
    codes = {k for k, p in INTERVIEW_P.items() if rng.random() < p}
    if {"knows_ncca", "knows_scs"} <= codes and rng.random() < CONFLATE_P:
        codes.add("conflates")
    for key, p in PURPOSE_P.items():
        system = "knows_ncca" if key.startswith("ncca") else "knows_scs"
        if system in codes and rng.random() < p:
            codes.add(key)
    return codes


def interview_transcripts(rng: random.Random, keys: tuple[str, ...]) -> list[Text]:
    """30 transcripts from template sentences; Coder A codes every one, Coder B eight."""
    texts = []
    codes_of = [_interview_codes(rng) for _ in range(N_INTERVIEWS)]
    coded_enough = [i for i, c in enumerate(codes_of) if len(c) >= 2]
    double = set(rng.sample(coded_enough, N_DOUBLE_CODED_INTERVIEWS))
    for i in range(N_INTERVIEWS):
        codes = codes_of[i]
        t = Text(f"R-{i + 1:02d}")
        t.add(f"[SIMULATED INTERVIEW R-{i + 1:02d}: written for software testing; "
              "not a real person.]\n\n")
        knows = [k if k in codes else k.replace("knows", "not") for k in INTERVIEW_P]
        blocks = [knows, ["conflates"] if "conflates" in codes else [],
                  [k for k in PURPOSE_P if k in codes]]
        coded: list[tuple[str, int, int]] = []
        for prompt, block in zip(PROMPTS, blocks, strict=True):
            t.add(f"Interviewer: {prompt}\nRespondent: ")
            if not block:
                t.add("I do not really know.\n\n")
                continue
            for n, key in enumerate(block):
                start, end = t.add(("" if n == 0 else " ") + rng.choice(SENTENCES[key]))
                if key in keys:
                    coded.append((key, start + (n > 0), end))
            t.add("\n\n")
        t.codings += [(k, s, e, CODERS[0]) for k, s, e in coded]
        if i in double:
            second = _second_coder(rng, {k for k, _s, _e in coded}, keys, INTERVIEW_DISAGREE)
            spans = {k: (s, e) for k, s, e in coded}
            fallback = coded[0][1:] if coded else (0, len(t.text.split("\n", 1)[0]))
            t.codings += [(k, *spans.get(k, fallback), CODERS[1]) for k in sorted(second)]
        texts.append(t)
    return texts


# --------------------------------------------------------------------------- REFI-QDA


def _document_tree(codebook: dict) -> tuple[Code, ...]:
    docs = codebook["documents"]
    leaves = tuple(_leaf(d) for d in docs["dimensions"].values())
    return (Code(docs["root"], leaves,
                 "Overlap of a manual item or website indicator with social credit."),)


def _interview_tree(codebook: dict) -> tuple[Code, ...]:
    codes = codebook["interviews"]["codes"]
    return tuple(Code(theme, tuple(_leaf(c) for c in codes.values() if c["theme"] == theme),
                      f"Theme: {theme}.")
                 for theme in codebook["interviews"]["themes"])


def _leaf(code: dict) -> Code:
    return Code(code["label"], description=(
        f"Definition: {code['definition'].strip()} Example: {code['example'].strip()}"))


def _code_paths(codebook: dict) -> dict[str, tuple[str, ...]]:
    docs = codebook["documents"]
    out = {k: (docs["root"], d["label"]) for k, d in docs["dimensions"].items()}
    out.update({k: (c["theme"], c["label"]) for k, c in codebook["interviews"]["codes"].items()})
    return out


def _project(seed: int, name: str, texts: list[Text], codes: tuple[Code, ...],
             codebook: dict, cases: list[dict[str, str]] | None = None) -> bytes:
    """The .qdpx of ``texts`` coded with the tree ``codes``; case variables when ``cases``."""
    variables = list(codebook["interviews"]["case_variables"].values())
    qde = refi.project_xml(_origin(seed), name, codes, _code_paths(codebook), texts,
                           variables, cases)
    return refi.qdpx_bytes(_origin(seed), qde, texts)


def _csv(rows: list[dict[str, object]]) -> bytes:
    header = list(rows[0])
    return csv_text(header, [[r[c] for c in header] for r in rows]).encode("utf-8")


def build_files(seed: int, codebook: dict, regions: dict[str, str]) -> dict[str, bytes]:
    """Every file of data/raw/civilized/ (except its README) as bytes, keyed by name."""
    rng = random.Random(seed)
    manual, manual_truth = manual_rows(rng)
    websites, website_truth = website_rows(rng, regions)
    docs = document_sources(rng, manual, manual_truth, websites, website_truth)
    keys = tuple(codebook["interviews"]["codes"])
    transcripts = interview_transcripts(rng, keys)
    cities = _cities_of_interviewees(rng)
    names = codebook["interviews"]["case_variables"]
    cases = [{names["city"]: c, names["province"]: p, names["region"]: regions[p]}
             for c, p in cities]
    doc_tree, int_tree = _document_tree(codebook), _interview_tree(codebook)
    return {
        FILES["manual"]: _csv(manual),
        FILES["websites"]: _csv([{k: v for k, v in r.items() if k != "region"}
                                 for r in websites]),
        FILES["documents"]: _project(
            seed, "Civilized cities and social credit: documents (SIMULATED stand-in)", docs,
            doc_tree, codebook),
        FILES["documents_codebook"]: refi.codebook_xml(_origin(seed), doc_tree),
        FILES["interviews"]: _project(
            seed, "Civilized cities and social credit: interviews (SIMULATED stand-in)",
            transcripts, int_tree, codebook, cases),
        FILES["interviews_codebook"]: refi.codebook_xml(_origin(seed), int_tree),
    }


def read_regions(provinces_csv: Path) -> dict[str, str]:
    """Province (English name) -> region, from data/codebook/provinces.csv."""
    import csv

    with open(provinces_csv, encoding="utf-8", newline="") as fh:
        return {row["province_en"]: row["region"] for row in csv.DictReader(fh)}


def write_stand_in(out_dir: Path, seed: int, codebook_path: Path, provinces_csv: Path,
                   manifest: Path | None = None, root: Path = PROJECT_ROOT) -> dict[str, str]:
    """Write the stand-in files atomically; register them in ``manifest`` if given.

    Returns {path relative to ``root``: sha256}.
    """
    files = build_files(seed, read_yaml(codebook_path), read_regions(provinces_csv))
    return write_files(files, out_dir, manifest, root)


def main(argv: list[str] | None = None) -> None:
    from analysis.project import load_config, project_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="default: config simulation")
    args = parser.parse_args(argv)
    config = load_config()
    seed = args.seed if args.seed is not None else config["simulation"]["civilized_seed"]
    paths = config["paths"]
    written = write_stand_in(
        project_path(paths["civilized_documents"]).parent, seed,
        project_path(config["civilized"]["codebook"]), project_path(paths["provinces"]),
        project_path(paths["raw_manifest"]))
    for rel, digest in written.items():
        print(f"{digest}  {rel}")


if __name__ == "__main__":
    main()
