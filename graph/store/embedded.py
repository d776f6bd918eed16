"""The embedded store: a persistent pyoxigraph (RocksDB) store in a directory.

Why on disk rather than in memory with snapshots: opening the on-disk store is instant while
loading the same quads into memory takes seconds at every start (a cold start the service cannot
afford), and queries run at the same speed on both (docs/architecture.md, docs/performance.md).
RocksDB gives durable, atomic transactions for free.

Reads go through a read-only handle and writes open the store read-write only for the time of the
write (see :mod:`graph.store.lockfile`), so any number of processes — the service, its query
workers, the command line — can use one store at the same time.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node

from graph.guard import ServiceRefused, check_services
from graph.messages import one_line
from graph.results import CELL_BYTES, AskResult, GraphResult, QueryResult, Row, SelectResult
from graph.store import bulkwrite, sizes
from graph.store.base import QueryDataset, Store, StoreError, StoreUnavailable, Write
from graph.store.lockfile import StoreLock
from graph.store.terms import (
    Encoded,
    decode_ox,
    decode_term,
    encode_ox,
    encoded_json,
    encoded_json_text,
    from_ox,
    ntriples,
    to_ox,
)

T = TypeVar("T")
V = TypeVar("V")
K = TypeVar("K")
log = logging.getLogger("clusterkg.store")
_SIZES_LINE_END = f" <{sizes.SIZES_GRAPH}> .\n".encode()  # the end of an N-Quads line of a size record


QUERY_FAILED = ("the query failed while the engine ran it (for example a SERVICE endpoint that did not "
                "answer); the administrator can find the details in the service log")


class EmbeddedStore(Store):
    """A pyoxigraph store in ``path``; its default graph for queries is the union of all graphs.

    ``read_only`` refuses writes and requires an existing store; otherwise the store is created
    if missing. ``confined``: this process reaches only the allowed SERVICE endpoints (a query
    worker, graph.egress), so a query's text is checked for them only as a courtesy; otherwise
    strictly (graph.guard).
    """

    def __init__(self, path: Path, *, read_only: bool = False,
                 allowed_services: frozenset[str] = frozenset(), confined: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.allowed_services = allowed_services
        self.confined = confined
        self._handle: ox.Store | None = None
        self._generation: str | None = None
        self._mutex = threading.Lock()
        self._closed = False
        self._lock = StoreLock(self.path)
        self._identity = str(self.path.resolve())  # asked on every request (the caches' keys)
        if read_only:
            if not (self.path / "CURRENT").exists():
                raise StoreUnavailable(f"no store at {self.path} (run `clusterkg init` first)")
        else:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create the store at {self.path}: {exc}") from exc
            if not (self.path / "CURRENT").exists():
                self._write(lambda handle: None)  # creates the RocksDB files

    @contextmanager
    def _reader(self) -> Iterator[ox.Store]:
        """A read-only handle that sees every committed write, held under the shared lock."""
        if self._closed:
            raise StoreError("the store is closed")
        if bulkwrite.pending(self.path):
            self._recover_interrupted()
        with self._lock.shared() as generation:
            with self._mutex:
                if self._handle is None or generation != self._generation:
                    self._handle = _open(self.path, read_only=True)
                    self._generation = generation
                handle = self._handle
            yield handle

    def _write(self, action: Callable[[ox.Store], object]) -> list[str]:
        """Run ``action`` on the store opened read-write under the exclusive lock, then close it;
        an interrupted bulk write is finished or undone first (graph.store.bulkwrite: the graphs
        it rolled back are returned)."""
        with self._writing() as opened:
            action(opened.handle)
        return opened.rolled_back

    @contextmanager
    def _writing(self) -> Iterator[OpenForWriting]:
        """The store opened read-write under the exclusive lock for the time of the ``with``
        block, flushed and closed after it; Oxigraph's and the OS's errors become one-line
        :class:`StoreError` s. An interrupted bulk write is finished or undone first.

        The handle must be gone before the lock is released (readers then reopen), so no
        reference to it may outlive the block, not even in a traceback: callers read it from
        ``opened.handle``, which is emptied at the end, and keep no reference of their own.
        """
        if self.read_only:
            raise StoreError("this store was opened read-only; nothing was written")
        failure = None
        with self._lock.exclusive() as generation:
            opened = OpenForWriting(_open(self.path, read_only=False), generation)
            try:
                opened.rolled_back = bulkwrite.recover(opened.handle, self.path)
                yield opened
                opened.handle.flush()
            except BaseException as exc:
                _forget_locals(exc)
                if not isinstance(exc, (OSError, SyntaxError, ValueError)):
                    raise
                failure = f"write failed, nothing was written: {one_line(exc)}"
            finally:
                opened.handle = None  # type: ignore[assignment]  # pyoxigraph closes RocksDB with the last reference
                prune_info_logs(self.path)
        if failure:
            raise StoreError(failure)

    def _recover_interrupted(self) -> None:
        """A bulk write that a crash interrupted (its intent is still there) finished or undone
        before anything is read, since its new graphs may be half-written. Even a read-only store
        does this: it restores a committed state and writes nothing new."""
        with self._lock.exclusive():
            if not bulkwrite.pending(self.path):
                return  # a writer was at work, and has finished
            handle = _open(self.path, read_only=False)
            try:
                bulkwrite.recover(handle, self.path)
            except BaseException as exc:
                _forget_locals(exc)
                raise
            finally:
                del handle
                prune_info_logs(self.path)

    def identity(self) -> str | None:
        return self._identity

    def location(self) -> dict[str, object]:
        return {"store_path": self.path, "endpoint": None, "update_endpoint": None, "graph_store": None}

    def generation(self) -> str | None:
        """The lock file's write generation (graph.store.lockfile): new after every write."""
        return self._lock.generation() or None

    # -- reads ------------------------------------------------------------------------------
    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        return self._query(sparql, bindings, lambda result: materialise(result, max_rows), dataset)

    def query_encoded(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
                      max_rows: int | None = None, max_bytes: int | None = None,
                      dataset: QueryDataset | None = None) -> tuple:
        """The query's result in a form that crosses a process boundary cheaply, for the sandbox's
        workers: a SELECT's rows as tuples of strings (no rdflib terms to pickle and rebuild one by
        one, the larger part of a large answer's cost); :func:`decode_result` turns it into ours."""
        return self._query(sparql, bindings, lambda result: _encode(result, max_rows, max_bytes), dataset)

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        """(Store.select_texts) Oxigraph's own N-Triples form of each term: no rdflib terms made."""
        return self._query(sparql, None, term_texts)

    def _query(self, sparql: str, bindings: Mapping[str, Node] | None, read: Callable[[object], T],
               dataset: QueryDataset | None = None) -> T:
        with self._reader() as handle:
            return run_query(handle, sparql, bindings, read, self.allowed_services, strict=not self.confined,
                             dataset=dataset)

    def stored_triples(self) -> int:
        """What the store holds, by its recorded graph sizes."""
        with self._reader() as handle:
            return bulkwrite.stored_triples(handle)

    def named_graphs(self) -> list[str]:
        with self._reader() as handle:
            return sorted(g.value for g in handle.named_graphs()
                          if isinstance(g, ox.NamedNode) and g.value != sizes.SIZES_GRAPH)

    def get_graph(self, name: str) -> Graph:
        with self._reader() as handle:
            return graph_of(handle, name)

    def dataset(self) -> Dataset:
        ds = Dataset()
        data = self.dump_nquads()
        if data:
            ds.parse(data=data, format="nquads")
        return ds

    def dump_nquads(self) -> bytes:
        """Every quad as N-Quads, read from one snapshot; not the recorded sizes (graph.store.sizes),
        which the store that loads the quads records itself."""
        with self._reader() as handle:
            data = handle.dump(format=ox.RdfFormat.N_QUADS) or b""
        if _SIZES_LINE_END in data:
            data = b"".join(line for line in data.splitlines(keepends=True) if not line.endswith(_SIZES_LINE_END))
        return data

    # -- writes -----------------------------------------------------------------------------
    @contextmanager
    def writing(self, *, trusted: bool = False) -> Iterator[Write]:
        """(Store.writing) Big new graphs put with a ``ready`` may be bulk-loaded while the rest of
        the write is prepared (graph.store.preloading); the write's reads then go through the
        handle that loads them. ``trusted``: new graphs are bulk-loaded without Oxigraph's IRI
        checks (a large share of the loader's time), their text having been parsed strictly."""
        from graph.store.preloading import EmbeddedPreloading

        preloading = EmbeddedPreloading(self, checked=trusted)
        write = Write(preloading, trusted=trusted, offer=preloading.preload)
        try:
            yield write
            preloading.offered_all()
            write.wait_until_ready()
            if preloading.started:
                preloading.commit(write)
            else:
                self._apply(write)
        except BaseException as exc:
            preloading.end(exc)
            raise
        finally:
            write.close()
        preloading.end(None)

    def _apply(self, write: Write) -> None:
        """(Store._apply) Under the exclusive lock: the steps, reading through the open handle, then
        one SPARQL update, hence one RocksDB transaction, for every change; then, under the same
        lock (so readers see both at once), the new sizes of the graphs written and touched
        (graph.store.sizes). Rows added are loaded beside the new graphs when these are
        bulk-loaded (graph.store.bulkwrite.begin), else inserted by the update."""
        if write.is_empty():
            return
        refusal: BaseException | None = None
        with self._writing() as opened:
            try:
                write.run_steps(HandleReads(opened, self.allowed_services))
            except BaseException as exc:  # the caller's, raised as it is (not as the engine's errors are)
                refusal = exc
            if refusal is None:
                self._commit_graphs(opened.handle, graph_bodies(write.graphs), write.sparql_update(),
                                    sizes.recorded_names(write.graphs, write.touched()),
                                    addition_rows(write.rows()), write.trusted)
        if refusal is not None:
            raise refusal

    def _commit_graphs(self, handle: ox.Store, bodies: list[Body], then: str,
                       names: list[str], extra: list[tuple[ox.NamedNode, str]], checked: bool,
                       started: bulkwrite.BulkWrite | None = None,
                       loads_done: Callable[[], None] = lambda: None) -> None:
        """A write's changes (:meth:`_apply`), on the open ``handle``. ``started``: a bulk write whose
        graphs are loaded already, or are loading (graph.store.preloading), which this write goes
        on with and commits, once ``loads_done()`` has waited for those loads (meanwhile, the
        additions are checked); ``bodies`` leaves those graphs out, and ``then`` must not change
        them (their sizes were counted when they were loaded)."""
        parts: list[str] = [sizes.delete_data(_size_records(handle, names))]
        bulk: list[tuple[ox.NamedNode, str]] = []  # new graphs, bulk-loaded (graph.store.bulkwrite)
        # one compaction follows however many graphs are loaded: the write's new graphs together
        # decide (an import of several files at once)
        new = {iri.value: size for iri, body, size in bodies
               if body and size >= bulkwrite.MIN_TRIPLES and not handle.contains_named_graph(iri)}
        worth_it = new and (started is not None or bulkwrite.worth_it(handle, sum(new.values())))
        loaded = set(new) if worth_it else set()
        for iri, body, _size in bodies:
            if body and iri.value in loaded:
                bulk.append((iri, body))
                continue
            exists = handle.contains_named_graph(iri)
            # only a graph that exists is dropped: a DROP in the transaction, even of nothing,
            # makes Oxigraph's INSERT DATA after it read through the pending writes (+60% at 1M)
            if exists:
                parts.append(f"DROP GRAPH <{iri.value}>")
            if body:
                parts.append(f"INSERT DATA {{ GRAPH <{iri.value}> {{\n{body}\n}} }}")
        parts.append(then)
        # the additions load beside the new graphs (a bulk load would rename blank nodes)
        loaded_extra: list[tuple[ox.NamedNode, str]] = []
        if (bulk or started is not None) and not any("_:" in rows for _, rows in extra):
            loaded_extra = extra
        else:
            parts += [f"INSERT DATA {{ GRAPH <{iri.value}> {{\n{rows}\n}} }}" for iri, rows in extra]
        write = started
        if write is not None:
            try:
                recorded = write.record(loaded_extra)  # reads the graphs that exist: the loads go on
                loads_done()
                write.load(bulk, recorded=recorded)
            except BaseException:
                write.abort()
                raise
        elif bulk:
            write = bulkwrite.begin(handle, self.path, bulk, lenient=checked, additions=loaded_extra)
        if write is not None:
            parts.append(write.marker())  # committed with the rest, or not at all
        update = " ;\n".join(p for p in parts if p)
        try:
            if update:
                handle.update(update)
        except BaseException:
            if write is not None:
                bulkwrite.abort(handle, self.path, write.token)
            raise
        if write is not None:
            write.finish()
        _record_sizes(handle, names, counted=started.counts if started is not None else None)
        if write is not None:
            bulkwrite.compact(handle)

    def recover(self) -> list[str]:
        """Opening read-write replays RocksDB's log of a write that a crash interrupted, and an
        interrupted bulk write is finished or undone; returns the graphs rolled back."""
        if not self.read_only:
            return self._write(lambda handle: None)
        return []

    def close(self) -> None:
        self._closed = True
        with self._mutex:
            self._handle = None


