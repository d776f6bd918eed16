"""Query results kept until the store's next write.

The service answers the same saved queries over and over (a page, its JSON twin, a researcher's
notebook polling an endpoint) while the data changes only when someone imports or writes. A store
that can say when its content changed (``Store.generation()``) lets those answers be kept exactly
as long as they are right (graph.until_written: emptied as soon as the generation moves, whoever
wrote); a store that cannot say (a remote engine, written by others) gets no cache at all.

Only SELECT and ASK results are kept (a CONSTRUCT's rdflib Graph is mutable), up to a total number
of rows and of bytes (graph.results.term_bytes), least recently used first out; a result larger
than a quarter of either is never kept.
Errors and timeouts are never kept. ``bypassing()`` runs queries uncached (the service uses it for
requests that send ``Cache-Control: no-cache``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from rdflib.term import Node

from graph.results import AskResult, QueryResult, SelectResult
from graph.store.base import QueryDataset, Store, StoreWrapper, Write
from graph.until_written import UntilWritten

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
    """``inner`` with its query results kept until its generation changes (graph.until_written)."""

    def __init__(self, inner: Store, max_rows: int, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        super().__init__(inner)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._results: UntilWritten[tuple, QueryResult] = UntilWritten((max_rows, max_bytes), _size)

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        def run() -> QueryResult:
            return self.inner.query(sparql, bindings, max_rows=max_rows, dataset=dataset)

        if cache_bypass.get():
            return run()
        key = (sparql, tuple(sorted((k, v.n3()) for k, v in (bindings or {}).items())), max_rows, dataset)
        return self._results.get(key, run, lambda: self.inner.generation() or None)

    @property
    def hits(self) -> int:
        return self._results.hits

    @property
    def misses(self) -> int:
        return self._results.misses

    @property
    def size_bytes(self) -> int:
        """What the kept results count (graph.results.term_bytes)."""
        return self._results.weights()[1]

    @contextmanager
    def writing(self, *, trusted: bool = False) -> Iterator[Write]:
        try:
            with self.inner.writing(trusted=trusted) as write:
                yield write
        finally:
            self._results.clear()

    def close(self) -> None:
        """Empty the cache; the inner store belongs to whoever opened it."""
        self._results.clear()
