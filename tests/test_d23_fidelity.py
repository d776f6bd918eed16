"""The D2.3 transcription says what the catalogue says: nothing left out, nothing invented."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from graph.mapping.d23 import D23Records
from graph.namespaces import SKOS, VOCAB
from graph.vocab import pref_label, terminology


def _norm(text: str) -> str:
    text = re.sub(r"</?u>", "", text)
    return " ".join(text.split())


@pytest.fixture(scope="module")
def records() -> D23Records:
    return D23Records.load()


@pytest.fixture(scope="module")
def source(catalogue_text: str) -> str:
    return _norm(catalogue_text)


def _section(catalogue_text: str, number: int) -> str:
    """The text of a numbered section (its body, after the table of contents)."""
    starts = [m.start() for m in re.finditer(rf"^{number}\. ", catalogue_text, re.M)]
    start = starts[-1]
    nxt = [m.start() for m in re.finditer(rf"^{number + 1}\. ", catalogue_text, re.M) if m.start() > start]
    return catalogue_text[start: nxt[0] if nxt else len(catalogue_text)]


def test_every_answer_statement_is_verbatim(records: D23Records, source: str) -> None:
    for a in records.answers:
        if not a["heading"]:
            printed = a["text"]  # a bullet without a heading of its own
        elif a["text"][0].islower():
            printed = f"{a['heading']} {a['text']}"
        else:
            printed = f"{a['heading']}: {a['text']}"
        assert _norm(printed) in source, f"{a['id']} is not in the catalogue as written: {printed!r}"


def test_every_kpi_and_heading_is_verbatim(records: D23Records, source: str) -> None:
    for k in records.kpis:
        assert _norm(k["kpi"]) in source, k["id"]
        assert _norm(k["category_heading"]) in source, k["id"]


def test_cluster_descriptions_and_statements_are_verbatim(records: D23Records, source: str) -> None:
    for c in records.clusters:
        assert _norm(c["description"]) in source, c["id"]
        for key in ("region_statement", "size_statement", "legal_form_statement"):
            if c.get(key):
                assert _norm(c[key]) in _norm(c["description"]), (c["id"], key)
        for year_key in ("founding_year", "active_since"):
            if c.get(year_key):
                assert str(c[year_key]) in c["description"], (c["id"], year_key)
    for s in records.statements:
        assert _norm(s["text"]) in source, s["id"]
        if s.get("heading"):
            assert _norm(s["heading"]) in source


def test_clusters_are_the_six_named_in_section_2(records: D23Records, catalogue_text: str) -> None:
    names = [c["pref_label"] for c in records.clusters]
    assert names == ["LifetecZONe", "BioRegio STERN", "MedSilesia", "Medicen Paris Region", "HealthTurku", "Biocat"]
    overview = _section(catalogue_text, 2)
    for name in names:
        assert f"\n{name}\n" in overview


# Bullets per cluster and section, counted by hand from the catalogue (the headless blocks after
# HealthTurku in sections 5-8 are the "unattributed" response).
EXPECTED_BULLETS = {
    4: {"lifeteczone": 3, "bioregio-stern": 5, "medsilesia": 2, "medicen": 3, "healthturku": 2, "biocat": 2},
    5: {"lifeteczone": 2, "bioregio-stern": 5, "medsilesia": 3, "medicen": 4, "healthturku": 1,
        "unattributed-sections-5-8": 2},
    6: {"lifeteczone": 3, "bioregio-stern": 4, "medsilesia": 2, "medicen": 4, "healthturku": 1,
        "unattributed-sections-5-8": 6},
    7: {"lifeteczone": 3, "bioregio-stern": 7, "medsilesia": 3, "medicen": 7, "healthturku": 2,
        "unattributed-sections-5-8": 4},
    8: {"lifeteczone": 3, "bioregio-stern": 3, "medsilesia": 6, "medicen": 5, "healthturku": 3,
        "unattributed-sections-5-8": 3},
}


def _legend(question_scheme: str) -> set[str]:
    scheme = VOCAB[question_scheme]
    return {_norm(pref_label(c)) for c in terminology().subjects(SKOS.inScheme, scheme)}


@pytest.mark.parametrize("section,scheme", [(4, "management-skills"), (5, "resilience-challenges"),
                                            (6, "green-challenges"), (7, "digital-challenges"),
                                            (8, "strategic-priorities")])
def test_every_bullet_of_the_section_is_transcribed_once(records: D23Records, catalogue_text: str,
                                                         section: int, scheme: str) -> None:
    text = _section(catalogue_text, section)
    bullets = [_norm(line.lstrip(" -•\t")) for line in text.splitlines()
               if re.match(r"^\s*[-•]\s", line)]
    legend = _legend(scheme)
    statements = [b for b in bullets if b not in legend]
    transcribed = [a for a in records.answers if int(a["section"]) == section]
    assert len(statements) == len(transcribed) == sum(EXPECTED_BULLETS[section].values())
    assert Counter(a["response"] for a in transcribed) == Counter(EXPECTED_BULLETS[section])


def test_kpis_per_cluster(records: D23Records) -> None:
    # section 3, KPIs listed per cluster (Biocat's run-on "programs Diversity" split in two)
    assert Counter(k["response"] for k in records.kpis) == {
        "lifeteczone": 4, "bioregio-stern": 12, "medsilesia": 5, "medicen": 9, "healthturku": 1, "biocat": 10}


def test_answer_ids_unique_and_repeats_point_back(records: D23Records) -> None:
    ids = [a["id"] for a in records.answers]
    assert len(ids) == len(set(ids))
    by_id = {a["id"]: a for a in records.answers}
    for a in records.answers:
        if a["repeats"]:
            first = by_id[a["repeats"]]
            assert (first["response"], first["option"]) == (a["response"], a["option"])
            assert ids.index(first["id"]) < ids.index(a["id"])


def test_other_answers_have_no_matching_option_and_a_theme_or_none(records: D23Records) -> None:
    for a in records.answers:
        if a["basis"] == "other":
            assert a["option"].endswith("/other")
        else:
            assert not a["option"].endswith("/other")
            assert not a["other_theme"]


def test_verbatim_basis_means_heading_is_the_option_label(records: D23Records) -> None:
    for a in records.answers:
        if a["basis"] == "verbatim":
            labels = {_norm(str(lab)).lower() for p in (SKOS.prefLabel, SKOS.altLabel)
                      for lab in terminology().objects(VOCAB[a["option"]], p)}
            assert _norm(a["heading"]).lower() in labels, (a["id"], a["heading"], labels)


def test_the_repository_alone_holds_every_source_the_tests_read() -> None:
    """A clone with nothing beside it passes: no code or test reads outside the repository."""
    import subprocess

    from graph.config import PROJECT_ROOT

    where = ["graph", "service", "tests", "scripts", "benchmarks", ":!tests/test_d23_fidelity.py"]
    sibling = "shared"  # the folder beside the repository, spelled out only here (the search would find itself)
    patterns = [f'parent / "{sibling}"', f"../{sibling}"]
    listed = subprocess.run(["git", "-C", str(PROJECT_ROOT), "grep", "-n", "-e", patterns[0], "-e", patterns[1],
                             "--", *where], capture_output=True, text=True)
    assert listed.stdout == "", listed.stdout
    assert (PROJECT_ROOT / "sources" / "bioman4r2-d2.3-catalogue.txt").exists()


def test_the_one_bullet_without_a_heading_is_whole(records: D23Records) -> None:
    """MedSilesia's second section-5 bullet has no heading of its own: one sentence, kept whole."""
    [answer] = [a for a in records.answers if a["id"] == "medsilesia-q8-2"]
    assert answer["heading"] == ""
    assert answer["text"] == ("Support the incorporation of innovative business processes to enhance operational "
                              "excellence within the cluster.")


