"""Query results independent of the engine, and their standard serialisations.

Every store returns a :class:`SelectResult`, :class:`AskResult` or :class:`GraphResult`; the
CLI, the API and the SPARQL endpoint only ever serialise these, so results look the same on
every backend.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

Row = dict[str, Node]
CELL_BYTES = 16  # what a term costs beside its text, in an answer's byte count


def term_bytes(node: Node) -> int:
    """What a term counts towards an answer's bytes: its text (and datatype or language), plus a cell."""
    extra = (node.datatype or node.language or "") if isinstance(node, Literal) else ""
    return len(str(node)) + len(extra) + CELL_BYTES


class SelectResult:
    """The solutions of a SELECT query: variable names and rows (unbound variables absent).

    A plain class rather than a dataclass so that a store can hand over rows it builds only when
    asked (:class:`graph.store.handle_reads.EncodedSelectResult`): the API serialises most answers
    straight to JSON and never needs rdflib terms.
    """

    def __init__(self, variables: list[str], rows: list[Row] | None = None, truncated: bool = False, *,
                 size_bytes: int | None = None) -> None:
        self.variables = variables
        self._rows = rows if rows is not None else []
        self.truncated = truncated
        self._size_bytes = size_bytes  # counted already (a worker's encoded answer), else counted when asked

    @property
    def rows(self) -> list[Row]:
        return self._rows

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def size_bytes(self) -> int:
        """What the answer counts towards byte budgets (the answer cap, the result cache)."""
        if self._size_bytes is not None:
            return self._size_bytes
        return sum(term_bytes(term) for row in self.rows for term in row.values()) + CELL_BYTES

    def values(self, var: str) -> list[Node]:
        return [row[var] for row in self.rows if var in row]

    def as_python(self) -> list[dict[str, object]]:
        """Rows with plain Python values (IRIs as str, literals as their Python value)."""
        return [{k: _pythonise(v) for k, v in row.items()} for row in self.rows]

    def json_bindings(self) -> list[dict[str, dict[str, str]]]:
        """The rows in SPARQL 1.1 Query Results JSON form."""
        return [{k: term_to_json(v) for k, v in row.items()} for row in self.rows]

    def json_bindings_text(self) -> str:
        """:meth:`json_bindings` as JSON text (``json.dumps``, non-ASCII kept)."""
        return json.dumps(self.json_bindings(), ensure_ascii=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SelectResult):
            return NotImplemented
        return (self.variables, self.rows, self.truncated) == (other.variables, other.rows, other.truncated)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return f"SelectResult(variables={self.variables!r}, rows={self.rows!r}, truncated={self.truncated!r})"


@dataclass
class AskResult:
    value: bool
    size_bytes = CELL_BYTES


class GraphResult:
    """The triples of a CONSTRUCT or DESCRIBE query, as an rdflib graph (built on first use by
    :class:`graph.store.handle_reads.EncodedGraphResult`)."""

    def __init__(self, graph: Graph, truncated: bool = False, *, size_bytes: int | None = None) -> None:
        self._graph = graph
        self.truncated = truncated
        self._size_bytes = size_bytes  # as SelectResult's

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def size_bytes(self) -> int:
        if self._size_bytes is not None:
            return self._size_bytes
        return sum(term_bytes(term) for triple in self.graph for term in triple) + CELL_BYTES

    def serialize(self, rdf_format: str, prefixes: Mapping[str, str]) -> str:
        """The graph in rdflib format ``rdf_format`` (turtle, nt, json-ld, xml), with ``prefixes``."""
        for prefix, namespace in prefixes.items():
            self.graph.bind(prefix, namespace)
        return self.graph.serialize(format=rdf_format)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GraphResult):
            return NotImplemented
        return set(self.graph) == set(other.graph) and self.truncated == other.truncated

    __hash__ = None  # type: ignore[assignment]


QueryResult = SelectResult | AskResult | GraphResult


