"""Maintainer writes other than file imports: Graph Store Protocol verbs and SPARQL Update.

Every write is validated before it is committed: the named graphs it would change are computed
first (for an update, by running it on an in-memory copy of the store), each changed data graph is
validated against the shapes, and only then are the changed graphs replaced in one transaction.
A write that would leave a data graph violating the shapes is refused with the report and nothing
is written. The ontology and vocabulary graphs come from files and are not writable here; the
default graph is not used (every fact lives in a named graph). One write runs at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Graph, URIRef

from graph import ownership
from graph.config import Settings
from graph.derived import SUMMARY_GRAPH_PATH, add_derived, write_with_summary
from graph.guard import ServiceRefused, check_services, refuse_keyword
from graph.importer import store_context
from graph.mapping.rdf_file import parse_rdf
from graph.messages import one_line
from graph.namespaces import DataIRIs
from graph.sparql_text import tokenize
from graph.store import QueryDataset, Store
from graph.store.sizes import SIZES_GRAPH
from graph.validate import ValidationReport, validate_graph

_WRITE_LOCK = threading.Lock()


class WriteRefused(Exception):
    """The write is not allowed at all (system graph, default graph, LOAD/SERVICE, bad syntax)."""


class WriteRejected(Exception):
    """The write would leave a graph violating the shapes; ``reports`` says how. Nothing was written."""

    def __init__(self, reports: dict[str, ValidationReport]) -> None:
        super().__init__("; ".join(f"<{g}>: {len(r.violations)} violation(s)" for g, r in reports.items()))
        self.reports = reports

    def __reduce__(self) -> tuple:
        return type(self), (self.reports,)


@dataclass
class WriteOutcome:
    changed: list[str]
    triples: dict[str, int]


class GraphWriter:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.iris = DataIRIs(settings.base_iri)
        self.engine = settings.shacl_engine

    # -- checks --------------------------------------------------------------------------------------
    def _check_writable(self, name: str) -> None:
        if not name.startswith(("http://", "https://", "urn:")):
            raise WriteRefused(f"{name!r} is not an absolute IRI; name the graph with ?graph=IRI")
        system = str(self.iris.graph("ontology")), str(self.iris.graph("vocab"))
        if name == str(self.iris.graph(*SUMMARY_GRAPH_PATH)):
            raise WriteRefused(f"<{name}> is derived from the imports (graph.derived); it cannot be written")
        if name == SIZES_GRAPH:
            raise WriteRefused(f"<{name}> holds the sizes the store records of its graphs; it cannot be written")
        if name == system[0] or name.startswith(system[1] + "/"):
            raise WriteRefused(f"<{name}> is loaded from ontology/; change the file and run `clusterkg init`")

    def _validate(self, graphs: dict[str, Graph | None]) -> None:
        reports = {}
        for name, graph in graphs.items():
            if graph is None or not len(graph):
                continue
            report = validate_graph(graph, context=store_context(self.store, graph), engine=self.engine)
            owner = ownership.Owner(self.iris, name, maintainer=True)
            report = ValidationReport([*report.violations,
                                       *ownership.violations(self.store, owner, graph, {}, skip=set(graphs))])
            if not report.conforms:
                reports[name] = report
        if reports:
            raise WriteRejected(reports)

    def _commit(self, graphs: dict[str, Graph | None]) -> WriteOutcome:
        self._validate(graphs)
        for graph in graphs.values():
            if graph is not None:
                add_derived(graph)
        write_with_summary(self.store, self.iris, graphs)
        return WriteOutcome(sorted(graphs), {n: len(g) if g is not None else 0 for n, g in graphs.items()})

    # -- Graph Store Protocol ---------------------------------------------------------------------------
    def put(self, name: str, graph: Graph) -> WriteOutcome:
        """Replace the named graph by ``graph``."""
        self._check_writable(name)
        with _WRITE_LOCK:
            return self._commit({name: graph})

    def post(self, name: str, graph: Graph) -> WriteOutcome:
        """Add ``graph``'s triples to the named graph (creating it if needed)."""
        self._check_writable(name)
        with _WRITE_LOCK:
            merged = self.store.get_graph(name)
            merged += graph
            return self._commit({name: merged})

    def delete(self, name: str) -> WriteOutcome:
        self._check_writable(name)
        with _WRITE_LOCK:
            if name not in self.store.named_graphs():
                raise KeyError(f"no graph <{name}>")
            return self._commit({name: None})

    # -- SPARQL Update ------------------------------------------------------------------------------------
    def update(self, sparql: str, *, using: QueryDataset | None = None, base: str | None = None) -> WriteOutcome:
        """Run a SPARQL update: its WHERE reads the union of the graphs as its default graph (as
        queries do) unless ``using`` (the protocol's using-graph-uri / using-named-graph-uri) or
        its own USING say otherwise; relative IRIs resolve against ``base``."""
        # nothing is fetched from elsewhere: the job's process has no network (graph.jobs), and the
        # text is checked first, as strictly as graph.guard can, for a clear refusal
        try:
            refuse_keyword(sparql, "LOAD", "LOAD is not allowed in updates here (nothing is fetched from elsewhere)")
            check_services(sparql, frozenset(), strict=True)
        except ServiceRefused as exc:
            raise WriteRefused(f"{exc} (updates here fetch nothing from elsewhere)") from None
        operations = split_update(sparql)
        if using is not None:
            operations = [with_using(operation, using) for operation in operations]
        with _WRITE_LOCK:
            before = self._snapshot()
            after = ox.Store()
            after.extend(before.quads_for_pattern(None, None, None, None))
            for operation in operations:
                _run_on_union(after, operation, base)
            after.update("CLEAR SILENT DEFAULT")
            changed: dict[str, Graph | None] = {}
            names = {g.value for g in before.named_graphs()} | {g.value for g in after.named_graphs()}
            for name in sorted(names):
                old = _triples(before, name)
                new = _triples(after, name)
                if old != new:
                    self._check_writable(name)
                    changed[name] = _graph(new) if new else None
            if not changed:
                return WriteOutcome([], {})
            return self._commit(changed)

    def _snapshot(self) -> ox.Store:
        snapshot = ox.Store()
        data = self.store.dump_nquads()
        if data:
            snapshot.load(data, format=ox.RdfFormat.N_QUADS)
        return snapshot


