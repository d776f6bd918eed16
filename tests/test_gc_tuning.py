"""The collector's thresholds are raised while imports run and put back after the last one."""

from __future__ import annotations

import gc
import threading

import pytest

from graph.gc_tuning import IMPORT_THRESHOLDS, fewer_collections


def test_raised_while_any_import_runs_and_restored_after_the_last() -> None:
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other_import() -> None:
        with fewer_collections():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=other_import)
    with fewer_collections():
        assert gc.get_threshold() == IMPORT_THRESHOLDS
        worker.start()
        inside.wait(10)
    assert gc.get_threshold() == IMPORT_THRESHOLDS  # the other import still runs
    release.set()
    worker.join(10)
    assert gc.get_threshold() == before


def test_restored_when_the_import_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("rejected")
    assert gc.get_threshold() == before
