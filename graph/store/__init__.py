"""Stores: the only code that talks to an RDF engine."""

from __future__ import annotations

from graph.config import Settings
from graph.store.base import Store, StoreError, StoreUnavailable

__all__ = ["Store", "StoreError", "StoreUnavailable", "open_store"]


def open_store(settings: Settings, *, read_only: bool = False) -> Store:
    """The store the settings select: a remote engine if an endpoint is set, else the embedded one."""
    if settings.endpoint:
        from graph.store.remote import RemoteStore

        return RemoteStore(settings)
    from graph.store.embedded import EmbeddedStore

    return EmbeddedStore(settings.store_path, read_only=read_only, allowed_services=settings.service_allowlist)
