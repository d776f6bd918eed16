"""A remote engine killed in the middle of a write: after a restart, the graph is there whole or
not at all, and nothing half-written is visible."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from graph.config import Settings
from graph.store import StoreError, open_store
from graph.store.remote import RemoteStore

from . import engines
from .conftest import BASE

pytestmark = pytest.mark.slow

TARGET = BASE + "graph/import/crash-test"
N = 120_000  # about 10 MB of N-Triples: more than one update takes, so it is staged, then moved


def _big_graph() -> Graph:
    graph = Graph()
    for i in range(N // 3):
        s = URIRef(f"https://example.org/crash/{i}")
        graph.add((s, URIRef("https://example.org/p1"), Literal(f"value {i}")))
        graph.add((s, URIRef("https://example.org/p2"), Literal(i)))
        graph.add((s, URIRef("https://example.org/p3"), URIRef(f"https://example.org/crash/{i + 1}")))
    return graph


@pytest.fixture(scope="module")
def big_graph() -> Graph:
    return _big_graph()


@pytest.mark.parametrize("engine_class", [engines.OxigraphServer, engines.VirtuosoServer])
@pytest.mark.parametrize("kill_at", ["during the staging upload", "during the move", "after the move"])
def test_kill_during_a_large_write_leaves_all_or_nothing(tmp_path: Path, big_graph: Graph, kill_at: str,
                                                         engine_class: type[engines.Engine]) -> None:
    engine = engine_class(tmp_path)
    engine.start()
    settings = Settings(base_iri=BASE, endpoint=engine.query_url, update_endpoint=engine.update_url,
                        graph_store=engine.graph_store_url, auth=engine.auth, auth_type=engine.auth_type)
    store = open_store(settings)
    assert isinstance(store, RemoteStore)
    errors: list[BaseException] = []

    def kill_soon(delay: float) -> None:
        threading.Timer(delay, engine.kill).start()

    real_http, real_update = store._http, store._update

    def http(method: str, url: str, **kwargs):  # the staging upload: Graph Store POSTs
        if method in ("PUT", "POST") and kill_at == "during the staging upload":
            kill_soon(0.05)
        return real_http(method, url, **kwargs)

    def update(sparql: str) -> None:
        if "MOVE" in sparql and kill_at == "during the move":
            kill_soon(0.0)
            time.sleep(0.01)
        real_update(sparql)
        if "MOVE" in sparql and kill_at == "after the move":
            engine.kill()

    store._http, store._update = http, update  # type: ignore[method-assign]
    try:
        store.replace_graphs({TARGET: big_graph})
    except (StoreError, OSError) as exc:
        errors.append(exc)
    time.sleep(0.3)
    engine.kill()
    engine.start()  # the same directory, a new process
    store = open_store(settings)
    count = int(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{TARGET}> {{ ?s ?p ?o }} }}")
                .rows[0]["n"])  # type: ignore[union-attr]
    print(f"killed {kill_at}: {count} triples after restart, errors: {[type(e).__name__ for e in errors]}")
    assert count in (0, N), f"half-written graph: {count} of {N} triples"
    if kill_at == "after the move":
        assert count == N  # the move was committed before the crash: it must survive it
    if count == 0:
        assert errors, "the write reported success but nothing was written"
    store.recover()
    leftovers = store.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                            "FILTER STRSTARTS(STR(?g), 'urn:clusterkg:staging:') } LIMIT 1")
    assert leftovers.rows == []  # type: ignore[union-attr]
    engine.stop()
