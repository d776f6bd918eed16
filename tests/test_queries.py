"""Saved queries answer as the catalogue reads; parameters are validated and bound inertly."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.queries import ParameterError, QueryFileError, SavedQuery, load_queries, load_query
from graph.results import GraphResult, SelectResult
from graph.store.embedded import EmbeddedStore
from graph.store.sizes import SIZES_GRAPH

from .conftest import BASE, VOCAB, quads_of
from .helpers import HOSTILE

CONTRACT = {"clusters-sharing", "cluster-profile", "option-counts", "challenge-cooccurrence"}


@pytest.fixture(scope="module")
def queries() -> dict[str, SavedQuery]:
    return load_queries()


def _labels(result: object, var: str = "clusterLabel") -> list[str]:
    assert isinstance(result, SelectResult)
    return [str(r[var]) for r in result.rows]


def test_contract_queries_exist(queries: dict[str, SavedQuery]) -> None:
    assert CONTRACT <= set(queries)


# -- clusters-sharing: the mission's example question, read from sections 5-8 ---------------------
@pytest.mark.parametrize("concepts,expected", [
    # supply-chain transparency (section 5: BioRegio STERN, MedSilesia) and any funding-related answer
    ([VOCAB + "resilience-challenges/supply-chain-transparency", VOCAB + "theme/funding-finance"],
     ["BioRegio STERN", "MedSilesia"]),
    # funding anywhere: Capital Access (LifetecZONe, s4), funding challenges/gaps (Medicen, HealthTurku, s5),
    # sustainable finance (s6), budget restrictions (s7), funding possibilities (s8); Biocat names none
    (["theme:funding-finance"], ["BioRegio STERN", "HealthTurku", "LifetecZONe", "Medicen Paris Region", "MedSilesia"]),
    # value-chain levers (section 5): the unattributed block is no named cluster
    (["resilience-challenges/value-chain-levers"], ["BioRegio STERN", "LifetecZONe", "Medicen Paris Region"]),
    # by label, any case
    (["analysing supply chains for higher transparency"], ["BioRegio STERN", "MedSilesia"]),
    (["theme:supply-chains", "Lack of transparency on data security"], ["LifetecZONe"]),
])
def test_clusters_sharing(shared_store: EmbeddedStore, queries: dict[str, SavedQuery], concepts: list[str],
                          expected: list[str]) -> None:
    result = queries["clusters-sharing"].run(shared_store, {"concept": concepts})
    assert sorted(_labels(result), key=str.lower) == sorted(expected, key=str.lower)


def test_clusters_sharing_needs_a_concept(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    query = queries["clusters-sharing"]
    assert query.param("concept").default  # the mission's example is the default
    with pytest.raises(ParameterError, match="'concept'.*not a concept"):
        query.run(shared_store, {"concept": ["no such thing"]})
    with pytest.raises(ParameterError, match="'concept'.*names several resources"):
        query.run(shared_store, {"concept": ["Other"]})
    other = query.run(shared_store, {"concept": ["resilience-challenges/other"]})
    assert _labels(other) == ["BioRegio STERN", "HealthTurku", "Medicen Paris Region"]


# -- option-counts: Figures 1-5 as read from the catalogue's sections 4-8 ---------------------------
FIGURES = {
    7: {"Support of members towards the green and digital transitions + resilience": (4, 4),
        "Increasing members' engagement": (4, 4),
        "Boosting your performance with a structured innovation management": (3, 3),
        "Developing and improving new business models": (2, 2), "Development of the services' portfolio": (2, 2),
        "Other": (2, 2), "Developing a change management strategy": (0, 0)},
    8: {"Analysing strategic levers in value chains": (3, 4),
        "Identifying the most critical supplies and technologies": (3, 4),
        "Supporting the implementation of business process innovations": (3, 3), "Other": (3, 3),
        "Analysing supply chains for higher transparency": (2, 2)},
    9: {"Finding sustainable finance instruments": (4, 5),
        "Lack of know-how to contributing to environmental, social and governmental targets": (4, 5),
        "Lack of common industry standards on sustainability": (2, 3), "Other": (2, 2),
        "Raising awareness to sustainability and its impact": (1, 2),
        "Lack of understanding government sustainability policy": (1, 2),
        "Objectives are too far in the future": (0, 1)},
    10: {"Implementing digitalisation aspects into existing business models": (5, 5),
         "Budget restrictions for digital transformation": (3, 3), "Optimising digital infrastructure": (2, 3),
         "Lack of technical IT expertise in our cluster": (2, 3), "Inefficient digitalisation processes": (2, 3),
         "Turning digital capital into economic value": (2, 2),
         "Driving adoption of new IT tools and processes": (1, 2),
         "Lack of transparency on data security": (1, 1), "Lack of digital transformation strategy": (1, 1),
         "Other": (1, 1)},
    11: {"Funding Possibilities": (5, 5), "Development of New Attractive Services": (4, 5),
         "Partnership/Collaboration": (3, 4), "Internationalisation": (2, 3), "Business Sustainability": (2, 2),
         "Communication Boost": (2, 2), "Brand Recognition": (1, 1), "Other": (0, 0)},
}


@pytest.mark.parametrize("question", sorted(FIGURES))
def test_option_counts_reproduce_the_figures(shared_store: EmbeddedStore, queries: dict[str, SavedQuery],
                                             question: int) -> None:
    result = queries["option-counts"].run(shared_store, {"question": [str(question)]})
    assert isinstance(result, SelectResult)
    got = {str(r["optionLabel"]): (int(r["clusters"]), int(r["responses"])) for r in result.rows}
    assert got == FIGURES[question]
    responses = [int(r["responses"]) for r in result.rows]
    assert responses == sorted(responses, reverse=True)  # largest first


def test_option_counts_accepts_the_question_iri(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    by_number = queries["option-counts"].run(shared_store, {"question": ["8"]})
    by_iri = queries["option-counts"].run(shared_store, {"question": [VOCAB + "question/8"]})
    assert by_number == by_iri
    with pytest.raises(ParameterError, match="'question'"):
        queries["option-counts"].run(shared_store, {"question": ["13"]})


def test_cluster_profile_of_medicen(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["cluster-profile"].run(shared_store, {"cluster": ["Medicen"]})
    assert isinstance(result, SelectResult)
    # sections 4-8 print 3 + 4 + 4 + 7 + 5 bullets under Medicen
    per_question = {}
    for row in result.rows:
        per_question[int(row["questionNumber"])] = per_question.get(int(row["questionNumber"]), 0) + 1
    assert per_question == {7: 3, 8: 4, 9: 4, 10: 7, 11: 5}
    funding = [r for r in result.rows if str(r.get("heading")) == "Funding Challenges"]
    assert len(funding) == 1
    assert str(funding[0]["statement"]).startswith("Address the constraints presented by dilutive funding schemes")
    assert str(funding[0]["sectionLabel"]).startswith("D2.3 section 5")
    assert str(funding[0]["optionLabel"]) == "Other"


def test_cluster_profile_by_iri_and_local_name_agree(shared_store: EmbeddedStore,
                                                     queries: dict[str, SavedQuery]) -> None:
    a = queries["cluster-profile"].run(shared_store, {"cluster": [BASE + "cluster/biocat"]})
    b = queries["cluster-profile"].run(shared_store, {"cluster": ["biocat"]})
    assert a == b and len(a.rows) == 2  # Biocat is headed only in section 4 (two bullets)  # type: ignore[union-attr]


def test_challenge_cooccurrence(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["challenge-cooccurrence"].run(shared_store, {})
    assert isinstance(result, SelectResult)
    pairs = {frozenset((str(r["labelA"]), str(r["labelB"]))): int(r["clusters"]) for r in result.rows}
    # digital integration in business models (s7) and funding possibilities (s8): all but Biocat
    assert pairs[frozenset(("Implementing digitalisation aspects into existing business models",
                            "Funding Possibilities"))] == 5
    # supply-chain transparency and business process innovations (s5): BioRegio STERN and MedSilesia
    assert pairs[frozenset(("Analysing supply chains for higher transparency",
                            "Supporting the implementation of business process innovations"))] == 2
    assert int(result.rows[0]["clusters"]) == 5
    assert all(int(r["clusters"]) >= 2 for r in result.rows)
    strict = queries["challenge-cooccurrence"].run(shared_store, {"min": ["5"]})
    assert all(int(r["clusters"]) == 5 for r in strict.rows)  # type: ignore[union-attr]


def test_cluster_subgraph_is_a_graph(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["cluster-subgraph"].run(shared_store, {"cluster": ["HealthTurku"]})
    assert isinstance(result, GraphResult)
    text = result.graph.serialize(format="turtle")
    assert "Funding Gaps for Innovations" in text and "Investments directly or indirectly" in text


# -- safety of parameters -----------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name,param", [("clusters-sharing", "concept"), ("cluster-profile", "cluster"),
                                        ("option-counts", "question"), ("challenge-cooccurrence", "min")])
def test_hostile_values_are_refused(shared_store: EmbeddedStore, queries: dict[str, SavedQuery],
                                    name: str, param: str, value: str) -> None:
    before = len(quads_of(shared_store))
    with pytest.raises(ParameterError, match=f"parameter '{param}'"):
        queries[name].run(shared_store, {param: [value]})
    assert len(quads_of(shared_store)) == before


@pytest.fixture
def echo_query(tmp_path: Path) -> SavedQuery:
    path = tmp_path / "echo.rq"
    path.write_text("#+ summary: echo a string and an IRI\n"
                    "SELECT ?s ?i ?n WHERE { BIND(?_text AS ?s) BIND(?_thing_iri AS ?i) BIND(?__n_integer AS ?n) }\n")
    return load_query(path)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_are_bound_as_inert_literals(store: EmbeddedStore, echo_query: SavedQuery, value: str) -> None:
    before = quads_of(store)
    result = echo_query.run(store, {"text": [value], "thing": ["http://example.org/ok"]})
    assert isinstance(result, SelectResult)
    assert [str(r["s"]) for r in result.rows] == [value]
    assert quads_of(store) == before


@pytest.mark.parametrize("iri", ["http://example.org/a b", "http://example.org/a>", "not an iri", "javascript alert",
                                 "http://example.org/\"x", "http://example.org/{x}"])
def test_bad_iris_are_refused(store: EmbeddedStore, echo_query: SavedQuery, iri: str) -> None:
    with pytest.raises(ParameterError, match="'thing'.*not an absolute IRI"):
        echo_query.run(store, {"text": ["x"], "thing": [iri]})


def test_parameter_errors_name_the_parameter(store: EmbeddedStore, echo_query: SavedQuery) -> None:
    with pytest.raises(ParameterError, match="'text': a value is required"):
        echo_query.run(store, {"thing": ["http://example.org/ok"]})
    with pytest.raises(ParameterError, match="'n': 'many' is not a whole number"):
        echo_query.run(store, {"text": ["x"], "thing": ["http://example.org/ok"], "n": ["many"]})
    with pytest.raises(ParameterError, match="'colour': this query has no such parameter"):
        echo_query.run(store, {"text": ["x"], "thing": ["http://example.org/ok"], "colour": ["red"]})
    with pytest.raises(ParameterError, match="'text': takes one value"):
        echo_query.run(store, {"text": ["x", "y"], "thing": ["http://example.org/ok"]})


def test_broken_query_files_are_reported_at_load(tmp_path: Path) -> None:
    (tmp_path / "broken.rq").write_text("#+ summary: broken\nSELECT ?x WHERE { ?x ?y \n")
    with pytest.raises(QueryFileError, match="broken.rq: SPARQL syntax error"):
        load_queries(tmp_path)
    (tmp_path / "broken.rq").write_text("SELECT ?x WHERE { ?x ?y ?z }\n")
    with pytest.raises(QueryFileError, match="broken.rq: the '#\\+ summary:' decorator is missing"):
        load_queries(tmp_path)
    (tmp_path / "broken.rq").write_text("#+ summary: an update\nDELETE WHERE { ?s ?p ?o }\n")
    with pytest.raises(QueryFileError, match="not a SPARQL query"):
        load_queries(tmp_path)
    (tmp_path / "broken.rq").write_text("#+ summary: x\n#+ params:\n#+   ghost: {type: iri}\nSELECT * { ?s ?p ?o }\n")
    with pytest.raises(QueryFileError, match="params.ghost is declared"):
        load_queries(tmp_path)


def test_checking_the_syntax_at_load_evaluates_nothing(tmp_path: Path) -> None:
    """The load parses each query; it must not run one (a SERVICE call would go out at start-up)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    calls: list[object] = []

    def answer() -> None:  # a call is recorded and hung up on, so that a regression fails fast
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            calls.append(conn)
            conn.close()

    threading.Thread(target=answer, daemon=True).start()
    (tmp_path / "remote.rq").write_text(
        f"#+ summary: remote\nSELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}\n")
    (tmp_path / "ask.rq").write_text(
        f"#+ summary: ask remote\nASK {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}\n")
    assert set(load_queries(tmp_path)) == {"remote", "ask"}
    listener.close()
    assert calls == []
    (tmp_path / "ask.rq").write_text("#+ summary: ask remote\nASK { SERVICE <urn:x> { ?s ?p } }\n")
    with pytest.raises(QueryFileError, match="ask.rq: SPARQL syntax error"):
        load_queries(tmp_path)


