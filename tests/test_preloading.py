"""An import's new graphs are bulk-loaded while the rest of it is prepared (graph.store.embedded_write):
the same store as without, nothing of the write seen before its commit, all of it undone when the
import fails, is refused or its process dies."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from graph.config import Settings
from graph.importer import Importer, ImportRejected, UnreadableFile
from graph.store import StoreError
from graph.store import bulkwrite as bw
from graph.store.embedded import EmbeddedStore

from .conftest import BASE, FIXTURES, ObserveLoads, quads_of
from .helpers import check_summary, waves
from .writing import commit

P = URIRef("https://example.org/p")
NEW = "https://example.org/graph/new"


def _big(prefix: str, n: int = bw.MIN_TRIPLES + 50) -> Graph:
    g = Graph()
    for i in range(n):
        g.add((URIRef(f"https://example.org/{prefix}/{i}"), P, Literal(f"{prefix} {i}")))
    return g


def _importer(path: Path) -> tuple[EmbeddedStore, Importer]:
    store = EmbeddedStore(path)
    return store, Importer(store, Settings(base_iri=BASE, store_path=path))


@pytest.fixture
def loads(observe_loads: ObserveLoads) -> list[str]:
    """The graph of every bulk load, in order."""
    calls: list[str] = []
    observe_loads(lambda load: None if load.done else calls.append(load.graph))
    return calls


def _failing_at_the_second_load(observe_loads) -> None:
    count = [0]

    def failing(load: bw.Load) -> None:
        if not load.done:
            count[0] += 1
            if count[0] == 2:
                raise OSError("disk full (simulated)")

    observe_loads(failing)


def _bad(wave: Path, out: Path) -> Path:
    """``wave`` with one answer that is no option of its question: refused by the shapes."""
    text = wave.read_text(encoding="utf-8")
    option = "Finding sustainable finance instruments"
    assert option in text
    out.write_text(text.replace(option, "Lack of patience", 1), encoding="utf-8")
    return out


def _mapped_after_a_load(files: list[Path], monkeypatch: pytest.MonkeyPatch,
                         observe_loads: ObserveLoads) -> list[bool]:
    """The last of ``files`` is mapped only once a graph has been bulk-loaded (within a minute);
    the list returned says whether one had."""
    first_loaded = threading.Event()
    observe_loads(lambda load: first_loaded.set() if load.done else None)
    prepare = Importer.prepare_file
    waited: list[bool] = []

    def mapped(self: Importer, path: Path, fmt: str | None = None, **kwargs: object) -> object:
        if path == files[-1]:
            waited.append(first_loaded.wait(timeout=60))  # no early load: the import would wait here
        return prepare(self, path, fmt, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Importer, "prepare_file", mapped)
    return waited


def test_the_first_files_graph_loads_while_the_last_file_is_mapped(store_path: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
        observe_loads: ObserveLoads) -> None:
    files = waves(tmp_path / "waves", clusters=12, waves=3)
    store, importer = _importer(store_path)
    waited = _mapped_after_a_load(files, monkeypatch, observe_loads)
    outcomes = importer.import_files(files)
    assert waited == [True]
    assert [o.status for o in outcomes] == ["imported"] * 3
    check_summary(store, Settings(base_iri=BASE, store_path=store_path))
    assert not bw.pending(store_path)
    store.close()


def test_a_response_of_a_file_loaded_before_is_named_once(store_path: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
        observe_loads: ObserveLoads) -> None:
    """A later file's check of the responses imported before does not take an earlier file of the
    same import, already loaded, for an import of its own: the response is named once, with the file."""
    [first] = waves(tmp_path / "a", clusters=12, waves=1)
    again = tmp_path / "again.csv"  # the same responses, another file (another digest)
    again.write_bytes(first.read_bytes() + b"\n")
    store, importer = _importer(store_path)
    waited = _mapped_after_a_load([first, again], monkeypatch, observe_loads)
    before = quads_of(store)
    with pytest.raises(ImportRejected) as info:
        importer.import_files([first, again])
    assert waited == [True]
    found = info.value.report.violations
    assert len(found) == 12 and all(first.name in v.message and "imported with this file" in v.message for v in found)
    assert quads_of(store) == before and not bw.pending(store_path)
    store.close()


def test_the_writes_reads_see_the_store_as_it_found_it(tmp_path: Path, observe_loads: ObserveLoads) -> None:
    """Reads through the write see the store as it was, never the new graphs it has loaded
    already: not listed, not read, not matched by a query (in the union default graph or by GRAPH)."""
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({"https://example.org/graph/old": _big("old", 10)})
    loaded = threading.Event()
    observe_loads(lambda load: loaded.set() if load.done else None)
    new = _big("new")
    with store.writing() as write:
        write.put(NEW, new, ready=lambda: True)
        assert loaded.wait(timeout=30)
        assert write.named_graphs() == ["https://example.org/graph/old"]
        assert len(write.get_graph(NEW)) == 0 and len(write.get_graph("https://example.org/graph/old")) == 10
        old = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <https://example.org/graph/old> {{ ?s <{P}> ?o }} }}"
        assert write.select_texts(old) == [('"10"^^<http://www.w3.org/2001/XMLSchema#integer>',)]
        everything = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{P}> ?o }}"
        assert write.select_texts(everything) == [('"10"^^<http://www.w3.org/2001/XMLSchema#integer>',)]
        assert write.query(f"ASK {{ GRAPH <{NEW}> {{ ?s ?p ?o }} }}").value is False  # type: ignore[union-attr]
        by_graph = write.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert NEW not in {str(row["g"]) for row in by_graph.rows}  # type: ignore[union-attr]
        assert bw.pending(store.path)  # the write has begun: a crash now is undone
    assert store.named_graphs() == [NEW, "https://example.org/graph/old"]
    assert set(store.get_graph(NEW)) == set(new)
    assert not bw.pending(store.path)
    store.close()


def test_a_reader_waits_for_the_commit(tmp_path: Path) -> None:
    """Another reader of the store (here a thread with its own lock file description) waits while
    the write is under way, and then sees all of it."""
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({"https://example.org/graph/old": _big("old", 10)})
    reader = EmbeddedStore(tmp_path / "s", read_only=True)
    seen: list[list[str]] = []
    with store.writing() as write:
        write.put(NEW, _big("new"), ready=lambda: True)
        thread = threading.Thread(target=lambda: seen.append(reader.named_graphs()))
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive() and seen == []  # waiting for the write
    thread.join(timeout=30)
    assert seen == [["https://example.org/graph/new", "https://example.org/graph/old"]]
    reader.close()
    store.close()


def test_a_file_refused_after_others_were_loaded_leaves_the_store_as_it_was(store_path: Path, tmp_path: Path,
                                                                           loads: list[str]) -> None:
    three = waves(tmp_path / "waves", clusters=12, waves=3)
    files = [*three[:2], _bad(three[2], tmp_path / "bad-wave.csv")]
    store, importer = _importer(store_path)
    before = quads_of(store)
    with pytest.raises(ImportRejected) as info:
        importer.import_files(files)
    [violation] = info.value.report.violations
    assert violation.location.file == "bad-wave.csv" and violation.value == "Lack of patience"
    assert loads, "the files before the refused one were not loaded early"
    assert not any("bad-wave" in graph for graph in loads)  # a graph is loaded only once it conforms
    assert quads_of(store) == before
    assert not bw.pending(store_path) and not (store_path / bw.ADDITIONS_NAME).exists()
    store.close()


def test_an_unreadable_file_after_loaded_ones_leaves_the_store_as_it_was(store_path: Path, tmp_path: Path,
                                                                         loads: list[str],
                                                                         monkeypatch: pytest.MonkeyPatch,
        observe_loads: ObserveLoads) -> None:
    two = waves(tmp_path / "waves", clusters=12, waves=2)
    files = [*two, FIXTURES / "csv" / "latin1.csv"]
    store, importer = _importer(store_path)
    waited = _mapped_after_a_load(files, monkeypatch, observe_loads)
    before = quads_of(store)
    with pytest.raises(UnreadableFile):
        importer.import_files(files)
    assert waited == [True] and loads
    assert quads_of(store) == before and not bw.pending(store_path)
    store.close()


def test_a_failed_load_fails_the_import_and_writes_nothing(store_path: Path, tmp_path: Path,
                                                           observe_loads: ObserveLoads) -> None:
    files = waves(tmp_path / "waves", clusters=12, waves=3)
    _failing_at_the_second_load(observe_loads)
    store, importer = _importer(store_path)
    before = quads_of(store)
    with pytest.raises(StoreError, match="nothing was written: disk full"):
        importer.import_files(files)
    assert quads_of(store) == before and not bw.pending(store_path)
    store.close()


def test_a_failed_load_lets_go_of_the_store_at_once(store_path: Path, tmp_path: Path,
                                                     observe_loads: ObserveLoads) -> None:
    """The failure is still held (a caller's report, a job's record) when the next write opens the
    store: nothing of the failed write keeps it open."""
    files = waves(tmp_path / "waves", clusters=12, waves=3)
    _failing_at_the_second_load(observe_loads)
    store, importer = _importer(store_path)
    with pytest.raises(StoreError, match="nothing was written") as failed:
        importer.import_files(files)
    commit(store, {NEW: _big("after")})
    assert NEW in store.named_graphs() and "disk full" in str(failed.value)
    store.close()


def test_nothing_loads_early_for_graphs_small_beside_the_store(store_path: Path, tmp_path: Path,
                                                             loads: list[str]) -> None:
    store, importer = _importer(store_path)
    store.replace_graphs({"https://example.org/graph/big": _big("big", 40_000)})
    loads.clear()
    outcomes = importer.import_files(waves(tmp_path / "waves", clusters=12, waves=2))
    assert [o.status for o in outcomes] == ["imported"] * 2
    assert loads == []  # the transaction wrote them
    check_summary(store, Settings(base_iri=BASE, store_path=store_path))
    store.close()


def test_a_graph_that_exists_is_replaced_in_the_transaction(tmp_path: Path, loads: list[str]) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({NEW: _big("old", 10)})
    newer = _big("newer")
    with store.writing() as write:
        write.put(NEW, newer, ready=lambda: True)
    assert loads == []
    assert set(store.get_graph(NEW)) == set(newer)
    store.close()


_CRASHING_IMPORT = """
import os, sys
from pathlib import Path
from graph.config import Settings
from graph.importer import Importer
from graph.store import bulkwrite as bw
from graph.store.embedded import EmbeddedStore

load = bw.BulkWrite.load
def load_then_die(self, bodies, **options):
    load(self, bodies, **options)
    if bodies:
        os._exit(9)  # the process dies with the first graph loaded and the write not committed
bw.BulkWrite.load = load_then_die
store_path = Path(sys.argv[1])
Importer(EmbeddedStore(store_path), Settings(base_iri=sys.argv[2], store_path=store_path)).import_files(
    [Path(p) for p in sys.argv[3:]])
"""


def test_a_crash_while_the_graphs_load_is_undone_before_anything_is_read(store_path: Path, tmp_path: Path) -> None:
    files = waves(tmp_path / "waves", clusters=12, waves=3)
    store = EmbeddedStore(store_path, read_only=True)
    before = quads_of(store)
    store.close()
    run = subprocess.run([sys.executable, "-c", _CRASHING_IMPORT, str(store_path), BASE, *map(str, files)],
                         cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert run.returncode == 9, run.stderr
    assert bw.pending(store_path)  # the intent names what was loaded
    assert bw.read_intent(store_path).graphs  # type: ignore[union-attr]
    store = EmbeddedStore(store_path, read_only=True)  # a reader finds the intent and undoes the write
    assert quads_of(store) == before
    assert not bw.pending(store_path)
    store.close()
