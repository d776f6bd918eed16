"""Content negotiation, in one place, and the serialisation of query results for HTTP answers.

:func:`negotiate` reads the ``Accept`` header as RFC 9110 (section 12.5.1) defines it: media
ranges with parameters, quality values, ``type/*`` and ``*/*``, the most specific range deciding a
type's quality; an unparseable header counts as absent. A ``charset`` parameter other than UTF-8
(the only one served) makes its range unacceptable; other parameters are ignored. The names that
SPARQL clients send as ``format=``, ``output=`` or ``results=`` (SPARQLWrapper sends them all) and
that pages take as ``?format=`` are read per kind of answer (:data:`RESULT_NAMES`,
:data:`GRAPH_NAMES`): such a name is used when the Accept header accepts its type (a browser's
``*/*`` does); where the two conflict, Accept decides. Every negotiated answer says ``Vary: Accept``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from flask import Request, Response, g, request

from graph.namespaces import PREFIXES
from graph.results import (
    AskResult,
    GraphResult,
    QueryResult,
    SelectResult,
    to_csv,
    to_sparql_json,
    to_sparql_xml,
    to_tsv,
)

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
NTRIPLES = "application/n-triples"
JSONLD = "application/ld+json"
RDFXML = "application/rdf+xml"
HTML = "text/html"
JSON = "application/json"

# what a SELECT/ASK answer is offered as, the server's preference first; aliases after their type
RESULT_TYPES = [SPARQL_JSON, SPARQL_XML, CSV, TSV, JSON, "application/xml", "text/xml"]
# ... and a graph (CONSTRUCT, DESCRIBE, a resource, a graph of the store)
GRAPH_TYPES = [TURTLE, NTRIPLES, JSONLD, RDFXML, "application/x-turtle", "text/n3", "text/plain", JSON,
               "application/xml", "text/xml"]
ALIASES = {JSON: SPARQL_JSON, "application/xml": SPARQL_XML, "text/xml": SPARQL_XML}
GRAPH_ALIASES = {"application/x-turtle": TURTLE, "text/n3": TURTLE, "text/plain": NTRIPLES, JSON: JSONLD,
                 "application/xml": RDFXML, "text/xml": RDFXML}
RDFLIB_FORMATS = {TURTLE: "turtle", NTRIPLES: "nt", JSONLD: "json-ld", RDFXML: "xml"}

RESULT_NAMES = {"json": SPARQL_JSON, "srj": SPARQL_JSON, "sparql-results+json": SPARQL_JSON,
                "application/sparql-results+json": SPARQL_JSON, "application/json": SPARQL_JSON,
                "xml": SPARQL_XML, "srx": SPARQL_XML, "sparql-results+xml": SPARQL_XML,
                "application/sparql-results+xml": SPARQL_XML, "application/xml": SPARQL_XML,
                "csv": CSV, "text/csv": CSV, "tsv": TSV, "text/tab-separated-values": TSV}
GRAPH_NAMES = {"turtle": TURTLE, "ttl": TURTLE, "n3": TURTLE, "text/turtle": TURTLE, "text/n3": TURTLE,
               "nt": NTRIPLES, "ntriples": NTRIPLES, "n-triples": NTRIPLES, "application/n-triples": NTRIPLES,
               "text/plain": NTRIPLES, "json-ld": JSONLD, "jsonld": JSONLD, "application/ld+json": JSONLD,
               "json": JSONLD, "application/json": JSONLD, "xml": RDFXML, "rdf": RDFXML, "rdf+xml": RDFXML,
               "rdfxml": RDFXML, "application/rdf+xml": RDFXML, "application/xml": RDFXML}
FORMAT_PARAMETERS = ("format", "output", "results")

_RANGE = re.compile(r"^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)/([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*$")
_QUALITY = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


class NotAcceptable(Exception):
    def __init__(self, offered: Sequence[str]) -> None:
        super().__init__("none of the requested media types can be produced; available: " + ", ".join(offered))


@dataclass(frozen=True)
class Range:
    type: str
    subtype: str
    quality: float
    specificity: int  # 0 */*, 1 type/*, 2 type/subtype

    def matches(self, media: str) -> bool:
        kind, _, sub = media.partition("/")
        return (self.type == "*" or self.type == kind) and (self.subtype == "*" or self.subtype == sub)


def parse_accept(header: str) -> tuple[Range, ...] | None:
    """The header's media ranges, or None if it cannot be parsed (then it counts as absent)."""
    ranges = []
    for item in _split_outside_quotes(header, ","):
        if not item.strip():
            continue
        media, *params = _split_outside_quotes(item, ";")
        match = _RANGE.match(media)
        if not match:
            return None
        kind, sub = match.group(1).lower(), match.group(2).lower()
        if kind == "*" and sub != "*":
            return None
        quality = 1.0
        acceptable = True
        for param in params:
            name, _, value = param.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "q":
                if not _QUALITY.match(value):
                    return None
                quality = float(value)
            elif name == "charset" and value.lower() not in ("utf-8", "utf8", "*"):
                acceptable = False
        ranges.append(Range(kind, sub, quality if acceptable else 0.0, 2 - (sub == "*") - (kind == "*")))
    return tuple(ranges)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def quality(ranges: tuple[Range, ...], media: str) -> float:
    """How much the header wants ``media``: the quality of the most specific range that matches it."""
    matching = [r for r in ranges if r.matches(media)]
    if not matching:
        return 0.0
    best = max(r.specificity for r in matching)
    return max(r.quality for r in matching if r.specificity == best)


