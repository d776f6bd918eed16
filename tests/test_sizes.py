"""The recorded graph sizes (graph.store.sizes) and the named-graphs query that reads them: on every
backend, after every kind of write, each graph's row says exactly what a live count says; a graph
without a record is still counted (except on Virtuoso, which cannot list graphs without reading
their triples); the records are nobody's to write, and they stay out of backups and exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from graph.backup import backup_nquads, restore
from graph.config import Settings
from graph.importer import Importer
from graph.queries import load_queries
from graph.results import SelectResult
from graph.store import Store, sizes
from graph.writes import GraphWriter, WriteRefused
from tests.helpers import wave
from tests.writing import commit

LIVE = "SELECT ?graph (COUNT(*) AS ?triples) WHERE { GRAPH ?graph { ?s ?p ?o } } GROUP BY ?graph"
EX = "https://example.org/"


def _counts(result: object) -> dict[str, int]:
    assert isinstance(result, SelectResult)
    return {str(r["graph"]): int(r["triples"]) for r in result.rows}  # type: ignore[arg-type]


def _listed(store: Store, ours: set[str]) -> dict[str, int]:
    """The named-graphs query's rows, for clusterkg's graphs (Virtuoso keeps graphs of its own)."""
    rows = load_queries()["named-graphs"].run(store, {})
    assert isinstance(rows, SelectResult)
    counts = _counts(rows)
    assert len(counts) == len(rows.rows)  # one row a graph: recorded or counted, never both
    return {g: n for g, n in counts.items() if g in ours}


def _live(store: Store, ours: set[str]) -> dict[str, int]:
    return {g: n for g, n in _counts(store.query(LIVE)).items() if g in ours}


def _recorded(store: Store) -> dict[str, int]:
    result = store.query(sizes.RECORDS_QUERY)
    assert isinstance(result, SelectResult)
    return {str(r["g"]): int(r["n"]) for r in result.rows}  # type: ignore[arg-type]


def _check(store: Store) -> None:
    """The query equals a live count, and every graph but the records' own is recorded."""
    graphs = set(store.named_graphs())
    ours = {*graphs, sizes.SIZES_GRAPH}
    assert _listed(store, ours) == _live(store, ours)
    assert set(_recorded(store)) == graphs


def test_every_write_keeps_the_records_exact(store: Store, settings: Settings, tmp_path: Path) -> None:
    _check(store)  # as init (embedded) or serve (engines) left them
    importer = Importer(store, settings)
    first = importer.import_file(wave(tmp_path / "w1.csv", 1, ["Sizes Test Cluster"]))
    second = importer.import_file(wave(tmp_path / "w2.csv", 2, ["Sizes Test Cluster", "Medicen Paris Region"]))
    _check(store)
    assert _recorded(store)[first.graph] == first.triples
    importer.drop_import(first.import_id)
    _check(store)
    assert first.graph not in _recorded(store) and second.graph in _recorded(store)

    writer = GraphWriter(store, settings)
    # literals that rdflib keeps apart and engines may store as one ("1.0" and "1.00" are one
    # xsd:decimal in Oxigraph; "a" and "a"^^xsd:string are one literal in RDF 1.1): the record is
    # what the engine holds, not what rdflib counted
    extra = Graph()
    for value in (Literal("1.0", datatype=XSD.decimal), Literal("1.00", datatype=XSD.decimal),
                  Literal("a"), Literal("a", datatype=XSD.string), Literal("b")):
        extra.add((URIRef(EX + "s"), URIRef(EX + "p"), value))
    writer.put(EX + "graph/extra", extra)
    _check(store)
    writer.update(f'INSERT DATA {{ GRAPH <{EX}graph/extra> {{ <{EX}s> <{EX}p> "c" }} }}')
    _check(store)
    writer.delete(EX + "graph/extra")
    _check(store)
    assert EX + "graph/extra" not in _recorded(store)


def test_the_records_cannot_be_written(store: Store, settings: Settings) -> None:
    writer = GraphWriter(store, settings)
    with pytest.raises(WriteRefused, match="sizes"):
        writer.put(sizes.SIZES_GRAPH, Graph())
    with pytest.raises(WriteRefused, match="sizes"):
        writer.update(f"INSERT DATA {{ GRAPH <{sizes.SIZES_GRAPH}> {{ <{EX}g> <{sizes.VOID_TRIPLES}> 1 }} }}")
    before = _recorded(store)
    # an update reads the graphs the store lists, which the records are not among: nothing to clear there
    assert writer.update(f"CLEAR SILENT GRAPH <{sizes.SIZES_GRAPH}>").changed == []
    with pytest.raises(WriteRefused, match="does not exist"):
        writer.update(f"CLEAR GRAPH <{sizes.SIZES_GRAPH}>")
    assert _recorded(store) == before
    _check(store)


def test_a_graph_without_a_record_is_counted_and_recorded_at_start(store: Store, backend: str) -> None:
    graph = Graph()
    graph.add((URIRef(EX + "s"), URIRef(EX + "p"), Literal("x")))
    store.replace_graphs({EX + "graph/behind": graph})
    # as if the graph had been loaded behind clusterkg's back: its record deleted
    commit(store, update=sizes.delete_data([(EX + "graph/behind", f'"1"^^<{XSD.integer}>')]))
    assert EX + "graph/behind" not in _recorded(store)
    ours = {*store.named_graphs(), sizes.SIZES_GRAPH}
    listed = _listed(store, ours)
    if backend == "virtuoso":  # it cannot list graphs without reading their triples (docs/deploy.md)
        assert EX + "graph/behind" not in listed
    else:
        assert listed == _live(store, ours)
    assert sizes.record_missing(store) == [EX + "graph/behind"]  # what `serve` and `init` do
    _check(store)
    assert sizes.record_missing(store) == []


def test_records_stay_out_of_backups_and_a_restore_records_anew(store: Store, tmp_path: Path) -> None:
    data = backup_nquads(store)
    assert sizes.SIZES_GRAPH.encode() not in data
    assert sizes.SIZES_GRAPH not in {str(g.identifier) for g in store.dataset().graphs()}
    path = tmp_path / "backup.nq"
    path.write_bytes(data)
    graph = Graph()
    graph.add((URIRef(EX + "s"), URIRef(EX + "p"), Literal("gone after the restore")))
    store.replace_graphs({EX + "graph/later": graph})
    summary = restore(store, path)
    assert sizes.SIZES_GRAPH not in summary.dropped and EX + "graph/later" in summary.dropped
    _check(store)


def test_a_failed_count_leaves_the_graph_unrecorded_not_wrong(store_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The write has committed when the sizes are counted: if counting fails, the graphs are left
    without a record (and counted by the query), never with a stale one."""
    from graph.store.embedded import EmbeddedStore

    store = EmbeddedStore(store_path)
    graph = Graph()
    graph.add((URIRef(EX + "s"), URIRef(EX + "p"), Literal("x")))
    store.replace_graphs({EX + "graph/g": graph})
    assert _recorded(store)[EX + "graph/g"] == 1
    graph.add((URIRef(EX + "s"), URIRef(EX + "p"), Literal("y")))
    monkeypatch.setattr(sizes, "count_query", lambda name: "SELECT nonsense")
    store.replace_graphs({EX + "graph/g": graph})
    assert len(store.get_graph(EX + "graph/g")) == 2  # written
    assert EX + "graph/g" not in _recorded(store)  # and unrecorded, not recorded as 1
    assert _listed(store, {EX + "graph/g"}) == {EX + "graph/g": 2}
    store.close()
