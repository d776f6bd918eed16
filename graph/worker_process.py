"""What every worker process shares (query workers, graph.store.sandbox; maintainers' jobs,
graph.jobs): where it is started from, how it dies with the service, how it logs, and what its
death says.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_TAIL_BYTES = 8192
_POLL_S = 0.05
_MEMORY_WORDS = ("memory allocation of", "bad_alloc", "MemoryError", "Cannot allocate memory", "out of memory")
_PRELOAD = ["graph.store.sandbox", "graph.jobs", "graph.writes", "graph.importer"]


def worker_context() -> multiprocessing.context.BaseContext:
    """Where workers come from: a fork server that has imported what query workers and jobs run,
    so that each new worker starts at once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


@dataclass(frozen=True)
class LogSetup:
    """The parent's logging, for a worker to log the same way (to the same standard error)."""

    level: int
    format: str | None

    @classmethod
    def of_this_process(cls) -> LogSetup:
        root = logging.getLogger()
        formatter = next((h.formatter for h in root.handlers if h.formatter is not None), None)
        return cls(root.getEffectiveLevel(), getattr(formatter, "_fmt", None))


def start_in_worker(log_setup: LogSetup, stderr_path: str | None = None) -> None:
    """A worker's first steps: die with the process that started it (the fork server, which ends
    with the service), ignore Ctrl-C (the parent stops us), log as the parent does; with
    ``stderr_path``, write standard error there (the parent passes it on, :class:`StderrTail`)."""
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent is gone already
        os.write(2, b"clusterkg worker: the process that started it is gone; ending\n")
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if stderr_path is not None:
        fd = os.open(stderr_path, os.O_WRONLY | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)
    logging.basicConfig(level=log_setup.level, format=log_setup.format or logging.BASIC_FORMAT, force=True)


def limit_data_memory(megabytes: int | None) -> None:
    """This process may write to at most ``megabytes`` of memory (``RLIMIT_DATA``; None or 0: no
    limit of ours). Only the soft limit is set, and never above the hard one: a process started
    under a tighter limit (an operator's ``ulimit -d``, a parent's own bound) keeps it, where
    asking for more would fail and the worker die before its first query."""
    if not megabytes:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


class StderrTail:
    """A worker's standard error, kept in a file of its own: passed on to ours as it is written,
    and its last bytes kept for :func:`death_cause`."""

    def __init__(self) -> None:
        with tempfile.NamedTemporaryFile(prefix="clusterkg-worker-", suffix=".stderr", delete=False) as handle:
            self.path = Path(handle.name)
        self._source = open(self.path, "rb")  # open for the worker's lifetime
        self._tail = b""
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="clusterkg-worker-stderr", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with self._lock:
            if self._source.closed:
                return
            chunk = self._source.read()
            if not chunk:
                return
            self._tail = (self._tail + chunk)[-_TAIL_BYTES:]
        try:
            sys.stderr.buffer.write(chunk)
            sys.stderr.buffer.flush()
        except (AttributeError, OSError, ValueError):
            pass

    def _follow(self) -> None:
        while not self._done.wait(_POLL_S):
            self._read()

    def take(self) -> str:
        """The last words written since the previous ``take()``."""
        self._read()
        with self._lock:
            tail, self._tail = self._tail, b""
        return tail.decode("utf-8", "replace")

    def close(self) -> str:
        """Stop following; the last words."""
        self._done.set()
        self._thread.join(timeout=5)
        last_words = self.take()
        with self._lock:
            self._source.close()
        self.path.unlink(missing_ok=True)
        return last_words


def died_for_memory(last_words: str) -> bool:
    """Whether a worker's last words say it could not get memory (rather than crashed)."""
    return any(word in last_words for word in _MEMORY_WORDS)


def how_it_ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"
