"""One write to a store, as an object: what it changes is gathered, then applied at once.

``with store.writing() as write:`` yields a :class:`Write`. Inside the block the caller reads the
store through the write and tells it what to change: ``put`` a graph (replacing the one of that
name; ``None`` drops it), ``add_rows`` to a graph, ``update`` by SPARQL, and ``before_commit``
steps. Leaving the block commits: every ``ready`` of the graphs put is awaited (outside the
store's write lock), then, under the lock, the steps run in order (they read the store as it is
then, may add to the write, or refuse it by raising), then the store applies every change in one
transaction. An exception anywhere leaves the store as it was.

What each backend does with a write is its own business (the embedded store may load big new
graphs before the commit, :mod:`graph.store.embedded_write`); callers see only this object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from rdflib import Graph
from rdflib.term import Node

from graph.store.errors import StoreError

if TYPE_CHECKING:
    from graph.results import QueryResult
    from graph.store.base import QueryDataset

Step = Callable[["Write"], None]
Ready = Callable[[], bool]


class Reads(Protocol):
    """What a store offers for reading (what a write's reads go to)."""

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult: ...

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]: ...

    def named_graphs(self) -> list[str]: ...

    def get_graph(self, name: str) -> Graph: ...


class Write:
    """One write (see the module). ``trusted``: the graphs' text was read by a strict RDF parser
    already (an import's validation), so a store may skip its own IRI and language-tag checks.
    ``offer``: how the store hears of each graph put with a ``ready`` (to load it early)."""

    def __init__(self, reads: Reads, *, trusted: bool = False,
                 offer: Callable[[str, Graph, Ready], None] | None = None) -> None:
        self.trusted = trusted
        self._reads: Reads | None = reads
        self._offer = offer
        self._graphs: dict[str, Graph | None] = {}
        self._ready: list[Ready] = []
        self._rows: dict[str, list[str]] = {}
        self._updates: list[str] = []
        self._touched: list[str] = []
        self._steps: list[Step] = []
        self._all_ready = True
        self._committing = False

    # -- reads: the store as the write found it (at the commit: as it is under the lock) ---------------
    def _reader(self) -> Reads:
        if self._reads is None:
            raise StoreError("this write is over; read the store itself")
        return self._reads

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        return self._reader().query(sparql, bindings, max_rows=max_rows, dataset=dataset)

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        return self._reader().select_texts(sparql)

    def named_graphs(self) -> list[str]:
        return self._reader().named_graphs()

    def get_graph(self, name: str) -> Graph:
        return self._reader().get_graph(name)

    # -- changes -------------------------------------------------------------------------------------
    def put(self, name: str, graph: Graph | None, ready: Ready | None = None) -> None:
        """``name`` becomes ``graph`` (``None`` or empty: dropped). ``ready`` (which may wait, and is
        called in another thread) says whether the graph may be written: the commit waits for it
        and refuses the write if it says no; until then the store may load the graph ahead."""
        self._open()
        if name in self._graphs:
            raise ValueError(f"the graph {name} is put twice in one write")
        self._graphs[name] = graph
        if ready is not None:
            self._ready.append(ready)
            if self._offer is not None and graph is not None:
                self._offer(name, graph, ready)

    def add_rows(self, name: str, ntriples: str) -> None:
        """N-Triples rows added to the graph ``name`` (a row it holds already stays as it is)."""
        self._open()
        if ntriples:
            self._rows.setdefault(name, []).append(ntriples if ntriples.endswith("\n") else ntriples + "\n")

    def update(self, sparql: str, touches: Sequence[str] = ()) -> None:
        """A SPARQL update run after the graphs are put, in the same transaction; ``touches``: the
        graphs it changes (the store renews what it records of them, graph.store.sizes)."""
        self._open()
        if sparql:
            self._updates.append(sparql)
        self._touched += [name for name in touches if name not in self._touched]

    def before_commit(self, step: Step) -> None:
        """``step(write)`` runs at the commit, under the store's write lock, after the steps
        registered before it."""
        if self._committing:
            raise StoreError("a step cannot be added while the write commits")
        self._open()
        self._steps.append(step)

    def _open(self) -> None:
        if self._reads is None:
            raise StoreError("this write is over; nothing more can be added to it")

    # -- what the store applies (the backends' side) ------------------------------------------------------
    @property
    def graphs(self) -> Mapping[str, Graph | None]:
        """The graphs put, by name."""
        return MappingProxyType(self._graphs)

    def rows(self) -> dict[str, str]:
        """The rows added, by graph."""
        return {name: "".join(parts) for name, parts in self._rows.items()}

    def sparql_update(self) -> str:
        """The updates, in order, as one SPARQL update."""
        return " ;\n".join(self._updates)

    def touched(self) -> list[str]:
        return list(self._touched)

    def is_empty(self) -> bool:
        """Nothing to do: no change and no step."""
        return not (self._graphs or self._rows or self._updates or self._touched or self._steps)

    def wait_until_ready(self) -> None:
        """Every ``ready`` of the graphs put, awaited (before the store takes its write lock)."""
        self._all_ready = all([ready() for ready in self._ready])

    def run_steps(self, reads: Reads) -> None:
        """The ``before_commit`` steps, reading ``reads`` (the store under its write lock); then a
        graph that was not ready refuses the write, if no step refused it first."""
        self._reads = reads
        self._committing = True
        for step in self._steps:
            step(self)
        if not self._all_ready:
            raise StoreError("a graph of this write was not ready to be written; nothing was written")

    def close(self) -> None:
        """The write is over (committed or not): nothing more reads or changes through it."""
        self._reads = None