def _pythonise(term: Node) -> object:
    if isinstance(term, Literal):
        value = term.toPython()
        return value if not isinstance(value, Literal) else str(term)
    return str(term)


def term_to_json(term: Node) -> dict[str, str]:
    """One RDF term in SPARQL 1.1 Query Results JSON form."""
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype is not None and term.datatype != XSD.string:
            out["datatype"] = str(term.datatype)
        return out
    raise TypeError(f"not an RDF term: {term!r}")


def to_sparql_json(result: SelectResult | AskResult) -> str:
    if isinstance(result, AskResult):
        return json.dumps({"head": {}, "boolean": result.value})
    # what json.dumps gives for {"head": ..., "results": {"bindings": ...}, "truncated": true}, with
    # the bindings written by the result (a worker's answer writes them from its encoded terms)
    head: dict[str, object] = {"vars": result.variables}
    if result.truncated:
        head["link"] = ["urn:clusterkg:truncated"]
    tail = ', "truncated": true}' if result.truncated else "}"
    return (f'{{"head": {json.dumps(head, ensure_ascii=False)}, '
            f'"results": {{"bindings": {result.json_bindings_text()}}}{tail}')


# a spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV Injection")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.int, XSD.long, XSD.short, XSD.nonNegativeInteger,
            XSD.negativeInteger, XSD.nonPositiveInteger, XSD.positiveInteger, XSD.byte}


def csv_cell(term: Node) -> str:
    """A term's CSV value; text a spreadsheet would run as a formula gets a leading apostrophe
    (numbers stay numbers: -5 is no formula)."""
    text = str(term)
    if text.startswith(_FORMULA_STARTS) and not (isinstance(term, Literal) and term.datatype in _NUMERIC):
        return "'" + text
    return text


def to_csv(result: SelectResult) -> str:
    """SPARQL 1.1 Query Results CSV: plain values, CRLF line ends; formulas neutralised (:func:`csv_cell`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow([csv_cell(row[v]) if v in row else "" for v in result.variables])
    return buf.getvalue()


def _tsv_term(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return term.n3()


def to_tsv(result: SelectResult) -> str:
    """SPARQL 1.1 Query Results TSV: terms in Turtle syntax."""
    lines = ["\t".join("?" + v for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join(_tsv_term(row[v]) if v in row else "" for v in result.variables))
    return "\n".join(lines) + "\n"


def to_sparql_xml(result: SelectResult | AskResult) -> str:
    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if isinstance(result, AskResult):
        out += ["<head/>", f"<boolean>{'true' if result.value else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out.append("<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in result.variables) + "</head>")
    out.append("<results>")
    for row in result.rows:
        out.append("<result>")
        for var, term in row.items():
            out.append(f"<binding name={quoteattr(var)}>{_xml_term(term)}</binding>")
        out.append("</result>")
    out += ["</results>", "</sparql>"]
    return "\n".join(out) + "\n"


def _xml_term(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<uri>{escape(str(term))}</uri>"
    if isinstance(term, BNode):
        return f"<bnode>{escape(str(term))}</bnode>"
    attrs = ""
    if isinstance(term, Literal):
        if term.language:
            attrs = f" xml:lang={quoteattr(term.language)}"
        elif term.datatype is not None and term.datatype != XSD.string:
            attrs = f" datatype={quoteattr(str(term.datatype))}"
    return f"<literal{attrs}>{escape(str(term))}</literal>"


def to_table(result: SelectResult, max_width: int = 60) -> str:
    """A plain-text table for terminals."""
    def cell(term: Node | None) -> str:
        text = "" if term is None else str(term)
        text = " ".join(text.split())
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    rows = [[cell(row.get(v)) for v in result.variables] for row in result.rows]
    widths = [max([len(v)] + [len(r[i]) for r in rows]) for i, v in enumerate(result.variables)]
    line = "  ".join(v.ljust(w) for v, w in zip(result.variables, widths, strict=False))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
    footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''}{', truncated' if result.truncated else ''})"
    return "\n".join([line, sep, *body, footer]) + "\n"
