"""SERVICE reaches only allowed endpoints, enforced where the connection is made (graph.egress).

Trap servers stand in for the addresses an attacker wants: they count the connections they
accept, and every test here requires that count to stay zero, whatever the query's text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.config import Settings
from graph.guard import ServiceRefused, check_services
from graph.store.embedded import EmbeddedStore

from . import engines
from .conftest import BASE

PROBE = Path(__file__).with_name("egress_probe.py")


@pytest.fixture(scope="module")
def forbidden() -> Iterator[engines.TrapServer]:
    with engines.TrapServer() as trap:
        yield trap


@pytest.fixture(scope="module")
def allowed() -> Iterator[engines.TrapServer]:
    with engines.TrapServer() as trap:
        yield trap


def hidden_services(url: str) -> list[str]:
    """SERVICE to ``url`` written every way we know: plain, escaped, behind comments and odd
    whitespace, relative to a BASE, by a prefixed name or a variable, nested, other spellings of
    the loopback address."""
    port = url.split(":")[2].split("/")[0]
    root = url.rsplit("/", 1)[0]
    other_addresses = [f"http://127.0.0.2:{port}/sparql", f"http://[::1]:{port}/sparql",
                       f"http://localhost:{port}/sparql", f"http://127.1:{port}/sparql",
                       f"http://2130706433:{port}/sparql", f"http://0x7f000001:{port}/sparql"]
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?trapped ?p ?o }} }}",
        f"select * where {{ service silent <{url}> {{ ?trapped ?p ?o }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?trapped ?p ?o }} }}",
        f"SELECT * WHERE {{ # a comment that ends at a carriage return\rSERVICE <{url}> {{ ?trapped ?p ?o }} }}",
        f'SELECT * WHERE {{ ?s ?p "x\\u0022 . SERVICE <{url}> {{ ?a ?b ?c }} #" }}',
        f"SELECT * WHERE {{ ?s ?p <a\u00a0b> . SERVICE <{url}> {{ ?a ?b ?c }} }}",
        f"BASE <{root}/> SELECT * WHERE {{ SERVICE <sparql> {{ ?trapped ?p ?o }} }}",
        f"PREFIX e: <{root}/> SELECT * WHERE {{ SERVICE e:sparql {{ ?trapped ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<{url}> AS ?x) SERVICE ?x {{ ?trapped ?p ?o }} }}",
        f"SELECT * WHERE {{ VALUES ?x {{ <{url}> }} SERVICE SILENT ?x {{ ?trapped ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?trapped ?p ?o }} }} }} }}",
        f"SELECT * WHERE {{ FILTER EXISTS {{ SERVICE <{url}> {{ ?trapped ?p ?o }} }} }}",
        f"ASK {{ OPTIONAL {{ SERVICE SILENT <{url}> {{ ?trapped ?p ?o }} }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?trapped ?p ?o }} }}",
        *(f"SELECT * WHERE {{ SERVICE <{other}> {{ ?trapped ?p ?o }} }}" for other in other_addresses),
    ]


def run_probe(queries: list[str], allowed_endpoints: list[str], tmp_path: Path) -> list[dict]:
    path = tmp_path / "queries.json"
    path.write_text(json.dumps(queries), encoding="utf-8")
    done = subprocess.run([sys.executable, str(PROBE), str(path), *allowed_endpoints],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_confined_process_connects_to_its_allowed_endpoints_only(forbidden, allowed, tmp_path: Path) -> None:
    """No text check at all: pyoxigraph runs every form; only the allowed endpoint is reached."""
    before = len(forbidden.connections)
    wanted = f"SELECT * {{ SERVICE <{allowed.url}> {{ ?trapped ?p ?o }} }}"
    outcomes = run_probe([*hidden_services(forbidden.url), wanted], [allowed.url], tmp_path)
    assert len(forbidden.connections) == before
    assert "reached the trap" in outcomes[-1]["outcome"]
    assert all("reached the trap" not in o["outcome"] for o in outcomes[:-1])


def test_an_allowed_host_is_relayed_only_to_its_allowed_paths(allowed, tmp_path: Path) -> None:
    before = len(allowed.hits)
    other_path = allowed.url.replace("/sparql", "/admin")
    outcomes = run_probe([f"SELECT * {{ SERVICE <{other_path}> {{ ?trapped ?p ?o }} }}"], [allowed.url], tmp_path)
    assert "403" in outcomes[0]["outcome"] and allowed.hits[before:] == []


def test_with_no_endpoint_allowed_a_confined_process_reaches_nothing(forbidden, tmp_path: Path) -> None:
    before = len(forbidden.connections)
    outcomes = run_probe(hidden_services(forbidden.url), [], tmp_path)
    assert len(outcomes) == len(hidden_services(forbidden.url))
    assert len(forbidden.connections) == before


# -- the strict text check (remote engines, unconfined processes) against Oxigraph's own parser ------
KEYWORDS = ["SERVICE", "service", "SeRvIcE", "\\u0053ERVICE", "\\u0073ervice", "SERV\\u0049CE",
            "\\U00000053ERVICE", "\\u005Cu0053ERVICE"]
BEFORE = [" ", "\n", "\r", " . ", "} ", "{ ", "# c\r", "# c\n", "?o ", "?o 1", "?o true", "?o \"x\"", "?o <x>",
          "?o ;", "\t", "\u00a0", "?o .", "", "\n# c ", "\n  # c\r", "\n#\u000d", "\n# \\u000d"]
BETWEEN = [" ", "\t", "\r\n", "# c\r", "#c\n", "\u00a0", " SILENT ", "SILENT", " silent\t", "", "#\r"]


def endpoints(url: str) -> list[str]:
    return [f"<{url}>", f"<\\u0068{url[1:]}>", "<sparql>", "e:sparql", "?x", f"<{url}\u00a0>"]


def wrap(pattern: str, how: int, url: str) -> str:
    root = url.rsplit("/", 1)[0]
    head = f"BASE <{root}/> PREFIX e: <{root}/> "
    bodies = [
        f"SELECT * WHERE {{ ?s ?p ?o {pattern} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ ?s ?p ?o {pattern} }} }} }}",
        f"SELECT * WHERE {{ FILTER EXISTS {{ ?s ?p ?o {pattern} }} }}",
        f"SELECT * WHERE {{ VALUES ?x {{ <{url}> }} ?s ?p ?o {pattern} }}",
        f"ASK {{ OPTIONAL {{ ?s ?p ?o {pattern} }} }}",
        f'SELECT * WHERE {{ ?s ?p "{pattern}" }}',
    ]
    return head + bodies[how]


@st.composite
def service_queries(draw: st.DrawFn, url: str) -> str:
    pattern = (draw(st.sampled_from(BEFORE)) + draw(st.sampled_from(KEYWORDS)) + draw(st.sampled_from(BETWEEN))
               + draw(st.sampled_from(endpoints(url))) + " { ?a ?b ?c }")
    return wrap(pattern, draw(st.integers(0, 5)), url)


def test_the_strict_check_refuses_whatever_oxigraph_would_follow(forbidden) -> None:
    """Property: a query the strict check lets through never makes Oxigraph (unconfined, in this
    process) connect to the trap. The oracle is Oxigraph's own parser."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.NamedNode("urn:o")))

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(service_queries(forbidden.url))
    def check(query: str) -> None:
        try:
            check_services(query, frozenset(), strict=True)
        except ServiceRefused:
            return
        before = len(forbidden.connections)
        try:
            result = store.query(query)
            if not isinstance(result, bool):
                list(result)
        except (SyntaxError, OSError, ValueError):
            pass
        assert len(forbidden.connections) == before, query

    check()


