"""RDF files (Turtle, JSON-LD, N-Triples, N-Quads, TriG, RDF/XML) parsed without reaching out.

Nothing here fetches or opens anything: JSON-LD is read by Oxigraph's parser, which has no
document loader at all, so a context it would have to load (``"@context": "http://…"``,
``"@import"``, a ``file:`` path, in whatever shape of JSON) is refused; and XML documents with a
DTD are refused before parsing, which rules out external entities and entity-expansion bombs.
JSON nested deeper than :data:`MAX_JSON_NESTING` is refused before it is parsed (the parser
recurses per level, and a thread's stack is finite).
"""

from __future__ import annotations

from io import BytesIO

import defusedxml.ElementTree as SafeET
import pyoxigraph as ox
from defusedxml import DefusedXmlException
from rdflib import Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from graph.messages import one_line

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


MAX_JSON_NESTING = 128


def json_nesting(data: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), read without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _parse_json_ld(data: bytes, names: set[str], base: str) -> Graph:
    """JSON-LD by Oxigraph's parser (no document loader: nothing is fetched), as one rdflib graph;
    the names of its named graphs are added to ``names``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    deepest = json_nesting(data)
    if deepest > MAX_JSON_NESTING:
        raise RDFFormatError(f"refused: the JSON nests {deepest} levels deep, more than this service reads "
                             f"({MAX_JSON_NESTING})")
    try:
        quads = list(ox.parse(data, format=ox.RdfFormat.JSON_LD, base_iri=base))
    except SyntaxError as exc:
        message = one_line(exc, limit=500)
        if "LoadDocumentCallback" in message:
            raise RDFFormatError("refused: the JSON-LD names a context that would have to be loaded from a URL "
                                 "or a file (@context or @import); inline the context in the file") from exc
        raise RDFFormatError(f"cannot parse as json-ld: {message}") from exc
    names.update(q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode))
    graph = Graph()
    if quads:
        triples = ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads],
                               format=ox.RdfFormat.N_TRIPLES)
        graph.parse(data=triples, format="nt")
    return graph


def parse_rdf(data: bytes, rdf_format: str, *, base: str) -> Graph:
    """Every triple of the file, named graphs merged into one graph; relative IRIs resolved against
    ``base`` (never the working directory)."""
    return parse_rdf_graphs(data, rdf_format, base=base)[0]


def parse_rdf_graphs(data: bytes, rdf_format: str, *, base: str) -> tuple[Graph, set[str]]:
    """Every triple of the file, named graphs merged into one graph; and the names of those graphs."""
    names: set[str] = set()
    if rdf_format == "json-ld":
        graph = _parse_json_ld(data, names, base)
        _check_iris(graph, data)
        return graph, names
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
            ds.parse(BytesIO(data), format=rdf_format, publicID=base)
            graph = Graph()
            for s, p, o, g in ds.quads((None, None, None, None)):
                graph.add((s, p, o))
                if isinstance(g, URIRef) and g != DATASET_DEFAULT_GRAPH_ID:
                    names.add(str(g))
        else:
            graph = Graph()
            graph.parse(BytesIO(data), format=rdf_format, publicID=base)
    except RDFFormatError:
        raise
    except RecursionError as exc:
        raise RDFFormatError(f"refused: the {rdf_format} nests deeper than this service reads") from exc
    except Exception as exc:  # rdflib raises many types for bad input
        message = one_line(exc, limit=500)
        raise RDFFormatError(f"cannot parse as {rdf_format}: {message}") from exc
    _check_iris(graph, data)
    return graph, names


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
