"""What clusterkg publishes conforms outside clusterkg: the exported graph passes the project's
own shapes under pyshacl (not only the gate's engine), on every backend; every datatype the
shapes ask for is stored as it was written; dcterms:source names resources, never text."""

from __future__ import annotations

import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SH, XSD

from graph.config import ONTOLOGY_FILE, SHAPES_FILE
from graph.exporting import export_dataset
from graph.store import Store


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(SHAPES_FILE, format="turtle")


def test_the_export_conforms_to_the_shapes_under_pyshacl(store: Store, shapes: Graph) -> None:
    exported = Graph().parse(data=export_dataset(store, "ttl"), format="turtle")
    conforms, _report, text = pyshacl.validate(exported, shacl_graph=shapes, advanced=True, inference="none")
    assert conforms, text[:3000]


def test_every_datatype_of_the_shapes_is_stored_as_written(store: Store, shapes: Graph) -> None:
    datatypes = {o for o in shapes.objects(None, SH.datatype) if isinstance(o, URIRef)}
    assert datatypes
    samples = {"gYear": "2024", "integer": "7", "string": "x", "date": "2024-01-01", "boolean": "true",
               "decimal": "1.5", "dateTime": "2024-01-01T00:00:00Z"}
    graph = Graph()
    for n, datatype in enumerate(sorted(datatypes)):
        value = samples[str(datatype).rsplit("#", 1)[-1]]
        graph.add((URIRef(f"https://example.org/s{n}"), URIRef("https://example.org/p"),
                   Literal(value, datatype=datatype)))
    name = "https://example.org/graphs/datatypes"
    store.replace_graphs({name: graph})
    stored = {o.datatype or XSD.string for o in store.get_graph(name).objects()}  # RDF 1.1: plain is xsd:string
    assert stored == datatypes


def test_dcterms_source_names_a_resource_everywhere(store: Store) -> None:
    exported = Graph().parse(data=export_dataset(store, "ttl"), format="turtle")
    texts = [(s, o) for s, o in exported.subject_objects(DCTERMS.source) if isinstance(o, Literal)]
    assert texts == []


def test_the_data_uses_properties_as_the_ontology_declares_them(store: Store) -> None:
    """OWL 2 DL keeps object and datatype properties apart: a declared object property has no
    literal values, a declared datatype property no IRI or blank node values."""
    ontology = Graph().parse(ONTOLOGY_FILE, format="turtle")
    objects = set(ontology.subjects(RDF.type, OWL.ObjectProperty))
    datatypes = set(ontology.subjects(RDF.type, OWL.DatatypeProperty))
    exported = Graph().parse(data=export_dataset(store, "ttl"), format="turtle")
    wrong = [(p, o) for _s, p, o in exported
             if (p in objects and isinstance(o, Literal)) or (p in datatypes and isinstance(o, URIRef | BNode))]
    assert wrong[:5] == []
