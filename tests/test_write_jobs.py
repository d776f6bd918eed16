"""A maintainer's write over HTTP runs in a process of its own (graph.jobs): it is stopped at the
time limit, dies alone for want of memory or in a crash, never reaches the network, and leaves the
store as it was whenever it does not finish."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from graph.config import Settings
from graph.sparql_update import MAX_SOLUTIONS
from graph.store.embedded import EmbeddedStore

from . import engines
from .conftest import BASE, quads_of

TOKEN = "correct-horse-battery-staple-42"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "https://example.org/graphs/extra"


@pytest.fixture
def trap() -> Iterator[engines.TrapServer]:
    with engines.TrapServer() as server:
        yield server


@pytest.fixture
def writer(store_path: Path, make_app):
    def make(**limits: object):
        settings = replace(Settings(base_iri=BASE, store_path=store_path, admin_token=TOKEN), **limits)
        store = EmbeddedStore(store_path)
        return make_app(settings, store=store, config={"TESTING": True}).test_client(), store
    return make


def update(client, text: str):
    return client.post("/update", headers=AUTH, content_type="application/sparql-update", data=text)


def test_an_update_past_the_time_limit_is_stopped_and_writes_nothing(writer) -> None:
    client, store = writer(write_timeout=2)
    before = quads_of(store)
    # work without end and no solution to keep (keeping them is the memory limit's, the test below)
    slow = (f"INSERT {{ GRAPH <{GRAPH}> {{ ?a ?b ?c }} }} WHERE {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
            "FILTER(STRLEN(CONCAT(STR(?a), STR(?d), STR(?g))) < 0) }")
    response = update(client, slow)
    assert response.status_code == 503 and "stopped after 2 s" in response.get_json()["error"]
    assert "nothing was written" in response.get_json()["error"]
    assert quads_of(store) == before
    ok = update(client, f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <https://example.org/a> <https://example.org/b> 1 }} }}")
    assert ok.status_code == 200


def test_an_update_that_needs_too_much_memory_dies_alone(writer) -> None:
    client, store = writer(write_memory_mb=400)
    before = quads_of(store)
    # one solution, and the engine's memory filled finding it
    hog = (f"INSERT {{ GRAPH <{GRAPH}> {{ <https://example.org/a> <https://example.org/p> ?n }} }} WHERE {{ "
           "{ SELECT (COUNT(DISTINCT CONCAT(STR(?c), STR(?f), STR(?a), STR(?d))) AS ?n) "
           "WHERE { ?a ?b ?c . ?d ?e ?f } } }")
    response = update(client, hog)
    assert response.status_code == 503, response.get_json()
    assert "more memory than this service allows (400 MB" in response.get_json()["error"]
    assert quads_of(store) == before
    assert client.get("/api/queries").status_code == 200


def test_an_update_with_more_solutions_than_it_may_hold_is_refused_whole(writer) -> None:
    client, store = writer()
    before = quads_of(store)
    response = update(client, f"INSERT {{ GRAPH <{GRAPH}> {{ ?a <https://example.org/p> ?n }} }} "
                              "WHERE { ?a ?b ?c . ?d ?e ?f . BIND(CONCAT(STR(?c), STR(?f)) AS ?n) }")
    assert response.status_code == 400, response.get_json()
    assert f"more than {MAX_SOLUTIONS:,} solutions" in response.get_json()["error"]
    assert quads_of(store) == before


def test_a_deeply_nested_update_cannot_crash_the_service(writer) -> None:
    client, store = writer()
    before = quads_of(store)
    for depth in (20_000, 100_000):
        group = "{ " * depth + "?s ?p ?o" + " }" * depth
        nested = f"INSERT {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }} WHERE {{ {group} }}"
        response = update(client, nested)
        assert response.status_code in (400, 503), response.status_code
        assert "Traceback" not in response.get_data(as_text=True)
    assert quads_of(store) == before
    assert client.get("/api/queries").status_code == 200


def test_no_update_reaches_the_network_however_it_is_written(writer, trap) -> None:
    client, store = writer()
    before = quads_of(store)
    for text in (f"INSERT {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }} WHERE {{ SERVICESILENT<{trap.url}> {{ ?s ?p ?o }} }}",
                 f"INSERT {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <{trap.url}> {{ ?s ?p ?o }} }}",
                 f"LOAD <{trap.url}> INTO GRAPH <{GRAPH}>",
                 f"# a comment that ends here\rLOAD <{trap.url}> INTO GRAPH <{GRAPH}>"):
        response = update(client, text)
        assert response.status_code in (400, 503), (text, response.status_code)
        assert "os error" not in response.get_data(as_text=True).lower()
    assert trap.connections == []
    assert quads_of(store) == before


def test_a_graph_store_body_is_parsed_in_the_job_not_the_service(writer) -> None:
    client, store = writer()
    before = quads_of(store)
    nested = b'{"@id": "https://example.org/x", "https://example.org/p": ' + b'{"@list": [' * 5000 + b"1" \
        + b"]}" * 5000 + b"}"
    response = client.put(f"/graph-store?graph={GRAPH}", headers=AUTH, content_type="application/ld+json",
                          data=nested)
    assert response.status_code in (400, 503), response.status_code
    assert "Traceback" not in response.get_data(as_text=True)
    assert quads_of(store) == before


def test_an_upload_that_would_need_too_much_memory_is_refused_up_front(writer, tmp_path: Path) -> None:
    from graph.config import PROJECT_ROOT

    client, store = writer(write_memory_mb=900)
    before = quads_of(store)
    example = (PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv").read_bytes()
    header, *rows = example.splitlines(keepends=True)
    big = header + b"".join(rows[i % len(rows)].replace(b"example-", b"x%05d-" % i, 1) for i in range(2000))
    response = client.post("/api/imports?name=big.csv", headers=AUTH, data=big)
    assert response.status_code == 413, response.get_json()
    assert "would need about" in response.get_json()["error"] and "900 MB" in response.get_json()["error"]
    assert quads_of(store) == before


def test_the_command_line_bounds_an_import_too(store_path: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from graph.config import PROJECT_ROOT

    example = PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv"
    cli = Path(sys.executable).with_name("clusterkg")
    done = subprocess.run([str(cli), "--store", str(store_path), "import", str(example)], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "CLUSTERKG_WRITE_MEMORY_MB": "500"}, timeout=120)
    assert done.returncode == 1 and "would need about" in done.stderr and "Traceback" not in done.stderr
