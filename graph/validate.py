"""The SHACL gate: validate a mapped graph against ``ontology/shapes.ttl``.

The data graph is the candidate import plus the ontology and vocabularies (which the shapes
need for scheme membership); the rest of the store is not validated again. Each result is turned
into a :class:`Violation` that names the node, property, value and rule, and, when the mapping
recorded where a node came from (a CSV row and column), that place too.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import pyoxigraph as ox
import shacl_rust
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from graph.config import SHAPES_FILE
from graph.namespaces import RDFS, SH
from graph.rdftext import from_ox, ntriples
from graph.shacl_sparql import SparqlResult, memory_store_of, without_sparql_constraints
from graph.shacl_sparql import evaluate_store as evaluate_sparql_constraints
from graph.vocab import terminology


@dataclass(frozen=True)
class Location:
    """Where a node came from in the source: a CSV row (1 = header) and column, or a node; and
    the file, when an import of several files names it."""

    row: int | None = None
    column: str | None = None
    file: str | None = None

    def describe(self) -> str:
        if self.row is None:
            return ""
        return f"row {self.row}" + (f", column {self.column!r}" if self.column else "")


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str | None
    value: str | None
    message: str
    rule: str
    severity: str
    location: Location = field(default_factory=Location)
    # what broke it, as a SHACL report names it (graph.shacl_report): the shape and its constraint
    # component (an IRI, or a blank node as _:label); None for the gate's own rules (the importer's)
    shape: str | None = None
    component: str | None = None

    def describe(self) -> str:
        where = self.location.describe() or f"node <{self.focus}>"
        parts = [f"{self.location.file}, {where}" if self.location.file else where]
        if self.path:
            parts.append(f"property <{self.path}>")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        return f"{'; '.join(parts)}: {self.message} [rule: {self.rule}]"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.location.file, "row": self.location.row, "column": self.location.column,
                "node": self.focus,
                "property": self.path, "value": self.value, "message": self.message,
                "rule": self.rule, "severity": self.severity}


@dataclass
class ValidationReport:
    violations: list[Violation]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def text(self) -> str:
        if self.conforms:
            return "Conforms: the data satisfies every shape.\n"
        lines = [f"{len(self.violations)} violation(s):"]
        lines += [f"  - {v.describe()}" for v in self.violations]
        return "\n".join(lines) + "\n"


# Origins: (node, property IRI or None) -> Location. The mapping fills it in.
Origins = Mapping[tuple[Node, Node | None], Location]


@cache
def shapes_graph() -> Graph:
    graph = Graph()
    graph.parse(SHAPES_FILE, format="turtle")
    return graph


def _rule_name(shape: Node | None, component: Node | None, shapes: Graph) -> str:
    """The rule a core result broke: its shape's name (or label) and the constraint component."""
    label = shapes.value(shape, RDFS.label) if shape is not None else None
    name = str(shape).rsplit("#", 1)[-1] if isinstance(shape, URIRef) else None
    comp = str(component).rsplit("#", 1)[-1] if component is not None else "constraint"
    if isinstance(shape, URIRef) and name:
        return f"{name} ({comp})"
    if label:
        return f"{label} ({comp})"
    return comp  # a blank-node shape without a label: its component says most


def _node_text(term: Node | None) -> str | None:
    """A shape or component as a report names it: an IRI, or a blank node of the shapes graph as _:label."""
    if term is None:
        return None
    return str(term) if isinstance(term, URIRef) else term.n3()


def _term_text(term: Node | None) -> str | None:
    if term is None:
        return None
    return str(term) if isinstance(term, (URIRef, Literal)) else term.n3()


@cache
def core_shapes_graph() -> Graph:
    """The shapes the core engine checks: all but the SPARQL-based constraints (graph.shacl_sparql)."""
    return without_sparql_constraints(shapes_graph())


@cache
def _core_shapes_ntriples() -> str:
    """The core shapes as N-Triples, blank node labels as rdflib has them (results name their
    shapes by these labels, and :func:`_rule_name` looks the labels up in ``shapes_graph()``)."""
    return ntriples(core_shapes_graph())


def core_check(text: str) -> list[dict[str, object]]:
    """The core constraints checked on N-Triples ``text`` by shacl-rust (a Rust SHACL Core engine;
    it releases the GIL): its results, terms in N-Triples syntax, data blank nodes as labelled."""
    report = shacl_rust.validate(text, _core_shapes_ntriples(), data_format="nt", shapes_format="nt",
                                 experimental_index=True)
    return list(report["results"])


def _term(text: object) -> Node | None:
    """An N-Triples term (as shacl-rust writes them) as the rdflib term the mapping used."""
    if not isinstance(text, str):
        return None
    [quad] = ox.parse(f"<urn:clusterkg:s> <urn:clusterkg:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES,
                      rename_blank_nodes=False)
    return from_ox(quad.object)


@cache
def _terminology_ntriples() -> str:
    return ntriples(terminology())


ENGINES = ("fast", "pyshacl")


def validate_graph(data: Graph, origins: Origins | None = None, *, context: Graph | None = None,
                   engine: str = "fast") -> ValidationReport:
    """Validate ``data``, with ``context`` (what the shapes need from the store) and the
    terminology beside it, against the shapes, by ``engine`` (:func:`start_validation`)."""
    return start_validation(data, origins, context=context, engine=engine).report()


