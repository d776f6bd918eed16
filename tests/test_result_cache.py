"""The service's result cache (graph.store.cache): answers are kept until the store's next write,
by this process or another one; big results, graphs and errors are not kept; a request with
``Cache-Control: no-cache`` gets the engine's own answer; a remote store gets no cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from graph.config import Settings
from graph.results import GraphResult, SelectResult
from graph.store import StoreError, with_result_cache
from graph.store.cache import CachedStore, bypassing
from graph.store.embedded import EmbeddedStore
from tests.conftest import BASE

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER (?g != <urn:clusterkg:graph-sizes>) }"
EXTRA = "https://example.org/graph/extra"


def _count(result: object) -> int:
    assert isinstance(result, SelectResult)
    return int(result.rows[0]["n"])  # type: ignore[call-overload]


def _one_triple() -> Graph:
    g = Graph()
    g.add((URIRef("https://example.org/a"), URIRef("https://example.org/p"), Literal("x")))
    return g


def test_kept_until_a_write_by_anyone(store_path: Path) -> None:
    inner = EmbeddedStore(store_path)
    cached = CachedStore(inner, max_rows=1000)
    first = cached.query(COUNT)
    assert cached.query(COUNT) is first and (cached.hits, cached.misses) == (1, 1)

    other = EmbeddedStore(store_path)  # another writer (as the CLI's `import` beside `serve`)
    other.replace_graphs({EXTRA: _one_triple()})
    other.close()
    assert _count(cached.query(COUNT)) == _count(first) + 1  # the write emptied the cache
    assert cached.misses == 2

    cached.replace_graphs({EXTRA: None})  # and a write through the cached store itself
    assert _count(cached.query(COUNT)) == _count(first)
    inner.close()


def test_what_is_not_kept(store_path: Path) -> None:
    inner = EmbeddedStore(store_path)
    cached = CachedStore(inner, max_rows=40)
    big = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 20"  # more than a quarter of the cache
    cached.query(big)
    cached.query(big)
    assert cached.hits == 0
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3"
    assert isinstance(cached.query(construct), GraphResult)
    cached.query(construct)
    assert cached.hits == 0
    for _ in range(2):
        with pytest.raises(StoreError):
            cached.query("SELECT * WHERE { ?s ?p }")
    assert cached.hits == 0
    with bypassing():
        cached.query(COUNT)
        cached.query(COUNT)
    assert (cached.hits, cached.misses) == (0, 6)
    # least recently used out first: 45 one-row results in a 40-row cache push the first five out
    for i in range(45):
        cached.query(f"SELECT ({i} AS ?n) WHERE {{}}")
    cached.query("SELECT (0 AS ?n) WHERE {}")
    assert cached.hits == 0
    cached.query("SELECT (44 AS ?n) WHERE {}")
    assert cached.hits == 1
    inner.close()


def test_service_uses_it_and_no_cache_skips_it(store_path: Path, make_app) -> None:
    app = make_app(Settings(base_iri=BASE, store_path=store_path), config={"TESTING": True})
    cached = app.extensions["clusterkg"].store
    assert isinstance(cached, CachedStore)
    client = app.test_client()
    a = client.get("/api/queries/option-counts")
    b = client.get("/api/queries/option-counts")
    assert a.status_code == b.status_code == 200 and a.get_json() == b.get_json()
    hits = cached.hits
    assert hits >= 1
    fresh = client.get("/api/queries/option-counts", headers={"Cache-Control": "no-cache"})
    assert fresh.get_json() == a.get_json() and cached.hits == hits
    client.get("/api/queries/option-counts")  # the bypass ended with that request
    assert cached.hits == hits + 1


def test_off_by_setting_and_for_stores_without_a_generation(store_path: Path) -> None:
    inner = EmbeddedStore(store_path)
    assert with_result_cache(inner, Settings(base_iri=BASE, result_cache_rows=0)) is inner
    assert isinstance(with_result_cache(inner, Settings(base_iri=BASE)), CachedStore)
    inner.close()

    class NoGeneration(EmbeddedStore):
        def generation(self) -> str | None:
            return None

    remote_like = NoGeneration(store_path)
    assert with_result_cache(remote_like, Settings(base_iri=BASE)) is remote_like
    remote_like.close()
