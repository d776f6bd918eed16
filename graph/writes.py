"""Maintainer writes other than file imports: Graph Store Protocol verbs and SPARQL Update.

Each verb is one write (graph.store.write) whose work runs at its commit, under the store's write
lock, reading the store as it is then: the new content of the graphs it changes is computed (for an
update, by graph.sparql_update, which reads only the graphs the update changes), each changed data
graph is validated against the shapes, and only then are the changed graphs put, with the summary
kept right, in one transaction. A write that would leave a data graph violating the shapes is
refused with the report and nothing is written. The ontology and vocabulary graphs come from files
and are not writable here; the default graph is the union of the named graphs and is not written
(every fact lives in a named graph).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, URIRef

from graph import ownership
from graph.config import Settings
from graph.derived import SUMMARY_GRAPH_PATH, add_derived, keep_summary
from graph.guard import ServiceRefused, check_services, refuse_keyword
from graph.importer import store_context
from graph.mapping.rdf_file import parse_rdf
from graph.namespaces import DataIRIs
from graph.rdftext import triple_from_ox
from graph.sparql_text import tokenize
from graph.sparql_update import GraphKey, Rows, TooManySolutions, UpdateFailed, WhereDataset, evaluate
from graph.store import QueryDataset, Store
from graph.store.sizes import SIZES_GRAPH
from graph.store.write import Reads, Write
from graph.validate import ValidationReport, validate_graph


class WriteRefused(Exception):
    """The write is not allowed at all (system graph, default graph, LOAD/SERVICE, bad syntax)."""


class WriteConflict(WriteRefused):
    """Another write changed a graph this one was computed from, before this one's commit."""


class WriteRejected(Exception):
    """The write would leave a graph violating the shapes; ``reports`` says how. Nothing was written."""

    def __init__(self, reports: dict[str, ValidationReport]) -> None:
        super().__init__("; ".join(f"<{g}>: {len(r.violations)} violation(s)" for g, r in reports.items()))
        self.reports = reports

    def __reduce__(self) -> tuple:
        return type(self), (self.reports,)


@dataclass
class WriteOutcome:
    changed: list[str] = field(default_factory=list)
    triples: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """What a write changes (``graphs``; None drops one), and the content of the graphs it was
    computed from (``read``), which must be as they were at the commit."""

    graphs: dict[str, Graph | None]
    read: dict[str, set[ox.Triple]] = field(default_factory=dict)

    def check_unchanged(self, write: Write) -> None:
        source = StoreSource(write)
        for name, triples in self.read.items():
            if source.triples(name) != triples:
                raise WriteConflict(f"another write changed <{name}> while this one was computed; nothing was "
                                    "written: send it again")


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

    def _check_target(self, graph: GraphKey) -> None:
        if graph is None:
            raise WriteRefused("the update writes to the default graph, which is the union of all graphs "
                               "and read-only; write into a named graph (INSERT DATA { GRAPH <iri> { ... } })")
        self._check_writable(graph)

    def _validate(self, reads: Reads, graphs: dict[str, Graph | None]) -> None:
        reports = {}
        for name, graph in graphs.items():
            if graph is None or not len(graph):
                continue
            report = validate_graph(graph, context=store_context(reads, graph), engine=self.engine)
            owner = ownership.Owner(self.iris, name, maintainer=True)
            report = ValidationReport([*report.violations,
                                       *ownership.violations(reads, owner, graph, {}, skip=set(graphs))])
            if not report.conforms:
                reports[name] = report
        if reports:
            raise WriteRejected(reports)

    def _write(self, plan: Callable[[Reads], Plan]) -> WriteOutcome:
        """One write: its plan made from the store as the write finds it, validated, put; at the
        commit, refused if another write changed a graph the plan read meanwhile."""
        with self.store.writing() as write:
            planned = plan(write)
            if not planned.graphs:
                return WriteOutcome()
            self._validate(write, planned.graphs)
            for name, graph in planned.graphs.items():
                if graph is not None:
                    add_derived(graph)
                write.put(name, graph)
            write.before_commit(planned.check_unchanged)
            keep_summary(write, self.iris)
        return WriteOutcome(sorted(planned.graphs),
                            {n: len(g) if g is not None else 0 for n, g in planned.graphs.items()})

    # -- Graph Store Protocol ---------------------------------------------------------------------------
    def put(self, name: str, graph: Graph) -> WriteOutcome:
        """Replace the named graph by ``graph``."""
        self._check_writable(name)
        return self._write(lambda reads: Plan({name: graph}))

    def post(self, name: str, graph: Graph) -> WriteOutcome:
        """Add ``graph``'s triples to the named graph (creating it if needed)."""
        self._check_writable(name)

        def merged(reads: Reads) -> Plan:
            into = reads.get_graph(name)
            into += graph
            return Plan({name: into}, {name: StoreSource(reads).triples(name)})
        return self._write(merged)

    def delete(self, name: str) -> WriteOutcome:
        self._check_writable(name)

        def dropped(reads: Reads) -> Plan:
            if name not in reads.named_graphs():
                raise KeyError(f"no graph <{name}>")
            return Plan({name: None})
        return self._write(dropped)

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
        if using is not None:
            sparql = with_using(sparql, using)

        def planned(reads: Reads) -> Plan:
            try:
                result = evaluate(sparql, StoreSource(reads), base=base, check_target=self._check_target)
            except UpdateFailed as exc:
                raise WriteRefused(str(exc)) from None
            graphs = {name: _graph(triples) if triples else None for name, triples in result.after.items() if name}
            return Plan(graphs, {name: result.before[name] for name in graphs})
        return self._write(planned)


class StoreSource:
    """The store, as graph.sparql_update reads it: its default graph is the union of its graphs."""

    union_default = True

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def select(self, sparql: str, dataset: WhereDataset, limit: int) -> Rows:
        chosen = None
        if dataset.default is not None or dataset.named is not None:
            named = dataset.named if dataset.named is not None else tuple(self.reads.named_graphs())
            chosen = QueryDataset(dataset.default or (), named)
        result = self.reads.query(sparql, dataset=chosen, max_rows=limit + 1)
        if len(result.rows) > limit:
            raise TooManySolutions(limit)
        names = [str(v) for v in result.variables]
        return names, [tuple(row[v].n3() if v in row else None for v in names) for row in result.rows]

    def triples(self, graph: GraphKey) -> set[ox.Triple]:
        where = "{ ?s ?p ?o }" if graph is None else f"{{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        text = "".join(f"{s} {p} {o} .\n" for s, p, o in self.reads.select_texts(f"SELECT ?s ?p ?o WHERE {where}"))
        return {q.triple for q in ox.parse(text, format=ox.RdfFormat.TURTLE)} if text else set()

    def graph_names(self) -> set[str]:
        return set(self.reads.named_graphs())


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


def _graph(triples: set[ox.Triple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple_from_ox(triple))
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
