"""The embedded store's RocksDB files: opened for reading or for writing under the lock file.

Readers share one read-only handle, reopened when the lock file's generation says a write
committed (graph.store.lockfile); a writer opens the store read-write under the exclusive lock for
the time of its write and closes it before the lock is released, since pyoxigraph documents
reading beside an open writer as undefined behaviour. An interrupted bulk write
(graph.store.bulkwrite) is finished or undone before anything is read or written.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from graph.messages import one_line
from graph.store import bulkwrite
from graph.store.errors import StoreError, StoreUnavailable
from graph.store.lockfile import StoreLock

log = logging.getLogger("clusterkg.store")

INFO_LOGS_KEPT = 2


@dataclass
class OpenForWriting:
    """The store opened read-write (:meth:`StoreFiles.writing`); ``handle`` is emptied when the
    write ends."""

    handle: ox.Store
    generation: str
    rolled_back: list[str] = field(default_factory=list)


class StoreFiles:
    """The files of one embedded store at ``path`` (created if missing, unless ``read_only``)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = StoreLock(self.path)
        self._handle: ox.Store | None = None
        self._generation: str | None = None
        self._mutex = threading.Lock()
        self._closed = False
        if read_only:
            if not (self.path / "CURRENT").exists():
                raise StoreUnavailable(f"no store at {self.path} (run `clusterkg init` first)")
        else:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create the store at {self.path}: {exc}") from exc
            if not (self.path / "CURRENT").exists():
                self.recover()  # creates the RocksDB files

    def generation(self) -> str | None:
        """The lock file's write generation: new after every write."""
        return self._lock.generation() or None

    @contextmanager
    def reading(self) -> Iterator[ox.Store]:
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

    @contextmanager
    def writing(self) -> Iterator[OpenForWriting]:
        """The store opened read-write under the exclusive lock for the time of the ``with``
        block, flushed and closed after it; Oxigraph's and the OS's errors become one-line
        :class:`StoreError` s. An interrupted bulk write is finished or undone first.

        The handle must be gone before the lock is released (readers then reopen), so no
        reference to it may outlive the block, not even in a traceback: callers read it from
        ``opened.handle``, which is emptied at the end, and keep no reference of their own; the
        finished frames of an exception passing through are cleared of their variables.
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
                forget_locals(exc)
                if not isinstance(exc, (OSError, SyntaxError, ValueError)):
                    raise
                failure = f"write failed, nothing was written: {one_line(exc)}"
            finally:
                opened.handle = None  # type: ignore[assignment]  # pyoxigraph closes RocksDB with the last reference
                prune_info_logs(self.path)
        if failure:
            raise StoreError(failure)

    def recover(self) -> list[str]:
        """Open and close the store read-write: RocksDB replays the log of a write a crash
        interrupted, and an interrupted bulk write is finished or undone; the graphs it rolled
        back are returned."""
        with self.writing() as opened:
            pass
        return opened.rolled_back

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
                forget_locals(exc)
                raise
            finally:
                del handle
                prune_info_logs(self.path)

    def close(self) -> None:
        self._closed = True
        with self._mutex:
            self._handle = None


def forget_locals(exc: BaseException) -> None:
    """Clear the variables of the finished frames in the tracebacks of ``exc`` and of the exceptions
    chained to it. A frame that was given the read-write handle (a bulk load's, even one in another
    thread whose failure was handed on) keeps RocksDB open as long as the exception lives: past the
    release of the lock, where the next write's opening is refused and a reader's opening can find
    files the open handle has deleted since. A generator's frame is left alone: a finished one
    holds nothing, and clearing a suspended one would finalise the generator."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            if not tb.tb_frame.f_code.co_flags & _SUSPENDABLE:
                try:
                    tb.tb_frame.clear()
                except RuntimeError:
                    pass  # a frame still running
            tb = tb.tb_next
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)


_SUSPENDABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


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


def prune_info_logs(path: Path) -> None:
    """RocksDB starts a new info log (``LOG``) at every read-write opening, and every write opens
    the store: the older ones (``LOG.old.*``) are removed but the last few."""
    old = sorted(path.glob("LOG.old.*"), key=lambda p: p.name)
    for log_file in old[:-INFO_LOGS_KEPT] if INFO_LOGS_KEPT else old:
        try:
            log_file.unlink()
        except OSError:
            pass
