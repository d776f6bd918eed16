"""Fewer cyclic garbage collections while an import builds its graphs.

An import creates millions of rdflib terms, tuples and dicts, nearly all of them alive until the
write; CPython's cyclic collector, triggered every 700 new container objects, walks more of them the
further the import gets (a full collection visits every live object). Raised thresholds take the
import close to its time with the collector off (docs/performance.md). The thresholds are
process-wide, so the entry point that owns the process raises them around its imports (``clusterkg
import`` and ``init``, the service's start, a maintainer's job: graph.jobs), never the importer
itself; nested or overlapping uses keep them raised until the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

IMPORT_THRESHOLDS = (100_000, 50, 1_000)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds for the duration (nested and concurrent uses allowed)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*IMPORT_THRESHOLDS)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
