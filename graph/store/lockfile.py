"""Readers and writers of one embedded store, across threads and processes.

RocksDB allows one read-write opening of a store at a time, and pyoxigraph documents reading
(``Store.read_only``) beside a process that writes as undefined behaviour. So nobody keeps the
store open for writing: a writer takes an exclusive ``flock`` on ``clusterkg.lock`` in the store
directory, opens the store read-write, commits, closes it (which finishes RocksDB's background
work) and records a new *generation* in the lock file. Readers hold a shared ``flock`` while they
read, and reopen their read-only handle when the generation has changed. Locks are released by
the kernel when a process dies, so a killed reader or writer never leaves the store locked.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "clusterkg.lock"


class StoreLock:
    """The lock file of a store directory; each ``shared()``/``exclusive()`` opens its own file
    description, since flock locks belong to one (threads must not share one)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LOCK_NAME

    @contextmanager
    def _locked(self, mode: int) -> Iterator[int]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield fd
        finally:
            os.close(fd)  # closing the description releases the lock

    @contextmanager
    def shared(self) -> Iterator[str]:
        """Hold a read lock; yields the current generation."""
        with self._locked(fcntl.LOCK_SH) as fd:
            yield _read(fd)

    @contextmanager
    def exclusive(self) -> Iterator[str]:
        """Hold the write lock; yields the generation found; on leaving (even by an exception)
        readers are told to reopen."""
        with self._locked(fcntl.LOCK_EX) as fd:
            try:
                yield _read(fd)
            finally:
                os.ftruncate(fd, 0)
                os.pwrite(fd, uuid.uuid4().hex.encode("ascii"), 0)

    def generation(self) -> str:
        with self.shared() as generation:
            return generation


def _read(fd: int) -> str:
    return os.pread(fd, 64, 0).decode("ascii", "replace")
