"""The dataset as others find it: a DCAT-AP 3 description that the official DCAT-AP 3.0.1 shapes
accept (tests/fixtures/dcat-ap-3.0.1/), a truthful VoID description and service description, the
dataset's IRI dereferencing, and the whole graph as a dump."""

from __future__ import annotations

import pyshacl
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from graph.config import Settings
from graph.store.embedded import EmbeddedStore

from .conftest import BASE, FIXTURES

DCAT_AP = FIXTURES / "dcat-ap-3.0.1"
VOID = "http://rdfs.org/ns/void#"
SD = "http://www.w3.org/ns/sparql-service-description#"


def turtle(client, path: str) -> Graph:
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200, (path, response.data[:300])
    return Graph().parse(data=response.get_data(as_text=True), format="turtle")


def test_the_dcat_description_conforms_to_the_dcat_ap_shapes(client) -> None:
    description = turtle(client, "/dcat")
    shapes = Graph().parse(DCAT_AP / "shapes.ttl").parse(DCAT_AP / "range.ttl")
    conforms, _report, text = pyshacl.validate(description, shacl_graph=shapes, inference="none")
    assert conforms, text[:4000]
    catalogue, dataset = URIRef(BASE + "catalogue"), URIRef(BASE + "dataset")
    assert (catalogue, DCAT.dataset, dataset) in description
    assert (dataset, DCTERMS.license, None) in description
    services = list(description.subjects(RDF.type, DCAT.DataService))
    assert services and description.value(services[0], DCAT.endpointURL).endswith("/sparql")
    assert len(list(description.objects(dataset, DCAT.distribution))) == 2


def test_void_tells_the_truth(client, shared_store) -> None:
    void = turtle(client, "/void")
    dataset = URIRef(BASE + "dataset")
    entities = int(void.value(dataset, URIRef(VOID + "entities")))
    subjects = {s for s, *_ in shared_store.dataset().quads((None, None, None, None))
                if isinstance(s, URIRef) and str(s).startswith(BASE)}
    assert entities == len(subjects) > 500
    for subset in void.objects(dataset, URIRef(VOID + "subset")):
        assert str(subset).startswith(BASE + "dataset/")  # minted in our own namespace
        assert void.value(subset, URIRef(SD + "name")) is not None
    assert turtle(client, "/data/dataset").isomorphic(void) or len(turtle(client, "/data/dataset")) == len(void)
    assert (dataset, URIRef("http://www.w3.org/2000/01/rdf-schema#seeAlso"), None) in void


def test_the_service_description_says_what_is_allowed(store_path, make_app) -> None:
    def description(allowed: frozenset[str]) -> Graph:
        settings = Settings(base_iri=BASE, store_path=store_path, service_allowlist=allowed)
        app = make_app(settings, store=EmbeddedStore(store_path, allowed_services=allowed), config={"TESTING": True})
        return turtle(app.test_client(), "/sparql")

    closed = description(frozenset())
    assert (None, URIRef(SD + "feature"), URIRef(SD + "BasicFederatedQuery")) not in closed
    assert (None, URIRef(SD + "resultFormat"), URIRef("http://www.w3.org/ns/formats/RDF_XML")) in closed
    opened = description(frozenset({"https://example.org/sparql"}))
    assert (None, URIRef(SD + "feature"), URIRef(SD + "BasicFederatedQuery")) in opened


def test_a_hostile_host_header_cannot_write_into_a_description(client) -> None:
    for path in ("/sparql", "/dcat", "/void"):
        response = client.get(path, headers={"Accept": "text/turtle", "Host": "evil.example> <a> <b"})
        assert response.status_code in (200, 400), path
        assert b"evil.example" not in response.data, path
        if response.status_code == 200:
            Graph().parse(data=response.get_data(as_text=True), format="turtle")


def test_the_dump_is_the_whole_graph(store_path, make_app) -> None:
    store = EmbeddedStore(store_path)
    app = make_app(Settings(base_iri=BASE, store_path=store_path), store=store, config={"TESTING": True})
    response = app.test_client().get("/dumps/clusterkg.nq")
    assert response.status_code == 200 and response.mimetype == "application/n-quads"
    dumped = Dataset().parse(data=response.get_data(as_text=True), format="nquads")
    assert len(dumped) == len(store.dataset())
    again = app.test_client().get("/dumps/clusterkg.nq")
    assert again.get_data() == response.get_data()
    folder = store_path.with_name(store_path.name + "-dumps")
    assert len(list(folder.glob("*.nq"))) == 1
