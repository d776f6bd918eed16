"""New graphs are bulk-loaded, all or nothing: each state a crash can leave is finished or undone
before anything is read (graph.store.bulkwrite)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef

from graph.store import StoreError
from graph.store import bulkwrite as bw
from graph.store.embedded import EmbeddedStore
from graph.store.sizes import SIZES_GRAPH
from tests.conftest import ObserveLoads
from tests.writing import commit

OLD = "https://example.org/graph/old"
NEW = "https://example.org/graph/new"
NEW2 = "https://example.org/graph/new2"
P = URIRef("https://example.org/p")
N = bw.MIN_TRIPLES + 50


def _big(prefix: str, n: int = N) -> Graph:
    g = Graph()
    for i in range(n):
        g.add((URIRef(f"https://example.org/{prefix}/{i}"), P, Literal(f"{prefix} {i}")))
    return g


def _quads(path: Path) -> set[str]:
    handle = ox.Store.read_only(str(path))
    try:
        return {str(q) for q in handle}
    finally:
        del handle


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The graphs each bulk write loaded: the tests below would pass on the transactional path too."""
    calls: list[list[str]] = []
    begin = bw.begin

    def recorded(handle: ox.Store, directory: Path, bodies: list, **options) -> str:  # type: ignore[no-untyped-def]
        calls.append([iri.value for iri, _ in bodies])
        return begin(handle, directory, bodies, **options)

    monkeypatch.setattr(bw, "begin", recorded)
    return calls


def test_a_big_new_graph_is_bulk_loaded_with_the_rest_of_its_write(tmp_path: Path, spy: list) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({OLD: _big("old", 10)})
    assert spy == []  # small, and existing graphs: in the transaction
    then = f"INSERT DATA {{ GRAPH <{OLD}> {{ <https://example.org/then> <{P}> 'then' }} }}"
    commit(store, {NEW: _big("new"), NEW2: _big("new2", 20)}, update=then, touches=[OLD])
    assert spy == [[NEW]]
    assert set(store.get_graph(NEW)) == set(_big("new")) and len(store.get_graph(NEW2)) == 20
    assert len(store.get_graph(OLD)) == 11
    assert not bw.pending(store.path)
    # no marker left; the sizes recorded like any write's
    records = store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{SIZES_GRAPH}> {{ ?s ?p ?o }} }}")
    assert {(str(r["s"]), str(r["o"])) for r in records.rows} == {(OLD, "11"), (NEW, str(N)), (NEW2, "20")}
    # replacing it again goes through the transaction (it exists now)
    store.replace_graphs({NEW: _big("newer")})
    assert spy == [[NEW]] and set(store.get_graph(NEW)) == set(_big("newer"))
    store.close()


def test_blank_nodes_of_two_bulk_loads_stay_apart(tmp_path: Path, spy: list) -> None:
    store = EmbeddedStore(tmp_path / "s")
    for name in (NEW, NEW2):
        g = _big(name.rsplit("/", 1)[-1])
        g.add((BNode("b0"), P, Literal("a blank node")))
        store.replace_graphs({name: g})
    assert len(spy) == 2
    rows = store.query(f"SELECT DISTINCT ?b WHERE {{ ?b <{P}> 'a blank node' }}").rows  # type: ignore[union-attr]
    assert len(rows) == 2
    store.close()


def test_a_failed_commit_after_the_bulk_load_writes_nothing(tmp_path: Path, spy: list) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({OLD: _big("old", 10)})
    before = _quads(store.path)
    with pytest.raises(StoreError, match="nothing was written"):
        commit(store, {NEW: _big("new")}, update="INSERT DATA { this is not SPARQL }")
    assert spy == [[NEW]]
    assert _quads(store.path) == before and store.named_graphs() == [OLD]
    assert not bw.pending(store.path)
    store.close()


HELD = f"<https://example.org/old/0> <{P}> \"old 0\" ."  # a row OLD holds already
ADDED = f"<https://example.org/added> <{P}> \"added\" ."


