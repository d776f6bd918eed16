"""RDF terms and graphs as text, and between rdflib (the toolkit) and pyoxigraph (the engine).

Below the store and the mapping alike: terms converted and encoded (for a worker's pipe, for SPARQL
JSON), and graphs written as N-Triples (:func:`ntriples`, which an import graph answers from the
text it keeps: graph.mapping.memory).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import singledispatch

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from graph.results import term_to_json

_XSD_STRING = str(XSD.string)
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def from_ox(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """An rdflib term for a pyoxigraph term; xsd:string literals become plain literals."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    raise TypeError(f"unsupported term {term!r}")


def triple_from_ox(triple: ox.Triple | ox.Quad) -> tuple[Node, Node, Node]:
    """The rdflib triple for a pyoxigraph triple (or a quad's triple, its graph left out)."""
    return from_ox(triple.subject), from_ox(triple.predicate), from_ox(triple.object)


Encoded = tuple[str, ...]  # a term as plain strings: what crosses a process boundary cheaply


def encode_ox(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Encoded:
    """A pyoxigraph term as a tuple of strings (pickled without rdflib; see :func:`decode_term`)."""
    if isinstance(term, ox.NamedNode):
        return ("u", term.value)
    if isinstance(term, ox.BlankNode):
        return ("b", term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return ("l", term.value, "@" + term.language)
        return ("l", term.value, term.datatype.value)
    raise TypeError(f"unsupported term {term!r}")


def decode_term(encoded: Encoded) -> Node:
    """The rdflib term :func:`from_ox` would give for the term ``encoded`` was made from."""
    kind, value = encoded[0], encoded[1]
    if kind == "u":
        return URIRef(value)
    if kind == "b":
        return BNode(value)
    extra = encoded[2]
    if extra.startswith("@"):
        return Literal(value, lang=extra[1:])
    if extra == _XSD_STRING:
        return Literal(value)
    return Literal(value, datatype=URIRef(extra))


def encoded_json(encoded: Encoded) -> dict[str, str]:
    """The SPARQL results JSON of the term ``encoded`` stands for: what
    ``term_to_json(decode_term(encoded))`` gives, without building the rdflib term. A typed literal
    other than xsd:string goes through rdflib, whose lexical normalisation the output keeps."""
    kind, value = encoded[0], encoded[1]
    if kind == "u":
        return {"type": "uri", "value": value}
    if kind == "b":
        return {"type": "bnode", "value": value}
    extra = encoded[2]
    if extra == _XSD_STRING:
        return {"type": "literal", "value": value}
    if extra.startswith("@"):
        return {"type": "literal", "value": value, "xml:lang": extra[1:]}
    return term_to_json(decode_term(encoded))


_JSON_STRING = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str
_JSON_URI = '{"type": "uri", "value": '
_JSON_BNODE = '{"type": "bnode", "value": '
_JSON_LITERAL = '{"type": "literal", "value": '


def encoded_json_text(encoded: Encoded) -> str:
    """``json.dumps(encoded_json(encoded), ensure_ascii=False)``, without the dictionary."""
    kind, value = encoded[0], encoded[1]
    if kind == "u":
        return _JSON_URI + _JSON_STRING(value) + "}"
    if kind == "b":
        return _JSON_BNODE + _JSON_STRING(value) + "}"
    extra = encoded[2]
    if extra == _XSD_STRING:
        return _JSON_LITERAL + _JSON_STRING(value) + "}"
    if extra.startswith("@"):
        return _JSON_LITERAL + _JSON_STRING(value) + ', "xml:lang": ' + _JSON_STRING(extra[1:]) + "}"
    return json.dumps(encoded_json(encoded), ensure_ascii=False)


def decode_ox(encoded: Encoded) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term ``encoded`` was made from."""
    kind, value = encoded[0], encoded[1]
    if kind == "u":
        return ox.NamedNode(value)
    if kind == "b":
        return ox.BlankNode(value)
    extra = encoded[2]
    if extra.startswith("@"):
        return ox.Literal(value, language=extra[1:])
    return ox.Literal(value, datatype=ox.NamedNode(extra))


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """A pyoxigraph term for an rdflib term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None and str(term.datatype) != _RDF_LANGSTRING:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"unsupported term {term!r}")


class TermTexts(dict):
    """The N-Triples text of each term written so far (see :func:`ntriples_rows`)."""

    def text(self, term: Node) -> str:
        cls = term.__class__
        if cls is URIRef or cls is BNode:  # most terms: no isinstance (rdflib's Node is an ABC: slow to check)
            found = self.get(term)
            if found is None:
                found = self[term] = term.n3()
            return found
        # a literal is keyed with its language tag as written: rdflib holds "a"@EN equal to "a"@en
        key = (term, term.language) if isinstance(term, Literal) else term
        found = self.get(key)
        if found is None:
            found = self[key] = _nt_literal(term) if isinstance(term, Literal) else term.n3()
        return found


@singledispatch
def ntriples(graph: Graph) -> str:
    """``graph.serialize(format="nt")``, the same text, row for row, faster (an import wave is
    serialised twice: for the SHACL-SPARQL store and for the write): each distinct term is
    formatted once, where rdflib checks and formats every occurrence, and the rows are joined once
    instead of encoded and written one by one. Most of what is left is rdflib's iteration of the
    graph. IRIs are checked as rdflib checks them (``n3()`` refuses an invalid one).

    A type of graph that keeps its own text registers its way here (``ntriples.register``: an
    import graph, graph.mapping.memory.ImportGraph, writes the same rows in the order they were
    added, each once however often the graph is serialised)."""
    return ntriples_rows(graph, TermTexts())


def ntriples_rows(triples: Iterable[tuple[Node, Node, Node]], terms: TermTexts) -> str:
    """The N-Triples rows of ``triples``, their terms' texts taken from, and kept in, ``terms``."""
    text = terms.text
    return "".join([f"{text(s)} {text(p)} {text(o)} .\n" for s, p, o in triples])


def _nt_literal(literal: Literal) -> str:
    """A literal as rdflib's N-Triples serialiser writes it (its ``_quoteLiteral``)."""
    quoted = '"' + (str(literal).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
                    .replace("\r", "\\r")) + '"'
    if literal.language:
        return f"{quoted}@{literal.language}"
    if literal.datatype:
        return f"{quoted}^^<{literal.datatype}>"
    return quoted
