"""The embedded store's write (graph.store.write): committed in one transaction under the store's
write lock, its big new graphs bulk-loaded, some of them while the rest of the write is prepared.

Committing: every ``ready`` awaited; then, under the exclusive lock (graph.store.store_files), the
write's steps, reading through the open handle; then one SPARQL update, hence one RocksDB
transaction, for every change; then, under the same lock (so readers see both at once), the new
sizes of the graphs written and touched (graph.store.sizes). When the write's new graphs hold
enough of the store to be worth it (:func:`graph.store.bulkwrite.worth_loading`), they are
bulk-loaded instead (graph.store.bulkwrite: still all or nothing, and recovered after a crash),
with the rows added to graphs that exist.

Loading ahead: an import of several files stages them one after another (the main thread maps a
file while two threads check the constraints of the one before) and writes them in one write at
the end. The staging leaves a core idle much of the time, and a bulk load at the end would keep
both busy after it. So once the graphs put with a ``ready`` are worth a bulk load, the write
takes the lock, begins a bulk write and loads each such graph, in a thread of its own, as soon as
its ``ready()`` says it conforms, while the next file is mapped; the commit loads what is left
(the last file, in pieces on every core) and commits as any bulk write does. Meanwhile:

- readers wait for the lock, as they wait for any write, a little longer (docs/performance.md);
  the intent names each graph before it is loaded, so a crash is recovered like any bulk write;
- after a refusal nothing more is loaded, and a write that does not commit drops every graph it
  loaded (a violation in the last file costs dropping the ones before it);
- the write's own reads go through the open handle, restricted to the graphs the store held
  when the loads began (their dataset named: :class:`HandleReads`), so they see the store as the
  write found it and never the graphs it has loaded. A query on a named dataset looks each
  pattern up once per graph instead of once in the union's index: the import's reads cost more
  (docs/performance.md), which the early loads more than make up for.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TypeVar

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from graph.messages import one_line
from graph.rdftext import ntriples
from graph.results import QueryResult
from graph.store import bulkwrite, sizes
from graph.store.base import QueryDataset, StoreError, Write
from graph.store.handle_reads import graph_of, materialise, run_query, term_texts
from graph.store.store_files import OpenForWriting, StoreFiles, forget_locals
from graph.store.write import Reads

T = TypeVar("T")
log = logging.getLogger("clusterkg.store")

Body = tuple[ox.NamedNode, str | None, int]  # a graph to write: its name, N-Triples (None: dropped), size


class EmbeddedWrite:
    """One write of the embedded store in ``files``: :attr:`write`, which its caller fills and reads
    through (the store's own reads, ``store``, until a load begins: then the open handle), and
    :meth:`commit` or :meth:`give_up`."""

    def __init__(self, files: StoreFiles, store: Reads, allowed_services: frozenset[str], *,
                 trusted: bool = False) -> None:
        self.files = files
        self.allowed_services = allowed_services
        self._store = store
        self._waiting: list[_Offer] = []  # put with a ready, before a load begins (not yet worth it)
        self._stored: int | None = None  # the store's triples, read at the first offer
        self._loading: _Loading | None = None
        self._all_offered = False
        self.write = Write(self, trusted=trusted, offer=self._offer)

    # -- the write's end -----------------------------------------------------------------------------
    def commit(self) -> None:
        """Every ``ready`` awaited, then the steps and the changes under the lock."""
        self._offered_all()
        self.write.wait_until_ready()
        loading = self._loading
        if loading is None:
            self._commit_alone()
            return
        self.write.run_steps(self)  # through the loading handle, under the lock it holds
        try:
            loading.commit(self.write)
        except BaseException as exc:
            self._end(exc, engine_failed=True)
            raise
        self._end(None)

    def give_up(self, failure: BaseException) -> None:
        """The write is not committed (its caller's ``failure``): every graph it loaded dropped."""
        self._end(failure)

    def _commit_alone(self) -> None:
        """No graph loaded ahead: the lock taken now, the steps run, everything in one go."""
        write = self.write
        if write.is_empty():
            return
        refusal: BaseException | None = None
        with self.files.writing() as opened:
            try:
                write.run_steps(HandleReads(opened, self.allowed_services))
            except BaseException as exc:  # the caller's, raised as it is (not as the engine's errors are)
                forget_locals(exc)
                refusal = exc
            if refusal is None:
                commit(opened.handle, self.files.path, graph_bodies(write.graphs), write, trusted=write.trusted)
        if refusal is not None:
            raise refusal

    def _end(self, failure: BaseException | None, *, engine_failed: bool = False) -> None:
        loading, self._loading = self._loading, None
        if loading is not None:
            loading.end(failure, engine_failed=engine_failed)

    # -- graphs put with a ready ---------------------------------------------------------------------
    def _offer(self, name: str, graph: Graph, ready: Callable[[], bool]) -> None:
        size = len(graph)
        if size < bulkwrite.MIN_TRIPLES:
            return  # written in the transaction in any case
        offer = _Offer(name, graph, size, ready)
        if self._loading is not None:
            self._loading.offer(offer)
            return
        self._waiting.append(offer)
        if self._stored is None:
            with self.files.reading() as handle:
                self._stored = bulkwrite.stored_triples(handle)
        if bulkwrite.worth_loading(sum(o.size for o in self._waiting), self._stored):
            self._loading = _Loading(self.files, self.allowed_services, trusted=self.write.trusted)
            for waiting in self._waiting:
                self._loading.offer(waiting)
            self._waiting = []
            if self._all_offered:
                self._loading.offered_all()

    def _offered_all(self) -> None:
        self._all_offered = True
        if self._loading is not None:
            self._loading.offered_all()

    # -- reads (graph.store.write.Reads) -------------------------------------------------------------
    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        if self._loading is None:
            return self._store.query(sparql, bindings, max_rows=max_rows, dataset=dataset)
        return self._loading.reads.query(sparql, bindings, max_rows=max_rows, dataset=dataset)

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        if self._loading is None:
            return self._store.select_texts(sparql)
        return self._loading.reads.select_texts(sparql)

    def named_graphs(self) -> list[str]:
        if self._loading is None:
            return self._store.named_graphs()
        return self._loading.reads.named_graphs()

    def get_graph(self, name: str) -> Graph:
        if self._loading is None:
            return self._store.get_graph(name)
        return self._loading.reads.get_graph(name)


class HandleReads:
    """Reads (graph.store.write.Reads) on the store opened for a write. With ``found`` (the graphs
    the store held when the write began loading ahead), every read sees those graphs only: the
    queries' dataset is theirs (default graph their union, named graphs them), and
    ``named_graphs`` and ``get_graph`` leave the others out."""

    def __init__(self, opened: OpenForWriting, allowed_services: frozenset[str],
                 found: Collection[str] | None = None) -> None:
        self._opened = opened  # its handle is read at each use: it is emptied when the write ends
        self._allowed = allowed_services
        self._found = found
        self._as_found = None if found is None else QueryDataset(default=tuple(found), named=tuple(found))

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        return run_query(self._opened.handle, sparql, bindings, lambda result: materialise(result, max_rows),
                         self._allowed, dataset=dataset or self._as_found)

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        return run_query(self._opened.handle, sparql, None, term_texts, self._allowed, dataset=self._as_found)

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._opened.handle.named_graphs()
                      if isinstance(g, ox.NamedNode) and g.value != sizes.SIZES_GRAPH
                      and (self._found is None or g.value in self._found))

    def get_graph(self, name: str) -> Graph:
        if self._found is not None and name not in self._found:
            return Graph(identifier=URIRef(name))  # loaded by this write: not there before it
        return graph_of(self._opened.handle, name)


@dataclass
class _Offer:
    name: str
    graph: Graph
    size: int
    ready: Callable[[], bool]


class _Loading:
    """The write lock held, the store open for writing, a bulk write begun, and a thread that loads
    the graphs offered, in order, each once it is ready."""

    def __init__(self, files: StoreFiles, allowed_services: frozenset[str], *, trusted: bool) -> None:
        self.files = files
        self._stack = ExitStack()
        self._opened = self._stack.enter_context(files.writing())
        try:
            handle = self._opened.handle
            self._before = {g.value for g in handle.named_graphs() if isinstance(g, ox.NamedNode)}  # as found
            self.bulk: bulkwrite.BulkWrite | None = bulkwrite.BulkWrite(handle, files.path, lenient=trusted)
        except BaseException as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)  # the engine's errors as StoreError
            raise
        self.offered: dict[str, _Offer] = {}  # loaded or to be loaded, by name
        self.reads = HandleReads(self._opened, allowed_services, found=frozenset(self._before))
        self._queue: list[tuple[_Offer, str]] = []
        self._more = threading.Condition()
        self._all_offered = False
        self._refused = False  # an offer was not ready: nothing more is loaded
        self._given_up = False  # the write failed before its commit: nothing more is loaded
        self._failure: BaseException | None = None
        self._loader = threading.Thread(target=self._load_offers, name="clusterkg-preload", daemon=True)
        self._loader.start()
        log.info("a bulk write begun; its new graphs load while the rest of it is prepared")

    # -- loading -----------------------------------------------------------------------------------
    def offer(self, offer: _Offer) -> None:
        if offer.name in self._before or offer.name in self.offered:
            return  # a graph that exists is replaced in the transaction
        self.offered[offer.name] = offer
        text = ntriples(offer.graph)  # in this thread: the graph's own text (graph.mapping.memory)
        with self._more:
            self._queue.append((offer, text))
            self._more.notify()

    def offered_all(self) -> None:
        with self._more:
            self._all_offered = True
            self._more.notify()

    def _next(self) -> tuple[_Offer, str] | None:
        with self._more:
            while not self._queue and not self._all_offered:
                self._more.wait()
            return self._queue.pop(0) if self._queue else None

    def _load_offers(self) -> None:
        """The loader thread: each offer, once ready, loaded alone (one core: the other work of the
        write keeps the other busy); once every graph has been offered, the rest loaded together,
        on every core."""
        while (item := self._next()) is not None:
            offer, text = item
            try:
                if not self._may_load(offer):
                    continue
                loads = [(ox.NamedNode(offer.name), text)]
                with self._more:  # every graph offered by now: the rest loads with this one
                    last = self._all_offered
                    rest, self._queue = (self._queue, []) if last else ([], self._queue)
                for other, other_text in rest:
                    if not self._may_load(other):
                        break
                    loads.append((ox.NamedNode(other.name), other_text))
                else:
                    self._bulk().load(loads, split=last, count=True)
            except BaseException as exc:  # handed to the thread that commits
                self._failure = exc

    def _may_load(self, offer: _Offer) -> bool:
        """Whether ``offer`` is to be loaded: it is ready (this waits for it) and the write goes on."""
        if self._refused or self._given_up or self._failure is not None:
            return False
        if not offer.ready():
            self._refused = True
            return False
        return not self._given_up

    def _bulk(self) -> bulkwrite.BulkWrite:
        assert self.bulk is not None
        return self.bulk

    def _stop_loading(self) -> None:
        self.offered_all()
        self._loader.join()

    def _loaded(self) -> None:
        """Every offer loaded: the loader waited for, its failure raised."""
        self._stop_loading()
        if self._failure is not None:
            raise self._failure
        if self._refused:
            raise StoreError("a graph offered to this write was not ready to be written; nothing was written")

    # -- ending ------------------------------------------------------------------------------------
    def commit(self, write: Write) -> None:
        """The write: the graphs not offered written with the rest, and the commit, once the loads
        are done."""
        graphs = write.graphs
        for name, offer in self.offered.items():
            graph = graphs.get(name)
            if graph is None or len(graph) != offer.size:
                raise StoreError(f"the graph {name} loaded for this write is not the one written; nothing was "
                                 "written")
        rest = {name: graph for name, graph in graphs.items() if name not in self.offered}
        commit(self._opened.handle, self.files.path, graph_bodies(rest), write, trusted=write.trusted,
               started=self._bulk(), loads_done=self._loaded)

    def end(self, failure: BaseException | None, *, engine_failed: bool = False) -> None:
        """Stop the loader; after a ``failure``, drop what the write loaded; then the store closed
        and the lock released. A failure of the engine's (``engine_failed``: the commit's, or the
        drop's) goes through :meth:`StoreFiles.writing`, which raises Oxigraph's and the OS's errors
        as StoreError; the caller raises any other."""
        self._given_up = failure is not None  # the offers still waiting are not loaded
        self._stop_loading()
        for held in (failure, self._failure):
            if held is not None:
                forget_locals(held)  # their frames may hold the handle
        self._failure = None
        bulk, self.bulk = self.bulk, None
        engine = failure if engine_failed else None
        try:
            if failure is not None and bulk is not None:
                bulkwrite.abort(bulk.handle, self.files.path, bulk.token)  # nothing if the commit undid it
        except BaseException as exc:
            engine = exc
        finally:
            del bulk  # it holds the handle: gone before the lock is released
            if engine is None:
                self._stack.close()
            else:
                self._stack.__exit__(type(engine), engine, engine.__traceback__)


