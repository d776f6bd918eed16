"""What a store raises; the messages are meant for the user."""

from __future__ import annotations


class StoreError(Exception):
    """A store refused or failed an operation; the message is meant for the user."""


class StoreUnavailable(StoreError):
    """The store cannot be opened or reached (locked, down, missing)."""


class QueryTimeout(StoreError):
    """A query ran past the time limit and was stopped."""


class QueryAborted(StoreError):
    """A query was stopped for another limit (memory) or because its worker died."""


class StoreBusy(StoreError):
    """Every query worker is busy; the client should retry later."""


class TooManyQueries(StoreBusy):
    """The client has a heavy query running, or as many queries as there are workers (graph.store.sandbox)."""
