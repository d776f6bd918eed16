"""Linked data: every IRI of the data and the vocabularies dereferences here, as HTML for
browsers and as Turtle, JSON-LD, N-Triples or RDF/XML by content negotiation; plus the
ontology (HTML documentation and Turtle) and a VoID description of the dataset."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request
from rdflib import Graph, Literal, URIRef

from graph.config import ONTOLOGY_FILE
from graph.namespaces import CKG, DCTERMS, OWL, PREFIXES, RDF, RDFS, SKOS
from graph.results import GraphResult
from service import viewmodels as vm
from service.links import ONTOLOGY_IRI, href, iri_for_path
from service.negotiation import (
    GRAPH_ALIASES,
    GRAPH_NAMES,
    GRAPH_TYPES,
    HTML,
    JSONLD,
    RDFLIB_FORMATS,
    TURTLE,
    negotiate,
)
from service.state import state

blueprint = Blueprint("linkeddata", __name__)

# a resource is a page for browsers, RDF for everyone else (application/json: JSON-LD, which is
# JSON); the page's own data is ?format=json
RESOURCE_TYPES = [HTML, *GRAPH_TYPES]
RESOURCE_NAMES = {**GRAPH_NAMES, "html": HTML}
VOID = "http://rdfs.org/ns/void#"


def representation_asked() -> str:
    """'html', 'json' (the page's data) or the RDF media type asked for, from ?format= or Accept."""
    if request.args.get("format") == "json":
        return "json"
    media = negotiate(RESOURCE_TYPES, HTML, names=RESOURCE_NAMES)
    return "html" if media == HTML else media


def rdf_response(graph: Graph, asked: str) -> Response:
    """``graph`` in the RDF format ``asked`` names; JSON-LD compacted with the prefixes as its context."""
    kind = GRAPH_ALIASES.get(asked, asked)
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)
    if kind == JSONLD:
        body = graph.serialize(format="json-ld", context=dict(PREFIXES), auto_compact=True)
    else:
        body = graph.serialize(format=RDFLIB_FORMATS[kind])
    return Response(body, content_type=f"{asked}; charset=utf-8")


def _describe(iri: str) -> Graph:
    result = state().queries["describe-resource"].run(state().store, {"resource": [iri]})
    assert isinstance(result, GraphResult)
    return result.graph


def _resource_rows(graph: Graph, iri: str) -> dict[str, Any]:
    subject = URIRef(iri)
    out, incoming = [], []
    for p, o in sorted(graph.predicate_objects(subject), key=lambda po: (str(po[0]), str(po[1]))):
        label = graph.value(o, SKOS.prefLabel) if isinstance(o, URIRef) else None
        out.append({"predicate": _short(p), "predicate_href": href(p), "value": str(label or o),
                    "href": href(o) if isinstance(o, URIRef) else None,
                    "lang": o.language if isinstance(o, Literal) else None})
    for s, p in sorted(graph.subject_predicates(subject), key=lambda sp: (str(sp[1]), str(sp[0]))):
        incoming.append({"subject": str(s), "href": href(s), "predicate": _short(p), "predicate_href": href(p)})
    label = graph.value(subject, SKOS.prefLabel) or graph.value(subject, RDFS.label) or iri
    types = [_short(t) for t in graph.objects(subject, RDF.type)]
    return {"iri": iri, "label": str(label), "types": types, "triples": out, "incoming": incoming}


def _short(term: object) -> str:
    text = str(term)
    for prefix, ns in PREFIXES.items():
        if text.startswith(ns) and len(text) > len(ns):
            return f"{prefix}:{text[len(ns):]}"
    return text


def _resource(iri: str):
    graph = _describe(iri)
    if not len(graph):
        abort(404, description=f"nothing is known of <{iri}>")
    representation = representation_asked()
    if representation not in ("html", "json"):
        return rdf_response(graph, representation)
    subject = URIRef(iri)
    types = set(graph.objects(subject, RDF.type))
    if CKG.Cluster in types:
        data, template = vm.cluster(iri), "cluster.html"
    elif SKOS.Concept in types:
        data, template = vm.concept(iri), "concept.html"
    else:
        data, template = _resource_rows(graph, iri), "resource.html"
    if representation == "json":
        return jsonify(data)
    return Response(render_template(template, data=data, iri=iri, rdf_links=_rdf_links()))


def _rdf_links() -> dict[str, str]:
    base = request.path
    return {"Turtle": f"{base}?format=ttl", "JSON-LD": f"{base}?format=jsonld", "N-Triples": f"{base}?format=nt"}


@blueprint.get("/data/<path:rest>")
def data_resource(rest: str):
    return _resource(iri_for_path("data", rest))


@blueprint.get("/vocab/<path:rest>")
def vocab_resource(rest: str):
    return _resource(iri_for_path("vocab", rest))


@blueprint.get("/resource")
def any_resource():
    iri = request.args.get("iri", "")
    if not iri.startswith(("http://", "https://", "urn:")):
        abort(400, description="give the resource's IRI as ?iri=")
    return _resource(iri)


# -- the ontology -------------------------------------------------------------------------------------
def ontology_docs() -> dict[str, Any]:
    graph = Graph().parse(ONTOLOGY_FILE)

    def terms(kind: URIRef) -> list[dict[str, Any]]:
        out = []
        for term in sorted(graph.subjects(RDF.type, kind), key=str):
            if not str(term).startswith(str(CKG)):
                continue
            out.append({
                "id": str(term)[len(str(CKG)):], "iri": str(term), "label": str(graph.value(term, RDFS.label) or ""),
                "definition": str(graph.value(term, SKOS.definition) or ""),
                "super": [{"label": _short(x), "href": href(x)} for x in graph.objects(term, RDFS.subClassOf)]
                + [{"label": _short(x), "href": href(x)} for x in graph.objects(term, RDFS.subPropertyOf)],
                "domain": [{"label": _short(x), "href": href(x)} for x in graph.objects(term, RDFS.domain)],
                "range": [{"label": _short(x), "href": href(x)} for x in graph.objects(term, RDFS.range)],
            })
        return out

    meta = URIRef(ONTOLOGY_IRI)
    return {"iri": ONTOLOGY_IRI, "title": str(graph.value(meta, DCTERMS.title) or ""),
            "description": " ".join(str(graph.value(meta, DCTERMS.description) or "").split()),
            "version": str(graph.value(meta, OWL.versionInfo) or ""),
            "classes": terms(OWL.Class), "object_properties": terms(OWL.ObjectProperty),
            "datatype_properties": terms(OWL.DatatypeProperty)}


@blueprint.get("/ontology")
def ontology():
    representation = representation_asked()
    if representation not in ("html", "json"):
        if representation == TURTLE:
            return Response(ONTOLOGY_FILE.read_text(encoding="utf-8"), mimetype=TURTLE)
        return rdf_response(Graph().parse(ONTOLOGY_FILE), representation)
    data = ontology_docs()
    if representation == "json":
        return jsonify(data)
    return render_template("ontology.html", data=data, rdf_links=_rdf_links(), nav="vocab")