# -- the commit ----------------------------------------------------------------------------------------
def graph_bodies(graphs: Mapping[str, Graph | None]) -> list[Body]:
    """What a write puts of ``graphs``: each name, its N-Triples (None: dropped) and size."""
    bodies: list[Body] = []
    for name, graph in graphs.items():
        try:
            iri = ox.NamedNode(name)  # validates the IRI
        except ValueError as exc:
            raise StoreError(f"invalid graph name {name!r}, nothing was written: {exc}") from exc
        size = len(graph) if graph is not None else 0
        bodies.append((iri, ntriples(graph) if size else None, size))
    return bodies


def commit(handle: ox.Store, directory: os.PathLike[str], bodies: list[Body], write: Write, *,
           trusted: bool, started: bulkwrite.BulkWrite | None = None,
           loads_done: Callable[[], None] = lambda: None) -> None:
    """``write``'s changes on the open ``handle`` of the store in ``directory``: ``bodies`` (its
    graphs, but those loaded ahead), its rows and its update. ``started``: a bulk write whose
    graphs are loaded already, or are loading, which this commit goes on with once
    ``loads_done()`` has waited for those loads (meanwhile, the rows are checked); the update must
    not change those graphs (their sizes were counted when they were loaded)."""
    names = sizes.recorded_names(write.graphs, write.touched())
    rows = [(ox.NamedNode(name), text) for name, text in write.rows().items() if text]
    parts: list[str] = [sizes.delete_data(_size_records(handle, names))]
    # one compaction follows however many graphs are loaded: the write's new graphs together
    # decide (an import of several files at once)
    new = {iri.value: size for iri, body, size in bodies
           if body and size >= bulkwrite.MIN_TRIPLES and not handle.contains_named_graph(iri)}
    bulk = bool(new) and (started is not None
                          or bulkwrite.worth_loading(sum(new.values()), bulkwrite.stored_triples(handle)))
    loads: list[tuple[ox.NamedNode, str]] = []  # new graphs, bulk-loaded (graph.store.bulkwrite)
    for iri, body, _size in bodies:
        if body and bulk and iri.value in new:
            loads.append((iri, body))
            continue
        # only a graph that exists is dropped: a DROP in the transaction, even of nothing, makes
        # Oxigraph's INSERT DATA after it read through the pending writes
        if handle.contains_named_graph(iri):
            parts.append(f"DROP GRAPH <{iri.value}>")
        if body:
            parts.append(f"INSERT DATA {{ GRAPH <{iri.value}> {{\n{body}\n}} }}")
    parts.append(write.sparql_update())
    # the rows load beside the new graphs, but for rows with blank nodes (a bulk load renames them)
    loaded_rows: list[tuple[ox.NamedNode, str]] = []
    if (loads or started is not None) and not any("_:" in text for _, text in rows):
        loaded_rows = rows
    else:
        parts += [f"INSERT DATA {{ GRAPH <{iri.value}> {{\n{text}\n}} }}" for iri, text in rows]
    bulk_write = started
    if bulk_write is not None:
        try:
            recorded = bulk_write.record(loaded_rows)  # reads the graphs that exist: the loads go on
            loads_done()
            bulk_write.load(loads, recorded=recorded)
        except BaseException:
            bulk_write.abort()
            raise
    elif loads:
        bulk_write = bulkwrite.begin(handle, directory, loads, lenient=trusted, rows=loaded_rows)
    if bulk_write is not None:
        parts.append(bulk_write.marker())  # committed with the rest, or not at all
    update = " ;\n".join(p for p in parts if p)
    try:
        if update:
            handle.update(update)
    except BaseException:
        if bulk_write is not None:
            bulkwrite.abort(handle, directory, bulk_write.token)
        raise
    if bulk_write is not None:
        bulk_write.finish()
    _record_sizes(handle, names, counted=started.counts if started is not None else None)
    if bulk_write is not None:
        bulkwrite.compact(handle)


