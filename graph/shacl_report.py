"""A validation report in the W3C form: the ``sh:ValidationReport`` graph that pyshacl, Jena and
the EU's ITB validator write (SHACL, section 3.6), beside the readable table of graph.validate.

Each violation is an ``sh:ValidationResult`` with its focus node, path, value, message, severity,
shape and constraint component. The gate's own rules, which are no shapes of ontology/shapes.ttl
(one import per response, an import describes only what it mints, …), are named by the shape
``ckgs:ImportGate`` and a component of that rule's name; where the source is a CSV, the result
says its row and column (``ckg:sourceRow``, ``ckg:sourceColumn``).
"""

from __future__ import annotations

import re

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from graph.namespaces import CKG, SH
from graph.validate import ValidationReport, Violation

SHAPES = "https://w3id.org/clusterkg/shapes#"
GATE = URIRef(SHAPES + "ImportGate")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$")
FORMATS = {"shacl-ttl": ("turtle", "text/turtle"), "shacl-jsonld": ("json-ld", "application/ld+json")}


def report_graph(report: ValidationReport) -> Graph:
    graph = Graph()
    graph.bind("sh", SH)
    graph.bind("ckg", CKG)
    graph.bind("ckgs", SHAPES)
    root = BNode()
    graph.add((root, RDF.type, SH.ValidationReport))
    graph.add((root, SH.conforms, Literal(report.conforms)))
    for violation in report.violations:
        graph.add((root, SH.result, _result(graph, violation)))
    return graph


def serialize_report(report: ValidationReport, fmt: str) -> str:
    """``fmt``: shacl-ttl or shacl-jsonld."""
    return report_graph(report).serialize(format=FORMATS[fmt][0])


def _result(graph: Graph, v: Violation) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, SH.ValidationResult))
    graph.add((node, SH.focusNode, _node(v.focus)))
    if v.path:
        graph.add((node, SH.resultPath, URIRef(v.path)))
    if v.value is not None:
        graph.add((node, SH.value, URIRef(v.value) if _IRI.match(v.value) else Literal(v.value)))
    graph.add((node, SH.resultMessage, Literal(v.message)))
    graph.add((node, SH.resultSeverity, SH[v.severity if v.severity in ("Violation", "Warning", "Info")
                                            else "Violation"]))
    graph.add((node, SH.sourceShape, _node(v.shape) if v.shape else GATE))
    graph.add((node, SH.sourceConstraintComponent, _node(v.component) if v.component else
               URIRef(SHAPES + _camel(v.rule) + "Component")))
    if v.component == str(SH.SPARQLConstraintComponent):
        graph.add((node, SH.sourceConstraint, URIRef(SHAPES + v.rule)))
    if v.location.row is not None:
        graph.add((node, CKG.sourceRow, Literal(v.location.row, datatype=XSD.integer)))
    if v.location.column:
        graph.add((node, CKG.sourceColumn, Literal(v.location.column)))
    if v.location.file:
        graph.add((node, CKG.sourceFileName, Literal(v.location.file)))
    return node


def _node(text: str) -> Node:
    if text.startswith("_:"):
        return BNode(text[2:])
    if _IRI.match(text):
        return URIRef(text)
    return BNode()  # a focus the mapping made (a CSV cell) without a name of its own


def _camel(rule: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", rule) if word)
