"""New graphs bulk-loaded into the embedded store, all or nothing.

Oxigraph's transactional writes (``INSERT DATA``, ``Store.load``, ``Store.extend``) keep what they
write in memory and flush it after; its bulk loader writes RocksDB's table files itself and ingests
them, several times faster with nothing to flush (docs/performance.md). Two catches. The bulk loader
is not a transaction: Oxigraph documents that if it fails in the middle only a part of the data may
be written, and it cannot carry the deletions that the same write makes elsewhere (the cluster
summary's changes, the size records). And the files it adds slow reads down until the store is
compacted (:func:`worth_loading`), so a bulk load is used only where it and the compaction after it
cost less than the transaction: for a new graph of at least an eighth of the store (a first load,
the first waves of a survey).

So a write that creates graphs that did not exist uses it this way, under the store's exclusive
lock (readers wait; none sees a write in progress):

1. an *intent* file in the store directory names the new graphs and a token (written to a
   temporary file, synced, renamed: it is there whole or not at all);
2. the bulk loader writes each new graph, and the write's *additions* to graphs that exist (the
   cluster summary's new edges: rows those graphs do not hold yet, recorded in the additions
   file, synced, before they are loaded);
3. one SPARQL update (one transaction) writes everything else of the write *and* a commit
   marker for the token in the bookkeeping graph (graph.store.sizes.SIZES_GRAPH): this update is
   the commit point, as it is for a write without new graphs;
4. the intent says "committed", the marker is deleted, the additions file and the intent are
   removed;
5. the store is compacted (:func:`compact`).

A failure in 2 or 3 drops the new graphs again and deletes the recorded additions before the
error is raised. A crash before 4 ends leaves the intent behind (a crash in 5 is RocksDB's to
recover); the next reader or writer of the store finds it, under the exclusive lock, and
:func:`recover` either rolls the write back (the marker is missing: the new graphs are dropped
and the recorded additions deleted, which restores the store as it was, since neither was there)
or forward (the marker or the "committed" phase is there: only the bookkeeping is finished).
``tests/test_bulkwrite.py`` builds each crash state from real files and checks both directions;
``tests/test_crash.py`` kills a serving process during imports.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox

from graph.store import sizes
from graph.store.dataops import data_ops
from graph.store.sizes import SIZES_GRAPH, VOID_TRIPLES

log = logging.getLogger("clusterkg.store")

INTENT_NAME = "clusterkg-write-intent.json"
ADDITIONS_NAME = "clusterkg-write-additions.nq"  # what a bulk write adds to existing graphs
MIN_TRIPLES = 1_000  # a smaller new graph is written in the transaction (see worth_loading)
_COMMITTED = "urn:clusterkg:write-committed"


@dataclass(frozen=True)
class Intent:
    token: str
    graphs: tuple[str, ...]
    phase: str  # "loading" or "committed"


def intent_path(directory: Path) -> Path:
    return Path(directory) / INTENT_NAME


def pending(directory: Path) -> bool:
    """Whether a bulk write was interrupted (its intent is still there)."""
    return intent_path(directory).exists()


def read_intent(directory: Path) -> Intent | None:
    try:
        data = json.loads(intent_path(directory).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Intent(str(data["token"]), tuple(str(g) for g in data["graphs"]), str(data["phase"]))


def _write_intent(directory: Path, intent: Intent) -> None:
    _write_synced(intent_path(directory),
                  json.dumps({"token": intent.token, "graphs": list(intent.graphs), "phase": intent.phase}))


def _write_synced(path: Path, text: str) -> None:
    """``text`` in ``path``, there whole or not at all (a temporary file, synced, renamed)."""
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    _sync_directory(path.parent)


def _remove_additions(directory: Path) -> None:
    path = Path(directory) / ADDITIONS_NAME
    if path.exists():
        path.unlink()
        _sync_directory(directory)


def _remove_intent(directory: Path) -> None:
    intent_path(directory).unlink(missing_ok=True)
    _sync_directory(directory)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _marker(token: str) -> str:
    return f"<urn:clusterkg:write:{token}> <{_COMMITTED}> <urn:clusterkg:write:{token}> ."


def marker_insert(token: str) -> str:
    """The commit marker, for the update that commits the write."""
    return f"INSERT DATA {{ GRAPH <{SIZES_GRAPH}> {{ {_marker(token)} }} }}"


def _marker_delete(token: str) -> str:
    return f"DELETE DATA {{ GRAPH <{SIZES_GRAPH}> {{ {_marker(token)} }} }}"


def _has_marker(handle: ox.Store, token: str) -> bool:
    subject = ox.NamedNode(f"urn:clusterkg:write:{token}")
    return any(True for _ in handle.quads_for_pattern(subject, ox.NamedNode(_COMMITTED), subject,
                                                      ox.NamedNode(SIZES_GRAPH)))


def begin(handle: ox.Store, directory: Path, bodies: list[tuple[ox.NamedNode, str]], *,
          lenient: bool = False, rows: list[tuple[ox.NamedNode, str]] | None = None) -> BulkWrite:
    """Steps 1 and 2: the intent, then each new graph bulk-loaded from its N-Triples. Returns the
    write, for its commit marker and :meth:`BulkWrite.finish`. On any failure the new graphs are dropped
    again and the intent removed before the error goes on. ``lenient``: the bodies were parsed
    strictly before (an import's validation), the loader skips its IRI checks (a share of its
    time; the syntax is still checked).

    ``rows``: N-Triples rows (no blank nodes) added to graphs that exist (the cluster summary's
    new edges), loaded beside the new graphs instead of inserted by the commit's transaction (as
    slow there as any transactional write). Only the rows the graph does not hold yet are loaded, and
    they are written to the additions file first, so that a rollback deletes exactly them and the
    graph is as it was."""
    write = BulkWrite(handle, directory, lenient=lenient)
    try:
        write.load(bodies, rows=rows)
    except BaseException:
        write.abort()
        raise
    return write


class BulkWrite:
    """One bulk write, steps 1 and 2 (see the module's docstring), in as many loads as its caller
    likes: each :meth:`load` names its new graphs in the intent before it loads them, so a write
    whose graphs are loaded one by one while the rest of it is prepared (graph.store.embedded_write)
    is undone by a crash's recovery like one loaded at once. Then the commit's update carries
    :meth:`marker`, and :meth:`finish` or :meth:`abort` ends it."""

    def __init__(self, handle: ox.Store, directory: Path, *, lenient: bool = False) -> None:
        self.handle = handle
        self.directory = Path(directory)
        self.lenient = lenient
        self.token = uuid.uuid4().hex
        self.graphs: list[str] = []
        self.counts: dict[str, int] = {}  # graphs loaded and counted (:meth:`load`'s ``count``)
        # an additions file without an intent belongs to no write (finish and abort remove it before
        # the intent): never let this write's abort take its rows back
        _remove_additions(self.directory)

    def load(self, bodies: list[tuple[ox.NamedNode, str]], *, split: bool = True,
             rows: list[tuple[ox.NamedNode, str]] | None = None,
             recorded: list[tuple[ox.NamedNode, str]] | None = None, count: bool = False) -> None:
        """``bodies`` (new graphs, not loaded before) bulk-loaded, side by side, and, with
        ``split``, a long one in pieces when there are fewer than cores (:func:`_load_all`);
        ``rows`` beside them (:func:`begin`), or the rows :meth:`record` returned. With
        ``count``, each graph's triples are counted once it is loaded (``counts``: its size record,
        if the write changes it no more). The caller aborts on failure."""
        self.graphs += [iri.value for iri, _ in bodies]
        _write_intent(self.directory, self.intent())
        if recorded is not None:  # rows for graphs that exist: loaded like the bodies, not named
            _load_all(self.handle, bodies + recorded, lenient=self.lenient, split=split)
        else:
            _load_all(self.handle, bodies, lenient=self.lenient, split=split,
                      then=lambda: self.record(rows or []))
        if count:
            for name in dict.fromkeys(iri.value for iri, _ in bodies):
                self.counts[name] = count_graph(self.handle, name)
        if bodies:
            log.info("bulk-loaded %d new graph(s); the write commits when the rest is ready", len(bodies))

    def record(self, rows: list[tuple[ox.NamedNode, str]]) -> list[tuple[ox.NamedNode, str]]:
        """The rows of ``rows`` their graphs lack, recorded in the additions file (so that an
        abort deletes exactly them), to be loaded (:meth:`load`'s ``recorded``)."""
        return _new_rows(self.handle, self.directory, rows)

    def intent(self) -> Intent:
        return Intent(self.token, tuple(self.graphs), "loading")

    def marker(self) -> str:
        """The commit marker, for the update that commits the write."""
        return marker_insert(self.token)

    def finish(self) -> None:
        finish(self.handle, self.directory, self.token, tuple(self.graphs))

    def abort(self) -> None:
        abort(self.handle, self.directory, self.intent())


def core_count() -> int:
    return os.cpu_count() or 1


def _load_all(handle: ox.Store, bodies: list[tuple[ox.NamedNode, str]], *, lenient: bool = False,
              split: bool = True, then: Callable[[], list[tuple[ox.NamedNode, str]]] = list) -> None:
    """Each body bulk-loaded into its graph, as many loads at once as there are cores.

    Oxigraph's bulk loader hands a batch of up to a million quads to one thread, so one load of a
    wave keeps one core busy; the loads release the GIL, and each builds its own table files and
    ingests them, so several graphs load side by side (as many at a time as cores is the fastest:
    docs/performance.md), and a write of fewer big graphs than cores loads each in pieces
    (:func:`pieces`). Every load is waited for before an error goes on, so the caller's abort sees
    them all finished. ``then`` runs in this thread while the graphs load, and what it returns is
    loaded too (the additions, once recorded: :func:`_new_rows`). Without ``split``, each body is
    one load (a graph loaded while other work keeps the cores busy: graph.store.embedded_write)."""
    cores = core_count()
    loads = pieces(bodies, cores) if split else bodies
    workers = min(len(loads) + 1, cores)
    if workers <= 1:
        for iri, body in loads + then():
            _load(handle, iri, body, lenient)
        return
    biggest_first = sorted(loads, key=lambda item: len(item[1]), reverse=True)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clusterkg-bulk") as pool:
        futures = [pool.submit(_load, handle, iri, body, lenient) for iri, body in biggest_first]
        try:
            futures += [pool.submit(_load, handle, iri, body, lenient) for iri, body in then()]
        finally:
            wait(futures)
    for future in futures:
        future.result()  # the first failure, if any


def _new_rows(handle: ox.Store, directory: Path,
              added: list[tuple[ox.NamedNode, str]]) -> list[tuple[ox.NamedNode, str]]:
    """The rows of ``added`` their graph does not hold, recorded in the additions file (whole,
    synced) before they are returned to be loaded. Only new graphs are being loaded meanwhile, so
    what an existing graph holds does not change while this reads it."""
    loads: list[tuple[ox.NamedNode, str]] = []
    recorded: list[str] = []
    for graph, rows in added:
        described: dict[object, bool] = {}  # subject -> whether the graph holds any row of it

        def held(t: ox.Triple, graph: ox.NamedNode = graph, described: dict = described) -> bool:
            # most rows are of subjects the graph does not describe yet (a new wave's clusters): one
            # look-up a subject instead of one a row (80,000 rows of a 1M import)
            found = described.get(t.subject)
            if found is None:
                found = described[t.subject] = next(
                    handle.quads_for_pattern(t.subject, None, None, graph), None) is not None
            return found and ox.Quad(t.subject, t.predicate, t.object, graph) in handle

        # lenient: the rows are the store's own terms and IRIs the importer minted (a row that is not
        # N-Triples still fails), and the IRI checks are a share of the parse
        new = [t for t in ox.parse(rows.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, lenient=True)
               if not held(t)]
        if new:
            lines = [f"{t.subject} {t.predicate} {t.object}" for t in new]
            loads.append((graph, "".join(line + " .\n" for line in lines)))
            recorded += [f"{line} {graph} .\n" for line in lines]
    if recorded:
        _write_synced(directory / ADDITIONS_NAME, "".join(recorded))
    return loads


SPLIT_BYTES = 4 * 1024 * 1024  # a body this long (tens of thousands of triples) or longer may load in pieces


def pieces(bodies: list[tuple[ox.NamedNode, str]], cores: int) -> list[tuple[ox.NamedNode, str]]:
    """The loads for ``bodies``: with fewer bodies than cores, each long one cut into pieces at line
    ends, every piece loaded into the body's graph (a graph is a set of triples: the pieces add up
    to it); a wave loads in about half the time in two pieces on two cores. A body that may hold
    blank nodes stays whole: each load names its blank nodes afresh, so a node written in two pieces
    would become two."""
    if not bodies or len(bodies) >= cores:
        return bodies
    parts = cores // len(bodies)
    out: list[tuple[ox.NamedNode, str]] = []
    for iri, body in bodies:
        if parts < 2 or len(body) < SPLIT_BYTES or "_:" in body:
            out.append((iri, body))
            continue
        start = 0
        for k in range(1, parts):
            cut = body.find("\n", len(body) * k // parts) + 1
            if cut <= start:  # no line end after this point: the rest is one piece
                break
            out.append((iri, body[start:cut]))
            start = cut
        out.append((iri, body[start:]))
    return out


@dataclass(frozen=True)
class Load:
    """One bulk load, as an observer sees it (:func:`observing`): the graph, the N-Triples text
    loaded into it (a whole body, a piece of one, or rows added), whether the IRI checks are
    skipped, and whether it is done."""

    graph: str
    text: str
    lenient: bool
    done: bool = False


_observers: list[Callable[[Load], None]] = []


@contextmanager
def observing(observer: Callable[[Load], None]) -> Iterator[None]:
    """``observer(load)`` called in the thread of each bulk load, before it and after it
    (``load.done``): for diagnostics, and the tests' window on the loads. An exception the
    observer raises before a load fails that load as the engine's own failure would."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def _load(handle: ox.Store, iri: ox.NamedNode, body: str, lenient: bool = False) -> None:
    observers = list(_observers)
    load = Load(iri.value, body, lenient)
    for observer in observers:
        observer(load)
    handle.bulk_load(body.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=iri, lenient=lenient)
    for observer in observers:
        observer(replace(load, done=True))


def abort(handle: ox.Store, directory: Path, intent: Intent | str) -> None:
    """Roll the write back: drop its new graphs, remove the intent (a failed drop leaves the intent,
    and the next opening of the store tries again)."""
    if isinstance(intent, str):
        found = read_intent(directory)
        if found is None or found.token != intent:
            return
        intent = found
    operations = [f"DROP SILENT GRAPH <{name}>" for name in intent.graphs]
    added = Path(directory) / ADDITIONS_NAME
    if added.exists():  # rows the write had added to existing graphs, none of them there before it
        by_graph: dict[str, list[str]] = {}
        for quad in ox.parse(added.read_bytes(), format=ox.RdfFormat.N_QUADS):
            assert isinstance(quad.graph_name, ox.NamedNode)  # the file names each row's graph
            by_graph.setdefault(quad.graph_name.value, []).append(f"{quad.subject} {quad.predicate} {quad.object} .")
        operations += [op for graph, rows in by_graph.items() for op in data_ops("DELETE DATA", graph, rows)]
    handle.update(" ;\n".join(operations))
    handle.flush()
    _remove_additions(directory)
    _remove_intent(directory)


def finish(handle: ox.Store, directory: Path, token: str, graphs: tuple[str, ...]) -> None:
    """Step 4, after the commit: the phase recorded, the marker deleted, the additions file and the
    intent removed."""
    _write_intent(directory, Intent(token, graphs, "committed"))
    handle.update(_marker_delete(token))
    _remove_additions(directory)
    _remove_intent(directory)


def recover(handle: ox.Store, directory: Path) -> list[str]:
    """Finish or undo an interrupted bulk write (see the module's docstring); the graphs rolled
    back, if any. ``handle`` must be open read-write under the exclusive lock."""
    intent = read_intent(directory)
    if intent is None:
        return []
    if intent.phase == "committed" or _has_marker(handle, intent.token):
        log.warning("an interrupted write of %s had committed; finishing its bookkeeping", ", ".join(intent.graphs))
        finish(handle, directory, intent.token, intent.graphs)
        return []
    log.warning("an interrupted write of %s had not committed; dropping what it had loaded", ", ".join(intent.graphs))
    abort(handle, directory, intent)
    return list(intent.graphs)



def worth_loading(triples: int, stored: int) -> bool:
    """Whether a write's new graphs, ``triples`` together (each of :data:`MIN_TRIPLES` or more),
    are bulk-loaded into a store of ``stored`` triples: if they hold at least an eighth of it.

    Each load adds its table files beside RocksDB's levels, overlapping them (a new graph's
    subjects and objects fall everywhere in the subject- and object-first indexes), and a read
    merges every such file, so reads slow down with every uncompacted load. RocksDB's own
    compaction never gets to run, since a writer closes the store right after its write. So a bulk
    load is followed by a compaction (:func:`compact`), which costs per stored triple, where the
    transaction costs per written one, several times more than the bulk loader: the bulk load and
    compaction are the cheaper write when the new graphs hold more than about a sixteenth of the
    store (one compaction per write, however many graphs it loads; docs/performance.md). An eighth
    keeps a margin; below it the write stays in the transaction. Compacting only every few loads
    costs the reads more than it saves the import (docs/performance.md, session 11)."""
    return triples >= MIN_TRIPLES and triples * 8 >= stored


def stored_triples(handle: ox.Store) -> int:
    """What the store holds, by its recorded graph sizes (graph.store.sizes)."""
    return sum(int(q.object.value) for q in handle.quads_for_pattern(
        None, ox.NamedNode(VOID_TRIPLES), None, ox.NamedNode(SIZES_GRAPH)))


def count_graph(handle: ox.Store, name: str) -> int:
    """How many triples the engine holds in graph ``name``."""
    return int(next(iter(handle.query(sizes.count_query(name))))[0].value)


def compact(handle: ox.Store) -> None:
    """Compact the whole store after a bulk load (see :func:`worth_loading`), under the write lock."""
    started = time.perf_counter()
    handle.optimize()
    log.info("compacted the store after a bulk load (%.1f s)", time.perf_counter() - started)
