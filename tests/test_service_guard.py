"""SERVICE goes only to allowed endpoints: a local HTTP server stands in for an outside one and
must never be hit, however the query is written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph.guard import ServiceRefused, check_services
from graph.store import StoreError

from . import engines


@pytest.fixture
def trap() -> Iterator[tuple[str, list[str]]]:
    with engines.TrapServer() as server:
        yield server.url, server.hits


def hostile_queries(url: str) -> list[str]:
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE # a comment\n <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<{url}> AS ?x) SERVICE ?x {{ ?s ?p ?o }} }}",
        f"PREFIX e: <{url.rsplit('/', 1)[0]}/> SELECT * WHERE {{ SERVICE e:sparql {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
    ]


def test_every_hostile_form_is_refused_by_the_guard(trap) -> None:
    url, _hits = trap
    for query in hostile_queries(url):
        with pytest.raises(ServiceRefused):
            check_services(query)
    check_services("SELECT * WHERE { ?s <http://example.org/SERVICE> 'SERVICE <http://x>' } # SERVICE <http://y>")
    check_services(f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}", {url})


def test_no_store_follows_a_service_off_the_allow_list(shared_store, trap) -> None:
    url, hits = trap
    for query in hostile_queries(url):
        with pytest.raises(StoreError, match="SERVICE"):
            shared_store.query(query)
    assert hits == []


def test_the_public_endpoint_refuses_and_never_calls_out(client, trap) -> None:
    url, hits = trap
    for query in hostile_queries(url):
        response = client.post("/sparql", data={"query": query})
        assert response.status_code == 400 and "SERVICE" in response.get_json()["error"]
    assert hits == []