def _size_records(handle: ox.Store, names: Sequence[str]) -> list[tuple[str, str]]:
    graph, predicate = ox.NamedNode(sizes.SIZES_GRAPH), ox.NamedNode(sizes.VOID_TRIPLES)
    return [(name, str(quad.object))
            for name in names for quad in handle.quads_for_pattern(ox.NamedNode(name), predicate, None, graph)]


def _record_sizes(handle: ox.Store, names: Sequence[str], counted: Mapping[str, int] | None = None) -> None:
    """Count the committed graphs and replace their records; ``counted``: graphs counted already
    (loaded earlier, and not changed since). The write itself has committed by now: a failure here
    only leaves the graphs unrecorded (they are counted when asked)."""
    if not names:
        return
    counted = counted or {}
    missing = [name for name in names if name not in counted]

    def count(name: str) -> int:
        return bulkwrite.count_graph(handle, name)

    try:
        if len(missing) > 1:  # the engine counts without the GIL: one graph per core
            with ThreadPoolExecutor(max_workers=min(len(missing), os.cpu_count() or 1)) as pool:
                counts = dict(zip(missing, pool.map(count, missing), strict=True))
        else:
            counts = {name: count(name) for name in missing}
        counts.update((name, counted[name]) for name in names if name in counted)
        update = " ;\n".join(p for p in (sizes.delete_data(_size_records(handle, names)),
                                          sizes.insert_data(counts)) if p)
        if update:
            handle.update(update)
    except (OSError, RuntimeError, SyntaxError, ValueError) as exc:
        log.warning("the graphs were written but their sizes not recorded (%s); they are counted instead",
                    one_line(exc))
