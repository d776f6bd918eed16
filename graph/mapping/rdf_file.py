"""RDF files (Turtle, JSON-LD, N-Triples, N-Quads, TriG, RDF/XML) parsed without reaching out.

Nothing here fetches: JSON-LD documents whose ``@context`` names a remote document are refused
(inline the context instead), and XML documents with a DTD are refused before parsing, which
rules out external entities and entity-expansion bombs.
"""

from __future__ import annotations

import json
from io import BytesIO

import defusedxml.ElementTree as SafeET
import pyoxigraph as ox
from defusedxml import DefusedXmlException
from rdflib import Dataset, Graph, URIRef

FORMATS: dict[str, str] = {
    "ttl": "turtle", "turtle": "turtle",
    "jsonld": "json-ld", "json-ld": "json-ld", "json": "json-ld",
    "nt": "nt", "ntriples": "nt",
    "nq": "nquads", "nquads": "nquads",
    "trig": "trig",
    "rdf": "xml", "xml": "xml", "rdfxml": "xml", "owl": "xml",
}


class RDFFormatError(ValueError):
    """The file cannot be read as the RDF format given; the message says where and why."""


def format_for(name: str, explicit: str | None = None) -> str:
    key = (explicit or name.rsplit(".", 1)[-1]).lower()
    if key not in FORMATS:
        raise RDFFormatError(f"unknown RDF format {key!r}; use one of: {', '.join(sorted(set(FORMATS)))}")
    return FORMATS[key]


def _remote_contexts(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                for ctx in value if isinstance(value, list) else [value]:
                    if isinstance(ctx, str):
                        found.append(ctx)
                    else:
                        found += _remote_contexts(ctx)
            else:
                found += _remote_contexts(value)
    elif isinstance(node, list):
        for item in node:
            found += _remote_contexts(item)
    return found


def parse_rdf(data: bytes, rdf_format: str) -> Graph:
    """Every triple of the file, named graphs merged into one graph."""
    if rdf_format == "json-ld":
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RDFFormatError(f"not valid JSON-LD: {exc}") from exc
        remote = _remote_contexts(doc)
        if remote:
            raise RDFFormatError(f"JSON-LD @context {remote[0]!r} would have to be fetched; "
                                 "inline the context in the file")
    if rdf_format == "xml":
        try:
            SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException as exc:
            raise RDFFormatError(f"refused: the XML declares a DTD or entities ({exc.__class__.__name__})") from exc
        except SafeET.ParseError as exc:
            raise RDFFormatError(f"not well-formed XML: {exc}") from exc
    try:
        if rdf_format in ("nquads", "trig", "json-ld"):
            ds = Dataset()
            ds.parse(BytesIO(data), format=rdf_format)
            graph = Graph()
            for s, p, o, _g in ds.quads((None, None, None, None)):
                graph.add((s, p, o))
        else:
            graph = Graph()
            graph.parse(BytesIO(data), format=rdf_format)
    except RDFFormatError:
        raise
    except Exception as exc:  # rdflib raises many types for bad input
        message = " ".join(str(exc).split())[:500]
        raise RDFFormatError(f"cannot parse as {rdf_format}: {message}") from exc
    _check_iris(graph, data)
    return graph


_NEWLINE = b"\n"


def _check_iris(graph: Graph, data: bytes) -> None:
    """Refuse an IRI that the store would refuse. rdflib's parsers accept some that are not IRIs
    (``<https://example.org/a{b}>``: a warning only), and they would fail later, when the
    validation writes the data as N-Triples, as a traceback instead of a message naming them."""
    seen: set[URIRef] = set()
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef) and term not in seen:
                seen.add(term)
                try:
                    ox.NamedNode(str(term))
                except ValueError as exc:
                    at = data.find(str(term).encode("utf-8"))
                    line = f"line {data.count(_NEWLINE, 0, at) + 1}: " if at >= 0 else ""
                    raise RDFFormatError(f"{line}<{term}> is not a valid IRI ({exc}); "
                                         "percent-encode the characters it may not hold") from exc
