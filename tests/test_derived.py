"""The cluster summary graph (graph.derived) always equals what the import graphs imply: after
init, imports of new waves, a drop, a replacement by the Graph Store Protocol and a rebuild, on
every backend; and nobody can write it directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal

from graph.config import Settings
from graph.derived import DERIVATION_VERSION, rebuild_update, summary_graph
from graph.importer import Importer
from graph.mapping.survey_csv import COLUMNS
from graph.namespaces import CKG, DataIRIs
from graph.results import SelectResult
from graph.store import Store, sizes
from graph.writes import GraphWriter, WriteRefused

# what the summary must hold, computed from the import graphs alone (the definition, not the code)
EXPECTED = f"""
SELECT DISTINCT ?c ?p ?o WHERE {{
  {{ GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.option}> ?o }}
     BIND (<{CKG.choseOption}> AS ?p) }}
  UNION
  {{ GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.matches}> ?o }}
     BIND (<{CKG.matchesConcept}> AS ?p) }}
  UNION
  {{ SELECT ?c (<{CKG.optionCount}> AS ?p) (COUNT(DISTINCT ?x) AS ?o) WHERE {{
       GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.option}> ?x }}
       FILTER NOT EXISTS {{ GRAPH ?v {{ ?x a <{CKG.OtherOption}> }} }} }} GROUP BY ?c }}
}}"""


def _rows(store: Store, query: str) -> set[tuple[str, str, str]]:
    result = store.query(query)
    assert isinstance(result, SelectResult)
    return {(str(r["c"]), str(r["p"]), str(r["o"])) for r in result.rows}


# the option pairs: every two options ("Other" left out) and how many clusters chose both
EXPECTED_PAIRS = f"""
SELECT ?a ?b (COUNT(DISTINCT ?c) AS ?n) WHERE {{
  GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?x . ?x <{CKG.option}> ?a }}
  GRAPH ?h {{ ?s <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?y . ?y <{CKG.option}> ?b }}
  FILTER (STR(?a) < STR(?b))
  FILTER NOT EXISTS {{ GRAPH ?v {{ ?a a <{CKG.OtherOption}> }} }}
  FILTER NOT EXISTS {{ GRAPH ?w {{ ?b a <{CKG.OtherOption}> }} }}
}} GROUP BY ?a ?b"""

# the option tallies: every option ("Other" left out) and how many clusters chose it
EXPECTED_TALLIES = f"""
SELECT ?a (COUNT(DISTINCT ?c) AS ?n) WHERE {{
  GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?x . ?x <{CKG.option}> ?a }}
  FILTER NOT EXISTS {{ GRAPH ?v {{ ?a a <{CKG.OtherOption}> }} }}
}} GROUP BY ?a"""


def _counts(store: Store, query: str) -> set[tuple]:
    result = store.query(query)
    assert isinstance(result, SelectResult)
    return {(*(str(r[v]) for v in result.variables[:-1]), int(r["n"])) for r in result.rows}  # type: ignore[arg-type]


def _check(store: Store, settings: Settings) -> set[tuple[str, str, str]]:
    """The summary's cluster edges (returned), option pairs and option tallies equal their definitions."""
    summary = summary_graph(DataIRIs(settings.base_iri))
    held = _rows(store, f"SELECT ?c ?p ?o WHERE {{ GRAPH <{summary}> {{ ?c ?p ?o "
                        f"FILTER NOT EXISTS {{ ?c a <{CKG.OptionPair}> }} FILTER (?c != <{summary}>) "
                        f"FILTER (?p != <{CKG.chosenByClusters}>) }} }}")
    assert held == _rows(store, EXPECTED)
    pairs_query = (f"SELECT ?a ?b ?n WHERE {{ GRAPH <{summary}> {{ ?p a <{CKG.OptionPair}> ; "
                   f"<{CKG.pairedOption}> ?a, ?b ; <{CKG.clusterCount}> ?n FILTER (STR(?a) < STR(?b)) }} }}")
    pairs = store.query(pairs_query)
    assert isinstance(pairs, SelectResult)
    as_set = _counts(store, pairs_query)
    assert as_set == _counts(store, EXPECTED_PAIRS)
    assert len(as_set) == len(pairs.rows) and as_set  # one node per pair; D2.3 alone has pairs
    tallies = _counts(store, f"SELECT ?a ?n WHERE {{ GRAPH <{summary}> {{ ?a <{CKG.chosenByClusters}> ?n }} }}")
    assert tallies == _counts(store, EXPECTED_TALLIES) and tallies
    version = store.query(f"SELECT ?v WHERE {{ GRAPH <{summary}> {{ <{summary}> <{CKG.derivationVersion}> ?v }} }}")
    assert isinstance(version, SelectResult) and version.values("v") == [Literal(DERIVATION_VERSION)]
    return held