def test_additions_to_an_existing_graph_load_beside_the_new_graphs(tmp_path: Path,
                                                                    observe_loads: ObserveLoads) -> None:
    """A bulk write loads its additions (the summary's new edges) too, not in its transaction; a
    row the graph held already is not recorded as added, and the additions file is gone after."""
    store = EmbeddedStore(tmp_path / "s")
    loads: list[str] = []
    recorded: list[str] = []

    def observed(load: bw.Load) -> None:
        if not load.done:
            loads.append(load.graph)
            if load.graph == OLD:  # the rows it lacks, recorded before they are loaded
                recorded.append((store.path / bw.ADDITIONS_NAME).read_text())

    observe_loads(observed)
    store.replace_graphs({OLD: _big("old", 10)})
    commit(store, {NEW: _big("new")}, rows={OLD: f"{HELD}\n{ADDED}\n"})
    assert sorted(loads) == [NEW, OLD]
    assert recorded == [f"{ADDED[:-2]} <{OLD}> .\n"]
    assert len(store.get_graph(OLD)) == 11 and len(store.get_graph(NEW)) == N
    assert not (store.path / bw.ADDITIONS_NAME).exists() and not bw.pending(store.path)
    # outside a bulk write they are inserted by the update
    commit(store, {NEW2: _big("new2", 5)}, rows={OLD: f"<https://example.org/more> <{P}> 'm' .\n"})
    assert sorted(loads) == [NEW, OLD] and len(store.get_graph(OLD)) == 12
    store.close()


def test_a_failed_commit_takes_back_exactly_the_rows_it_added(tmp_path: Path, spy: list) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({OLD: _big("old", 10)})
    before = _quads(store.path)
    with pytest.raises(StoreError, match="nothing was written"):
        commit(store, {NEW: _big("new")}, update="INSERT DATA { this is not SPARQL }",
               rows={OLD: f"{HELD}\n{ADDED}\n"})
    assert spy == [[NEW]]
    assert _quads(store.path) == before  # the row held before is still there, the added one gone
    assert not (store.path / bw.ADDITIONS_NAME).exists() and not bw.pending(store.path)
    store.close()


def test_an_additions_file_of_no_write_is_not_taken_back(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({OLD: _big("old", 10)})
    before = _quads(store.path)
    (store.path / bw.ADDITIONS_NAME).write_text(f"{HELD[:-2]} <{OLD}> .\n")  # no intent names it
    with pytest.raises(StoreError, match="nothing was written"):
        commit(store, {NEW: _big("new")}, update="INSERT DATA { this is not SPARQL }")
    assert _quads(store.path) == before  # the row it names is still there
    store.close()


def test_a_crash_before_the_commit_takes_back_the_additions(tmp_path: Path) -> None:
    path = tmp_path / "s"
    before = _store_with_old(path)
    _crashed(path, "loading", loaded=300, marker=False)
    (path / bw.ADDITIONS_NAME).write_text(f"{ADDED[:-2]} <{OLD}> .\n")
    handle = ox.Store(str(path))
    handle.bulk_load(ADDED.encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(OLD))
    del handle
    store = EmbeddedStore(path)
    assert store.named_graphs() == [OLD]
    assert _quads(path) == before
    assert not (path / bw.ADDITIONS_NAME).exists() and not bw.pending(path)
    store.close()


def test_a_crash_after_the_commit_keeps_the_additions(tmp_path: Path) -> None:
    path = tmp_path / "s"
    _store_with_old(path)
    _crashed(path, "committed", loaded=N, marker=True)
    (path / bw.ADDITIONS_NAME).write_text(f"{ADDED[:-2]} <{OLD}> .\n")
    handle = ox.Store(str(path))
    handle.bulk_load(ADDED.encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(OLD))
    del handle
    store = EmbeddedStore(path)
    assert len(store.get_graph(OLD)) == 11
    assert not (path / bw.ADDITIONS_NAME).exists() and not bw.pending(path)
    store.close()


def _crashed(path: Path, phase: str, *, loaded: int, marker: bool) -> str:
    """A store as a crash during a bulk write of NEW leaves it: the intent, ``loaded`` triples of
    NEW, and the commit marker if the commit had happened."""
    token = "0123456789abcdef0123456789abcdef"
    (path / bw.INTENT_NAME).write_text(json.dumps({"token": token, "graphs": [NEW], "phase": phase}))
    handle = ox.Store(str(path))
    body = "\n".join(f"<https://example.org/new/{i}> <{P}> \"new {i}\" ." for i in range(loaded))
    handle.bulk_load(body.encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(NEW))
    if marker:
        handle.update(bw.marker_insert(token))
    handle.flush()
    del handle
    return token


def _store_with_old(path: Path) -> set[str]:
    store = EmbeddedStore(path)
    store.replace_graphs({OLD: _big("old", 10)})
    store.close()
    return _quads(path)


@pytest.mark.parametrize("read_only", [False, True])
def test_an_uncommitted_bulk_write_is_undone_before_anything_is_read(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "s"
    before = _store_with_old(path)
    _crashed(path, "loading", loaded=300, marker=False)  # killed in the middle of the bulk load
    store = EmbeddedStore(path, read_only=read_only)  # a query worker's store is read-only
    assert store.named_graphs() == [OLD]
    assert _quads(path) == before
    assert not bw.pending(path)
    store.close()


def test_a_crash_after_the_commit_keeps_the_write(tmp_path: Path) -> None:
    for phase in ("loading", "committed"):  # killed before or after the intent said so
        path = tmp_path / phase
        before = _store_with_old(path)
        token = _crashed(path, phase, loaded=N, marker=True)
        store = EmbeddedStore(path)
        count = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{NEW}> {{ ?s ?p ?o }} }}")
        assert int(count.rows[0]["n"]) == N  # type: ignore[union-attr, arg-type]
        assert not bw.pending(path)
        assert all(token not in q for q in _quads(path))  # the marker is gone
        assert before < _quads(path)
        store.close()


