"""The web pages, with Flask's test client: content, JSON twins, linked data, escaping, headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from graph.config import Settings
from graph.importer import Importer

from .conftest import BASE, FIXTURES, VOCAB

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
TEMPLATES = Path(__file__).parents[1] / "service" / "templates"


def get(client, path: str, **kwargs):
    response = client.get(path, headers=kwargs.pop("headers", HTML), **kwargs)
    return response, response.get_data(as_text=True)


def test_home_shows_the_dataset_and_the_headline_question(client) -> None:
    response, body = get(client, "/")
    assert response.status_code == 200
    assert "Catalogue of best practices and lessons learned" in body
    assert re.search(r"<strong>6</strong>\s*clusters", body) and re.search(r"<strong>41</strong>\s*KPIs", body)
    assert body.count('<select name="concept"') == 2
    assert f'value="{VOCAB}resilience-challenges/supply-chain-transparency" selected' in body
    data = client.get("/?format=json").get_json()
    assert data["counts"]["answers"] == 103
    # the seven responses explained where they are counted: six named, one printed without a heading
    unattributed = '<a href="/data/response/bioman4r2-2023/unattributed-sections-5-8">1 printed without one</a>'
    counted = r"<strong>7</strong>\s*survey responses: 6 under a cluster's heading and "
    assert re.search(counted + re.escape(unattributed), body)
    assert data["counts"]["unattributed"] == 1 and data["counts"]["attributed"] == 6


def test_share_answers_the_mission_question(client) -> None:
    response, body = get(client, "/share", query_string=[
        ("concept", VOCAB + "resilience-challenges/supply-chain-transparency"),
        ("concept", VOCAB + "theme/funding-finance")])
    assert response.status_code == 200
    names = re.findall(r'class="cluster-link" href="([^"]+)">([^<]+)<', body)
    assert names == [("/data/cluster/bioregio-stern", "BioRegio STERN"), ("/data/cluster/medsilesia", "MedSilesia")]
    assert "Advocate for a more transparent supply chain" in body  # BioRegio STERN, section 5
    missing, body = get(client, "/share")
    assert missing.status_code == 400 and "choose at least one" in body and "<html" in body


def test_clusters_and_cluster_page(client) -> None:
    _, body = get(client, "/clusters")
    assert body.count('href="/data/cluster/') == 6
    response, body = get(client, "/data/cluster/medicen")
    assert response.status_code == 200 and "<h1>Medicen Paris Region</h1>" in body
    assert "Founded in 2005" in body and "D2.3 section 2" in body
    assert body.count('<section class="question">') == 5
    assert "Funding Challenges:</strong> Address the constraints presented by dilutive funding schemes" in body
    assert "Growth and Viability Metrics" in body and "Count of viable companies within the cluster" in body
    assert 'href="/data/cluster/bioregio-stern">BioRegio STERN</a>' in body  # similar clusters
    turtle = re.search(r'href="(/api/queries/cluster-subgraph[^"]+format=ttl)"', body).group(1)
    download = client.get(turtle.replace("&amp;", "&"))
    assert download.status_code == 200 and download.mimetype == "text/turtle"
    assert len(Graph().parse(data=download.get_data(as_text=True), format="turtle")) > 100


def test_biocat_page_points_to_the_unattributed_answers(client) -> None:
    _, body = get(client, "/data/cluster/biocat")
    assert "Not attributed in the source" in body
    assert "/data/response/bioman4r2-2023/unattributed-sections-5-8" in body
    # the reading, with its confidence and evidence; the questions with no answer under its heading
    assert "<strong>probably Biocat (lost heading)</strong>" in body and 'href="/vocab/confidence/probable"' in body
    assert "a single blank line stand between two bullets" in body and "D2.3 section 6" in body
    assert ("No answer to questions 8, 9, 10, 11 is printed under this cluster's heading (missing, not "
            "\"chose nothing\"): Sections 5-8 print no Biocat heading") in body
    _, turku = get(client, "/data/cluster/healthturku")
    assert "<strong>HealthTurku (the blocks follow its bullets), unlikely</strong>" in turku
    assert "No answer to questions" not in turku


def test_concept_and_theme_pages(client) -> None:
    _, body = get(client, "/vocab/resilience-challenges/supply-chain-transparency")
    assert "<h1>Analysing supply chains for higher transparency</h1>" in body
    assert "2 named clusters: BioRegio STERN, MedSilesia" in body
    assert 'href="/vocab/theme/supply-chains">Supply and value chains</a>' in body
    _, body = get(client, "/vocab/theme/funding-finance")
    assert "Funding Gaps for Innovations" in body and "Budget restrictions for digital transformation" in body
    assert "5 named clusters" in body
    measured = body[body.index("<h2>Measured by</h2>"):]  # the KPIs under the theme, apart from the answers
    assert "HealthTurku" in measured and "Investment Metrics" in measured and "Investments directly" in measured
    assert "/api/queries/kpis-by-theme?theme=" in measured
    _, body = get(client, "/vocab/resilience-challenges/supply-chain-transparency")
    assert "Measured by" not in body  # an option, not a theme
    _, body = get(client, "/vocab")
    assert "Funding and finance" in body and body.count('<details class="scheme"') == 11  # confidence too


def test_figures_are_svg_with_data_tables(client) -> None:
    _, body = get(client, "/figures")
    assert body.count("<svg class=\"chart\"") == 5
    _response, body = get(client, "/figures/2")
    assert "Figure 2: Main resilience challenges identified by the clusters" in body
    assert body.count("<rect class=\"bar-clusters\"") == 5
    assert 'href="/queries/option-counts?question=8"' in body
    assert client.get("/figures/6", headers=HTML).status_code == 404


def test_matrix_and_network(client) -> None:
    _, body = get(client, "/matrix")
    assert body.count('<th class="col">') == 5  # the options of question 8
    assert 'title="MedSilesia — Supporting the implementation of business process innovations: 2 statements"' in body
    # Biocat prints no answer in sections 5-8: missing, not "not chosen"; the block is a row of its own
    assert ('title="Biocat — Supporting the implementation of business process innovations: no answer printed '
            'under this heading: Sections 5-8 print no Biocat heading') in body
    assert "Biocat — Analysing strategic levers in value chains: not chosen" not in body
    assert '<small class="reading">probably Biocat (lost heading)</small>' in body
    _, credited = get(client, "/matrix", query_string={"attribution": "probable"})
    assert ('title="Biocat — Analysing strategic levers in value chains: 1 statement, credited by a reading '
            '(probably Biocat (lost heading))">1*</td>') in credited
    assert '<small class="reading">' not in credited and '<option value="probable" selected>' in credited
    data = client.get("/matrix?theme=" + VOCAB + "theme/funding-finance&format=json").get_json()
    assert {c["label"] for c in data["columns"]} >= {"Funding Possibilities",
                                                     "Budget restrictions for digital transformation"}
    _, body = get(client, "/network", query_string={"question": "11"})
    assert 'href="/vocab/strategic-priorities/funding-possibilities"' in body
    assert "Funding Possibilities (5)" in body
    assert client.get("/network?min=x", headers=HTML).status_code == 400


def test_saved_query_pages(client) -> None:
    _, body = get(client, "/queries")
    assert 'href="/queries/clusters-sharing"' in body
    _, body = get(client, "/queries/option-counts", query_string={"question": "9"})
    assert '<option value="https://w3id.org/clusterkg/vocab/question/9" selected>' in body
    assert 'id="results"' in body and "Finding sustainable finance instruments" in body
    assert "format=csv" in body and "Open in the editor" in body and "#+ summary:" in body
    bad, body = get(client, "/queries/option-counts", query_string={"question": "99"})
    assert bad.status_code == 400 and "parameter &#39;question&#39;" in body
    graph, body = get(client, "/queries/cluster-subgraph", query_string={"cluster": "medsilesia"})
    assert graph.status_code == 200 and "triples" in body


def test_sparql_editor_for_browsers(client) -> None:
    response, body = get(client, "/sparql")
    assert response.status_code == 200 and "<textarea id=\"query\"" in body
    assert "vendor/codemirror/codemirror.js" in body and 'id="editor-data"' in body
    _prefilled, body = get(client, "/sparql", query_string={"editor": "1", "query": "ASK { ?s ?p ?o }"})
    assert "ASK { ?s ?p ?o }" in body


@pytest.mark.parametrize("accept,fmt", [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                                        ("application/n-triples", "nt"), ("application/rdf+xml", "xml")])
def test_resources_dereference_by_content_negotiation(client, accept: str, fmt: str) -> None:
    for path, iri in (("/data/cluster/medicen", BASE + "cluster/medicen"),
                      ("/vocab/theme/funding-finance", VOCAB + "theme/funding-finance"),
                      ("/data/response/bioman4r2-2023/medicen/answer/q8-1",
                       BASE + "response/bioman4r2-2023/medicen/answer/q8-1")):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 200 and response.mimetype == accept
        graph = Graph().parse(data=response.get_data(as_text=True), format=fmt)
        assert (URIRef(iri), None, None) in graph
    assert client.get("/data/cluster/medicen?format=ttl").mimetype == "text/turtle"
    assert client.get("/data/nothing-here", headers={"Accept": accept}).status_code == 404


def test_ontology_and_void(client) -> None:
    _, body = get(client, "/ontology")
    assert 'id="Cluster"' in body and "org:Organization" in body
    turtle = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert len(Graph().parse(data=turtle.get_data(as_text=True), format="turtle")) > 300
    void = client.get("/void", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=void.get_data(as_text=True), format="turtle")
    triples = URIRef("http://rdfs.org/ns/void#triples")
    assert graph.value(URIRef(BASE + "dataset"), triples).toPython() > 2500
    assert client.get("/.well-known/void").status_code == 200


def test_every_page_has_security_headers(client) -> None:
    for path in ("/", "/clusters", "/sparql", "/api/queries", "/data/cluster/medicen"):
        headers = client.get(path, headers=HTML).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_templates_have_no_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert " style=" not in text, template.name
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert "|safe" not in text.replace(" ", ""), template.name


def test_hostile_literals_are_escaped(store, settings: Settings, make_app) -> None:
    Importer(store, settings).import_file(FIXTURES / "hostile" / "hostile.ttl")
    app = make_app(settings, store=store, config={"TESTING": True})
    client = app.test_client()
    cluster, answer = "/resource?iri=https://example.org/hostile/cluster", "/resource?iri=https://example.org/hostile/answer"
    for path in ("/clusters", cluster, "/vocab/resilience-challenges/other",
                 "/queries/clusters", answer, "/share?concept=" + VOCAB + "resilience-challenges/other"):
        response, body = get(client, path)
        assert response.status_code == 200, path
        assert "<script>alert" not in body and "<img src=x" not in body and "</blockquote><script>" not in body, path
    _, body = get(client, cluster)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Kraków Klaster 東京 &#34;Ω&#34;" in body
    assert "Ελληνικά, العربية" in body