def _wave(path: Path, wave: int, clusters: list[str]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        for i, name in enumerate(clusters):
            row = dict.fromkeys(COLUMNS, "")
            first = "Analysing supply chains for higher transparency"
            row.update(response_id=f"test-w{wave}-{i}", survey_id=f"test-survey-{wave}", cluster_name=name,
                       resilience_challenges=first if wave == 1 else "Other",
                       resilience_challenges_other="" if wave == 1 else "Tariffs",
                       green_challenges="Finding sustainable finance instruments")
            writer.writerow(row)
    return path


def test_summary_follows_imports_drops_and_writes(store: Store, settings: Settings, tmp_path: Path) -> None:
    importer = Importer(store, settings)
    before = _check(store, settings)  # D2.3, as `init` left it
    assert any(p == str(CKG.optionCount) for _, p, _ in before)

    one = importer.import_file(_wave(tmp_path / "wave1.csv", 1, ["Medicen", "Summary Test Cluster"]))
    after_one = _check(store, settings)
    new_cluster = next(c for c, p, o in after_one if c.endswith("summary-test-cluster"))
    assert (new_cluster, str(CKG.choseOption),
            "https://w3id.org/clusterkg/vocab/resilience-challenges/supply-chain-transparency") in after_one

    two = importer.import_file(_wave(tmp_path / "wave2.csv", 2, ["Summary Test Cluster"]))
    after_two = _check(store, settings)
    assert (new_cluster, str(CKG.optionCount), "2") in after_two  # the Other answer does not count

    importer.drop_import(one.import_id)  # Medicen keeps what D2.3 says; the test cluster what wave 2 says
    after_drop = _check(store, settings)
    assert (new_cluster, str(CKG.choseOption),
            "https://w3id.org/clusterkg/vocab/resilience-challenges/supply-chain-transparency") not in after_drop
    assert {t for t in after_drop if not t[0].endswith("summary-test-cluster")} == before

    writer = GraphWriter(store, settings)
    writer.put(two.graph, Graph())  # replaced by nothing: the test cluster's edges go
    assert _check(store, settings) == before
    with pytest.raises(WriteRefused):
        writer.put(summary_graph(DataIRIs(settings.base_iri)), Graph())

    store.replace_graphs({}, then=rebuild_update(store, DataIRIs(settings.base_iri)))
    assert _check(store, settings) == before


def test_summary_is_in_the_same_update_as_the_import(store: Store, settings: Settings, tmp_path: Path) -> None:
    """One update carries the import graph and the summary's change (so neither lands alone)."""
    sent: list[str] = []
    original = store.replace_graphs

    def spy(graphs, *, then: str = "", additions=None, **options) -> None:  # type: ignore[no-untyped-def]
        sent.append(then + "".join((additions or {}).values()))
        original(graphs, then=then, additions=additions, **options)

    store.replace_graphs = spy  # type: ignore[method-assign]
    Importer(store, settings).import_file(_wave(tmp_path / "w.csv", 1, ["Summary Test Cluster"]))
    assert len(sent) == 1 and str(CKG.choseOption) in sent[0]
    # and the summary's size is recorded anew with it (graph.store.sizes), counted as written
    summary = str(summary_graph(DataIRIs(settings.base_iri)))
    recorded = {str(r["g"]): int(r["n"]) for r in store.query(sizes.RECORDS_QUERY).rows}  # type: ignore[union-attr]
    assert recorded.get(summary) == len(store.get_graph(summary))


def test_a_write_racing_another_is_recomputed(store_path: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary's changes are computed from reads before the write; when another writer (here a
    second handle, as another process would) commits in between, the write is refused unwritten
    and recomputed, so the summary still equals its definition."""
    from graph import derived
    from graph.store import StoreChanged
    from graph.store.embedded import EmbeddedStore
    from tests.conftest import BASE

    settings = Settings(base_iri=BASE, store_path=store_path)
    store = EmbeddedStore(store_path)
    stale = store.generation()
    other = EmbeddedStore(store_path)
    Importer(other, settings).import_file(_wave(tmp_path / "other.csv", 3, ["Summary Test Cluster"]))
    with pytest.raises(StoreChanged):
        store.replace_graphs({"https://example.org/g": Graph()}, then="", if_generation=stale)

    real = derived.maintenance
    calls: list[int] = []

    def interrupted(*args, **kwargs) -> str:
        calls.append(1)
        text = real(*args, **kwargs)
        if len(calls) == 1:  # the other writer commits after this computation, before the write
            monkeypatch.setattr(derived, "maintenance", real)
            Importer(other, settings).import_file(_wave(tmp_path / "racer.csv", 2, ["Summary Test Cluster"]))
            monkeypatch.setattr(derived, "maintenance", interrupted)
        return text

    monkeypatch.setattr(derived, "maintenance", interrupted)
    Importer(store, settings).import_file(_wave(tmp_path / "mine.csv", 1, ["Medicen", "Another Test Cluster"]))
    assert len(calls) == 2
    _check(store, settings)
    other.close()
    store.close()
