"""A write's new graphs bulk-loaded into the embedded store while the rest of the write is prepared.

An import of several files stages them one after another (the main thread maps a file while two
threads check the constraints of the one before) and writes them in one write at the end. The
staging leaves a core idle much of the time (the main thread's Python is its critical path), and
a bulk load at the end would keep both busy after it. So here each new graph is
bulk-loaded as soon as its file's validation conforms, in a thread of its own, while the next
file is mapped; the write at the end loads what is left (the last file, in pieces on every core,
:func:`graph.store.bulkwrite._pieces`) and commits as any bulk write does.

The write is still all or nothing, and no reader sees it before its commit:

- the early loads are a bulk write (graph.store.bulkwrite) begun at the first of them: the store's
  exclusive lock is taken then and held to the commit (readers wait, as they wait for any write,
  a little longer: docs/performance.md), and the intent names each graph before it is loaded, so
  a crash is recovered like any interrupted bulk write;
- a graph is loaded only once ``ready()`` says its validation conforms; after a refusal nothing
  more is loaded, and a write (:meth:`graph.store.embedded.EmbeddedStore.writing`) left without
  the commit drops every graph loaded (a violation in the last file costs dropping the ones
  before it);
- the write's own reads meanwhile (the validation's context, the responses imported before, the
  summary's maintenance) go through the open handle: they see the store as it was and the graphs
  this write has loaded so far, which :meth:`EmbeddedPreloading.named_graphs` leaves out (it lists
  the graphs as they were) and the readers skip where it matters, by name (the importer knows its
  files' graphs, the summary's maintenance the graphs of its write). Restricting the queries'
  dataset to the graphs that were there instead (pyoxigraph's ``default_graph=[...]``) makes the
  validation's context query several times slower: one look-up per graph instead of one in the
  union's index;
- the early loads begin only when the write is a bulk write: when the graphs offered so far hold
  an eighth of the store (:func:`graph.store.bulkwrite.worth_loading`). Below that, nothing is
  loaded early and the write is one transaction, as any other.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TypeVar

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node

from graph.results import QueryResult
from graph.store import bulkwrite, sizes
from graph.store.base import QueryDataset, StoreError, StoreWrapper, Write
from graph.store.embedded import (
    EmbeddedStore,
    addition_rows,
    graph_bodies,
    graph_of,
    materialise,
    run_query,
    term_texts,
)
from graph.store.terms import ntriples

T = TypeVar("T")
log = logging.getLogger("clusterkg.store")


@dataclass
class _Offer:
    name: str
    graph: Graph
    size: int
    ready: Callable[[], bool]


class EmbeddedPreloading(StoreWrapper):
    """The embedded store for one write whose new graphs are loaded as they are offered (see the
    module's docstring). Reads pass to the store until the first load, then run on the write's
    handle: the store as it was, and the new graphs loaded so far."""

    def __init__(self, store: EmbeddedStore, *, checked: bool = False) -> None:
        super().__init__(store)
        self.store = store
        self.checked = checked
        self._offers: list[_Offer] = []  # offered before the first load (not yet worth it)
        self._stored: int | None = None  # the store's triples, read at the first offer
        self._session: _Session | None = None
        self._all_offered = False

    # -- offers ------------------------------------------------------------------------------------
    def preload(self, name: str, graph: Graph, ready: Callable[[], bool]) -> None:
        size = len(graph)
        if size < bulkwrite.MIN_TRIPLES:
            return  # written in the transaction in any case
        offer = _Offer(name, graph, size, ready)
        if self._session is not None:
            self._session.offer(offer)
            return
        self._offers.append(offer)
        if self._stored is None:
            self._stored = self.store.stored_triples()
        if bulkwrite.worth_loading(sum(o.size for o in self._offers), self._stored):
            self._session = _Session(self.store, self.checked)
            for waiting in self._offers:
                self._session.offer(waiting)
            self._offers = []
            if self._all_offered:
                self._session.offered_all()

    def offered_all(self) -> None:
        self._all_offered = True
        if self._session is not None:
            self._session.offered_all()

    # -- the write ---------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """Whether graphs are being loaded: the write is a bulk write, its commit :meth:`commit`."""
        return self._session is not None

    def commit(self, write: Write) -> None:
        """The write's steps (reading through the loading handle, under the lock it holds), then
        its commit with what was loaded."""
        session = self._session
        assert session is not None
        write.run_steps(self)
        try:
            session.commit(write)
        except BaseException as exc:
            self.end(exc, the_stores=True)
            raise
        self.end(None)

    def end(self, failure: BaseException | None, *, the_stores: bool = False) -> None:
        """The write is over: committed, or (``failure``) given up, every graph loaded dropped.
        ``the_stores``: the failure is the store's (the commit's), and an error of Oxigraph's or the
        OS's is raised as StoreError, as any write's; any other (the importer's refusal, a file it
        could not read) goes on as it is."""
        session, self._session = self._session, None
        if session is not None:
            session.end(failure, the_stores=the_stores)

    # -- reads -------------------------------------------------------------------------------------
    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        if self._session is None or dataset is not None:
            return self.inner.query(sparql, bindings, max_rows=max_rows, dataset=dataset)
        return self._session.read(sparql, bindings, lambda result: materialise(result, max_rows))

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        if self._session is None:
            return self.inner.select_texts(sparql)
        return self._session.read(sparql, None, term_texts)

    def generation(self) -> str | None:
        return self.inner.generation() if self._session is None else self._session.generation

    def named_graphs(self) -> list[str]:
        if self._session is None:
            return self.inner.named_graphs()
        return sorted(g.value for g in self._session.before
                      if isinstance(g, ox.NamedNode) and g.value != sizes.SIZES_GRAPH)

    def get_graph(self, name: str) -> Graph:
        if self._session is None:
            return self.inner.get_graph(name)
        return self._session.get_graph(name)

    def dataset(self) -> Dataset:
        if self._session is not None:
            raise StoreError("the whole store cannot be read while a write is under way")
        return self.inner.dataset()

    def dump_nquads(self) -> bytes:
        if self._session is not None:
            raise StoreError("the whole store cannot be read while a write is under way")
        return self.inner.dump_nquads()


class _Session:
    """The write lock held, the store open for writing, a bulk write begun, and a thread that loads
    the graphs offered, in order, each once it is ready."""

    def __init__(self, store: EmbeddedStore, checked: bool) -> None:
        self.store = store
        self._stack = ExitStack()
        self._opened = self._stack.enter_context(store._writing())
        try:
            handle = self._opened.handle
            self.generation = self._opened.generation
            self.before = list(handle.named_graphs())  # the graphs there were
            self._before_names = {g.value for g in self.before if isinstance(g, ox.NamedNode)}
            self.bulk: bulkwrite.BulkWrite | None = bulkwrite.BulkWrite(handle, store.path, lenient=checked)
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        self.offered: dict[str, _Offer] = {}  # loaded or to be loaded, by name
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
        if offer.name in self._before_names or offer.name in self.offered:
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

    # -- reading -----------------------------------------------------------------------------------
    def read(self, sparql: str, bindings: Mapping[str, Node] | None, read: Callable[[object], T]) -> T:
        return run_query(self._opened.handle, sparql, bindings, read, self.store.allowed_services)

    def get_graph(self, name: str) -> Graph:
        if name in self._before_names:
            return graph_of(self._opened.handle, name)
        return Graph(identifier=URIRef(name))  # loaded by this write: not there before it

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
        self.store._commit_graphs(self._opened.handle, graph_bodies(rest), write.sparql_update(),
                                  sizes.recorded_names(graphs, write.touched()), addition_rows(write.rows()),
                                  write.trusted, started=self._bulk(), loads_done=self._loaded)

    def _loaded(self) -> None:
        """Every offer loaded: the loader waited for, its failure raised."""
        self._stop_loading()
        if self._failure is not None:
            raise self._failure
        if self._refused:
            raise StoreError("a graph offered to this write was not ready to be written; nothing was written")

    def end(self, failure: BaseException | None, *, the_stores: bool = False) -> None:
        """Stop the loader; after a ``failure``, drop what the write loaded; then the store closed
        and the lock released. A failure of the store's (``the_stores``, or of the drop) goes
        through :meth:`EmbeddedStore._writing`, which raises Oxigraph's and the OS's errors as
        StoreError; the caller raises any other."""
        self._given_up = failure is not None  # the offers still waiting are not loaded
        self._stop_loading()
        bulk, self.bulk = self.bulk, None
        stores = failure if the_stores else None
        try:
            if failure is not None and bulk is not None:
                bulkwrite.abort(bulk.handle, self.store.path, bulk.token)  # nothing if the commit undid it
        except BaseException as exc:
            stores = exc
        finally:
            del bulk  # it holds the handle: gone before the lock is released
            if stores is None:
                self._stack.close()
            else:
                self._stack.__exit__(type(stores), stores, stores.__traceback__)