# -- the other saved queries ----------------------------------------------------------------------
def test_every_saved_query_has_a_test(queries: dict[str, SavedQuery]) -> None:
    source = Path(__file__).read_text() + Path(__file__).with_name("test_linking.py").read_text()
    untested = [name for name in queries if f'queries["{name}"]' not in source]
    assert not untested, f"saved queries without a test: {untested}"


def _option_sets() -> dict[str, set[str]]:
    """Each named cluster's options (no "Other") as transcribed from sections 4-8."""
    from graph.mapping.d23 import D23Records

    records = D23Records.load()
    clusters = {r["id"]: r["cluster"] for r in records.document["responses"] if r.get("cluster")}
    sets: dict[str, set[str]] = {}
    for a in records.answers:
        if a["response"] in clusters and not a["option"].endswith("/other"):
            sets.setdefault(clusters[a["response"]], set()).add(a["option"])
    return sets


def test_similar_clusters_rank_by_jaccard(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    sets = _option_sets()
    mine = sets["medicen"]
    expected = {c: len(mine & s) / len(mine | s) for c, s in sets.items() if c != "medicen"}
    result = queries["similar-clusters"].run(shared_store, {"cluster": ["medicen"]})
    assert isinstance(result, SelectResult)
    got = {str(r["other"]).rsplit("/", 1)[-1]: float(r["jaccard"]) for r in result.rows}
    assert got == pytest.approx(expected)
    ranking = [float(r["jaccard"]) for r in result.rows]
    assert ranking == sorted(ranking, reverse=True)
    # Biocat (section 4 only: member engagement and innovation management) shares one option with Medicen
    biocat = next(r for r in result.rows if str(r["otherLabel"]) == "Biocat")
    assert int(biocat["shared"]) == 1


def test_clusters_by_theme_funding(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["clusters-by-theme"].run(shared_store, {"theme": ["funding-finance"]})
    assert isinstance(result, SelectResult)
    got = {str(r["clusterLabel"]): int(r["answers"]) for r in result.rows}
    # Medicen: funding challenges (s5, Other), sustainable financing (s6), budgetary constraints (s7),
    # funding possibilities (s8); LifetecZONe: capital access (s4, Other), funding possibilities (s8)
    assert got == {"Medicen Paris Region": 4, "BioRegio STERN": 3, "HealthTurku": 3, "MedSilesia": 3,
                   "LifetecZONe": 2}
    lifetec = next(r for r in result.rows if str(r["clusterLabel"]) == "LifetecZONe")
    assert "Other: Capital Access" in str(lifetec["matches"])


def test_theme_overview(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["theme-overview"].run(shared_store, {})
    assert isinstance(result, SelectResult)
    rows = {str(r["themeLabel"]): (int(r["options"]), int(r["clusters"])) for r in result.rows}
    assert len(rows) == 15
    assert rows["Funding and finance"] == (3, 5)  # sustainable finance, budget restrictions, funding possibilities
    assert rows["Data security"] == (1, 1)  # LifetecZONe's data security concerns (s7)
    assert rows["Supply and value chains"] == (3, 4)  # LifetecZONe, BioRegio STERN, MedSilesia, Medicen (s5)
    assert rows["Internationalisation"][1] == 2  # Global Outreach: MedSilesia, HealthTurku (s8)
    names = {str(r["themeLabel"]): sorted(str(r["clusterLabels"]).split(", ")) for r in result.rows}
    assert names["Funding and finance"] == ["BioRegio STERN", "HealthTurku", "LifetecZONe", "MedSilesia",
                                            "Medicen Paris Region"]
    assert names["Data security"] == ["LifetecZONe"]
    assert all(len(names[label]) == clusters for label, (_, clusters) in rows.items() if clusters)


def test_kpis_by_category(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    everything = queries["kpis-by-category"].run(shared_store, {})
    assert isinstance(everything, SelectResult) and len(everything.rows) == 41
    events = queries["kpis-by-category"].run(shared_store, {"category": ["Event and Participation Metrics"]})
    assert isinstance(events, SelectResult)
    # section 3: BioRegio STERN lists six, Medicen three
    assert sorted({str(r["clusterLabel"]) for r in events.rows}) == ["BioRegio STERN", "Medicen Paris Region"]
    assert len(events.rows) == 9
    turku = queries["kpis-by-category"].run(shared_store, {"cluster": ["HealthTurku"]})
    assert [str(r["kpiText"]) for r in turku.rows] == [  # type: ignore[union-attr]
        "Investments directly or indirectly supporting R&D, manufacturing, and business development."]


def test_unique_challenges(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    """Respondents are counted, not only named clusters: the block printed after HealthTurku is a
    respondent of its own (under any reading of whose it is), so an option it shares with one
    cluster is not unique, and one it alone chose is."""
    result = queries["unique-challenges"].run(shared_store, {})
    got = {(str(r["optionLabel"]), str(r["respondentLabel"])) for r in result.rows}  # type: ignore[union-attr]
    unattributed = next(str(r["respondentLabel"]) for r in result.rows if "cluster" not in r)  # type: ignore[union-attr]
    assert unattributed.startswith("Unattributed answers")
    assert got == {
        ("Objectives are too far in the future", unattributed),
        ("Lack of transparency on data security", "LifetecZONe"),
        ("Lack of digital transformation strategy", "BioRegio STERN"),
        ("Brand Recognition", "Medicen Paris Region"),
    }
    # chosen by one cluster and by the unattributed block too: not unique
    for shared in ("Raising awareness to sustainability and its impact",
                   "Lack of understanding government sustainability policy",
                   "Driving adoption of new IT tools and processes"):
        assert shared not in {label for label, _ in got}
    only_q10 = queries["unique-challenges"].run(shared_store, {"question": ["10"]})
    assert len(only_q10.rows) == 2  # type: ignore[union-attr]


def test_priorities_ranking(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["priorities-ranking"].run(shared_store, {})
    assert isinstance(result, SelectResult)
    ranking = [(str(r["priorityLabel"]), int(r["clusters"])) for r in result.rows]
    assert ranking[0] == ("Funding Possibilities", 5)
    assert ranking[1] == ("Development of New Attractive Services", 4)
    assert dict(ranking)["Brand Recognition"] == 1
    funding = result.rows[0]
    assert sorted(str(funding["clusterLabels"]).split(", ")) == [
        "BioRegio STERN", "HealthTurku", "LifetecZONe", "MedSilesia", "Medicen Paris Region"]


UNATTRIBUTED = "Unattributed answers printed after HealthTurku (sections 5-8)"


def test_cluster_challenge_matrix(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    q8 = queries["cluster-challenge-matrix"].run(shared_store, {"question": ["8"]})
    assert isinstance(q8, SelectResult)
    cells = {(str(r["clusterLabel"]), str(r["optionLabel"])): int(r["statements"]) for r in q8.rows}
    # MedSilesia prints business process innovations twice in section 5
    assert cells[("MedSilesia", "Supporting the implementation of business process innovations")] == 2
    assert ("BioRegio STERN", "Analysing supply chains for higher transparency") in cells
    assert all("attribution" not in r for r in q8.rows if str(r["clusterLabel"]) != UNATTRIBUTED)
    # the block printed without a heading: a row of its own, its reading with it (as printed)
    block = {str(r["optionLabel"]): str(r["attribution"]) for r in q8.rows if str(r["clusterLabel"]) == UNATTRIBUTED}
    assert block == {"Analysing strategic levers in value chains": "probably Biocat (lost heading)",
                     "Identifying the most critical supplies and technologies": "probably Biocat (lost heading)"}
    assert len(cells) == 16  # 2 + 5 + 2 + 4 + 1 distinct options of the named clusters, 2 of the block
    chains = queries["cluster-challenge-matrix"].run(shared_store, {"theme": ["supply-chains"]})
    assert {str(r["questionNumber"]) for r in chains.rows} == {"8"}  # type: ignore[union-attr]


def test_the_matrix_credits_the_block_only_when_asked(shared_store: EmbeddedStore,
                                                      queries: dict[str, SavedQuery]) -> None:
    printed = queries["cluster-challenge-matrix"].run(shared_store, {})
    probable = queries["cluster-challenge-matrix"].run(shared_store, {"attribution": ["probable"]})
    assert printed == queries["cluster-challenge-matrix"].run(shared_store, {"attribution": ["as-printed"]})

    def cells(result) -> dict[tuple[str, str], tuple[int, str]]:
        return {(str(r["clusterLabel"]), str(r["option"])): (int(r["statements"]), str(r.get("attribution", "")))
                for r in result.rows}
    as_printed, credited = cells(printed), cells(probable)
    moved = {option: value for (who, option), value in as_printed.items() if who == UNATTRIBUTED}
    assert len(moved) == 15 and not any(who == UNATTRIBUTED for who, _ in credited)  # 2 + 6 + 4 + 3 options
    assert {option: value for (who, option), value in credited.items()
            if who == "Biocat" and value[1]} == moved  # the same cells, under Biocat, the reading with them
    assert {k: v for k, v in credited.items() if v[1] == ""} == {k: v for k, v in as_printed.items() if v[1] == ""}
    with pytest.raises(ParameterError, match="'attribution'"):
        queries["cluster-challenge-matrix"].run(shared_store, {"attribution": ["certain"]})


def test_missing_answers_are_recorded_with_their_reason(shared_store: EmbeddedStore,
                                                        queries: dict[str, SavedQuery]) -> None:
    result = queries["missing-answers"].run(shared_store, {})
    assert isinstance(result, SelectResult)
    assert [(str(r["clusterLabel"]), int(r["questionNumber"])) for r in result.rows] == [
        ("Biocat", 8), ("Biocat", 9), ("Biocat", 10), ("Biocat", 11)]
    assert all("no Biocat heading" in str(r["reason"]) for r in result.rows)


def test_attribution_readings_with_their_evidence(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["attribution-readings"].run(shared_store, {"cluster": ["Biocat"]})
    assert isinstance(result, SelectResult)
    assert {str(r["readingLabel"]) for r in result.rows} == {"probably Biocat (lost heading)"}
    assert {str(r["confidenceLabel"]) for r in result.rows} == {"probable"} and len(result.rows) == 4
    blank_line = next(r for r in result.rows if "single blank line" in str(r["evidence"]))
    assert str(blank_line["sections"]).count("D2.3 section") == 3  # sections 6, 7 and 8
    every = queries["attribution-readings"].run(shared_store, {})
    assert {str(r["clusterLabel"]) for r in every.rows} == {"Biocat", "HealthTurku"}  # type: ignore[union-attr]


def test_the_block_has_the_transcriber_s_readings(shared_store: EmbeddedStore) -> None:
    result = shared_store.query(f"""
        PREFIX ckg: <https://w3id.org/clusterkg/ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?label ?cluster ?confidence (COUNT(DISTINCT ?evidence) AS ?evidences)
               (COUNT(DISTINCT ?section) AS ?sections)
        WHERE {{ <{BASE}response/bioman4r2-2023/unattributed-sections-5-8> ckg:attributionReading ?r .
                 ?r rdfs:label ?label ; ckg:proposedCluster ?cluster ; ckg:confidence ?confidence ;
                    ckg:evidence ?evidence . ?evidence prov:wasDerivedFrom ?section . }}
        GROUP BY ?label ?cluster ?confidence ORDER BY ?label""")
    got = [(str(r["label"]), str(r["cluster"]).rsplit("/", 1)[1], str(r["confidence"]).rsplit("/", 1)[1],
            int(r["evidences"])) for r in result.rows]  # type: ignore[union-attr]
    assert got == [("HealthTurku (the blocks follow its bullets), unlikely", "healthturku", "unlikely", 1),
                   ("probably Biocat (lost heading)", "biocat", "probable", 4)]


def test_statement_search(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["statement-search"].run(shared_store, {"text": ["RISK CAPITAL"]})
    assert isinstance(result, SelectResult)
    # LifetecZONe's Capital Access (s4), the first insight of section 9, the sixth key message (s10)
    assert sorted(str(r["kind"]) for r in result.rows) == ["answer", "insight", "key-message"]
    assert {str(r.get("clusterLabel", "")) for r in result.rows} == {"LifetecZONe", ""}
    nothing = queries["statement-search"].run(shared_store, {"text": ['"}) . DROP ALL #']})
    assert isinstance(nothing, SelectResult) and nothing.rows == []


def test_provenance_of_an_answer(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    answer = BASE + "response/bioman4r2-2023/healthturku/answer/q8-1"
    result = queries["provenance"].run(shared_store, {"resource": [answer]})
    assert isinstance(result, SelectResult)
    [row] = result.rows
    assert str(row["graph"]) == BASE + "graph/import/bioman4r2-d2.3"
    assert str(row["file"]) == "graph/data/d23" and len(str(row["sha256"])) == 64
    assert str(row["sectionLabel"]) == "D2.3 section 5: Challenges in Strengthening Europe's Resilience"
    assert str(row["documentTitle"]) == "Catalogue of best practices and lessons learned"


def test_docs_describe_every_query(queries: dict[str, SavedQuery]) -> None:
    docs = (Path(__file__).parents[1] / "docs" / "queries.md").read_text(encoding="utf-8")
    for query in queries.values():
        assert f"## {query.name}" in docs, f"docs/queries.md lacks {query.name}: run scripts/query_docs.py"
        assert query.summary in docs
        for param in query.params:
            assert f"| `{param.name}` |" in docs


# -- queries behind the pages ----------------------------------------------------------------------
def test_dataset_summary(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    [row] = queries["dataset-summary"].run(shared_store, {}).rows  # type: ignore[union-attr]
    # six named clusters; seven reported responses (six + the unattributed blocks); 103 bullets in
    # sections 4-8; 41 KPIs in section 3
    assert (int(row["clusters"]), int(row["responses"]), int(row["answers"]), int(row["kpis"])) == (6, 7, 103, 41)
    assert str(row["documentTitle"]) == "Catalogue of best practices and lessons learned"
    assert str(row["issued"]) == "2023-09-28" and str(row["author"]) == "Medicen Paris Region"


def test_clusters_list(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["clusters"].run(shared_store, {})
    rows = {str(r["clusterLabel"]): r for r in result.rows}  # type: ignore[union-attr]
    assert list(rows) == ["Biocat", "BioRegio STERN", "HealthTurku", "LifetecZONe", "Medicen Paris Region",
                          "MedSilesia"]
    assert str(rows["Medicen Paris Region"]["foundingYear"]) == "2005"  # "Founded in 2005"
    assert str(rows["Biocat"]["foundingYear"]) == "2006"  # "established in 2006"
    assert "foundingYear" not in rows["BioRegio STERN"]  # "active since 2001" is not a founding
    assert int(rows["Biocat"]["answers"]) == 2 and int(rows["Medicen Paris Region"]["answers"]) == 23


def test_cluster_details(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["cluster-details"].run(shared_store, {"cluster": ["HealthTurku"]})
    facts = {str(r["factLabel"]): str(r.get("valueLabel", r["value"])) for r in result.rows}  # type: ignore[union-attr]
    assert facts["size statement"].startswith("more than 90 enterprises")
    assert facts["coordinated by"] == "Turku Science Park Ltd"
    assert all(str(r["sectionLabel"]).startswith("D2.3 section 2") for r in result.rows  # type: ignore[union-attr]
               if str(r["factLabel"]) != "editorial note")


def test_concept_details(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["concept-details"].run(shared_store, {"concept": ["digital-challenges/budget-restrictions"]})
    rows = result.rows  # type: ignore[union-attr]
    assert str(rows[0]["label"]) == "Budget restrictions for digital transformation"
    relations = {(str(r["relation"]), str(r.get("relatedLabel", r["related"]))) for r in rows}
    assert ("broader", "Funding and finance") in relations and ("broader", "Digitalisation") in relations
    assert ("question", "Q10 Digitalisation challenges") in relations


def test_concept_clusters(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["concept-clusters"].run(shared_store, {"concept": ["theme:supply-chains"]})
    rows = result.rows  # type: ignore[union-attr]
    # section 5: value chains (LifetecZONe, BioRegio STERN, Medicen + unattributed), supply-chain transparency
    # (BioRegio STERN, MedSilesia), critical supplies (LifetecZONe, BioRegio STERN, Medicen + unattributed)
    assert len(rows) == 10  # 4 + 2 + 4 bullets
    assert {str(r.get("clusterLabel", "?")) for r in rows} == {
        "LifetecZONe", "BioRegio STERN", "MedSilesia", "Medicen Paris Region", "?"}


def test_schemes(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["schemes"].run(shared_store, {})
    schemes = {str(r["schemeLabel"]) for r in result.rows}  # type: ignore[union-attr]
    assert len(schemes) == 11 and "Sectors" in schemes  # clusterkg's own: not the EU reference schemes
    assert "Confidence of a reading" in schemes
    per_question = {int(r["question"]) for r in result.rows if "question" in r}  # type: ignore[union-attr]
    assert per_question == {2, 4, 7, 8, 9, 10, 11}


def test_describe_resource(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["describe-resource"].run(shared_store, {"resource": [BASE + "cluster/biocat"]})
    assert isinstance(result, GraphResult)
    text = result.graph.serialize(format="nt")
    assert "BioRegion of Catalonia" in text  # its description
    assert "attributionCandidate" in text  # the unattributed response points to it


LIVE_COUNTS = "SELECT ?graph (COUNT(*) AS ?triples) WHERE { GRAPH ?graph { ?s ?p ?o } } GROUP BY ?graph"


def _graph_counts(result) -> dict[str, int]:
    return {str(r["graph"]): int(r["triples"]) for r in result.rows}


def test_named_graphs(shared_store: EmbeddedStore, queries: dict[str, SavedQuery]) -> None:
    result = queries["named-graphs"].run(shared_store, {})
    counts = _graph_counts(result)
    assert len(counts) == len(result.rows)  # one row a graph: recorded or counted, never both
    graphs = {g.removeprefix(BASE): n for g, n in counts.items()
              if g.startswith(BASE)}  # an engine may keep graphs of its own (Virtuoso does)
    # the ontology, eleven vocabulary files plus the questionnaire, the EU places, the D2.3 import and
    # the cluster summary derived from the imports
    assert set(graphs) == {"graph/ontology", "graph/import/bioman4r2-d2.3", "graph/reference/eu-places",
                           "graph/derived/clusters", *(
        f"graph/vocab/{n}" for n in ("confidence", "digital-challenges", "geographic-coverage", "green-challenges",
                                     "kpi-categories", "management-skills", "questionnaire", "resilience-challenges",
                                     "respondent-positions", "sectors", "strategic-priorities", "themes"))}
    # the recorded sizes of all of them, which are a graph too
    assert counts[SIZES_GRAPH] == len(graphs)
    assert sum(graphs.values()) == len(shared_store.dataset())  # the records are not part of the data
    assert counts == {g: n for g, n in _graph_counts(shared_store.query(LIVE_COUNTS)).items() if g in counts}


def test_parameter_names_resolve_to_what_the_store_holds_now(store, settings, queries) -> None:
    """Resolving names is cached between writes (embedded store): a write must drop the cache."""
    from graph.importer import Importer

    assert queries["cluster-profile"].run(store, {"cluster": ["Biocat"]}).rows  # type: ignore[union-attr]
    with pytest.raises(ParameterError, match="Example Cluster North"):
        queries["cluster-profile"].run(store, {"cluster": ["Example Cluster North"]})
    example = Path(__file__).parents[1] / "graph" / "templates" / "survey-responses.example.csv"
    Importer(store, settings).import_file(example)
    result = queries["cluster-profile"].run(store, {"cluster": ["Example Cluster North"]})
    assert isinstance(result, SelectResult) and result.rows


def test_threads_missing_the_members_cache_together_run_its_query_once(store_path: Path) -> None:
    """The first requests after a start or a write all need the members of a parameter's class:
    one computes them, the others wait for it, instead of each running the query."""
    import threading
    import time

    from graph.store.base import StoreWrapper

    class Counting(StoreWrapper):
        members = 0

        def query(self, sparql, bindings=None, *, max_rows=None):
            if sparql.startswith("#+ summary: Members of"):
                Counting.members += 1
                time.sleep(0.2)  # a slow members query: the others arrive while it runs
            return super().query(sparql, bindings, max_rows=max_rows)

    inner = EmbeddedStore(store_path)
    store = Counting(inner)
    query = load_queries()["cluster-details"]
    start = threading.Barrier(8)
    texts: list[str] = []

    def request() -> None:
        start.wait()
        texts.append(query.bind(store, {"cluster": ["healthturku"]}))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    inner.close()
    assert len(texts) == 8 and len(set(texts)) == 1 and "healthturku>" in texts[0]
    assert Counting.members == 1


# -- kpis-by-theme: themes reach the KPIs of section 3 through their categories -------------------
def _kpis_under(theme: str) -> dict[str, int]:
    """The KPIs per response (graph/data/d23/kpis.csv) whose category the vocabulary places under
    ``theme`` (skos:broader*, read with rdflib from ontology/vocab): the definition, not the query."""
    import csv

    from rdflib import Graph, URIRef
    from rdflib.namespace import SKOS

    from graph.config import PROJECT_ROOT

    vocab = Graph().parse(PROJECT_ROOT / "ontology" / "vocab" / "kpi-categories.ttl")
    target = URIRef(VOCAB + theme)
    under = {c for c in vocab.subjects(SKOS.inScheme, None)
             if target in set(vocab.transitive_objects(c, SKOS.broader))}
    counts: dict[str, int] = {}
    with (PROJECT_ROOT / "graph" / "data" / "d23" / "kpis.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if URIRef(VOCAB + row["category"]) in under:
                counts[row["response"]] = counts.get(row["response"], 0) + 1
    return counts


@pytest.mark.parametrize("theme", ["theme/funding-finance", "theme/member-engagement", "theme/collaboration",
                                   "theme/supply-chains"])
def test_kpis_by_theme_counts_the_kpis_under_the_themes_categories(shared_store: EmbeddedStore,
                                                                   queries: dict[str, SavedQuery],
                                                                   theme: str) -> None:
    result = queries["kpis-by-theme"].run(shared_store, {"theme": [VOCAB + theme]})
    assert isinstance(result, SelectResult)
    found = {str(r["cluster"]).rsplit("/", 1)[-1]: int(r["kpis"]) for r in result.rows}  # type: ignore[arg-type]
    assert found == _kpis_under(theme)
    counts = [int(r["kpis"]) for r in result.rows]  # type: ignore[arg-type]
    assert counts == sorted(counts, reverse=True)


def test_funding_related_kpis_are_named_with_their_texts(shared_store: EmbeddedStore,
                                                        queries: dict[str, SavedQuery]) -> None:
    """The researcher's question "which clusters have funding-related KPIs": section 3's direct
    support, growth and investment metrics; not what the clusters name as challenges."""
    result = queries["kpis-by-theme"].run(shared_store, {"theme": ["funding-finance"]})
    assert _labels(result) == ["Medicen Paris Region", "BioRegio STERN", "HealthTurku"]
    row = {str(r["clusterLabel"]): r for r in result.rows}["HealthTurku"]  # type: ignore[union-attr]
    assert str(row["categories"]) == "Investment Metrics" and str(row["kpiTexts"]).startswith("Investments directly")
