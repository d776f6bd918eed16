"""The in-memory graph an import is mapped into (:class:`ImportGraph`).

An import graph is written once (mapped, then its derived edges and provenance added) and read
by predicate: the responses' clusters, the answers' options, the types of what it refers to. So
its store keeps one index, predicate -> subject -> objects, beside the triples in the order they
were added, where rdflib's stores keep three (``SimpleMemory``) or three and the contexts
(``Memory``): adding a wave's mapped triples through ``Graph.add`` costs more than the mapping,
most of it the three indexes and ``Graph.add``'s checks of every term against rdflib's abstract
``Node`` class; :meth:`ImportGraph.add` skips those checks. ``len()`` is the size of the
triples kept (``SimpleMemory`` walks every triple). And since an import graph is written as
N-Triples twice, for the validation and again with its derived edges for the write, it keeps the
text of what it has already written (:meth:`ImportGraph.ntriples`, which
graph.rdftext.ntriples answers with for an import graph).

The fast ways in and out are the type's own methods, which the code that builds or reads an
import graph asks for by taking an :class:`ImportGraph`; any other code sees an rdflib Graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from rdflib import Graph
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Node

from graph.rdftext import TermTexts, ntriples, ntriples_rows

Triple = tuple[Node, Node, Node]
_NO_CONTEXTS: tuple = ()


class ImportMemory(SimpleMemory):
    """An rdflib store of one graph: its triples in the order they were added, indexed by
    predicate and subject, with the N-Triples text of the first ``_written`` of them. (A subclass
    of ``SimpleMemory`` for its namespace bindings; its own indexes stay empty.)"""

    def __init__(self) -> None:
        super().__init__()
        self._triples: dict[Triple, None] = {}  # a dict for its order
        self._by_predicate: dict[Node, dict[Node, list[Node]]] = {}
        self._text: list[str] = []
        self._written = 0
        self._terms: TermTexts = TermTexts()

    def add_triple(self, triple: Triple) -> None:
        """Add ``triple`` (three rdflib terms, unchecked: the mapping makes them)."""
        if triple not in self._triples:
            self._triples[triple] = None
            s, p, o = triple
            by_subject = self._by_predicate.get(p)
            if by_subject is None:
                by_subject = self._by_predicate[p] = {}
            objects = by_subject.get(s)
            if objects is None:
                by_subject[s] = [o]
            else:
                objects.append(o)

    def add(self, triple, context=None, quoted=False) -> None:  # type: ignore[no-untyped-def,override]
        self.add_triple(triple)

    def remove(self, triple_pattern, context=None) -> None:  # type: ignore[no-untyped-def]
        removed = list(self.triples(triple_pattern))
        for triple, _contexts in removed:
            del self._triples[triple]
            s, p, o = triple
            objects = self._by_predicate[p][s]
            objects.remove(o)
            if not objects:
                del self._by_predicate[p][s]
        if removed:
            self._text, self._written = [], 0  # the text written may hold them: written again when asked

    def subject_objects(self, predicate: Node) -> list[tuple[Node, Node]]:
        """Every (subject, object) of ``predicate``, from the index (see :func:`pairs`)."""
        return [(s, o) for s, objects in self._by_predicate.get(predicate, {}).items() for o in objects]

    def triples(self, triple_pattern, context=None) -> Iterator:  # type: ignore[no-untyped-def,override]
        """The triples matching the pattern, each with no context (what rdflib's stores yield). Each
        level is read from a copy, so the graph may change while the triples are read."""
        s, p, o = triple_pattern
        if s is not None and p is not None and o is not None:
            if (s, p, o) in self._triples:
                yield (s, p, o), _NO_CONTEXTS
            return
        if s is None and p is None and o is None:
            for triple in list(self._triples):
                yield triple, _NO_CONTEXTS
            return
        predicates = [p] if p is not None else list(self._by_predicate)
        for predicate in predicates:
            by_subject = self._by_predicate.get(predicate)
            if not by_subject:
                continue
            if s is not None:
                items = [(s, by_subject[s])] if s in by_subject else []
            else:
                items = list(by_subject.items())
            for subject, objects in items:
                for obj in list(objects):
                    if o is None or obj == o:
                        yield (subject, predicate, obj), _NO_CONTEXTS

    def __len__(self, context=None) -> int:  # type: ignore[no-untyped-def]
        return len(self._triples)

    def ntriples(self) -> str:
        """The graph as N-Triples (graph.rdftext.ntriples), in the order the triples were
        added; only the triples added since the last call are formatted."""
        if self._written < len(self._triples):
            self._text.append(ntriples_rows(islice(self._triples, self._written, None), self._terms))
            self._written = len(self._triples)
        if len(self._text) > 1:
            self._text = ["".join(self._text)]
        return self._text[0] if self._text else ""


class ImportGraph(Graph):
    """An rdflib Graph in an :class:`ImportMemory`: an import's mapped data, its derived edges and
    its provenance. It answers rdflib's own calls the fast way: ``add`` without ``Graph.add``'s
    checks of each term's class (the mapping and rdflib's parsers make the terms),
    ``subject_objects(predicate)`` from the index, and graph.rdftext.ntriples from the text kept."""

    def __init__(self) -> None:
        self.memory = ImportMemory()
        super().__init__(store=self.memory)

    def add(self, triple: Triple) -> ImportGraph:  # type: ignore[override]
        self.memory.add_triple(triple)
        return self

    def subject_objects(self, predicate=None, unique=False):  # type: ignore[no-untyped-def,override]
        """Every (subject, object) of ``predicate``, from the index (three generators fewer a triple
        than rdflib's: derived edges and the summary's changes read most of a wave)."""
        if predicate is None or unique:
            return super().subject_objects(predicate, unique)
        return iter(self.memory.subject_objects(predicate))

    def ntriples(self) -> str:
        """The graph as N-Triples, in the order the triples were added (:meth:`ImportMemory.ntriples`)."""
        return self.memory.ntriples()


@ntriples.register(ImportGraph)
def _import_graph_ntriples(graph: ImportGraph) -> str:
    return graph.ntriples()
