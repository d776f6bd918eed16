"""The store interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from rdflib import Dataset, Graph
from rdflib.term import Node

from graph.results import QueryResult, SelectResult


class StoreError(Exception):
    """A store refused or failed an operation; the message is meant for the user."""


class StoreUnavailable(StoreError):
    """The store cannot be opened or reached (locked, down, missing)."""


class QueryTimeout(StoreError):
    """A query ran past the time limit and was stopped."""


class QueryAborted(StoreError):
    """A query was stopped for another limit (memory) or because its worker died."""


class StoreChanged(StoreError):
    """Another writer changed the store since the caller read it; nothing was written."""


class StoreBusy(StoreError):
    """Every query worker is busy; the client should retry later."""


class TooManyQueries(StoreBusy):
    """The client has a heavy query running, or as many queries as there are workers (graph.store.sandbox)."""


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

    Writes are whole named graphs, replaced or dropped together in one transaction, so that
    an import is all-or-nothing on every backend.
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

    @abstractmethod
    def replace_graphs(self, graphs: Mapping[str, Graph | None], *, then: str = "",
                       if_generation: str | None = None, recount: Sequence[str] = (),
                       checked: bool = False, additions: Mapping[str, str] | None = None) -> None:
        """Atomically replace each named graph by the given triples; ``None`` drops it. ``then``: a
        SPARQL update run after them in the same update (the derived summary's maintenance).
        ``if_generation``: write only if the store's generation is still that one, else raise
        :class:`StoreChanged` with nothing written (``then`` was computed from what the store held
        then); a store without generations (a remote engine) writes regardless. ``recount``: other
        graphs the write changes (those ``then`` writes), whose recorded sizes are renewed like
        those of ``graphs`` (graph.store.sizes). ``checked``: the graphs' N-Triples were read by a
        strict RDF parser already (an import's validation store, graph.shacl_sparql), so a store
        may skip its own IRI and language-tag checks. ``additions``: N-Triples rows to add to
        existing graphs in the same write (the summary's new edges; a row the graph holds already
        stays as it is), without blank nodes."""

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

    @contextmanager
    def preloading(self, *, checked: bool = False) -> Iterator[Preloading]:
        """This store for one write prepared in steps (an import of several files): its new graphs
        may be loaded while the rest is prepared (:meth:`Preloading.preload`), then the write is
        :meth:`replace_graphs` on what this yields, and leaving the block without it leaves the
        store as it was. Reads through what this yields see the store as it was before the write,
        and may see the graphs offered to it (only what they had not held: nothing the store held
        is changed or hidden before the write's commit); ``named_graphs()`` lists the graphs there were.
        ``checked``: as :meth:`replace_graphs`' (the graphs offered are loaded with it). Only the
        embedded store loads anything early (graph.store.preloading); here it is the write as usual."""
        yield Preloading(self)

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

    def replace_graphs(self, graphs: Mapping[str, Graph | None], *, then: str = "",
                       if_generation: str | None = None, recount: Sequence[str] = (),
                       checked: bool = False, additions: Mapping[str, str] | None = None) -> None:
        self.inner.replace_graphs(graphs, then=then, if_generation=if_generation, recount=recount,
                                  checked=checked, additions=additions)

    def dataset(self) -> Dataset:
        return self.inner.dataset()

    def dump_nquads(self) -> bytes:
        return self.inner.dump_nquads()

    def recover(self) -> list[str]:
        return self.inner.recover()

    def close(self) -> None:
        pass


class Preloading(StoreWrapper):
    """The store for one write prepared in steps (:meth:`Store.preloading`); this one loads nothing
    before the write itself."""

    def preload(self, name: str, graph: Graph, ready: Callable[[], bool]) -> None:
        """``graph``, final now, will be written as ``name`` by this write: a store may load it
        once ``ready()`` (called in another thread; it may wait) says it may be written."""

    def offered_all(self) -> None:
        """Every graph the write will preload has been offered."""
