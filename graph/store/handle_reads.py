"""Reading a pyoxigraph handle: a query run on it (SERVICE calls checked, errors made ours), its
answer read into ours (:func:`materialise`), or encoded to cross a process boundary cheaply and
decoded on the other side (:func:`encode_answer`, :func:`decode_result`: the sandbox's workers).
The embedded store reads its read-only handle with these, a write its read-write one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from graph.guard import ServiceRefused, check_services
from graph.messages import one_line
from graph.rdftext import (
    Encoded,
    decode_ox,
    decode_term,
    encode_ox,
    encoded_json,
    encoded_json_text,
    from_ox,
    to_ox,
    triple_from_ox,
)
from graph.results import CELL_BYTES, AskResult, GraphResult, QueryResult, Row, SelectResult
from graph.store.base import QueryDataset
from graph.store.errors import StoreError

T = TypeVar("T")
V = TypeVar("V")
K = TypeVar("K")
log = logging.getLogger("clusterkg.store")


QUERY_FAILED = ("the query failed while the engine ran it (for example a SERVICE endpoint that did not "
                "answer); the administrator can find the details in the service log")


def run_query(handle: ox.Store, sparql: str, bindings: Mapping[str, Node] | None, read: Callable[[object], T],
              allowed_services: frozenset[str], *, strict: bool = True, dataset: QueryDataset | None = None) -> T:
    """``sparql`` on ``handle``, its default graph the union of every graph; the answer as ``read``
    makes it. SERVICE calls only to ``allowed_services`` (graph.guard; ``strict`` where nothing
    else enforces them)."""
    try:
        check_services(sparql, allowed_services, strict=strict)
    except ServiceRefused as exc:
        raise StoreError(str(exc)) from exc
    substitutions = {ox.Variable(k): to_ox(v) for k, v in (bindings or {}).items()} or None
    where: dict[str, object] = {"use_default_graph_as_union": True}
    if dataset is not None:
        where = {"default_graph": [ox.NamedNode(g) for g in dataset.default] or [ox.DefaultGraph()],
                 "named_graphs": [ox.NamedNode(g) for g in dataset.named]}
    try:
        return read(handle.query(sparql, substitutions=substitutions, **where))
    except SyntaxError as exc:
        raise StoreError(f"SPARQL syntax error: {one_line(exc)}") from exc
    except OSError as exc:  # the engine's own words name addresses and errors: for the log only
        log.warning("query failed in the engine: %s", one_line(exc))
        raise StoreError(QUERY_FAILED) from exc


def graph_of(handle: ox.Store, name: str) -> Graph:
    """The triples of one named graph, as an rdflib graph."""
    graph = Graph(identifier=URIRef(name))
    for quad in handle.quads_for_pattern(None, None, None, ox.NamedNode(name)):
        graph.add(triple_from_ox(quad))
    return graph


def materialise(result: object, max_rows: int | None) -> QueryResult:
    """Read a lazy pyoxigraph result into ours, stopping after ``max_rows``."""
    if isinstance(result, ox.QueryBoolean):
        return AskResult(bool(result))
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows: list[Row] = []
        node = _memoised(from_ox)
        for solution in result:
            if max_rows is not None and len(rows) >= max_rows:
                return SelectResult(variables, rows, truncated=True)  # stop reading: it is lazy
            rows.append({var: node(term) for var in variables if (term := solution[var]) is not None})
        return SelectResult(variables, rows)
    graph = Graph()
    for triple in result:
        if max_rows is not None and len(graph) >= max_rows:
            return GraphResult(graph, truncated=True)
        graph.add(triple_from_ox(triple))
    return GraphResult(graph)
def term_texts(result: object) -> list[tuple[str | None, ...]]:
    if not isinstance(result, ox.QuerySolutions):
        raise StoreError("select_texts needs a SELECT query")
    return [tuple(None if term is None else str(term) for term in solution) for solution in result]


def encode_answer(result: object, max_rows: int | None, max_bytes: int | None = None) -> tuple:
    """The answer as :func:`decode_result` reads it, cut after ``max_rows`` rows (or triples) or
    before the row that would take it past ``max_bytes`` (every occurrence of a term counts: it is
    written out as often as it occurs)."""
    # each distinct term encoded once: one tuple, which pickle then writes once and refers back to
    encode = _memoised(encode_ox)
    budget = max_bytes if max_bytes is not None else -1
    size = CELL_BYTES
    if isinstance(result, ox.QueryTriples):
        triples: set[tuple[Encoded, Encoded, Encoded]] = set()
        for triple in result:
            if max_rows is not None and len(triples) >= max_rows:
                return ("graph", triples, True, size)
            encoded = (encode(triple.subject), encode(triple.predicate), encode(triple.object))
            if encoded in triples:
                continue
            cost = sum(_encoded_bytes(term) for term in encoded)
            if budget >= 0 and size + cost > budget:
                return ("graph", triples, True, size)
            triples.add(encoded)
            size += cost
        return ("graph", triples, False, size)
    if not isinstance(result, ox.QuerySolutions):
        return ("result", materialise(result, max_rows))
    variables = [v.value for v in result.variables]
    rows: list[tuple[Encoded | None, ...]] = []
    for solution in result:
        if max_rows is not None and len(rows) >= max_rows:
            return ("select", variables, rows, True, size)  # stop reading: it is lazy
        row = tuple(None if term is None else encode(term) for term in solution)  # in variable order
        cost = sum(_encoded_bytes(term) for term in row if term is not None) + CELL_BYTES
        if budget >= 0 and size + cost > budget:
            return ("select", variables, rows, True, size)
        rows.append(row)
        size += cost
    return ("select", variables, rows, False, size)


def _encoded_bytes(term: Encoded) -> int:
    return sum(len(part) for part in term) + CELL_BYTES


def decode_result(payload: tuple) -> QueryResult:
    """The result :meth:`EmbeddedStore.query_encoded` encoded."""
    if payload[0] == "result":
        return payload[1]
    if payload[0] == "graph":
        return EncodedGraphResult(payload[1], payload[2], payload[3])
    _, variables, encoded_rows, truncated, size = payload
    return EncodedSelectResult(variables, encoded_rows, truncated, size)


class EncodedSelectResult(SelectResult):
    """A SELECT answer as a query worker sent it (rows of encoded terms): rdflib rows are built
    on first use, each distinct term once, and the JSON serialisation is made from the encoded
    terms directly (no rdflib term made, no dictionary encoded)."""

    def __init__(self, variables: list[str], encoded_rows: list[tuple[Encoded | None, ...]], truncated: bool,
                 size: int) -> None:
        super().__init__(variables, None, truncated, size_bytes=size)
        self._encoded: list[tuple[Encoded | None, ...]] | None = encoded_rows
        self._count = len(encoded_rows)

    @property
    def rows(self) -> list[Row]:
        encoded = self._encoded  # read once: the service's threads may share a cached result
        if encoded is not None:
            self._rows = _convert_rows(self.variables, encoded, decode_term)
            self._encoded = None
        return self._rows

    @property
    def row_count(self) -> int:
        return self._count

    def json_bindings(self) -> list[dict[str, dict[str, str]]]:
        encoded = self._encoded
        if encoded is None:
            return super().json_bindings()
        return _convert_rows(self.variables, encoded, encoded_json)

    def json_bindings_text(self) -> str:
        """The bindings' JSON text written row by row from each distinct term's JSON, made once (a
        fraction of building dictionaries and encoding them)."""
        encoded = self._encoded
        if encoded is None:
            return super().json_bindings_text()
        term = _memoised(encoded_json_text)
        names = [json.dumps(var, ensure_ascii=False) + ": " for var in self.variables]
        rows = ("{" + ", ".join(name + term(enc) for name, enc in zip(names, row, strict=True) if enc is not None) + "}"
                for row in encoded)
        return "[" + ", ".join(rows) + "]"


_OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,  # by rdflib's names
               "json-ld": ox.RdfFormat.JSON_LD, "xml": ox.RdfFormat.RDF_XML}


class EncodedGraphResult(GraphResult):
    """A CONSTRUCT/DESCRIBE answer as a query worker sent it (a set of encoded triples): the rdflib
    graph is built on first use; pyoxigraph's serialisers write the RDF straight from the encoded
    terms (rdflib's Turtle and JSON-LD writers cost more than the query for a cluster's subgraph).
    Its JSON-LD is the expanded form, one node object per subject, ``rdf:type`` as a property (what
    JSON-LD's fromRdf gives without useRdfType)."""

    def __init__(self, triples: set[tuple[Encoded, Encoded, Encoded]], truncated: bool, size: int) -> None:
        super().__init__(Graph(), truncated, size_bytes=size)
        self._encoded: set[tuple[Encoded, Encoded, Encoded]] | None = triples

    @property
    def graph(self) -> Graph:
        encoded = self._encoded  # read once: the service's threads may share a result
        if encoded is not None:
            graph = Graph()
            for triple in _convert_triples(encoded, decode_term):
                graph.add(triple)
            self._graph = graph
            self._encoded = None
        return self._graph

    def serialize(self, rdf_format: str, prefixes: Mapping[str, str]) -> str:
        encoded = self._encoded
        ox_format = _OX_FORMATS.get(rdf_format)
        if encoded is None or ox_format is None:
            return super().serialize(rdf_format, prefixes)
        triples = [ox.Triple(*t) for t in _convert_triples(sorted(encoded), decode_ox)]  # by subject: grouped
        used = dict(prefixes) if ox_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else None
        return ox.serialize(triples, format=ox_format, prefixes=used).decode("utf-8")


def _memoised(convert: Callable[[K], V]) -> Callable[[K], V]:
    """``convert`` with each distinct term converted once (answers repeat the same terms)."""
    memo: dict[K, V] = {}

    def term(key: K) -> V:
        value = memo.get(key)
        if value is None:
            value = memo[key] = convert(key)
        return value

    return term


def _convert_triples(triples: Iterable[tuple[Encoded, Encoded, Encoded]],
                     convert: Callable[[Encoded], V]) -> list[tuple[V, V, V]]:
    term = _memoised(convert)
    return [(term(s), term(p), term(o)) for s, p, o in triples]


def _convert_rows(variables: list[str], encoded_rows: list[tuple[Encoded | None, ...]],
                  convert: Callable[[Encoded], V]) -> list[dict[str, V]]:
    """Rows of ``convert``ed terms (unbound variables left out)."""
    term = _memoised(convert)
    return [{var: term(enc) for var, enc in zip(variables, encoded, strict=True) if enc is not None}
            for encoded in encoded_rows]
