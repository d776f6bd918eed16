"""The store interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from rdflib import Dataset, Graph
from rdflib.term import Node

from graph.results import QueryResult, SelectResult
from graph.store.errors import QueryAborted, QueryTimeout, StoreBusy, StoreError, StoreUnavailable, TooManyQueries
from graph.store.write import Write

__all__ = ["QueryAborted", "QueryDataset", "QueryTimeout", "Store", "StoreBusy", "StoreError", "StoreUnavailable",
           "StoreWrapper", "TooManyQueries", "Write"]


@dataclass(frozen=True)
class QueryDataset:
    """The RDF dataset a query is given (the SPARQL Protocol's ``default-graph-uri`` and
    ``named-graph-uri``): its default graph is the merge of ``default``, its named graphs are
    ``named``; it takes the place of the query's own FROM and FROM NAMED. Without one, a query's
    default graph is the union of every graph."""

    default: tuple[str, ...] = ()
    named: tuple[str, ...] = ()


class Store(ABC):
    """A quad store that queries the union of its named graphs as the default graph.

    A write is one object (:meth:`writing`, graph.store.write): graphs put, rows added and updates,
    committed together in one transaction, so that an import is all-or-nothing on every backend.
    """

    allowed_services: frozenset[str] = frozenset()  # SERVICE endpoints queries may call (graph.guard)

    @abstractmethod
    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        """Run a read-only SPARQL query; with ``max_rows``, at most that many rows (or triples)
        are returned and the result says it was truncated; with ``dataset``, on that dataset.

        ``bindings`` pre-bind variables without pasting them into the text (SPARQL-dev SEP-0007
        substitution); as in SEP-0007, a bound variable must be in the SELECT projection.
        """

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        """A SELECT's rows as tuples of N-Triples terms (``<iri>``, ``"5"^^<...#integer>``; None
        where unbound), in the projection's order: for code that compares and writes terms as
        text (graph.derived's maintenance reads tens of thousands of rows per import, and rdflib
        terms compare in Python)."""
        result = self.query(sparql)
        if not isinstance(result, SelectResult):
            raise StoreError("select_texts needs a SELECT query")
        return [tuple(row[v].n3() if v in row else None for v in result.variables) for row in result.rows]

    @abstractmethod
    def named_graphs(self) -> list[str]:
        """The IRIs of the named graphs, sorted; not the graph of their recorded sizes
        (graph.store.sizes), which is the store's bookkeeping, like a remote engine's own graphs."""

    @abstractmethod
    def get_graph(self, name: str) -> Graph:
        """The triples of one named graph (empty if there is none)."""

    @contextmanager
    def writing(self, *, trusted: bool = False) -> Iterator[Write]:
        """One write (graph.store.write): leaving the block commits it, all or nothing; an
        exception in the block writes nothing. ``trusted``: as :class:`Write`'s."""
        write = Write(self, trusted=trusted)
        try:
            yield write
            write.wait_until_ready()
            self._apply(write)
        finally:
            write.close()

    def _apply(self, write: Write) -> None:
        """Commit ``write`` (:meth:`writing`): its steps (``write.run_steps``), then its changes in
        one transaction. Each backend that writes implements it, or :meth:`writing` itself."""
        raise StoreError("this store cannot be written")

    def replace_graphs(self, graphs: Mapping[str, Graph | None]) -> None:
        """Atomically replace each named graph by the given triples; ``None`` drops it."""
        with self.writing() as write:
            for name, graph in graphs.items():
                write.put(name, graph)

    @abstractmethod
    def dataset(self) -> Dataset:
        """Every quad, as an rdflib Dataset (for export and backup); not the recorded sizes of the
        graphs (graph.store.sizes): a store that loads them records its own."""

    def identity(self) -> str | None:
        """What names this store's data across processes (a path, an endpoint); None if nothing."""
        return None

    def location(self) -> dict[str, object]:
        """The settings (graph.config.Settings fields) that open this same store in another process."""
        raise StoreError("this store cannot be opened by another process")

    def generation(self) -> str | None:
        """A token that changes whenever the store's content may have changed; None if unknown,
        in which case nothing derived from the content may be cached."""
        return None

    def dump_nquads(self) -> bytes:
        """Every quad as N-Quads (UTF-8), one per line; as :meth:`dataset`, not the recorded sizes."""
        return self.dataset().serialize(format="nquads", encoding="utf-8")

    def recover(self) -> list[str]:
        """Clean up what an interrupted write left behind; the names of what was removed."""
        return []

    @abstractmethod
    def close(self) -> None:
        """Release the store."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StoreWrapper(Store):
    """A store in front of another (``inner``) that changes some of what it does (how queries run,
    what is kept) and passes the rest through. ``close()`` releases what the wrapper added; the
    inner store belongs to whoever opened it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.allowed_services = inner.allowed_services

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        return self.inner.query(sparql, bindings, max_rows=max_rows, dataset=dataset)

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        return self.inner.select_texts(sparql)

    def identity(self) -> str | None:
        return self.inner.identity()

    def location(self) -> dict[str, object]:
        return self.inner.location()

    def generation(self) -> str | None:
        return self.inner.generation()

    def named_graphs(self) -> list[str]:
        return self.inner.named_graphs()

    def get_graph(self, name: str) -> Graph:
        return self.inner.get_graph(name)

    @contextmanager
    def writing(self, *, trusted: bool = False) -> Iterator[Write]:
        with self.inner.writing(trusted=trusted) as write:
            yield write

    def dataset(self) -> Dataset:
        return self.inner.dataset()

    def dump_nquads(self) -> bytes:
        return self.inner.dump_nquads()

    def recover(self) -> list[str]:
        return self.inner.recover()

    def close(self) -> None:
        pass
