"""The JSON API over the saved queries, and the notebook API: same answers as the CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest

from graph.api import ClusterKG
from graph.queries import load_queries
from graph.store.embedded import EmbeddedStore

from .conftest import VOCAB
from .helpers import run

QUERIES = load_queries()


def test_list_queries(client) -> None:
    response = client.get("/api/queries")
    assert response.status_code == 200
    body = response.get_json()
    names = [q["name"] for q in body]
    assert {"clusters-sharing", "cluster-profile", "option-counts", "challenge-cooccurrence"} <= set(names)
    sharing = next(q for q in body if q["name"] == "clusters-sharing")
    assert sharing["params"][0]["name"] == "concept" and sharing["params"][0]["repeatable"] is True
    assert sharing["url"] == "/api/queries/clusters-sharing"


def test_mission_question_over_http(client) -> None:
    response = client.get("/api/queries/clusters-sharing", query_string=[
        ("concept", VOCAB + "resilience-challenges/supply-chain-transparency"),
        ("concept", VOCAB + "theme/funding-finance")])
    assert response.status_code == 200
    assert response.mimetype == "application/sparql-results+json"
    labels = [b["clusterLabel"]["value"] for b in response.get_json()["results"]["bindings"]]
    assert labels == ["BioRegio STERN", "MedSilesia"]


def test_csv_by_accept_and_by_format(client) -> None:
    by_accept = client.get("/api/queries/option-counts?question=8", headers={"Accept": "text/csv"})
    by_format = client.get("/api/queries/option-counts?question=8&format=csv")
    assert by_accept.mimetype == "text/csv" and by_accept.data == by_format.data
    rows = list(csv.DictReader(io.StringIO(by_accept.get_data(as_text=True))))
    assert rows[0]["optionLabel"] == "Analysing strategic levers in value chains" and rows[0]["clusters"] == "3"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_runs_with_its_defaults(client, name: str) -> None:
    query = QUERIES[name]
    required_without_default = [p for p in query.params if p.required and not p.default]
    response = client.get(f"/api/queries/{name}")
    if required_without_default:
        assert response.status_code == 400
    else:
        assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("name,params", [
    ("clusters-sharing", [("concept", "theme:funding-finance"), ("concept", "supply-chain-transparency")]),
    ("cluster-profile", [("cluster", "medicen")]),
    ("option-counts", [("question", "10")]),
    ("challenge-cooccurrence", []),
    ("challenge-cooccurrence", [("min", "4")]),
])
def test_cli_and_api_agree(client, store_path, name: str, params: list[tuple[str, str]]) -> None:
    api = client.get(f"/api/queries/{name}", query_string=params).get_json()
    args = [item for key, value in params for item in ("--param", f"{key}={value}")]
    cli = json.loads(run(store_path, "query", name, *args, "--format", "json").stdout)
    assert api["head"] == cli["head"]

    def key(binding: dict) -> str:
        # GROUP_CONCAT's order is not defined by SPARQL and differs between engines
        if "clusterLabels" in binding:
            parts = sorted(binding["clusterLabels"]["value"].split(", "))
            binding = {**binding, "clusterLabels": {**binding["clusterLabels"], "value": ", ".join(parts)}}
        return json.dumps(binding, sort_keys=True)

    assert sorted(map(key, api["results"]["bindings"])) == sorted(map(key, cli["results"]["bindings"]))


def test_errors_are_json_and_name_the_problem(client) -> None:
    bad = client.get("/api/queries/option-counts?question=99")
    assert bad.status_code == 400
    assert bad.get_json()["parameter"] == "question" and "parameter 'question'" in bad.get_json()["error"]
    assert client.get("/api/queries/nope").status_code == 404
    assert client.get("/api/queries/option-counts?question=8", headers={"Accept": "image/png"}).status_code == 406
    unknown = client.get("/api/queries/option-counts?question=8&colour=red")
    assert unknown.status_code == 400 and "colour" in unknown.get_json()["error"]


def test_the_accept_header_is_honoured_with_its_weights_every_time(client) -> None:
    """Negotiation is kept per Accept header: the same header must keep getting the same type,
    different weights a different one, and a header too long to be kept is still negotiated."""
    path = "/api/queries/option-counts?question=8"
    cases = [("text/csv;q=0.9, application/sparql-results+json;q=0.5", "text/csv"),
             ("text/csv;q=0.5, application/sparql-results+json;q=0.9", "application/sparql-results+json"),
             ("text/tab-separated-values", "text/tab-separated-values"),
             ("*/*", "application/sparql-results+json"),
             ("application/x-nothing;q=1, " * 40 + "text/csv;q=0.1", "text/csv")]
    for _ in range(2):
        for accept, expected in cases:
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 200 and response.mimetype == expected, accept
    assert client.get(path, headers={"Accept": "image/png, image/gif;q=0.5"}).status_code == 406
    # a format name the Accept header accepts is used; where they conflict, Accept decides
    assert client.get(path + "&format=csv", headers={"Accept": "text/*"}).mimetype == "text/csv"
    assert client.get(path + "&format=csv").mimetype == "text/csv"
    assert client.get(path + "&format=csv", headers={"Accept": "application/json"}).mimetype == "application/json"


@pytest.mark.parametrize("value", ['x" } ; DROP ALL ; #', "} DROP ALL {", "http://example.org/a>", "http://a b/>"])
def test_injection_over_http_is_refused(client, shared_store: EmbeddedStore, value: str) -> None:
    before = len(shared_store.named_graphs())
    for name, param in (("clusters-sharing", "concept"), ("cluster-profile", "cluster"),
                        ("challenge-cooccurrence", "min")):
        assert client.get(f"/api/queries/{name}", query_string={param: value}).status_code == 400
    found = client.get("/api/queries/statement-search", query_string={"text": value})
    assert found.status_code == 200 and found.get_json()["results"]["bindings"] == []
    assert len(shared_store.named_graphs()) == before


def test_construct_query_returns_rdf(client) -> None:
    turtle = client.get("/api/queries/cluster-subgraph?cluster=biocat")
    assert turtle.mimetype == "text/turtle" and b"Biocat" in turtle.data
    jsonld = client.get("/api/queries/cluster-subgraph?cluster=biocat", headers={"Accept": "application/ld+json"})
    assert jsonld.mimetype == "application/ld+json" and isinstance(jsonld.get_json(), list | dict)


def test_openapi_is_generated_from_the_decorators(client) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(QUERIES) <= {p.rsplit("/", 1)[-1] for p in doc["paths"]}
    op = doc["paths"]["/api/queries/clusters-sharing"]["get"]
    assert op["summary"] == QUERIES["clusters-sharing"].summary
    concept = next(p for p in op["parameters"] if p["name"] == "concept")
    assert concept["schema"]["type"] == "array" and concept["explode"] is True
    minimum = next(p for p in doc["paths"]["/api/queries/challenge-cooccurrence"]["get"]["parameters"]
                   if p["name"] == "min")
    assert minimum["schema"] == {"type": "integer", "minimum": 1, "default": 2}
    assert "text/csv" in doc["paths"]["/api/queries/option-counts"]["get"]["responses"]["200"]["content"]


def test_query_text_is_served(client) -> None:
    response = client.get("/api/queries/clusters-sharing.rq")
    assert response.status_code == 200 and b"#+ summary:" in response.data


def test_notebook_api(shared_store: EmbeddedStore) -> None:
    kg = ClusterKG(shared_store)
    rows = kg.run("clusters-sharing", concept=["theme:funding-finance", "supply-chain-transparency"])
    assert [r["clusterLabel"] for r in rows] == ["BioRegio STERN", "MedSilesia"]  # type: ignore[index]
    frame = kg.dataframe("option-counts", question=11)
    assert list(frame.columns) == ["option", "optionLabel", "clusters", "responses"]
    assert frame.iloc[0]["optionLabel"] == "Funding Possibilities" and frame.iloc[0]["clusters"] == 5
    assert kg.sparql("ASK { ?c a <https://w3id.org/clusterkg/ontology#Cluster> }") is True
    assert len(kg.run("cluster-subgraph", cluster="biocat")) > 20  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no saved query"):
        kg.run("nope")