@cache
def _checks() -> ThreadPoolExecutor:
    """The threads the constraints are checked in (two checks an import; two imports may validate
    at once)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="clusterkg-shacl")


def _sparql_checks(text: str) -> list[SparqlResult]:
    return list(evaluate_sparql_constraints(memory_store_of(text), shapes_graph()))


def start_validation(data: Graph, origins: Origins | None = None, *,
                     context: Graph | None = None, engine: str = "fast") -> PendingValidation:
    """:func:`validate_graph` begun: the core constraints and the SPARQL-based ones are checked in
    two threads; ``data`` may change meanwhile (the importer adds the derived edges while they are
    checked), the validation is of ``data`` as it was.

    ``data``, ``context`` and the terminology are written once as N-Triples text (the
    terminology's text made once per process), and both engines read that text without holding
    the GIL: shacl-rust checks the core constraints (:func:`core_check`, several times faster than
    the pySHACL engines on an import wave: docs/performance.md), and the SPARQL-based constraints run with one
    query each on an in-memory pyoxigraph store loaded from it (graph.shacl_sparql).
    tests/test_shapes.py checks both against plain pyshacl on every shape's fixture. (Not the core
    constraints on the pyoxigraph store too: Oxigraph stores xsd:nonNegativeInteger and the other
    integer types as xsd:integer, so sh:datatype would see the wrong type; shacl-rust's parser
    keeps the datatype as written.)
    """
    text = ntriples(data) + (ntriples(context) if context is not None else "") + _terminology_ntriples()
    if engine == "pyshacl":
        return PendingValidation(None, None, origins or {}, _checks().submit(pyshacl_check, text, origins or {}))
    if engine != "fast":
        raise ValueError(f"unknown SHACL engine {engine!r}; use one of {', '.join(ENGINES)}")
    core = _checks().submit(core_check, text)
    return PendingValidation(core, _checks().submit(_sparql_checks, text), origins or {})


def pyshacl_check(text: str, origins: Origins) -> list[Violation]:
    """Every shape checked by pyshacl (the reference Python engine, SHACL Core and SHACL-SPARQL)
    on N-Triples ``text``: its top-level results as violations, named as the fast engine names
    them. Slower, and the same verdict (tests/test_shapes.py)."""
    import pyshacl

    data = Graph().parse(data=text, format="nt")
    shapes = shapes_graph()
    _conforms, report, _text = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    violations = []
    for result in report.objects(None, SH.result):
        focus, path, value = (report.value(result, p) for p in (SH.focusNode, SH.resultPath, SH.value))
        shape, component = report.value(result, SH.sourceShape), report.value(result, SH.sourceConstraintComponent)
        constraint = report.value(result, SH.sourceConstraint)
        severity = report.value(result, SH.resultSeverity)
        message = report.value(result, SH.resultMessage)
        location = origins.get((focus, path)) or origins.get((focus, None)) or Location()
        sparql = component == SH.SPARQLConstraintComponent
        rule = (str(constraint).rsplit("#", 1)[-1] if isinstance(constraint, URIRef) else "SPARQLConstraintComponent") \
            if sparql else _rule_name(shape, component, shapes)
        violations.append(Violation(
            focus=_term_text(focus) or "", path=_term_text(path), value=_term_text(value),
            message=str(message) if message is not None else "constraint violated", rule=rule,
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            location=location, shape=_node_text(shape), component=_node_text(component)))
    return violations


@dataclass
class PendingValidation:
    """A validation whose constraints are being checked in threads."""

    core: Future | None
    sparql: Future | None  # of the list of SparqlResult
    origins: Origins
    whole: Future | None = None  # another engine's violations (pyshacl_check)
    _report: ValidationReport | None = None

    def report(self) -> ValidationReport:
        """Wait for the checks; every violation, ordered by source row."""
        if self._report is None:
            if self.whole is not None:
                self._report = ValidationReport(_ordered(self.whole.result()))
            else:
                assert self.core is not None and self.sparql is not None
                self._report = _report(self.sparql.result(), self.core.result(), self.origins)
        return self._report


def _report(found_by_sparql: list[SparqlResult], core: list[dict[str, object]],
            origins: Origins) -> ValidationReport:
    shapes = shapes_graph()
    violations = []
    for found in found_by_sparql:
        location = origins.get((found.focus, found.path)) or origins.get((found.focus, None)) or Location()
        name = found.constraint.constraint
        violations.append(Violation(
            focus=_term_text(found.focus) or "", path=_term_text(found.path), value=_term_text(found.value),
            message=found.message,
            rule=str(name).rsplit("#", 1)[-1] if isinstance(name, URIRef) else "SPARQLConstraintComponent",
            severity=found.constraint.severity, location=location,
            shape=_node_text(found.constraint.shape), component=str(SH.SPARQLConstraintComponent)))
    # top-level results only (as pyshacl's sh:result; tests/test_shapes.py compares them)
    for result in core:
        focus, path, value = _term(result.get("focusNode")), _term(result.get("resultPath")), _term(result.get("value"))
        shape = _term(result.get("sourceShape"))
        own = shapes.value(shape, SH.message) if shape is not None else None  # as pyshacl: the shape's message
        messages = result.get("messages") or ["constraint violated"]
        severity = result.get("severity")
        location = origins.get((focus, path)) or origins.get((focus, None)) or Location()
        violations.append(Violation(
            focus=_term_text(focus) or "", path=_term_text(path), value=_term_text(value),
            message=str(own) if own is not None else str(messages[0]),  # type: ignore[index]
            rule=_rule_name(shape, _term(result.get("sourceConstraintComponent")), shapes),
            severity=str(severity).strip("<>").rsplit("#", 1)[-1] if severity else "Violation",
            location=location, shape=_node_text(shape),
            component=_node_text(_term(result.get("sourceConstraintComponent"))),
        ))
    return ValidationReport(_ordered(violations))


def _ordered(violations: list[Violation]) -> list[Violation]:
    """By source row, then node, property and message: the order a report reads in."""
    return sorted(violations, key=lambda v: (v.location.row or 0, v.focus, v.path or "", v.message))
