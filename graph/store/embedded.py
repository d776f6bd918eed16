"""The embedded store: a persistent pyoxigraph (RocksDB) store in a directory.

Why on disk rather than in memory with snapshots: opening the on-disk store is instant while
loading the same quads into memory takes seconds at every start (a cold start the service cannot
afford), and queries run at the same speed on both (docs/architecture.md, docs/performance.md).
RocksDB gives durable, atomic transactions for free.

Reads go through a read-only handle and writes open the store read-write only for the time of the
write (see :mod:`graph.store.lockfile`), so any number of processes — the service, its query
workers, the command line — can use one store at the same time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
from rdflib import Dataset, Graph
from rdflib.term import Node

from graph.results import QueryResult
from graph.store import bulkwrite, sizes
from graph.store.base import QueryDataset, Store, Write
from graph.store.embedded_write import EmbeddedWrite
from graph.store.handle_reads import encode_answer, graph_of, materialise, run_query, term_texts
from graph.store.store_files import StoreFiles

T = TypeVar("T")

_SIZES_LINE_END = f" <{sizes.SIZES_GRAPH}> .\n".encode()  # the end of an N-Quads line of a size record


class EmbeddedStore(Store):
    """A pyoxigraph store in ``path``; its default graph for queries is the union of all graphs.

    ``read_only`` refuses writes and requires an existing store; otherwise the store is created
    if missing. ``confined``: this process reaches only the allowed SERVICE endpoints (a query
    worker, graph.egress), so a query's text is checked for them only as a courtesy; otherwise
    strictly (graph.guard).
    """

    def __init__(self, path: Path, *, read_only: bool = False,
                 allowed_services: frozenset[str] = frozenset(), confined: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.allowed_services = allowed_services
        self.confined = confined
        self._files = StoreFiles(self.path, read_only=read_only)
        self._identity = str(self.path.resolve())  # asked on every request (the caches' keys)

    def identity(self) -> str | None:
        return self._identity

    def location(self) -> dict[str, object]:
        return {"store_path": self.path, "endpoint": None, "update_endpoint": None, "graph_store": None}

    def generation(self) -> str | None:
        """The lock file's write generation (graph.store.lockfile): new after every write."""
        return self._files.generation()

    # -- reads ------------------------------------------------------------------------------
    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        return self._query(sparql, bindings, lambda result: materialise(result, max_rows), dataset)

    def query_encoded(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
                      max_rows: int | None = None, max_bytes: int | None = None,
                      dataset: QueryDataset | None = None) -> tuple:
        """The query's result in a form that crosses a process boundary cheaply, for the sandbox's
        workers: a SELECT's rows as tuples of strings (no rdflib terms to pickle and rebuild one by
        one, the larger part of a large answer's cost); :func:`decode_result` turns it into ours."""
        return self._query(sparql, bindings, lambda result: encode_answer(result, max_rows, max_bytes), dataset)

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        """(Store.select_texts) Oxigraph's own N-Triples form of each term: no rdflib terms made."""
        return self._query(sparql, None, term_texts)

    def _query(self, sparql: str, bindings: Mapping[str, Node] | None, read: Callable[[object], T],
               dataset: QueryDataset | None = None) -> T:
        with self._files.reading() as handle:
            return run_query(handle, sparql, bindings, read, self.allowed_services, strict=not self.confined,
                             dataset=dataset)

    def stored_triples(self) -> int:
        """What the store holds, by its recorded graph sizes."""
        with self._files.reading() as handle:
            return bulkwrite.stored_triples(handle)

    def named_graphs(self) -> list[str]:
        with self._files.reading() as handle:
            return sorted(g.value for g in handle.named_graphs()
                          if isinstance(g, ox.NamedNode) and g.value != sizes.SIZES_GRAPH)

    def get_graph(self, name: str) -> Graph:
        with self._files.reading() as handle:
            return graph_of(handle, name)

    def dataset(self) -> Dataset:
        ds = Dataset()
        data = self.dump_nquads()
        if data:
            ds.parse(data=data, format="nquads")
        return ds

    def dump_nquads(self) -> bytes:
        """Every quad as N-Quads, read from one snapshot; not the recorded sizes (graph.store.sizes),
        which the store that loads the quads records itself."""
        with self._files.reading() as handle:
            data = handle.dump(format=ox.RdfFormat.N_QUADS) or b""
        if _SIZES_LINE_END in data:
            data = b"".join(line for line in data.splitlines(keepends=True) if not line.endswith(_SIZES_LINE_END))
        return data

    # -- writes -----------------------------------------------------------------------------
    @contextmanager
    def writing(self, *, trusted: bool = False) -> Iterator[Write]:
        """(Store.writing) Committed under the store's write lock in one transaction; big new
        graphs put with a ``ready`` may be bulk-loaded while the rest of the write is prepared
        (graph.store.embedded_write). ``trusted``: new graphs are bulk-loaded without Oxigraph's
        IRI checks (a large share of the loader's time), their text having been parsed strictly."""
        embedded = EmbeddedWrite(self._files, self, self.allowed_services, trusted=trusted)
        try:
            yield embedded.write
            embedded.commit()
        except BaseException as exc:
            embedded.give_up(exc)
            raise
        finally:
            embedded.write.close()

    def recover(self) -> list[str]:
        """Opening read-write replays RocksDB's log of a write that a crash interrupted, and an
        interrupted bulk write is finished or undone; returns the graphs rolled back."""
        return [] if self.read_only else self._files.recover()

    def close(self) -> None:
        self._files.close()