def _run_on_union(store: ox.Store, operation: str, base: str | None) -> None:
    """One operation of an update on ``store`` (in memory), its default graph the union of the
    named graphs as they are now (a copy, made anew for each operation), which the operation may
    not write to: afterwards it must still be that union, or the union of what the operation left."""
    store.update("CLEAR SILENT DEFAULT ; INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
    union = _triples(store, None)
    try:
        store.update(operation, base_iri=base)
    except SyntaxError as exc:
        raise WriteRefused("SPARQL update syntax error: " + one_line(exc)) from exc
    except (OSError, RuntimeError, ValueError) as exc:  # e.g. CLEAR GRAPH (not SILENT) of a missing graph
        raise WriteRefused("the update failed: " + one_line(exc)) from exc
    default = _triples(store, None)
    if default != union and default != _union(store):
        raise WriteRefused("the update writes to the default graph, which is the union of all graphs "
                           "and read-only; write into a named graph (INSERT DATA { GRAPH <iri> { ... } })")


def split_update(sparql: str) -> list[str]:
    """An update's operations (split at the ``;`` between them), each with the PREFIX and BASE
    declarations of the operations before it, which stay in force."""
    tokens = [t for t in tokenize(sparql) if t.kind not in ("space", "comment")]
    depth, start, parts = 0, 0, []
    for token in tokens:
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 0 and token.text == ";":
            parts.append(sparql[start:token.start])
            start = token.end
    parts.append(sparql[start:])
    operations, prologue = [], ""
    for part in parts:
        if part.strip():
            operations.append(prologue + part)
        prologue += _declarations(part)
    return operations or [sparql]


def _declarations(text: str) -> str:
    tokens = [t for t in tokenize(text) if t.kind not in ("space", "comment")]
    out = []
    for i, token in enumerate(tokens):
        word = token.text.upper() if token.kind == "word" else ""
        if word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 2].kind == "iri":
            out.append(f"PREFIX {tokens[i + 1].text} {tokens[i + 2].text}\n")
        elif word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            out.append(f"BASE {tokens[i + 1].text}\n")
    return "".join(out)


def with_using(sparql: str, using: QueryDataset) -> str:
    """The update with the protocol's using-graph-uri / using-named-graph-uri written into each of
    its DELETE/INSERT ... WHERE operations as USING / USING NAMED; refused where the update names its
    own (USING, WITH) or an operation cannot take them (DELETE WHERE)."""
    tokens = [t for t in tokenize(sparql) if t.kind not in ("space", "comment")]
    words = [t.text.upper() if t.kind == "word" else "" for t in tokens]
    if "USING" in words or "WITH" in words:
        raise WriteRefused("the update names its own dataset (USING or WITH) and the request using-graph-uri or "
                           "using-named-graph-uri: give one of them")
    clauses = " ".join([*(f"USING <{g}>" for g in using.default), *(f"USING NAMED <{g}>" for g in using.named)])
    depth, cuts = 0, []
    for i, token in enumerate(tokens):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 0 and words[i] == "WHERE":
            if i and words[i - 1] == "DELETE":
                raise WriteRefused("using-graph-uri and using-named-graph-uri cannot apply to DELETE WHERE; "
                                   "write it as DELETE { ... } WHERE { ... }")
            cuts.append(token.start)
    for at in reversed(cuts):
        sparql = f"{sparql[:at]}{clauses} {sparql[at:]}"
    return sparql


def _union(store: ox.Store) -> set[tuple[str, str, str]]:
    """Every triple of every named graph."""
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in store.quads_for_pattern(None, None, None, None)
            if not isinstance(q.graph_name, ox.DefaultGraph)}


def _triples(store: ox.Store, name: str | None) -> set[tuple[str, str, str]]:
    """The triples of the named graph ``name`` (None: the default graph)."""
    graph = ox.DefaultGraph() if name is None else ox.NamedNode(name)
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in store.quads_for_pattern(None, None, None, graph)}


def _graph(triples: set[tuple[str, str, str]]) -> Graph:
    graph = Graph()
    if triples:
        graph.parse(data="\n".join(f"{s} {p} {o} ." for s, p, o in sorted(triples)), format="nt")
    return graph


# -- as maintainers' jobs (graph.jobs: a process of their own, given its store) -------------------------
def update_job(store: Store, settings: Settings, sparql: str, using: QueryDataset | None = None,
               base: str | None = None) -> WriteOutcome:
    return GraphWriter(store, settings).update(sparql, using=using, base=base)


def store_graph_job(store: Store, settings: Settings, name: str, body: bytes, fmt: str,
                    replace: bool) -> WriteOutcome:
    """PUT (``replace``) or POST a graph given as RDF text in ``fmt`` (graph.mapping.rdf_file)."""
    graph = parse_rdf(body, fmt, base=name)  # the Graph Store Protocol's base: the graph's IRI
    writer = GraphWriter(store, settings)
    return writer.put(name, graph) if replace else writer.post(name, graph)


def delete_graph_job(store: Store, settings: Settings, name: str) -> WriteOutcome:
    return GraphWriter(store, settings).delete(name)


__all__ = ["GraphWriter", "URIRef", "WriteOutcome", "WriteRefused", "WriteRejected"]
