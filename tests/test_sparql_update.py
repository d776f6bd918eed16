"""SPARQL Update as maintainers run it (graph.writes over graph.sparql_update), beyond the W3C
suite (tests/test_w3c_update.py): only the graphs an update changes are read, blank nodes are
matched as the store holds them, later operations see earlier ones, and a write that another
write overtook is refused whole. On every backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef

from graph.config import Settings
from graph.sparql_update import GraphKey, MemorySource, Rows, WhereDataset, evaluate
from graph.store import Store, Write
from graph.store.base import StoreWrapper
from graph.writes import GraphWriter, WriteConflict

from .conftest import quads_of

EX = "https://example.org/update-test/"
G1, G2, G3 = EX + "g1", EX + "g2", EX + "g3"
P, Q = URIRef(EX + "p"), URIRef(EX + "q")


class Counting:
    """A source that says what was read of it."""

    def __init__(self, inner: MemorySource) -> None:
        self.inner = inner
        self.union_default = inner.union_default
        self.read: list[GraphKey] = []
        self.selects = 0

    def select(self, sparql: str, dataset: WhereDataset, limit: int) -> Rows:
        self.selects += 1
        return self.inner.select(sparql, dataset, limit)

    def triples(self, graph: GraphKey) -> set[ox.Triple]:
        self.read.append(graph)
        return self.inner.triples(graph)

    def graph_names(self) -> set[str]:
        return self.inner.graph_names()


def _memory(graphs: dict[str, int]) -> ox.Store:
    store = ox.Store()
    for name, size in graphs.items():
        store.extend(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(str(P)), ox.Literal(str(i)), ox.NamedNode(name))
                     for i in range(size))
    return store


def test_an_update_reads_the_graphs_it_changes_and_no_other() -> None:
    source = Counting(MemorySource(_memory({G1: 5, G2: 1000, G3: 1000}), union_default=True))
    result = evaluate(f"DELETE {{ GRAPH <{G1}> {{ ?s <{P}> ?o }} }} INSERT {{ GRAPH <{G1}> {{ ?s <{Q}> ?o }} }} "
                      f"WHERE {{ GRAPH <{G1}> {{ ?s <{P}> ?o }} FILTER(?o != \"0\") }}", source)
    assert source.read == [G1] and source.selects == 1
    assert len(result.after[G1]) == 5 and len(result.before[G1]) == 5
    assert sum(str(t.predicate.value) == str(Q) for t in result.after[G1]) == 4


def test_a_later_operation_sees_what_an_earlier_one_did() -> None:
    source = Counting(MemorySource(_memory({G1: 2, G2: 3}), union_default=True))
    result = evaluate(f"INSERT DATA {{ GRAPH <{G1}> {{ <{EX}new> <{P}> \"9\" }} }} ;\n"
                      f"INSERT {{ GRAPH <{G3}> {{ ?s <{Q}> ?o }} }} USING <{G1}> WHERE {{ ?s <{P}> ?o }}", source)
    assert {t.object.value for t in result.after[G3]} == {"0", "1", "9"}
    assert G2 not in source.read  # the second WHERE reads only the graph its USING names


def test_one_operation_deletes_before_it_inserts() -> None:
    """SPARQL 1.1 Update 3.1.3: a triple both deleted and inserted by one operation is there after it."""
    source = MemorySource(_memory({G1: 2}), union_default=True)
    result = evaluate(f"DELETE {{ GRAPH <{G1}> {{ ?s <{P}> ?o }} }} INSERT {{ GRAPH <{G1}> {{ ?s <{P}> ?o }} }} "
                      f"WHERE {{ GRAPH <{G1}> {{ ?s <{P}> ?o }} }}", source)
    assert result.after == {}  # nothing changed


@pytest.fixture
def writer(store: Store, settings: Settings) -> GraphWriter:
    return GraphWriter(store, settings)


def _graph(*triples: tuple) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def test_a_blank_node_matched_by_the_where_is_the_one_deleted(writer: GraphWriter, store: Store) -> None:
    kept, gone = BNode(), BNode()
    writer.put(G1, _graph((kept, P, Literal("kept")), (gone, P, Literal("gone")), (gone, Q, Literal("also gone"))))
    # as the store holds it: a blank node, or the IRI a store that skolemises gave it (Virtuoso's)
    held = store.get_graph(G1).value(predicate=P, object=Literal("kept"))
    writer.update(f'DELETE {{ GRAPH <{G1}> {{ ?b ?p ?o }} }} WHERE {{ GRAPH <{G1}> {{ ?b <{P}> "gone" ; ?p ?o }} }}')
    left = list(store.get_graph(G1))  # the graph is written anew: isomorphic, its blank nodes relabelled
    assert [(p, o) for _, p, o in left] == [(P, Literal("kept"))] and type(left[0][0]) is type(held)


def test_an_update_never_copies_the_store(store: Store, settings: Settings) -> None:
    class NoDump(StoreWrapper):
        def dump_nquads(self) -> bytes:
            raise AssertionError("the whole store was read")

        def dataset(self):
            raise AssertionError("the whole store was read")

    writer = GraphWriter(NoDump(store), settings)
    outcome = writer.update(f"INSERT DATA {{ GRAPH <{G2}> {{ <{EX}a> <{P}> 1 }} }} ; "
                            f"INSERT {{ GRAPH <{G2}> {{ ?s <{Q}> ?o }} }} WHERE {{ GRAPH <{G2}> {{ ?s <{P}> ?o }} }}")
    assert outcome.changed == [G2] and outcome.triples == {G2: 2}


def test_a_write_overtaken_by_another_is_refused_whole(store: Store, settings: Settings) -> None:
    GraphWriter(store, settings).put(G1, _graph((URIRef(EX + "a"), P, Literal("1"))))

    class Overtaken(StoreWrapper):
        """Another write commits after the caller's block, before the caller's commit."""

        overtaken = 0

        @contextmanager
        def writing(self, *, trusted: bool = False) -> Iterator[Write]:
            with self.inner.writing(trusted=trusted) as write:
                yield write
                self.overtaken += 1
                self.inner.replace_graphs({G1: _graph((URIRef(EX + "b"), P, Literal(self.overtaken)))})

    before = None
    writer = GraphWriter(Overtaken(store), settings)
    with pytest.raises(WriteConflict, match=f"another write changed <{G1}>"):
        before = quads_of(store)
        writer.update(f"INSERT {{ GRAPH <{G1}> {{ ?s <{Q}> ?o }} }} WHERE {{ GRAPH <{G1}> {{ ?s <{P}> ?o }} }}")
    after = quads_of(store)
    assert after != before and not any(str(Q) in quad for quad in after)  # only the other write landed
    with pytest.raises(WriteConflict):
        writer.post(G1, _graph((URIRef(EX + "c"), P, Literal("3"))))