@lru_cache(maxsize=512)
def _ranges(header: str) -> tuple[Range, ...] | None:
    """The header parsed, kept: clients send the same few headers over and over."""
    return parse_accept(header) or None


def preferred(ranges: tuple[Range, ...] | None, offered: Sequence[str], default: str) -> str | None:
    """Of ``offered``, the type the ranges want most (``default`` on a tie, else the server's order);
    ``default`` with no ranges; None if they accept none."""
    if ranges is None:
        return default
    scores = {media: quality(ranges, media) for media in offered}
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return None
    if scores.get(default, 0.0) == top:
        return default
    return next(media for media in offered if scores[media] == top)


def negotiate(offered: Sequence[str], default: str, *, names: Mapping[str, str] | None = None,
              req: Request | None = None) -> str:
    """The media type to answer with, of ``offered`` (the server's preference first; ``default``
    when the client states no preference). Raises :class:`NotAcceptable` when nothing offered is."""
    req = req or request
    g.clusterkg_negotiated = True
    header = req.headers.get("Accept", "")
    ranges = _ranges(header) if len(header) <= 2000 else _ranges.__wrapped__(header)  # a long one is not kept
    chosen = preferred(ranges, offered, default)
    named = _named(req, names) if names is not None else None
    if named is not None:
        media = named[1]
        if media in offered and (ranges is None or chosen is None or quality(ranges, media) > 0):
            return media
        if ranges is not None and chosen is not None:
            return chosen  # the name and the Accept header conflict: Accept decides
        raise NotAcceptable(offered)
    if chosen is None:
        raise NotAcceptable(offered)
    return chosen


def _named(req: Request, names: Mapping[str, str]) -> tuple[str, str] | None:
    """(the parameter's value, its media type) of the first format parameter with a value."""
    for parameter in FORMAT_PARAMETERS:
        value = req.values.get(parameter)
        if value:
            key = value.strip().lower()
            return key, names.get(key, f"unknown/{key}")
    return None


PAGE_NAMES = {"html": HTML, "json": JSON}


def wants_page_json(req: Request | None = None) -> bool:
    """A page asked for as its data (``?format=json`` or ``Accept: application/json``), not HTML."""
    return negotiate([HTML, JSON], HTML, names=PAGE_NAMES, req=req) == JSON


def prefers_html(answers: Sequence[str], default: str, req: Request | None = None) -> bool:
    """Whether the client is a browser asking for a page rather than one of ``answers`` (``default``
    when it states no preference); no for a client that accepts none of them."""
    try:
        return negotiate([*answers, HTML], default, req=req) == HTML
    except NotAcceptable:
        return False


def vary_on_accept(response: Response) -> Response:
    """The after-request hook: a negotiated answer depends on Accept."""
    if g.get("clusterkg_negotiated"):
        response.vary.add("Accept")
    return response


def render_result(result: QueryResult, req: Request | None = None) -> Response:
    """A query result in the negotiated format (SPARQL results for SELECT/ASK, RDF for graphs),
    labelled with the media type the client asked for (``application/json`` is SPARQL JSON)."""
    req = req or request
    if isinstance(result, GraphResult):
        return render_graph_result(result, negotiate(GRAPH_TYPES, TURTLE, names=GRAPH_NAMES, req=req))
    asked = negotiate(RESULT_TYPES, SPARQL_JSON, names=RESULT_NAMES, req=req)
    kind = ALIASES.get(asked, asked)
    if kind == SPARQL_JSON:
        body = to_sparql_json(result)  # type: ignore[arg-type]
    elif kind == SPARQL_XML:
        body = to_sparql_xml(result)  # type: ignore[arg-type]
    elif isinstance(result, AskResult):
        body = "true\n" if result.value else "false\n"
    elif kind == CSV:
        body = to_csv(result)  # type: ignore[arg-type]
    else:
        body = to_tsv(result)  # type: ignore[arg-type]
    response = Response(body, content_type=f"{asked}; charset=utf-8")
    if isinstance(result, SelectResult) and result.truncated:
        response.headers["X-Clusterkg-Truncated"] = "true"
    return response


def render_graph_result(result: GraphResult, asked: str) -> Response:
    """A graph in the RDF format ``asked`` names (an alias such as text/plain: its format)."""
    kind = GRAPH_ALIASES.get(asked, asked)
    body = result.serialize(RDFLIB_FORMATS[kind], PREFIXES)
    response = Response(body, content_type=f"{asked}; charset=utf-8")
    if result.truncated:
        response.headers["X-Clusterkg-Truncated"] = "true"
    return response