Body = tuple[ox.NamedNode, str | None, int]  # a graph to write: its name, N-Triples (None: dropped), size


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


def addition_rows(additions: Mapping[str, str] | None) -> list[tuple[ox.NamedNode, str]]:
    return [(ox.NamedNode(name), rows) for name, rows in (additions or {}).items() if rows]


class HandleReads:
    """Reads on the store opened for a write (its steps, under the write lock): what the store
    holds, and any graph the write has bulk-loaded already (graph.store.preloading)."""

    def __init__(self, opened: OpenForWriting, allowed_services: frozenset[str]) -> None:
        self._opened = opened  # its handle is read at each use: it is emptied when the write ends
        self._allowed = allowed_services

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        return run_query(self._opened.handle, sparql, bindings, lambda result: materialise(result, max_rows),
                         self._allowed, dataset=dataset)

    def select_texts(self, sparql: str) -> list[tuple[str | None, ...]]:
        return run_query(self._opened.handle, sparql, None, term_texts, self._allowed)

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._opened.handle.named_graphs()
                      if isinstance(g, ox.NamedNode) and g.value != sizes.SIZES_GRAPH)

    def get_graph(self, name: str) -> Graph:
        return graph_of(self._opened.handle, name)


def graph_of(handle: ox.Store, name: str) -> Graph:
    """The triples of one named graph, as an rdflib graph."""
    graph = Graph(identifier=URIRef(name))
    for quad in handle.quads_for_pattern(None, None, None, ox.NamedNode(name)):
        graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    return graph


