"""Stores: the only code that talks to an RDF engine."""

from __future__ import annotations

from graph.config import Settings
from graph.store.base import (
    QueryAborted,
    QueryDataset,
    QueryTimeout,
    Store,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    TooManyQueries,
    Write,
)

__all__ = ["QueryAborted", "QueryDataset", "QueryTimeout", "Store", "StoreBusy", "StoreError",
           "StoreUnavailable", "TooManyQueries", "Write",
           "open_store", "with_confined_queries", "with_query_limits", "with_result_cache"]


def open_store(settings: Settings, *, read_only: bool = False, confined: bool = False) -> Store:
    """The store the settings select: a remote engine if an endpoint is set, else the embedded one.
    ``confined``: this process reaches only the allowed SERVICE endpoints (graph.egress)."""
    if settings.endpoint:
        from graph.store.remote import RemoteStore

        return RemoteStore(settings)
    from graph.store.embedded import EmbeddedStore

    return EmbeddedStore(settings.store_path, read_only=read_only, allowed_services=settings.service_allowlist,
                         confined=confined)


def with_query_limits(store: Store, settings: Settings) -> Store:
    """The store as the service must use it: every query bounded by the settings' time limit.

    The embedded store's queries move to worker processes that are killed at the deadline (unless
    ``query_workers`` is 0); a remote engine's queries get the deadline as their HTTP timeout.
    The returned store's ``close()`` stops what this added, not ``store`` itself.
    """
    from graph.store.embedded import EmbeddedStore
    from graph.store.remote import RemoteStore

    if isinstance(store, EmbeddedStore) and settings.query_workers > 0:
        from graph.store.sandbox import Limits, SandboxedStore

        return SandboxedStore(store, Limits(timeout=settings.query_timeout, memory_mb=settings.query_memory_mb or None,
                                            answer_bytes=settings.max_answer_mb * 1024 * 1024 or None,
                                            workers=settings.query_workers, queue_timeout=settings.queue_timeout))
    if isinstance(store, RemoteStore):
        store.query_timeout_s = settings.query_timeout
        store.answer_bytes = settings.max_answer_mb * 1024 * 1024 or None
    return store


def with_confined_queries(store: Store) -> Store:
    """The store for queries someone else wrote (the command line's ``sparql`` and ``query``):
    on the embedded store they run in a worker that reaches only the allowed SERVICE endpoints
    (graph.egress), with no time or memory limit of the service's; a remote engine is checked as
    always (graph.guard). ``close()`` stops the worker, not ``store``."""
    from graph.store.embedded import EmbeddedStore

    if not isinstance(store, EmbeddedStore):
        return store
    from graph.store.sandbox import Limits, SandboxedStore

    return SandboxedStore(store, Limits(timeout=None, memory_mb=None, answer_bytes=None, workers=1, heavy_after=None))


def with_result_cache(store: Store, settings: Settings) -> Store:
    """``store`` with its query results kept until its next write (graph.store.cache), unless the
    settings turn the cache off or the store cannot tell when it was written."""
    if settings.result_cache_rows <= 0 or settings.result_cache_mb <= 0 or store.generation() is None:
        return store
    from graph.store.cache import CachedStore

    return CachedStore(store, settings.result_cache_rows, max_bytes=settings.result_cache_mb * 1024 * 1024)
