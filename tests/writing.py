"""A write in one call, for tests that make one of a given shape (graph.store.write)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rdflib import Graph

from graph.store import Store


def commit(store: Store, graphs: Mapping[str, Graph | None] | None = None, *, update: str = "",
           touches: Sequence[str] = (), rows: Mapping[str, str] | None = None, trusted: bool = False) -> None:
    """One write of ``store``: ``graphs`` put, then ``update`` (changing ``touches``), ``rows`` added."""
    with store.writing(trusted=trusted) as write:
        for name, graph in (graphs or {}).items():
            write.put(name, graph)
        write.update(update, touches)
        for name, text in (rows or {}).items():
            write.add_rows(name, text)
