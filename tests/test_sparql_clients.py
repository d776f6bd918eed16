"""Other people's SPARQL clients against `clusterkg serve`: SPARQLWrapper in every query form, return
format and request method, and rdflib's SPARQLStore with its dataset arguments, on every backend."""

from __future__ import annotations

import warnings
from xml.dom.minidom import Document

import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)

from .conftest import BASE

CKG = "https://w3id.org/clusterkg/ontology#"
QUERIES = {
    "SELECT": f"SELECT ?c WHERE {{ ?c a <{CKG}Cluster> }} ORDER BY ?c LIMIT 3",
    "ASK": f"ASK {{ ?c a <{CKG}Cluster> }}",
    "CONSTRUCT": f"CONSTRUCT {{ ?c a <{CKG}Cluster> }} WHERE {{ ?c a <{CKG}Cluster> }}",
    "DESCRIBE": f"DESCRIBE <{BASE}cluster/medicen>",
}
FORMATS = {"SELECT": [JSON, XML, CSV, TSV], "ASK": [JSON, XML, CSV, TSV],
           "CONSTRUCT": [XML, RDFXML, TURTLE, N3, JSONLD], "DESCRIBE": [XML, RDFXML, TURTLE, N3, JSONLD]}
METHODS = {"GET": (GET, URLENCODED), "POST form": (POST, URLENCODED), "POST direct": (POST, POSTDIRECTLY)}
CASES = [(form, fmt, method) for form in QUERIES for fmt in FORMATS[form] for method in METHODS]


@pytest.mark.parametrize("form,fmt,method", CASES, ids=[f"{f}-{t}-{m}" for f, t, m in CASES])
def test_sparqlwrapper(live_server: str, form: str, fmt: str, method: str) -> None:
    wrapper = SPARQLWrapper(live_server + "/sparql")
    wrapper.setQuery(QUERIES[form])
    wrapper.setReturnFormat(fmt)
    wrapper.setMethod(METHODS[method][0])
    wrapper.setRequestMethod(METHODS[method][1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answer = wrapper.query()
        converted = answer.convert()
    unexpected = [str(w.message) for w in caught if "unexpected" in str(w.message).lower()
                  or "does not match" in str(w.message).lower()]
    assert not unexpected, (answer.response.headers.get("Content-Type"), unexpected)
    if form == "SELECT":
        if fmt == JSON:
            assert len(converted["results"]["bindings"]) == 3
        elif fmt == XML:
            assert isinstance(converted, Document) and len(converted.getElementsByTagName("result")) == 3
        else:
            lines = converted.decode("utf-8").strip().splitlines()
            assert len(lines) == 4 and lines[0].lstrip("?") == "c"
    elif form == "ASK":
        if fmt == JSON:
            assert converted["boolean"] is True
        elif fmt == XML:
            assert converted.getElementsByTagName("boolean")[0].firstChild.data == "true"
        else:
            assert b"true" in converted
    else:
        graph = converted if isinstance(converted, Graph) else Graph().parse(data=converted, format="turtle")
        assert len(graph) >= (6 if form == "CONSTRUCT" else 10)
        if form == "DESCRIBE":
            assert (URIRef(f"{BASE}cluster/medicen"), None, None) in graph


def test_rdflib_sparqlstore_reads_graphs_and_the_dataset(live_server: str) -> None:
    """SPARQLStore sends default-graph-uri for a Graph's identifier: the graph alone is read."""
    store = SPARQLStore(live_server + "/sparql", returnFormat="json")
    d23 = URIRef(f"{BASE}graph/import/bioman4r2-d2.3")
    themes = URIRef(f"{BASE}graph/vocab/themes")
    graph = Graph(store, identifier=d23)
    medicen = URIRef(f"{BASE}cluster/medicen")
    assert (medicen, None, None) in graph
    assert len(list(graph.triples((medicen, None, None)))) >= 10
    vocab = Graph(store, identifier=themes)
    assert (medicen, None, None) not in vocab  # only that graph
    assert len(list(vocab.triples((None, None, None)))) > 20
    rows = list(graph.query(f"SELECT ?l WHERE {{ <{medicen}> <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }}"))
    assert [str(r[0]) for r in rows] == ["Medicen Paris Region"]
    union = Graph(store)  # no identifier: the service's default graph, the union of every graph
    assert (medicen, None, None) in union and (None, None, URIRef(f"{CKG}Cluster")) in union


def test_pyld_expands_a_resource_iri_with_its_default_accept(live_server: str) -> None:
    """JSON-LD processors dereference an IRI with their own Accept (PyLD: application/ld+json,
    application/json) and must get JSON-LD, not the page's own JSON."""
    from pyld import jsonld

    expanded = jsonld.expand(f"{live_server}/data/cluster/medicen")
    nodes = {node["@id"]: node for node in expanded}
    medicen = nodes[f"{BASE}cluster/medicen"]
    labels = [v["@value"] for v in medicen["http://www.w3.org/2004/02/skos/core#prefLabel"]]
    assert labels == ["Medicen Paris Region"]
    assert f"{CKG}Cluster" in medicen["@type"]