def test_the_strict_check_lets_ordinary_queries_through() -> None:
    for query in ["SELECT * WHERE { ?s <http://www.w3.org/ns/sparql-service-description#endpoint> ?e }",
                  "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> SELECT * { ?s a sd:Service }",
                  'SELECT * { ?s ?p ?o FILTER(CONTAINS(?o, "services")) }',
                  "SELECT ?service WHERE { ?service ?p ?o }"]:
        check_services(query, frozenset(), strict=True)
    with pytest.raises(ServiceRefused):
        check_services('SELECT * { ?s ?p "SERVICE <http://x/> {}" }', frozenset(), strict=True)


# -- every entry point ----------------------------------------------------------------------------------
def test_the_public_endpoint_never_connects_off_the_list(make_app, store_path: Path, forbidden, allowed) -> None:
    for allow in ([], [allowed.url]):
        settings_ = Settings(base_iri=BASE, store_path=store_path, service_allowlist=frozenset(allow))
        store = EmbeddedStore(store_path, allowed_services=settings_.service_allowlist)
        client = make_app(settings_, store=store, config={"TESTING": True}).test_client()
        before = len(forbidden.connections)
        for query in hidden_services(forbidden.url):
            response = client.post("/sparql", data={"query": query}, headers={"Accept": "application/json"})
            assert response.status_code in (400, 503), (query, response.status_code)
            assert "os error" not in response.get_data(as_text=True).lower()
            assert "unreachable" not in response.get_data(as_text=True).lower()
        assert len(forbidden.connections) == before
    response = client.post("/sparql", data={"query": f"SELECT * {{ SERVICE <{allowed.url}> {{ ?trapped ?p ?o }} }}"},
                           headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200 and "reached the trap" in response.get_data(as_text=True)


def test_the_command_line_never_connects_off_the_list(store_path: Path, forbidden, allowed) -> None:
    cli = Path(sys.executable).with_name("clusterkg")
    before = len(forbidden.connections)
    for query in hidden_services(forbidden.url):
        done = subprocess.run([str(cli), "--store", str(store_path), "sparql", query], capture_output=True, text=True,
                              timeout=120, env={"PATH": "/usr/bin:/bin", "CLUSTERKG_SERVICE_ALLOWLIST": allowed.url})
        assert done.returncode != 0 and "Traceback" not in done.stderr, (query, done.stderr)
    assert len(forbidden.connections) == before
