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

from pyshacl_turbo import CompiledShapes, compile_shapes
from pyshacl_turbo.rdf import Input
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from graph.config import SHAPES_FILE
from graph.namespaces import RDFS, SH
from graph.shacl_sparql import SparqlResult, memory_store_of, without_sparql_constraints
from graph.shacl_sparql import evaluate_store as evaluate_sparql_constraints
from graph.store.terms import ntriples
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


def _rule_name(report: Graph, result: Node, shapes: Graph) -> str:
    constraint = report.value(result, SH.sourceConstraint)
    if isinstance(constraint, URIRef):  # a named SPARQL constraint says most
        return str(constraint).rsplit("#", 1)[-1]
    shape = report.value(result, SH.sourceShape)
    component = report.value(result, SH.sourceConstraintComponent)
    label = shapes.value(shape, RDFS.label) if shape is not None else None
    name = str(shape).rsplit("#", 1)[-1] if isinstance(shape, URIRef) else None
    comp = str(component).rsplit("#", 1)[-1] if component is not None else "constraint"
    if isinstance(shape, URIRef) and name:
        return f"{name} ({comp})"
    if label:
        return f"{label} ({comp})"
    # a blank-node shape: name it by the SPARQL constraint's label or its component
    return comp


def _term_text(term: Node | None) -> str | None:
    if term is None:
        return None
    return str(term) if isinstance(term, (URIRef, Literal)) else term.n3()


@cache
def core_shapes_graph() -> Graph:
    """The shapes pyshacl checks: all but the SPARQL-based constraints (graph.shacl_sparql)."""
    return without_sparql_constraints(shapes_graph())


@cache
def _compiled_core_shapes() -> CompiledShapes:
    return compile_shapes(core_shapes_graph(), advanced=True)


def _text_input(text: str) -> Input:
    """pyshacl-turbo's input record for N-Triples text (its ``rdf.Input``; the version is pinned):
    blank nodes come back with their labels as written, so a result's focus node is ``data``'s BNode."""
    return Input(text, "nt", None, {})


@cache
def _terminology_ntriples() -> str:
    return ntriples(terminology())


def validate_graph(data: Graph, origins: Origins | None = None, *, context: Graph | None = None) -> ValidationReport:
    """Validate ``data``, with ``context`` (what the shapes need from the store) and the
    terminology beside it, against the shapes."""
    return start_validation(data, origins, context=context).report()


@cache
def _checks() -> ThreadPoolExecutor:
    """The threads the constraints are checked in (two checks an import; two imports may validate
    at once)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="clusterkg-shacl")


def _sparql_checks(text: str) -> list[SparqlResult]:
    return list(evaluate_sparql_constraints(memory_store_of(text), shapes_graph()))


def start_validation(data: Graph, origins: Origins | None = None, *,
                     context: Graph | None = None) -> PendingValidation:
    """:func:`validate_graph` begun: the core constraints and the SPARQL-based ones are checked in
    two threads; ``data`` may change meanwhile (the importer adds the derived edges while they are
    checked), the validation is of ``data`` as it was.

    ``data``, ``context`` and the terminology are written once as N-Triples text (the
    terminology's text made once per process), and both engines read that text: pyshacl-turbo (a
    Rust engine with pySHACL's API and report vocabulary; several times faster than pyshacl here,
    see docs/performance.md) parses and checks it without holding the GIL (given the rdflib graph,
    it walked every triple in Python first: 0.5-0.7 s of a 117,000-triple import, and no thread
    could run meanwhile), and the SPARQL-based constraints run with one query each on an in-memory
    pyoxigraph store loaded from it (graph.shacl_sparql), which Oxigraph also does without the GIL
    (0.6-0.7 s of a 117,000-triple import, which ran before the derived edges were added until
    session 11). tests/test_shapes.py checks both against plain pyshacl. (Not the core
    constraints on the pyoxigraph store too: Oxigraph stores xsd:nonNegativeInteger and the other
    integer types as xsd:integer, so sh:datatype would see the wrong type; pyshacl-turbo's parser
    keeps the datatype as written.)
    """
    text = ntriples(data) + (ntriples(context) if context is not None else "") + _terminology_ntriples()
    core = _checks().submit(_compiled_core_shapes().validate, _text_input(text), inference="none",
                            abort_on_first=False, allow_warnings=False)
    return PendingValidation(core, _checks().submit(_sparql_checks, text), origins or {})


@dataclass
class PendingValidation:
    """A validation whose constraints are being checked in threads."""

    core: Future
    sparql: Future  # of the list of SparqlResult
    origins: Origins
    _report: ValidationReport | None = None

    def report(self) -> ValidationReport:
        """Wait for the checks; every violation, ordered by source row."""
        if self._report is None:
            _conforms, core_report, _text = self.core.result()
            self._report = _report(self.sparql.result(), core_report, self.origins)
        return self._report


def _report(found_by_sparql: list[SparqlResult], report: Graph, origins: Origins) -> ValidationReport:
    shapes = shapes_graph()
    violations = []
    for found in found_by_sparql:
        location = origins.get((found.focus, found.path)) or origins.get((found.focus, None)) or Location()
        name = found.constraint.constraint
        violations.append(Violation(
            focus=_term_text(found.focus) or "", path=_term_text(found.path), value=_term_text(found.value),
            message=found.message,
            rule=str(name).rsplit("#", 1)[-1] if isinstance(name, URIRef) else "SPARQLConstraintComponent",
            severity=found.constraint.severity, location=location))
    # only top-level results: the sh:detail results nested in them repeat the same problem
    for result in report.objects(None, SH.result):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        message = report.value(result, SH.resultMessage)
        severity = report.value(result, SH.resultSeverity)
        location = origins.get((focus, path)) or origins.get((focus, None)) or Location()
        violations.append(Violation(
            focus=_term_text(focus) or "", path=_term_text(path), value=_term_text(value),
            message=str(message) if message is not None else "constraint violated",
            rule=_rule_name(report, result, shapes),
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            location=location,
        ))
    violations.sort(key=lambda v: (v.location.row or 0, v.focus, v.path or "", v.message))
    return ValidationReport(violations)
