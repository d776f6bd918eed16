"""/sparql: the SPARQL 1.1 Protocol, read-only, with content negotiation and CORS."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import xml.etree.ElementTree as ET

import pytest
from rdflib import Graph
from SPARQLWrapper import JSON, XML, SPARQLWrapper

COUNT_CLUSTERS = ("SELECT (COUNT(?c) AS ?n) WHERE { ?c a <https://w3id.org/clusterkg/ontology#Cluster> }")
NAMES = ("SELECT ?name WHERE { ?c a <https://w3id.org/clusterkg/ontology#Cluster> ; "
         "<http://www.w3.org/2004/02/skos/core#prefLabel> ?name } ORDER BY ?name")
CONSTRUCT = ("CONSTRUCT { ?c <http://www.w3.org/2004/02/skos/core#prefLabel> ?n } WHERE { "
             "?c a <https://w3id.org/clusterkg/ontology#Cluster> ; "
             "<http://www.w3.org/2004/02/skos/core#prefLabel> ?n }")


def test_get_post_form_and_post_direct_agree(client) -> None:
    get = client.get("/sparql", query_string={"query": NAMES})
    form = client.post("/sparql", data={"query": NAMES})
    direct = client.post("/sparql", data=NAMES, content_type="application/sparql-query")
    assert get.status_code == form.status_code == direct.status_code == 200
    assert get.get_json() == form.get_json() == direct.get_json()
    assert len(get.get_json()["results"]["bindings"]) == 6


@pytest.mark.parametrize("accept,check", [
    ("application/sparql-results+json", lambda body: json.loads(body)["results"]["bindings"][0]["n"]["value"] == "6"),
    ("application/sparql-results+xml", lambda body: ET.fromstring(body).find(
        ".//{http://www.w3.org/2005/sparql-results#}literal").text == "6"),
    ("text/csv", lambda body: list(csv.reader(io.StringIO(body))) == [["n"], ["6"]]),
    ("text/tab-separated-values", lambda body: body.splitlines()[0] == "?n" and body.splitlines()[1].startswith('"6"')),
])
def test_result_formats_by_accept(client, accept: str, check) -> None:
    response = client.get("/sparql", query_string={"query": COUNT_CLUSTERS}, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    assert check(response.get_data(as_text=True))


@pytest.mark.parametrize("accept,fmt", [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                        ("application/ld+json", "json-ld")])
def test_graph_formats_by_accept(client, accept: str, fmt: str) -> None:
    response = client.get("/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    graph = Graph().parse(data=response.get_data(as_text=True), format=fmt)
    assert len(graph) == 6


def test_ask(client) -> None:
    response = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    assert response.get_json() == {"head": {}, "boolean": True}


@pytest.mark.parametrize("request_kwargs", [
    {"method": "GET", "query_string": {"update": "DROP ALL"}},
    {"method": "POST", "data": {"update": "DROP ALL"}},
    {"method": "POST", "data": "DROP ALL", "content_type": "application/sparql-update"},
    {"method": "POST", "data": {"query": "DROP ALL"}},
    {"method": "GET", "query_string": {"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}},
    {"method": "GET", "query_string": {"query": "LOAD <http://127.0.0.1:9/x>"}},
])
def test_updates_are_refused_before_anything_runs(client, shared_store, request_kwargs: dict) -> None:
    before = shared_store.named_graphs()
    count = len(shared_store.dataset())
    response = client.open("/sparql", **request_kwargs)
    assert response.status_code == 400
    assert "read-only" in response.get_json()["error"]
    assert shared_store.named_graphs() == before and len(shared_store.dataset()) == count


def test_syntax_errors_are_400_with_a_message(client) -> None:
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p "})
    assert response.status_code == 400 and "SPARQL syntax error" in response.get_json()["error"]


def test_service_description_without_a_query(client) -> None:
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    assert len(list(graph.subjects(None, None))) >= 1
    assert b"sd:UnionDefaultGraph" in response.data


def test_cors_for_read_only_use(client) -> None:
    preflight = client.options("/sparql", headers={"Origin": "https://example.org",
                                                  "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    response = client.get("/sparql", query_string={"query": COUNT_CLUSTERS}, headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# -- against a real server, as outside clients use it ------------------------------------------------
def test_sparqlwrapper_json_and_xml(live_server: str) -> None:
    sparql = SPARQLWrapper(live_server + "/sparql")
    sparql.setQuery(NAMES)
    sparql.setReturnFormat(JSON)
    names = [b["name"]["value"] for b in sparql.query().convert()["results"]["bindings"]]
    assert "Medicen Paris Region" in names and len(names) == 6
    sparql.setReturnFormat(XML)
    document = sparql.query().convert()
    literals = [e.firstChild.data for e in document.getElementsByTagName("literal")]
    assert sorted(literals) == sorted(names)
    sparql.setMethod("POST")
    sparql.setReturnFormat(JSON)
    assert len(sparql.query().convert()["results"]["bindings"]) == 6


@pytest.mark.parametrize("accept,expected", [
    ("application/sparql-results+json", '"value": "6"'),
    ("application/sparql-results+xml", "<literal datatype=\"http://www.w3.org/2001/XMLSchema#integer\">6</literal>"),
    ("text/csv", "n\r\n6\r\n"),
    ("text/tab-separated-values", '?n\n"6"^^<http://www.w3.org/2001/XMLSchema#integer>\n'),
])
def test_curl_with_each_accept_type(live_server: str, accept: str, expected: str) -> None:
    out = subprocess.run(["curl", "-sS", "-G", live_server + "/sparql", "--data-urlencode", f"query={COUNT_CLUSTERS}",
                          "-H", f"Accept: {accept}", "-w", "\n%{content_type}"],
                         capture_output=True, timeout=30, check=True).stdout.decode("utf-8")
    body, content_type = out.rsplit("\n", 1)
    assert content_type.startswith(accept)
    assert expected.replace(" ", "") in body.replace(" ", "") + "\n"


def test_curl_construct_as_turtle(live_server: str) -> None:
    out = subprocess.run(["curl", "-sS", "-X", "POST", live_server + "/sparql", "-H", "Accept: text/turtle",
                          "-H", "Content-Type: application/sparql-query", "--data-binary", CONSTRUCT],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert len(Graph().parse(data=out, format="turtle")) == 6


def test_results_are_capped_with_an_explicit_marker(shared_store, make_app) -> None:
    from dataclasses import replace

    from graph.config import Settings

    from .conftest import BASE

    app = make_app(replace(Settings(base_iri=BASE), max_rows=5), store=shared_store, config={"TESTING": True})
    client = app.test_client()
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
    body = response.get_json()
    assert len(body["results"]["bindings"]) == 5 and body["truncated"] is True
    assert "urn:clusterkg:truncated" in body["head"]["link"]
    assert response.headers["X-Clusterkg-Truncated"] == "true"
    graph = client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                       headers={"Accept": "application/n-triples"})
    assert len(graph.get_data(as_text=True).strip().splitlines()) == 5
    assert graph.headers["X-Clusterkg-Truncated"] == "true"
    small = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 3"})
    assert "truncated" not in small.get_json() and "X-Clusterkg-Truncated" not in small.headers
    capped_api = client.get("/api/queries/kpis-by-category").get_json()
    assert len(capped_api["results"]["bindings"]) == 5 and capped_api["truncated"] is True


def test_csv_answers_neutralise_formulas(client) -> None:
    """OWASP's CSV injection advice: text that a spreadsheet would run is prefixed with '; numbers
    are left as they are."""
    query = ('SELECT ?v WHERE { VALUES ?v { "=HYPERLINK(\\"http://x\\")" "+1+1" "-2+3" "@SUM(A1)" "\\tx" '
             '"plain" -5 "-5"^^<http://www.w3.org/2001/XMLSchema#decimal> } }')
    response = client.post("/sparql", data={"query": query}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    lines = response.get_data(as_text=True).split("\r\n")[1:-1]
    assert lines == ['"\'=HYPERLINK(""http://x"")"', "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "plain", "-5", "-5"]


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/sparql?query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20LIMIT%201", 200),
    ("GET", "/sparql?query=SELECT%20nonsense", 400),
    ("GET", "/api/queries", 200),
    ("GET", "/api/queries/no-such-query", 404),
    ("GET", "/api/queries/option-counts?question=99", 400),
    ("GET", "/void", 200),
    ("GET", "/ontology", 200),
    ("GET", "/data/cluster/medicen", 200),
    ("GET", "/data/cluster/nobody", 404),
    ("HEAD", "/api/queries", 200),
])
def test_every_read_has_cors_errors_included(client, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method, headers={"Accept": "application/json", "Origin": "https://x.example"})
    assert response.status_code == status
    assert response.headers.get("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize("method,path", [("POST", "/update"), ("PUT", "/graph-store?graph=https://example.org/g"),
                                         ("POST", "/api/imports"), ("DELETE", "/api/imports/x"),
                                         ("POST", "/admin/import"), ("GET", "/admin/import")])
def test_no_write_has_cors(client, method: str, path: str) -> None:
    response = client.open(path, method=method, headers={"Origin": "https://x.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(path, headers={"Origin": "https://x.example", "Access-Control-Request-Method": method})
    assert "Access-Control-Allow-Origin" not in preflight.headers
