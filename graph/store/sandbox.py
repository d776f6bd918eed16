"""Queries with a deadline: each runs in a worker process that is killed when time is up.

Neither pyoxigraph nor rdflib can cancel a running query (threads cannot be interrupted inside
the engine, and SIGALRM is not seen until the engine returns), so the service runs its reads in a
small pool of worker processes. The parent waits for the answer until the deadline, then kills
the worker with SIGKILL and starts a fresh one; the other workers keep answering meanwhile.
Each worker:

- opens the store read-only (see :mod:`graph.store.lockfile`), so it sees every committed write
  and a kill never touches the data;
- runs under a limit on the memory it can write to (``RLIMIT_DATA``: heap, anonymous mappings,
  thread stacks), so a query that would eat the machine's memory (an ``ORDER BY`` over
  everything) dies alone. Not ``RLIMIT_AS``: that counts address space merely reserved (glibc
  reserves a range per malloc arena, i.e. per thread that allocates, plus the read-only mappings
  of the store's files), which is large even for a worker answering a light query, varies with
  how many engine threads ran at once, and under load made light queries abort
  (``std::system_error`` when RocksDB could not start a thread; docs/security.md);
- has no network but a relay to the allowed ``SERVICE`` endpoints (graph.egress): it moves into
  namespaces of its own, and this process relays its connections to those endpoints only. Where
  the kernel refuses the namespaces the worker says so (and it is logged) and its store checks
  each query's text strictly instead (graph.guard).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from rdflib.term import Node

from graph import egress
from graph.results import QueryResult
from graph.store.base import (
    QueryAborted,
    QueryDataset,
    QueryTimeout,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    StoreWrapper,
    TooManyQueries,
)
from graph.store.embedded import EmbeddedStore
from graph.store.handle_reads import decode_result
from graph.worker_process import (
    LogSetup,
    StderrTail,
    died_for_memory,
    how_it_ended,
    limit_data_memory,
    start_in_worker,
    worker_context,
)

log = logging.getLogger("clusterkg.sandbox")
_START_TIMEOUT_S = 60.0
_PANIC = "Panic"  # the engine failed in a way no Python exception describes


@dataclass(frozen=True)
class Limits:
    """How long a query may run, how much memory its worker may take, how many run at once."""

    timeout: float | None = 5.0  # None: no deadline (the command line's own queries)
    memory_mb: int | None = 2048
    answer_bytes: int | None = 8 * 1024 * 1024  # an answer is cut before it grows past this (graph.results)
    workers: int = 2
    queue_timeout: float = 1.0  # how long a query waits for a free worker, at most
    waiting: int | None = None  # queries that may wait for a worker at once (None: as many as come)
    heavy_after: float | None = 0.5  # a query running longer is heavy: its worker yields the CPU, its client waits


# Who asks: the service sets it per request (the client's address), so that one client's heavy
# queries cannot hold every worker. None: nobody in particular (the command line, internal reads).
query_client: ContextVar[str | None] = ContextVar("clusterkg_query_client", default=None)


# -- the worker process -----------------------------------------------------------------------
def _serve(conn: Connection, store_path: str, allowed_services: frozenset[str],
           memory_mb: int | None, answer_bytes: int | None, log_setup: LogSetup, stderr_path: str) -> None:
    """A worker's life: answer queries from ``conn`` until it closes."""
    start_in_worker(log_setup, stderr_path)
    confined = egress.hand_over(conn, egress.Plan.for_endpoints(allowed_services))
    limit_data_memory(memory_mb)
    store: EmbeddedStore | None = None
    while True:
        try:
            sparql, bindings, max_rows, dataset = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if store is None:
                store = EmbeddedStore(Path(store_path), read_only=True, allowed_services=allowed_services,
                                      confined=confined)
            reply: tuple[Any, ...] = ("ok", store.query_encoded(sparql, bindings, max_rows=max_rows,
                                                                max_bytes=answer_bytes, dataset=dataset))
        except StoreError as exc:
            reply = ("error", type(exc).__name__, str(exc))
        except MemoryError:
            reply = ("error", "QueryAborted", "the query needed more memory than the service allows "
                                              f"({memory_mb} MB); make it more selective")
        except Exception as exc:  # reported to the parent, which logs it
            reply = ("error", "Exception", f"{type(exc).__name__}: {exc}")
        except BaseException as exc:  # an engine panic (pyo3's PanicException is no Exception): the
            # engine's state is in doubt, so the parent replaces this worker; the traceback goes to its log
            traceback.print_exc()
            reply = ("error", _PANIC, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (OSError, ValueError) as exc:  # e.g. an unpicklable result: say so rather than die
            conn.send(("error", "Exception", f"cannot return the result: {exc}"))


# -- the pool, in the service process ---------------------------------------------------------
class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection, stderr: StderrTail) -> None:
        self.process = process
        self.conn = conn
        self.stderr = stderr
        self.relay: egress.Relay | None = None

    def kill(self) -> None:
        if self.process.pid is not None and self.process.exitcode is None:
            try:
                os.kill(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.join(timeout=5)
        self.conn.close()
        if self.relay is not None:
            self.relay.close()
        self.stderr.close()


_ERRORS: dict[str, type[StoreError]] = {"QueryAborted": QueryAborted, "QueryTimeout": QueryTimeout}


_ONE_HEAVY = "you have a long query running; wait for it to finish, then retry"


class QueryWorkers:
    """A fixed number of worker processes; ``run`` hands a query to a free one."""

    def __init__(self, store_path: Path, allowed_services: frozenset[str], limits: Limits) -> None:
        self.limits = limits
        self._plan = egress.Plan.for_endpoints(allowed_services)
        for endpoint in self._plan.skipped:
            log.warning("SERVICE endpoint %s cannot be reached from the query workers (only http(s) "
                        "with a host name, an IPv4 address or IPv6 loopback)", endpoint)
        self._args = (str(store_path), allowed_services, limits.memory_mb, limits.answer_bytes,
                      LogSetup.of_this_process())
        # what a worker may send: its answer's budget, written out (graph.results counts terms, pickle adds framing)
        self._message_limit = None if limits.answer_bytes is None else 4 * limits.answer_bytes + (1 << 20)
        self._context = worker_context()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: set[_Worker] = set()
        self._guard = threading.Lock()
        self._closed = False
        self._admitted = 0  # queries running or waiting for a worker
        self._by_client: dict[str, list[int]] = {}  # client -> [queries admitted, heavy ones among them]
        for _ in range(max(1, limits.workers)):
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        stderr = StderrTail()
        process = self._context.Process(target=_serve, args=(child, *self._args, str(stderr.path)), daemon=True,
                                        name="clusterkg-query")
        process.start()
        child.close()
        worker = _Worker(process, parent, stderr)
        try:
            worker.relay = egress.take_over(parent, self._plan, _START_TIMEOUT_S)[1]
        except (TimeoutError, EOFError, OSError):
            worker.kill()
            raise StoreUnavailable("a query worker did not start") from None
        with self._guard:
            self._all.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker that overran, died or is in doubt, and put a fresh one in its place."""
        worker.kill()
        with self._guard:
            self._all.discard(worker)
            closed = self._closed
        if not closed:
            self._idle.put(self._start())

    @contextmanager
    def _admission(self, client: str | None) -> Iterator[list[int]]:
        """A place among the queries running or waiting, or an immediate refusal: the pool is full
        (every worker busy and ``waiting`` more), or the client has a heavy query running. Yields
        the client's counts (to mark it heavy)."""
        workers = max(1, self.limits.workers)
        waiting = self.limits.waiting
        with self._guard:
            counts = self._by_client.setdefault(client, [0, 0]) if client is not None else [0, 0]
            if client is not None and counts[1]:
                raise TooManyQueries(_ONE_HEAVY)
            if waiting is not None and self._admitted >= workers + waiting:
                raise StoreBusy(f"all {workers} query workers are busy and {waiting} queries are waiting; "
                                "please retry in a few seconds")
            self._admitted += 1
            counts[0] += 1
        try:
            yield counts
        finally:
            with self._guard:
                self._admitted -= 1
                counts[0] -= 1
                if client is not None and not counts[0]:
                    self._by_client.pop(client, None)

    def run(self, sparql: str, bindings: Mapping[str, Node] | None, max_rows: int | None,
            dataset: QueryDataset | None = None) -> QueryResult:
        with self._admission(query_client.get()) as counts:
            try:
                worker = self._idle.get(timeout=self.limits.queue_timeout)
            except queue.Empty:
                raise StoreBusy(f"all {self.limits.workers} query workers are busy; "
                                "please retry in a few seconds") from None
            return self._run_on(worker, (sparql, dict(bindings or {}), max_rows, dataset), counts)

    def _run_on(self, worker: _Worker, job: tuple, counts: list[int]) -> QueryResult:
        sparql = job[0]
        healthy = heavy = False
        started = time.monotonic()
        worker.stderr.take()
        try:
            worker.conn.send(job)
            timeout, heavy_after = self.limits.timeout, self.limits.heavy_after
            if heavy_after is not None and (timeout is None or heavy_after < timeout) \
                    and not worker.conn.poll(heavy_after):
                heavy = True
                if not self._yield_cpu(worker, counts):
                    raise TooManyQueries(_ONE_HEAVY)
            if timeout is not None and not worker.conn.poll(max(0.0, timeout - (time.monotonic() - started))):
                log.warning("query stopped after %.1f s: %.200r", time.monotonic() - started, sparql)
                raise QueryTimeout(f"the query was stopped after {self.limits.timeout:g} s, this service's "
                                   "time limit; make it more selective or add a LIMIT")
            reply = ForkingPickler.loads(worker.conn.recv_bytes(self._message_limit))
            # a worker that yielded the CPU stays low (only a privileged process could raise it
            # again), and one whose engine panicked is in doubt: a fresh one takes its place
            healthy = not heavy and reply[:2] != ("error", _PANIC)
        except OSError as exc:
            if "bad message length" not in str(exc):
                worker.process.join(timeout=1)
                raise self._died(worker, sparql) from None
            raise QueryAborted("the answer is larger than this service returns "
                               f"({self.limits.answer_bytes} bytes, CLUSTERKG_MAX_ANSWER_MB)") from None
        except EOFError:
            worker.process.join(timeout=1)
            raise self._died(worker, sparql) from None
        finally:
            if heavy:
                with self._guard:
                    counts[1] -= 1
            if healthy:
                self._idle.put(worker)
            else:
                self._retire(worker)
        if reply[0] == "ok":
            return decode_result(reply[1])
        _, kind, message = reply
        if kind in ("Exception", _PANIC):
            log.error("query worker error: %s on %.200r", message, sparql)
            raise StoreError("the query failed inside the engine; the administrator can find the "
                             "details in the service log")
        raise _ERRORS.get(kind, StoreError)(message)

    def _yield_cpu(self, worker: _Worker, counts: list[int]) -> bool:
        """A query turned heavy: its worker runs at the lowest CPU priority from now on, so that
        light queries and pages keep the cores, and its client is marked (no other query of its
        until it ends). False if the client had a heavy query running already: this one is stopped."""
        with self._guard:
            counts[1] += 1
            if counts[1] > 1:
                return False
        pid = worker.process.pid
        if pid is None:
            return True
        try:  # the nice value is a thread's: each of the worker's threads
            for task in Path(f"/proc/{pid}/task").iterdir():
                os.setpriority(os.PRIO_PROCESS, int(task.name), 19)
        except OSError as exc:
            log.warning("cannot lower a heavy query's priority: %s", exc)
        return True

    def _died(self, worker: _Worker, sparql: str) -> QueryAborted:
        ended = how_it_ended(worker.process.exitcode)
        last_words = worker.stderr.take()
        log.warning("query worker died (%s) on: %.200r; its last words: %s", ended, sparql, last_words.strip()[-1000:])
        if died_for_memory(last_words):
            return QueryAborted("the query needed more memory than this service allows "
                                f"({self.limits.memory_mb} MB); make it more selective")
        return QueryAborted(f"the query crashed its worker ({ended}); the service is unaffected. "
                            "The administrator can find the details in the service log")

    def close(self) -> None:
        with self._guard:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()

    def pids(self) -> list[int]:
        with self._guard:
            return [w.process.pid for w in self._all if w.process.pid is not None]


class SandboxedStore(StoreWrapper):
    """An embedded store whose queries run in :class:`QueryWorkers`; the rest runs in-process
    (listing graphs, reading one graph, writes: bounded work done by the service itself)."""

    def __init__(self, inner: EmbeddedStore, limits: Limits) -> None:
        super().__init__(inner)
        self.limits = limits
        self.workers = QueryWorkers(inner.path, inner.allowed_services, limits)

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        return self.workers.run(sparql, bindings, max_rows, dataset)

    def close(self) -> None:
        """Stop the workers; the inner store belongs to whoever opened it."""
        self.workers.close()