def run_query(handle: ox.Store, sparql: str, bindings: Mapping[str, Node] | None, read: Callable[[object], T],
              allowed_services: frozenset[str], *, strict: bool = True, dataset: QueryDataset | None = None) -> T:
    """``sparql`` on ``handle``, its default graph the union of every graph; the answer as ``read``
    makes it. SERVICE calls only to ``allowed_services`` (graph.guard; ``strict`` where nothing
    else enforces them)."""
    try:
        check_services(sparql, allowed_services, strict=strict)
    except ServiceRefused as exc:
        raise StoreError(str(exc)) from exc
    substitutions = {ox.Variable(k): to_ox(v) for k, v in (bindings or {}).items()} or None
    where: dict[str, object] = {"use_default_graph_as_union": True}
    if dataset is not None:
        where = {"default_graph": [ox.NamedNode(g) for g in dataset.default] or [ox.DefaultGraph()],
                 "named_graphs": [ox.NamedNode(g) for g in dataset.named]}
    try:
        return read(handle.query(sparql, substitutions=substitutions, **where))
    except SyntaxError as exc:
        raise StoreError(f"SPARQL syntax error: {one_line(exc)}") from exc
    except OSError as exc:  # the engine's own words name addresses and errors: for the log only
        log.warning("query failed in the engine: %s", one_line(exc))
        raise StoreError(QUERY_FAILED) from exc


