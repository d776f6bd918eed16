"""The in-memory graph a CSV import is mapped into.

rdflib's default store (``Memory``) keeps contexts beside three indexes; an import graph has
none, and rdflib's ``SimpleMemory`` (the three indexes only) adds and reads triples about twice
as fast: mapping a 1,000-row wave 1.4 -> 0.7 s, its later reads (N-Triples, derived edges, the
summary's changes) likewise. But its ``len()`` walks every triple (0.1 s for 117,000, and an
import asks several times), so this one keeps a count; and since an import graph is written as
N-Triples twice, for the validation and again with its derived edges for the write, it keeps the
text of what it has already written (:meth:`CountingMemory.ntriples`).
"""

from __future__ import annotations

from itertools import islice

from rdflib import Graph
from rdflib.plugins.stores.memory import SimpleMemory

from graph.store.terms import TermTexts, ntriples_rows


class CountingMemory(SimpleMemory):
    """``SimpleMemory`` that knows its size: its triples are kept beside the indexes, in the order
    they were added, with the N-Triples text of the first ``_written`` of them."""

    def __init__(self) -> None:
        super().__init__()
        self._triples: dict = {}  # a dict for its order: triple -> None
        self._text: list[str] = []
        self._written = 0
        self._terms: TermTexts = TermTexts()

    def add(self, triple, context, quoted=False) -> None:  # type: ignore[no-untyped-def]
        if triple not in self._triples:
            self._triples[triple] = None
            super().add(triple, context, quoted)

    def remove(self, triple_pattern, context=None) -> None:  # type: ignore[no-untyped-def]
        for triple, _contexts in list(self.triples(triple_pattern)):
            if self._triples.pop(triple, False) is None:
                self._text, self._written = [], 0  # the text written holds it: written again when asked
            super().remove(triple, context)

    def __len__(self, context=None) -> int:  # type: ignore[no-untyped-def]
        return len(self._triples)

    def ntriples(self) -> str:
        """The graph as N-Triples (graph.store.terms.ntriples), in the order the triples were
        added; only the triples added since the last call are formatted."""
        if self._written < len(self._triples):
            self._text.append(ntriples_rows(islice(self._triples, self._written, None), self._terms))
            self._written = len(self._triples)
        if len(self._text) > 1:
            self._text = ["".join(self._text)]
        return self._text[0] if self._text else ""


def import_graph() -> Graph:
    """A new, empty graph for mapped import data."""
    return Graph(store=CountingMemory())
