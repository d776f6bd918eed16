"""Maintainer writes in a process of their own: a time limit, a memory limit, and no network but
the store's own engine.

The service runs every write a maintainer asks for over HTTP (an import, a Graph Store Protocol
write, a SPARQL update) as a *job*: a fresh process opens the store, does the work and commits,
under ``RLIMIT_DATA``, confined by graph.egress (it reaches a remote engine's endpoints and
nothing else; an embedded store's job reaches nothing). Parsing, mapping, validating and
computing an update happen there, so a hostile or merely huge request costs that process, not
the service: it is stopped at the time limit, dies alone when it needs more memory than allowed,
and a crash in a parser (a stack overflow) is reported as the job's crash.

The time limit ends at the commit: once the job says it is committing (:class:`_Announcing`), it
is given ``commit_grace`` more to finish, so that the answer can say whether the write happened.
A job killed before its commit has written nothing: every write is all or nothing, even when its
process is killed (docs/security.md).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from graph import egress, worker_process
from graph.config import Settings
from graph.gc_tuning import fewer_collections
from graph.store import Store, StoreError, open_store
from graph.store.base import QueryAborted, QueryTimeout, StoreWrapper, Write
from graph.worker_process import LogSetup

T = TypeVar("T")
log = logging.getLogger("clusterkg.jobs")
_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class JobLimits:
    """How long a maintainer's job may work before its commit, and how much memory it may use."""

    timeout: float = 60.0
    memory_mb: int | None = 2048
    commit_grace: float = 300.0


class JobCrashed(QueryAborted):
    """The job's process died (a crash, or memory the allocator could not get)."""


def run_job(settings: Settings, job: Callable[..., T], *args: Any, limits: JobLimits) -> T:
    """``job(store, settings, *args)`` in a process of its own, on the store ``settings`` open;
    its return value, or the exception it raised (re-raised here)."""
    context = worker_process.worker_context()
    plan = egress.Plan.for_endpoints(_engine_endpoints(settings))
    parent, child = context.Pipe(duplex=True)
    stderr = worker_process.StderrTail()
    process = context.Process(target=_job_main, daemon=True, name="clusterkg-job",
                              args=(child, settings, plan, limits.memory_mb, LogSetup.of_this_process(),
                                    str(stderr.path), job, args))
    relay = None
    try:
        process.start()
        child.close()
        try:
            _confined, relay = egress.take_over(parent, plan, _START_TIMEOUT_S)
        except TimeoutError:
            raise StoreError("the write could not be started (its worker did not answer)") from None
        reply = _wait(parent, limits)
        if reply[0] == "ok":
            return reply[1]
        raise reply[1]
    except (EOFError, OSError):
        process.join(timeout=5)
        raise _crashed(process.exitcode, stderr.close(), limits) from None
    finally:
        if process.exitcode is None:
            _kill(process)
        parent.close()
        if relay is not None:
            relay.close()
        stderr.close()


def _wait(conn: Connection, limits: JobLimits) -> tuple:
    deadline = time.monotonic() + limits.timeout
    committing = False
    while True:
        if not conn.poll(max(0.0, deadline - time.monotonic())):
            if committing:
                raise QueryTimeout(
                    f"the write was stopped during its commit, after {limits.commit_grace:g} s more than this "
                    "service's limit: it was written completely or not at all; look at the store to see which")
            raise QueryTimeout(f"the write was stopped after {limits.timeout:g} s, this service's limit for a "
                               "maintainer's write (CLUSTERKG_WRITE_TIMEOUT); nothing was written")
        reply = conn.recv()
        if reply[0] != "committing":
            return reply
        committing = True
        deadline = time.monotonic() + limits.commit_grace


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    if process.pid is not None:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.join(timeout=5)


def _out_of_memory(memory_mb: int | None) -> JobCrashed:
    return JobCrashed(f"the write needed more memory than this service allows ({memory_mb} MB, "
                      "CLUSTERKG_WRITE_MEMORY_MB); nothing was written")


def _crashed(exitcode: int | None, last_words: str, limits: JobLimits) -> JobCrashed:
    ended = worker_process.how_it_ended(exitcode)
    if last_words.strip():
        log.warning("a write's worker died (%s); its last words: %s", ended, last_words.strip())
    if worker_process.died_for_memory(last_words):
        return _out_of_memory(limits.memory_mb)
    return JobCrashed(f"the write's worker crashed ({ended}); the service is unaffected and "
                      "nothing was written. The administrator can find the details in the service log")


def _engine_endpoints(settings: Settings) -> list[str]:
    return [url for url in (settings.endpoint, settings.update_endpoint, settings.graph_store) if url]


# -- in the job's process ---------------------------------------------------------------------------
def _job_main(conn: Connection, settings: Settings, plan: egress.Plan, memory_mb: int | None, log_setup: LogSetup,
              stderr_path: str, job: Callable[..., Any], args: tuple) -> None:
    worker_process.start_in_worker(log_setup, stderr_path)
    confined = egress.hand_over(conn, plan)
    worker_process.limit_data_memory(memory_mb)
    try:
        store = open_store(settings, confined=confined)
    except StoreError as exc:
        conn.send(("raised", exc))
        return
    try:
        with fewer_collections():  # the process is the job's: a write builds many objects, nearly all kept
            result = job(_Announcing(store, lambda: conn.send(("committing",))), settings, *args)
        reply: tuple = ("ok", result)
    except MemoryError:
        reply = ("raised", _out_of_memory(memory_mb))
    except Exception as exc:  # the caller re-raises it
        reply = ("raised", exc)
    finally:
        store.close()
    try:
        conn.send(reply)
    except Exception as exc:  # an exception or result that cannot be pickled
        log.exception("cannot return a job's outcome")
        conn.send(("raised", StoreError(f"the write's outcome could not be returned: {type(exc).__name__}")))


class _Announcing(StoreWrapper):
    """The job's store: says "committing" to the parent before each write is handed to the store."""

    def __init__(self, inner: Store, announce: Callable[[], None]) -> None:
        super().__init__(inner)
        self._announce = announce

    @contextmanager
    def writing(self, *, trusted: bool = False) -> Iterator[Write]:
        with self.inner.writing(trusted=trusted) as write:
            write.before_commit(lambda _write: self._announce())  # the first step: the commit begins
            yield write


def job_settings(settings: Settings, store: Store) -> Settings:
    """``settings`` naming ``store`` (what a job's process opens)."""
    return dataclasses.replace(settings, **store.location())