@dataclass
class OpenForWriting:
    """The store opened read-write (:meth:`EmbeddedStore._writing`)."""

    handle: ox.Store
    generation: str
    rolled_back: list[str] = field(default_factory=list)


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


def _forget_locals(exc: BaseException) -> None:
    """Clear the variables of the finished frames in the tracebacks of ``exc`` and of the exceptions
    chained to it. A frame that was given the read-write handle (a bulk load's, even one in another
    thread whose failure was handed on) keeps RocksDB open as long as the exception lives: past the
    release of the lock, where the next write's opening is refused and a reader's opening can find
    files the open handle has deleted since."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)  # a frame still running is left as it is
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)


def _open(path: Path, *, read_only: bool) -> ox.Store:
    try:
        return ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
    except OSError as exc:
        if "lock" in str(exc).lower():
            raise StoreUnavailable(
                f"the store at {path} is held by a process that does not follow clusterkg's locking "
                "(an older clusterkg?); stop it or use another --store"
            ) from exc
        raise StoreUnavailable(f"cannot open the store at {path}: {exc}") from exc


INFO_LOGS_KEPT = 2


def prune_info_logs(path: Path) -> None:
    """RocksDB starts a new info log (``LOG``) at every read-write opening, and every write opens
    the store: the older ones (``LOG.old.*``) are removed but the last few."""
    old = sorted(path.glob("LOG.old.*"), key=lambda p: p.name)
    for log_file in old[:-INFO_LOGS_KEPT] if INFO_LOGS_KEPT else old:
        try:
            log_file.unlink()
        except OSError:
            pass


def term_texts(result: object) -> list[tuple[str | None, ...]]:
    if not isinstance(result, ox.QuerySolutions):
        raise StoreError("select_texts needs a SELECT query")
    return [tuple(None if term is None else str(term) for term in solution) for solution in result]


def _encode(result: object, max_rows: int | None, max_bytes: int | None = None) -> tuple:
    """The answer as :func:`decode_result` reads it, cut after ``max_rows`` rows (or triples) or
    before the row that would take it past ``max_bytes`` (every occurrence of a term counts: it is
    written out as often as it occurs)."""
    # each distinct term encoded once: one tuple, which pickle then writes once and refers back to
    encode = _memoised(encode_ox)
    budget = max_bytes if max_bytes is not None else -1
    size = CELL_BYTES
    if isinstance(result, ox.QueryTriples):
        triples: set[tuple[Encoded, Encoded, Encoded]] = set()
        for triple in result:
            if max_rows is not None and len(triples) >= max_rows:
                return ("graph", triples, True, size)
            encoded = (encode(triple.subject), encode(triple.predicate), encode(triple.object))
            if encoded in triples:
                continue
            cost = sum(_encoded_bytes(term) for term in encoded)
            if budget >= 0 and size + cost > budget:
                return ("graph", triples, True, size)
            triples.add(encoded)
            size += cost
        return ("graph", triples, False, size)
    if not isinstance(result, ox.QuerySolutions):
        return ("result", materialise(result, max_rows))
    variables = [v.value for v in result.variables]
    rows: list[tuple[Encoded | None, ...]] = []
    for solution in result:
        if max_rows is not None and len(rows) >= max_rows:
            return ("select", variables, rows, True, size)  # stop reading: it is lazy
        row = tuple(None if term is None else encode(term) for term in solution)  # in variable order
        cost = sum(_encoded_bytes(term) for term in row if term is not None) + CELL_BYTES
        if budget >= 0 and size + cost > budget:
            return ("select", variables, rows, True, size)
        rows.append(row)
        size += cost
    return ("select", variables, rows, False, size)


def _encoded_bytes(term: Encoded) -> int:
    return sum(len(part) for part in term) + CELL_BYTES


def decode_result(payload: tuple) -> QueryResult:
    """The result :meth:`EmbeddedStore.query_encoded` encoded."""
    if payload[0] == "result":
        return payload[1]
    if payload[0] == "graph":
        return EncodedGraphResult(payload[1], payload[2], payload[3])
    _, variables, encoded_rows, truncated, size = payload
    return EncodedSelectResult(variables, encoded_rows, truncated, size)


class EncodedSelectResult(SelectResult):
    """A SELECT answer as a query worker sent it (rows of encoded terms): rdflib rows are built
    on first use, each distinct term once, and the JSON serialisation is made from the encoded
    terms directly (no rdflib term made, no dictionary encoded)."""

    def __init__(self, variables: list[str], encoded_rows: list[tuple[Encoded | None, ...]], truncated: bool,
                 size: int) -> None:
        super().__init__(variables, None, truncated)
        self._encoded: list[tuple[Encoded | None, ...]] | None = encoded_rows
        self._count = len(encoded_rows)
        self._size = size

    @property
    def size_bytes(self) -> int:
        return self._size

    @property
    def rows(self) -> list[Row]:
        encoded = self._encoded  # read once: the service's threads may share a cached result
        if encoded is not None:
            self._rows = _convert_rows(self.variables, encoded, decode_term)
            self._encoded = None
        return self._rows

    @property
    def row_count(self) -> int:
        return self._count

    def json_bindings(self) -> list[dict[str, dict[str, str]]]:
        encoded = self._encoded
        if encoded is None:
            return super().json_bindings()
        return _convert_rows(self.variables, encoded, encoded_json)

    def json_bindings_text(self) -> str:
        """The bindings' JSON text written row by row from each distinct term's JSON, made once (a
        fraction of building dictionaries and encoding them)."""
        encoded = self._encoded
        if encoded is None:
            return super().json_bindings_text()
        term = _memoised(encoded_json_text)
        names = [json.dumps(var, ensure_ascii=False) + ": " for var in self.variables]
        rows = ("{" + ", ".join(name + term(enc) for name, enc in zip(names, row, strict=True) if enc is not None) + "}"
                for row in encoded)
        return "[" + ", ".join(rows) + "]"


_OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,  # by rdflib's names
               "json-ld": ox.RdfFormat.JSON_LD, "xml": ox.RdfFormat.RDF_XML}


class EncodedGraphResult(GraphResult):
    """A CONSTRUCT/DESCRIBE answer as a query worker sent it (a set of encoded triples): the rdflib
    graph is built on first use; pyoxigraph's serialisers write the RDF straight from the encoded
    terms (rdflib's Turtle writer took ~25 ms for a 2,000-triple cluster subgraph, its JSON-LD
    writer more). Its JSON-LD is the expanded form, one node object per subject, ``rdf:type`` as a
    property (what JSON-LD's fromRdf gives without useRdfType)."""

    def __init__(self, triples: set[tuple[Encoded, Encoded, Encoded]], truncated: bool, size: int) -> None:
        super().__init__(Graph(), truncated)
        self._encoded: set[tuple[Encoded, Encoded, Encoded]] | None = triples
        self._size = size

    @property
    def size_bytes(self) -> int:
        return self._size

    @property
    def graph(self) -> Graph:
        encoded = self._encoded  # read once: the service's threads may share a result
        if encoded is not None:
            graph = Graph()
            for triple in _convert_triples(encoded, decode_term):
                graph.add(triple)
            self._graph = graph
            self._encoded = None
        return self._graph

    def serialize(self, rdf_format: str, prefixes: Mapping[str, str]) -> str:
        encoded = self._encoded
        ox_format = _OX_FORMATS.get(rdf_format)
        if encoded is None or ox_format is None:
            return super().serialize(rdf_format, prefixes)
        triples = [ox.Triple(*t) for t in _convert_triples(sorted(encoded), decode_ox)]  # by subject: grouped
        used = dict(prefixes) if ox_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else None
        return ox.serialize(triples, format=ox_format, prefixes=used).decode("utf-8")


def _memoised(convert: Callable[[K], V]) -> Callable[[K], V]:
    """``convert`` with each distinct term converted once (answers repeat the same terms)."""
    memo: dict[K, V] = {}

    def term(key: K) -> V:
        value = memo.get(key)
        if value is None:
            value = memo[key] = convert(key)
        return value

    return term


def _convert_triples(triples: Iterable[tuple[Encoded, Encoded, Encoded]],
                     convert: Callable[[Encoded], V]) -> list[tuple[V, V, V]]:
    term = _memoised(convert)
    return [(term(s), term(p), term(o)) for s, p, o in triples]


def _convert_rows(variables: list[str], encoded_rows: list[tuple[Encoded | None, ...]],
                  convert: Callable[[Encoded], V]) -> list[dict[str, V]]:
    """Rows of ``convert``ed terms (unbound variables left out)."""
    term = _memoised(convert)
    return [{var: term(enc) for var, enc in zip(variables, encoded, strict=True) if enc is not None}
            for encoded in encoded_rows]


def materialise(result: object, max_rows: int | None) -> QueryResult:
    """Read a lazy pyoxigraph result into ours, stopping after ``max_rows``."""
    if isinstance(result, ox.QueryBoolean):
        return AskResult(bool(result))
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows: list[Row] = []
        node = _memoised(from_ox)
        for solution in result:
            if max_rows is not None and len(rows) >= max_rows:
                return SelectResult(variables, rows, truncated=True)  # stop reading: it is lazy
            rows.append({var: node(term) for var in variables if (term := solution[var]) is not None})
        return SelectResult(variables, rows)
    graph = Graph()
    for triple in result:
        if max_rows is not None and len(graph) >= max_rows:
            return GraphResult(graph, truncated=True)
        graph.add((from_ox(triple.subject), from_ox(triple.predicate), from_ox(triple.object)))
    return GraphResult(graph)
