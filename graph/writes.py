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
from graph.namespaces import DataIRIs
from graph.store import Store
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
            report = validate_graph(graph, context=store_context(self.store, graph))
            owner = ownership.Owner(self.iris, name)
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
    def update(self, sparql: str) -> WriteOutcome:
        # nothing is fetched from elsewhere: the job's process has no network (graph.jobs), and the
        # text is checked first, as strictly as graph.guard can, for a clear refusal
        try:
            refuse_keyword(sparql, "LOAD", "LOAD is not allowed in updates here (nothing is fetched from elsewhere)")
            check_services(sparql, frozenset(), strict=True)
        except ServiceRefused as exc:
            raise WriteRefused(f"{exc} (updates here fetch nothing from elsewhere)") from None
        with _WRITE_LOCK:
            before = self._snapshot()
            after = ox.Store()
            after.extend(before.quads_for_pattern(None, None, None, None))
            # the update reads the union of the graphs as its default graph, as queries do: a copy
            # of it is the default graph here, which the update must leave as it is
            after.update("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
            union = _triples(after, None)
            try:
                after.update(sparql)
            except SyntaxError as exc:
                raise WriteRefused("SPARQL update syntax error: " + " ".join(str(exc).split())[:240]) from exc
            except (OSError, RuntimeError, ValueError) as exc:  # e.g. CLEAR GRAPH (not SILENT) of a missing graph
                raise WriteRefused("the update failed: " + " ".join(str(exc).split())[:240]) from exc
            if _triples(after, None) != union:
                raise WriteRefused("the update writes to the default graph, which is the union of all graphs "
                                   "and read-only; write into a named graph (INSERT DATA { GRAPH <iri> { ... } })")
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
def update_job(store: Store, settings: Settings, sparql: str) -> WriteOutcome:
    return GraphWriter(store, settings).update(sparql)


def store_graph_job(store: Store, settings: Settings, name: str, body: bytes, fmt: str,
                    replace: bool) -> WriteOutcome:
    """PUT (``replace``) or POST a graph given as RDF text in ``fmt`` (graph.mapping.rdf_file)."""
    graph = parse_rdf(body, fmt, base=name)  # the Graph Store Protocol's base: the graph's IRI
    writer = GraphWriter(store, settings)
    return writer.put(name, graph) if replace else writer.post(name, graph)


def delete_graph_job(store: Store, settings: Settings, name: str) -> WriteOutcome:
    return GraphWriter(store, settings).delete(name)


__all__ = ["GraphWriter", "URIRef", "WriteOutcome", "WriteRefused", "WriteRejected"]
