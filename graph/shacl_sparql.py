"""SHACL-SPARQL constraints (sh:sparql / sh:select), evaluated once per constraint on pyoxigraph.

pyshacl evaluates a SPARQL-based constraint once per focus node with rdflib's SPARQL engine:
most of an import's validation time, growing faster than the data (docs/performance.md).
Here each constraint runs as one query over all its focus nodes: ``$this`` becomes ``?this``,
bound first by the shape's targets (sh:targetClass with rdfs:subClassOf*, sh:targetNode,
sh:targetSubjectsOf, sh:targetObjectsOf). That is the pre-binding
the SHACL specification defines (section 5.3.1: solutions for each focus node, $this bound before
the pattern is evaluated), so the results are the same; the shape tests check every constraint's
fixture against both. The core constraints are checked by shacl-rust (graph.validate).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from graph.namespaces import SH
from graph.rdftext import from_ox, ntriples
from graph.sparql_text import tokenize, where_group_start

_TARGETS = {
    SH.targetClass: "?this <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>/"
                    "<http://www.w3.org/2000/01/rdf-schema#subClassOf>* {} .",
    SH.targetNode: "VALUES ?this {{ {} }}",
    SH.targetSubjectsOf: "?this {} ?targetValue__ .",
    SH.targetObjectsOf: "?targetSubject__ {} ?this .",
}
_PLACEHOLDER = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class SparqlConstraint:
    shape: Node
    constraint: URIRef | BNode
    query: str  # one query for every focus node of the shape
    message: str
    severity: str


@dataclass(frozen=True)
class SparqlResult:
    constraint: SparqlConstraint
    focus: Node
    path: Node | None
    value: Node | None
    message: str


def _prefixes(shapes: Graph, constraint: Node) -> str:
    lines = []
    for declarer in shapes.objects(constraint, SH.prefixes):
        for decl in shapes.objects(declarer, SH.declare):
            prefix, namespace = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
            if prefix is not None and namespace is not None:
                lines.append(f"PREFIX {prefix}: <{namespace}>")
    return "\n".join(lines)


def _with_targets(select: str, targets: list[str]) -> str:
    """``$this`` as ``?this``, and the targets' patterns first in the WHERE group."""
    text = "".join("?this" if t.kind == "var" and t.text[1:] == "this" else t.text for t in tokenize(select))
    union = " UNION ".join(f"{{ {t} }}" for t in targets)
    at = where_group_start(text)
    return text[:at] + f"\n  {union}\n" + text[at:]


def constraints(shapes: Graph) -> list[SparqlConstraint]:
    out = []
    for shape, constraint in shapes.subject_objects(SH.sparql):
        select = shapes.value(constraint, SH.select)
        if select is None or (constraint, SH.deactivated, Literal(True)) in shapes:
            continue
        targets = [template.format(term.n3()) for predicate, template in _TARGETS.items()
                   for term in shapes.objects(shape, predicate)]
        if not targets:
            continue  # a shape without targets validates nothing on its own
        severity = shapes.value(shape, SH.severity) or SH.Violation
        message = shapes.value(constraint, SH.message) or shapes.value(shape, SH.message) or "constraint violated"
        query = _prefixes(shapes, constraint) + "\n" + _with_targets(str(select), targets)
        out.append(SparqlConstraint(shape, constraint, query, str(message),
                                    str(severity).rsplit("#", 1)[-1]))
    return out


def memory_store(data: Graph) -> ox.Store:
    """``data`` in an in-memory pyoxigraph store, blank node labels kept (results map back)."""
    return memory_store_of(ntriples(data))


def memory_store_of(text: str) -> ox.Store:
    """N-Triples ``text`` in an in-memory pyoxigraph store, blank node labels kept."""
    store = ox.Store()
    data = text.encode()
    if b"_:" in data:  # blank nodes, perhaps: ``Store.load`` would rename them, the parser keeps them
        store.extend(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    else:  # parsed and stored by Oxigraph without the GIL (validation runs it in a thread)
        store.load(data, format=ox.RdfFormat.N_TRIPLES)
    return store


def evaluate(data: Graph, shapes: Graph) -> Iterator[SparqlResult]:
    """Every violation of every SPARQL constraint of ``shapes`` in ``data``."""
    yield from evaluate_store(memory_store(data), shapes)


def evaluate_store(store: ox.Store, shapes: Graph) -> Iterator[SparqlResult]:
    """Every violation of every SPARQL constraint of ``shapes`` in the data of ``store`` (in
    memory, the data only; the queries are ours: no SERVICE, nothing fetched)."""
    for constraint in constraints(shapes):
        node_shape = shapes.value(constraint.shape, SH.path) is None
        solutions = store.query(constraint.query)
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            row = {n: from_ox(solution[n]) for n in names if solution[n] is not None}
            focus = row.get("this")
            if focus is None:
                continue
            value = row.get("value", focus if node_shape else None)  # SHACL 5.3.2
            message = _PLACEHOLDER.sub(lambda m, row=row: str(row.get(m.group(1), "")), constraint.message)
            yield SparqlResult(constraint, focus, row.get("path"), value, message)


def without_sparql_constraints(shapes: Graph) -> Graph:
    """The shapes with their sh:sparql links removed: what the core engine checks."""
    core = Graph()
    core += shapes
    core.remove((None, SH.sparql, None))
    return core
