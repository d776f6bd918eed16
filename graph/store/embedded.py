"""The embedded store: a persistent pyoxigraph (RocksDB) store in a directory.

Why on disk rather than in memory with snapshots: measured on this machine kind (2 cores) with
1M quads, opening the on-disk store is instant while loading the same N-Quads into memory takes
~2.4 s (a cold start the service cannot afford), and the queries tried ran at the same speed on
both (see docs/architecture.md). RocksDB gives durable, atomic transactions for free.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node

from graph.guard import ServiceRefused, check_services
from graph.results import AskResult, GraphResult, QueryResult, SelectResult
from graph.store.base import Store, StoreError, StoreUnavailable
from graph.store.terms import from_ox, to_ox


def _one_line(message: str, limit: int = 240) -> str:
    """Oxigraph's parser lists every expected token over many lines; keep the start, on one line."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EmbeddedStore(Store):
    """A pyoxigraph store in ``path``; its default graph for queries is the union of all graphs."""

    def __init__(self, path: Path, *, read_only: bool = False,
                 allowed_services: frozenset[str] = frozenset()) -> None:
        self.path = Path(path)
        self.allowed_services = allowed_services
        try:
            if read_only:
                if not (self.path / "CURRENT").exists():
                    raise StoreUnavailable(f"no store at {self.path} (run `clusterkg init` first)")
                self._ox = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._ox = ox.Store(str(self.path))
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreUnavailable(
                    f"the store at {self.path} is in use by another process "
                    "(is `clusterkg serve` running on it?); stop it or use another --store"
                ) from exc
            raise StoreUnavailable(f"cannot open the store at {self.path}: {exc}") from exc

    # -- reads ------------------------------------------------------------------------------
    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None) -> QueryResult:
        try:
            check_services(sparql, self.allowed_services)
        except ServiceRefused as exc:
            raise StoreError(str(exc)) from exc
        substitutions = {ox.Variable(k): to_ox(v) for k, v in (bindings or {}).items()}
        try:
            result = self._ox.query(sparql, use_default_graph_as_union=True,
                                    substitutions=substitutions or None)
        except SyntaxError as exc:
            raise StoreError(f"SPARQL syntax error: {_one_line(str(exc))}") from exc
        except OSError as exc:
            raise StoreError(f"query failed: {exc}") from exc
        if isinstance(result, ox.QueryBoolean):
            return AskResult(bool(result))
        if isinstance(result, ox.QuerySolutions):
            variables = [v.value for v in result.variables]
            rows = []
            for solution in result:
                if max_rows is not None and len(rows) >= max_rows:
                    return SelectResult(variables, rows, truncated=True)  # stop reading: it is lazy
                row = {}
                for var in variables:
                    term = solution[var]
                    if term is not None:
                        row[var] = from_ox(term)
                rows.append(row)
            return SelectResult(variables, rows)
        graph = Graph()
        for triple in result:
            if max_rows is not None and len(graph) >= max_rows:
                return GraphResult(graph, truncated=True)
            graph.add((from_ox(triple.subject), from_ox(triple.predicate), from_ox(triple.object)))
        return GraphResult(graph)

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._ox.named_graphs() if isinstance(g, ox.NamedNode))

    def get_graph(self, name: str) -> Graph:
        graph = Graph(identifier=URIRef(name))
        for quad in self._ox.quads_for_pattern(None, None, None, ox.NamedNode(name)):
            graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
        return graph

    def dataset(self) -> Dataset:
        data = self._ox.dump(format=ox.RdfFormat.N_QUADS)
        ds = Dataset()
        if data:
            ds.parse(data=data, format="nquads")
        return ds

    # -- writes -----------------------------------------------------------------------------
    def replace_graphs(self, graphs: Mapping[str, Graph | None]) -> None:
        """One SPARQL update, hence one RocksDB transaction, for all the graphs."""
        parts: list[str] = []
        for name, graph in graphs.items():
            try:
                iri = ox.NamedNode(name)  # validates the IRI
            except ValueError as exc:
                raise StoreError(f"invalid graph name {name!r}, nothing was written: {exc}") from exc
            parts.append(f"DROP SILENT GRAPH <{iri.value}>")
            if graph is not None and len(graph):
                body = graph.serialize(format="nt")
                parts.append(f"INSERT DATA {{ GRAPH <{iri.value}> {{\n{body}\n}} }}")
        if not parts:
            return
        try:
            self._ox.update(" ;\n".join(parts))
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"write failed, nothing was written: {exc}") from exc

    def close(self) -> None:
        if getattr(self, "_ox", None) is not None:
            try:
                self._ox.flush()
            except (OSError, RuntimeError):
                pass  # a read-only store cannot flush, and has nothing to flush
            self._ox = None  # type: ignore[assignment]
