"""Query results kept until the store's next write.

The service answers the same saved queries over and over (a page, its JSON twin, a researcher's
notebook polling an endpoint) while the data changes only when someone imports or writes. A store
that can say when its content changed (``Store.generation()``: the embedded store's write counter,
shared by every process that opens the store) lets those answers be kept exactly as long as they
are right: the cache is emptied as soon as the generation moves, whoever wrote. A store that
cannot say (a remote engine, written by others) gets no cache at all.

Only SELECT and ASK results are kept (a CONSTRUCT's rdflib Graph is mutable), up to a total number
of rows and of bytes (graph.results.term_bytes), least recently used first out; a result larger
than a quarter of either is never kept.
Errors and timeouts are never kept. ``bypassing()`` runs queries uncached (the service uses it for
requests that send ``Cache-Control: no-cache``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from rdflib.term import Node

from graph.results import AskResult, QueryResult, SelectResult
from graph.store.base import QueryDataset, Store, StoreWrapper, Write

cache_bypass: ContextVar[bool] = ContextVar("clusterkg_result_cache_bypass", default=False)


@contextmanager
def bypassing() -> Iterator[None]:
    """Queries in this context (thread, request) neither read nor fill the cache."""
    token = cache_bypass.set(True)
    try:
        yield
    finally:
        cache_bypass.reset(token)


def _size(result: QueryResult) -> tuple[int, int] | None:
    """(rows, bytes) of a result that may be kept."""
    if isinstance(result, SelectResult):
        return max(1, result.row_count), result.size_bytes
    if isinstance(result, AskResult):
        return 1, result.size_bytes
    return None


class CachedStore(StoreWrapper):
    """``inner`` with its query results kept until its generation changes."""

    def __init__(self, inner: Store, max_rows: int, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        super().__init__(inner)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[QueryResult, tuple[int, int]]] = OrderedDict()
        self._rows = 0
        self._bytes = 0
        self._generation: str | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        generation = self.inner.generation()
        if not generation or cache_bypass.get():
            return self.inner.query(sparql, bindings, max_rows=max_rows, dataset=dataset)
        key = (sparql, tuple(sorted((k, v.n3()) for k, v in (bindings or {}).items())), max_rows, dataset)
        with self._lock:
            if generation != self._generation:
                self._clear(generation)
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
            self.misses += 1
        result = self.inner.query(sparql, bindings, max_rows=max_rows, dataset=dataset)
        size = _size(result)
        # kept only if nobody wrote while it ran (else it may describe the store before the write)
        if size is not None and size[0] <= self.max_rows // 4 and size[1] <= self.max_bytes // 4 \
                and self.inner.generation() == generation:
            with self._lock:
                if generation == self._generation and key not in self._entries:
                    self._entries[key] = (result, size)
                    self._rows += size[0]
                    self._bytes += size[1]
                    while self._rows > self.max_rows or self._bytes > self.max_bytes:
                        _, (_, (rows, size_bytes)) = self._entries.popitem(last=False)
                        self._rows -= rows
                        self._bytes -= size_bytes
        return result

    @property
    def size_bytes(self) -> int:
        """What the kept results count (graph.results.term_bytes)."""
        return self._bytes

    def _clear(self, generation: str | None) -> None:
        self._entries.clear()
        self._rows = 0
        self._bytes = 0
        self._generation = generation

    @contextmanager
    def writing(self, *, trusted: bool = False) -> Iterator[Write]:
        try:
            with self.inner.writing(trusted=trusted) as write:
                yield write
        finally:
            with self._lock:
                self._clear(None)

    def close(self) -> None:
        """Empty the cache; the inner store belongs to whoever opened it."""
        with self._lock:
            self._clear(None)
