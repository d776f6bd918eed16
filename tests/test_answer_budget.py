"""Answers are bounded in bytes, not only rows: a short query cannot build a huge answer, and the
result cache cannot be filled past its byte budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.config import Settings
from graph.store.embedded import EmbeddedStore

from .conftest import BASE

MB = 1024 * 1024


def doubling(times: int, seed: str = "0123456789") -> str:
    """A SELECT whose one row holds a string of len(seed) * 2**times characters."""
    binds = [f'BIND("{seed}" AS ?a0)'] + [f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(times)]
    return f"SELECT ?a{times} WHERE {{ {' '.join(binds)} }}"


@pytest.fixture
def client(store_path: Path, make_app):
    settings = Settings(base_iri=BASE, store_path=store_path, max_answer_mb=1, result_cache_mb=4)
    app = make_app(settings, store=EmbeddedStore(store_path), config={"TESTING": True})
    return app.test_client()


def post(client, query: str, accept: str = "application/sparql-results+json"):
    return client.post("/sparql", data={"query": query}, headers={"Accept": accept})


def test_a_huge_term_is_cut_with_the_truncation_marker(client) -> None:
    response = post(client, doubling(20))  # one 10 MB string
    assert response.status_code == 200
    body = response.get_json()
    assert body["truncated"] is True and body["results"]["bindings"] == []
    assert body["head"]["link"] == ["urn:clusterkg:truncated"]
    assert response.headers["X-Clusterkg-Truncated"] == "true"
    assert len(response.data) < 10_000


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml",
                                    "text/csv", "text/tab-separated-values"])
def test_many_rows_are_cut_at_the_byte_budget(client, accept: str) -> None:
    query = ("SELECT ?s ?big WHERE { ?s ?p ?o . BIND(CONCAT(STR(?s), " + ", ".join(["STR(?o)"] * 4) + ", '"
             + "x" * 4000 + "') AS ?big) } LIMIT 5000")
    response = post(client, query, accept)
    assert response.status_code == 200 and response.headers["X-Clusterkg-Truncated"] == "true"
    assert len(response.data) < 3 * MB


def test_a_graph_answer_is_cut_at_the_byte_budget(client) -> None:
    query = "CONSTRUCT { ?s <urn:p> ?big } WHERE { ?s ?p ?o . BIND(CONCAT(STR(?o), '" + "y" * 8000 + "') AS ?big) }"
    response = post(client, query, "application/n-triples")
    assert response.status_code == 200 and response.headers["X-Clusterkg-Truncated"] == "true"
    assert len(response.data) < 2 * MB


def test_the_result_cache_stays_within_its_byte_budget(store_path: Path, make_app) -> None:
    settings = Settings(base_iri=BASE, store_path=store_path, max_answer_mb=1, result_cache_mb=4)
    app = make_app(settings, store=EmbeddedStore(store_path), config={"TESTING": True})
    client = app.test_client()
    cache = app.extensions["clusterkg"].store
    for n in range(30):
        response = post(client, doubling(15, seed=f"{n:010d}"))  # a 320 KB answer each, all different
        assert response.status_code == 200
        assert len(json.loads(response.data)["results"]["bindings"]) == 1
        assert cache.size_bytes <= 4 * MB
    assert cache.size_bytes > MB  # it does keep answers


def test_a_graph_store_read_has_the_limits_of_a_query(store_path: Path, make_app) -> None:
    settings = Settings(base_iri=BASE, store_path=store_path, max_rows=50)
    app = make_app(settings, store=EmbeddedStore(store_path), config={"TESTING": True})
    client = app.test_client()
    graph = f"{BASE}graph/import/bioman4r2-d2.3"
    response = client.get(f"/graph-store?graph={graph}", headers={"Accept": "application/n-triples"})
    assert response.status_code == 200 and response.headers["X-Clusterkg-Truncated"] == "true"
    assert len(response.get_data(as_text=True).splitlines()) == 50
    hurried = make_app(Settings(base_iri=BASE, store_path=store_path, query_timeout=0.0001),
                       store=EmbeddedStore(store_path), config={"TESTING": True}).test_client()
    stopped = hurried.get(f"/graph-store?graph={graph}", headers={"Accept": "application/n-triples"})
    assert stopped.status_code == 503 and stopped.get_json()["limit"] == "timeout"
