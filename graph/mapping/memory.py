"""The in-memory graph a CSV import is mapped into.

rdflib's default store (``Memory``) keeps contexts beside three indexes; an import graph has
none, and rdflib's ``SimpleMemory`` (the three indexes only) adds and reads triples about twice
as fast: mapping a 1,000-row wave 1.4 -> 0.7 s, its later reads (N-Triples, derived edges, the
summary's changes) likewise. But its ``len()`` walks every triple (0.1 s for 117,000, and an
import asks several times), so this one keeps a count.
"""

from __future__ import annotations

from rdflib import Graph
from rdflib.plugins.stores.memory import SimpleMemory


class CountingMemory(SimpleMemory):
    """``SimpleMemory`` that knows its size: the set of its triples is kept beside the indexes."""

    def __init__(self) -> None:
        super().__init__()
        self._triples: set = set()

    def add(self, triple, context, quoted=False) -> None:  # type: ignore[no-untyped-def]
        if triple not in self._triples:
            self._triples.add(triple)
            super().add(triple, context, quoted)

    def remove(self, triple_pattern, context=None) -> None:  # type: ignore[no-untyped-def]
        for triple, _contexts in list(self.triples(triple_pattern)):
            self._triples.discard(triple)
            super().remove(triple, context)

    def __len__(self, context=None) -> int:  # type: ignore[no-untyped-def]
        return len(self._triples)


def import_graph() -> Graph:
    """A new, empty graph for mapped import data."""
    return Graph(store=CountingMemory())
