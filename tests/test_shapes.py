"""Every shape of ontology/shapes.ttl catches what it is for, and the bundled data conforms."""

from __future__ import annotations

import pytest
from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, URIRef

from graph.mapping.d23 import D23Records, map_d23
from graph.namespaces import RDF, SH, DataIRIs
from graph.validate import shapes_graph, validate_graph
from graph.vocab import terminology

from .conftest import BASE, FIXTURES

SHAPES_NS = "https://w3id.org/clusterkg/shapes#"
SHAPE_FIXTURES = FIXTURES / "shapes"


def _named_constraints() -> list[str]:
    """Every named shape or SPARQL constraint that carries a message of its own."""
    shapes = shapes_graph()
    names = set()
    for node in shapes.subjects(SH.message, None):
        if isinstance(node, URIRef) and str(node).startswith(SHAPES_NS):
            names.add(str(node)[len(SHAPES_NS):])
    return sorted(names)


def _fixture(name: str) -> Graph:
    graph = Graph()
    graph.parse(SHAPE_FIXTURES / "_base.ttl")
    graph.parse(SHAPE_FIXTURES / f"{name}.ttl")
    return graph


def test_bundled_d23_data_conforms_with_plain_pyshacl() -> None:
    data = map_d23(D23Records.load(), DataIRIs(BASE)) + terminology()
    conforms, _graph, text = pyshacl_validate(data, shacl_graph=shapes_graph(), inference="none")
    assert conforms, text


def test_base_fixture_conforms() -> None:
    base = Graph().parse(SHAPE_FIXTURES / "_base.ttl")
    report = validate_graph(base)
    assert report.conforms, report.text()


def test_every_shape_has_a_violating_fixture() -> None:
    missing = [n for n in _named_constraints() if not (SHAPE_FIXTURES / f"{n}.ttl").exists()]
    assert not missing, f"shapes without a violating fixture: {missing}"


def test_every_shape_has_a_human_readable_message() -> None:
    shapes = shapes_graph()
    for shape in set(shapes.subjects(RDF.type, SH.PropertyShape)) | set(shapes.subjects(RDF.type, SH.SPARQLConstraint)):
        message = shapes.value(shape, SH.message)
        assert message is not None and len(str(message)) > 20, f"{shape} has no useful sh:message"


@pytest.mark.parametrize("name", _named_constraints())
def test_fixture_violates_its_shape(name: str) -> None:
    report = validate_graph(_fixture(name))
    assert not report.conforms, f"{name}.ttl should violate {name}"
    rules = [v.rule for v in report.violations]
    assert any(rule.split(" ")[0] == name for rule in rules), f"{name} not reported; got {rules}"
    expected = str(shapes_graph().value(URIRef(SHAPES_NS + name), SH.message)).split("{")[0][:30]
    assert any(v.message.startswith(expected) for v in report.violations), report.text()


def _top_level(report: Graph) -> set[tuple[str, ...]]:
    """pyshacl's results (not the sh:detail ones nested in them): focus, path, value, shape, component."""
    return {tuple(_text(report.value(r, p)) for p in (SH.focusNode, SH.resultPath, SH.value, SH.sourceShape,
                                                     SH.sourceConstraintComponent))
            for r in report.objects(None, SH.result)}


def _text(term: object) -> str:
    return "" if term is None else term.n3() if isinstance(term, BNode) else str(term)


@pytest.mark.parametrize("name", ["_base", *sorted(p.stem for p in SHAPE_FIXTURES.glob("*.ttl") if p.stem != "_base")])
def test_core_engine_gives_what_pyshacl_gives(name: str) -> None:
    """graph.validate.core_check (shacl-rust) finds, on every shape's fixture, the results plain
    pyshacl finds with the same (core) shapes: the same focus nodes, paths, values, shapes and
    constraint components; the shapes' blank nodes by the labels of the same shapes graph."""
    from graph.rdftext import ntriples
    from graph.validate import _term, core_check, core_shapes_graph

    data = (Graph().parse(SHAPE_FIXTURES / "_base.ttl") if name == "_base" else _fixture(name)) + terminology()
    _conforms, report, _text_report = pyshacl_validate(data, shacl_graph=core_shapes_graph(), inference="none")
    ours = {tuple(_text(_term(result.get(key))) for key in ("focusNode", "resultPath", "value", "sourceShape",
                                                            "sourceConstraintComponent"))
            for result in core_check(ntriples(data))}
    assert ours == _top_level(report)


def test_core_engine_keeps_datatypes_and_blank_nodes_as_written() -> None:
    """An ill-formed or differently typed number is reported with its own datatype, on the data's
    own blank node (the mapping's origins are keyed by it)."""
    from graph.validate import _term, core_check

    ckg, xsd = "https://w3id.org/clusterkg/ontology#", "http://www.w3.org/2001/XMLSchema#"
    text = (f'_:r1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{ckg}SurveyResponse> .\n'
            f'_:r1 <{ckg}memberCount> "5"^^<{xsd}nonNegativeInteger> .\n')  # the shape wants xsd:integer
    found = [r for r in core_check(text) if "Datatype" in str(r["sourceConstraintComponent"])]
    assert found and _term(found[0]["focusNode"]) == BNode("r1")
    assert str(_term(found[0]["value"]).datatype) == xsd + "nonNegativeInteger"  # type: ignore[union-attr]


def _sparql_constraint_names() -> list[str]:
    shapes = shapes_graph()
    return [n for n in _named_constraints() if (URIRef(SHAPES_NS + n), RDF.type, SH.SPARQLConstraint) in shapes]


@pytest.mark.parametrize("name", _sparql_constraint_names())
def test_sparql_constraints_give_what_pyshacl_gives(name: str) -> None:
    """graph.shacl_sparql runs each SPARQL constraint once for all focus nodes; on each fixture it
    finds the same focus nodes and values as pyshacl, which runs it once per focus node."""
    from graph.shacl_sparql import evaluate

    data = _fixture(name) + terminology()
    _conforms, report, _text = pyshacl_validate(data, shacl_graph=shapes_graph(), inference="none")
    constraint = URIRef(SHAPES_NS + name)
    theirs = {(str(report.value(r, SH.focusNode)), str(report.value(r, SH.value)))
              for r in report.subjects(SH.sourceConstraint, constraint)}
    ours = {(str(v.focus), str(v.value)) for v in evaluate(data, shapes_graph())
            if v.constraint.constraint == constraint}
    assert ours and ours == theirs


def test_sparql_constraints_agree_on_the_bundled_data() -> None:
    from graph.shacl_sparql import evaluate

    data = map_d23(D23Records.load(), DataIRIs(BASE)) + terminology()
    assert list(evaluate(data, shapes_graph())) == []


def test_the_sparql_constraints_store_keeps_blank_node_labels() -> None:
    """The SHACL-SPARQL store is loaded by Oxigraph without the GIL when the text has no blank
    node, and parsed here when it has one, so that a result's focus is the data's own blank node
    (``Store.load`` renames blank nodes)."""
    import pyoxigraph as ox

    from graph.shacl_sparql import memory_store_of

    iri_only = '<https://example.org/s> <https://example.org/p> "x" .\n'
    with_blank = iri_only + '_:b1 <https://example.org/p> "_: in a literal" .\n'
    assert {str(q) for q in memory_store_of(iri_only)} == {
        str(q) for q in ox.parse(iri_only.encode(), format=ox.RdfFormat.N_TRIPLES)}
    subjects = {q.subject for q in memory_store_of(with_blank)}
    assert ox.BlankNode("b1") in subjects and ox.NamedNode("https://example.org/s") in subjects