def test_recover_reports_what_it_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "s"
    before = _store_with_old(path)
    copy = tmp_path / "copy"
    _crashed(path, "loading", loaded=5, marker=False)
    shutil.copytree(path, copy)
    store = EmbeddedStore(path)
    assert store.recover() == [NEW]
    assert store.recover() == []
    store.close()
    # a writer that comes first undoes it too, then writes
    other = EmbeddedStore(copy)
    other.replace_graphs({NEW2: _big("new2", 3)})
    assert other.named_graphs() == sorted([OLD, NEW2])
    assert before < _quads(copy)
    other.close()


def test_a_graph_small_beside_the_store_stays_in_the_transaction(tmp_path: Path, spy: list) -> None:
    """A bulk load is followed by a compaction of the whole store, worth it only for a graph of an
    eighth of the store or more (bulkwrite.worth_loading)."""
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({OLD: _big("old", 9 * N)})
    assert spy == [[OLD]]  # the first load: bulk
    store.replace_graphs({NEW: _big("new")})  # ~1/10 of the store
    assert spy == [[OLD]] and len(store.get_graph(NEW)) == N
    store.replace_graphs({NEW2: _big("new2", 2 * N)})  # ~1/5
    assert spy == [[OLD], [NEW2]] and len(store.get_graph(NEW2)) == 2 * N
    store.close()


def test_new_graphs_of_one_write_are_bulk_loaded_together(tmp_path: Path, spy: list) -> None:
    """One compaction follows however many graphs a write loads: the new graphs of one write (an
    import of several files) decide together."""
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({OLD: _big("old", 9 * N)})
    store.replace_graphs({NEW: _big("new"), NEW2: _big("new2")})  # ~1/10 of the store each, ~1/5 together
    assert spy == [[OLD], [NEW, NEW2]]
    assert len(store.get_graph(NEW)) == N and len(store.get_graph(NEW2)) == N
    store.close()