def test_a_heading_that_differs_from_the_legend_is_no_verbatim_match(records: D23Records) -> None:
    [answer] = [a for a in records.answers if a["id"] == "unattributed-sections-5-8-q10-2"]
    assert answer["basis"] == "paraphrase" and "in our cluster" in answer["note"]


def _gaps(catalogue_text: str, number: int) -> list[tuple[int, str]]:
    """Each run of blank lines between two bullets of a section: its length, and the cluster
    heading the bullet before it is printed under."""
    lines = _section(catalogue_text, number).split("\n")
    bullet = re.compile(r"^\s*[-•]")
    heading, out, i = "", [], 0
    names = {"LifetecZONe", "BioRegio STERN", "MedSilesia", "Medicen", "HealthTurku", "Biocat"}
    while i < len(lines):
        if lines[i].strip() in names:
            heading = lines[i].strip()
        if lines[i].strip() == "" and i and bullet.match(lines[i - 1]):
            j = i
            while j < len(lines) and lines[j].strip() == "":
                j += 1
            if j < len(lines) and bullet.match(lines[j]):
                out.append((j - i, heading))
            i = j
            continue
        i += 1
    return out


def test_the_evidence_of_the_biocat_reading_holds_on_the_source(catalogue_text: str, records: D23Records) -> None:
    """What the reading "probably Biocat (lost heading)" rests on (document.yaml), checked on the text."""
    def headings(number: int) -> list[str]:
        names = ("LifetecZONe", "BioRegio STERN", "MedSilesia", "Medicen", "HealthTurku", "Biocat")
        return [line.strip() for line in _section(catalogue_text, number).split("\n") if line.strip() in names]
    six = ["LifetecZONe", "BioRegio STERN", "MedSilesia", "Medicen", "HealthTurku", "Biocat"]
    assert headings(3) == headings(4) == six
    assert all(headings(n) == six[:5] for n in (5, 6, 7, 8))
    # one blank line between two bullets: only after HealthTurku's, in sections 6-8 (the headless blocks);
    # three where a list goes on after a page break, and before section 5's block
    single = {n: [h for length, h in _gaps(catalogue_text, n) if length == 1] for n in range(3, 9)}
    assert single == {3: [], 4: [], 5: [], 6: ["HealthTurku"], 7: ["HealthTurku"], 8: ["HealthTurku"]}
    assert (3, "HealthTurku") in _gaps(catalogue_text, 5) and (3, "MedSilesia") in _gaps(catalogue_text, 7)
    [block] = [r for r in records.document["responses"] if r["id"] == "unattributed-sections-5-8"]
    probable = [r for r in block["readings"] if r["confidence"] == "probable"]
    assert [r["cluster"] for r in probable] == ["biocat"]
