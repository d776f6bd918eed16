"""Contract tests that every store backend passes: export round trip, errors when an engine is down."""

from __future__ import annotations

import pytest
from rdflib import Dataset, Graph

from graph.config import Settings
from graph.exporting import export_dataset
from graph.store import Store, StoreUnavailable, open_store

from . import engines
from .conftest import BASE


@pytest.mark.parametrize("fmt,parser", [("nq", "nquads"), ("trig", "trig"), ("jsonld", "json-ld")])
def test_export_round_trips_quad_for_quad(store: Store, fmt: str, parser: str) -> None:
    exported = Dataset()
    exported.parse(data=export_dataset(store, fmt), format=parser)
    original = store.dataset()

    def quads(ds: Dataset) -> set[tuple]:
        return {(s, p, o, g) for s, p, o, g in ds.quads((None, None, None, None))}

    assert quads(exported) == quads(original)
    assert len(original) > 2700


def test_turtle_export_is_the_union(store: Store) -> None:
    graph = Graph().parse(data=export_dataset(store, "ttl"), format="turtle")
    # the distinct triples of clusterkg's graphs (an engine's own graphs are not exported)
    distinct = {(s, p, o) for s, p, o, _g in store.dataset().quads((None, None, None, None))}
    assert set(graph) == distinct


def test_select_texts_are_the_n_triples_of_the_rows(store: Store) -> None:
    """Store.select_texts (what the summary's maintenance reads, graph.derived) gives each term as
    N-Triples, as rdflib writes the same row's terms, on every backend."""
    sparql = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
              "SELECT ?c ?label ?missing ?n WHERE { ?c skos:prefLabel ?label OPTIONAL { ?c <urn:none> ?missing } "
              "BIND (STRLEN(?label) AS ?n) } ORDER BY ?c ?label LIMIT 40")
    result = store.query(sparql)
    expected = [tuple(row[v].n3() if v in row else None for v in result.variables) for row in result.rows]
    assert len(expected) == 40 and any("@" in row[1] for row in expected)
    assert store.select_texts(sparql) == expected


def test_an_engine_that_is_down_is_reported_clearly() -> None:
    port = engines.free_port()  # nothing listens there
    settings = Settings(base_iri=BASE, endpoint=f"http://127.0.0.1:{port}/query")
    with pytest.raises(StoreUnavailable, match=r"cannot be reached"):
        open_store(settings)


def test_an_engine_without_a_union_default_graph_is_refused(tmp_path) -> None:
    engine = engines.OxigraphServer(tmp_path)
    engine.union_default_graph = False
    engine.start()
    try:
        quad = b"<https://example.org/s> <https://example.org/p> <https://example.org/o> <https://example.org/g> .\n"
        engine.reset(quad)
        with pytest.raises(StoreUnavailable, match="--union-default-graph"):
            open_store(Settings(base_iri=BASE, endpoint=engine.query_url))
    finally:
        engine.stop()