def test_graphs_loaded_side_by_side_fail_together(tmp_path: Path) -> None:
    """The new graphs of a write load in parallel (one per core); when one load fails, every graph
    of the write is dropped again, whichever finished, and the intent is gone."""
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({OLD: _big("old", 10)})
    store.close()
    before = _quads(tmp_path / "s")
    handle = ox.Store(str(tmp_path / "s"))
    good = "".join(f"<https://example.org/g/{i}> <{P}> \"g {i}\" .\n" for i in range(N))
    bodies = [(ox.NamedNode(NEW), good), (ox.NamedNode(NEW2), good + "<not an IRI> <p> 'x' .\n"),
              (ox.NamedNode(NEW + "3"), good)]
    try:
        bw.begin(handle, tmp_path / "s", bodies)
    except SyntaxError as exc:
        failure = str(exc)
    else:
        pytest.fail("a body that is not N-Triples was loaded")
    assert "Invalid IRI" in failure
    assert not bw.pending(tmp_path / "s")
    assert {str(q) for q in handle} == before


def test_blank_nodes_of_graphs_loaded_side_by_side_stay_apart(tmp_path: Path, spy: list) -> None:
    store = EmbeddedStore(tmp_path / "s")
    graphs = {}
    for name in (NEW, NEW2):
        g = _big(name.rsplit("/", 1)[-1])
        g.add((BNode("b0"), P, Literal("a blank node")))
        graphs[name] = g
    store.replace_graphs(graphs)
    assert spy == [[NEW, NEW2]]
    rows = store.query(f"SELECT DISTINCT ?b WHERE {{ ?b <{P}> 'a blank node' }}").rows  # type: ignore[union-attr]
    assert len(rows) == 2
    assert len(store.get_graph(NEW)) == N + 1 and len(store.get_graph(NEW2)) == N + 1
    store.close()


@pytest.fixture
def two_core_loads(monkeypatch: pytest.MonkeyPatch,
                   observe_loads: ObserveLoads) -> list[tuple[str, int]]:
    """Each bulk load's graph and number of lines, on a machine of two cores, long bodies split."""
    calls: list[tuple[str, int]] = []
    observe_loads(lambda load: None if load.done else calls.append((load.graph, load.text.count("\n"))))
    monkeypatch.setattr(bw, "core_count", lambda: 2)
    monkeypatch.setattr(bw, "SPLIT_BYTES", 10_000)
    return calls


def test_one_big_graph_loads_in_pieces_one_per_core(tmp_path: Path, two_core_loads: list[tuple[str, int]]) -> None:
    calls = two_core_loads
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({NEW: _big("new")})
    assert [graph for graph, _ in calls] == [NEW, NEW] and sum(lines for _, lines in calls) == N
    assert min(lines for _, lines in calls) > N // 3  # cut near the middle
    assert set(store.get_graph(NEW)) == set(_big("new"))
    store.close()


def test_a_graph_with_blank_nodes_loads_whole(tmp_path: Path, two_core_loads: list[tuple[str, int]]) -> None:
    """A blank node named at the first and the last line stays one node: one load."""
    calls = two_core_loads
    g = Graph()
    g.add((BNode("b0"), P, Literal("first")))
    g += _big("new")
    g.add((BNode("b0"), P, Literal("last")))
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({NEW: g})
    assert calls == [(NEW, N + 2)]
    rows = store.query(f"SELECT ?b WHERE {{ ?b <{P}> 'first', 'last' }}").rows  # type: ignore[union-attr]
    assert len(rows) == 1
    store.close()


def test_as_many_graphs_as_cores_are_not_split(tmp_path: Path, two_core_loads: list[tuple[str, int]]) -> None:
    calls = two_core_loads
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({NEW: _big("new"), NEW2: _big("new2")})
    assert sorted(calls) == sorted([(NEW, N), (NEW2, N)])
    store.close()


def test_pieces_cut_at_line_ends_and_add_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bw, "SPLIT_BYTES", 10_000)
    body = "".join(f"<https://example.org/{i}> <{P}> \"{'x' * (i % 7)}\" .\n" for i in range(5000))
    iri = ox.NamedNode(NEW)
    for cores in (2, 3, 4):
        pieces = bw.pieces([(iri, body)], cores)
        assert len(pieces) == cores and "".join(p for _, p in pieces) == body
        assert all(p.endswith(" .\n") for _, p in pieces)
    assert bw.pieces([(iri, "<a> <b> <c> .\n")], 2) == [(iri, "<a> <b> <c> .\n")]  # short: whole
