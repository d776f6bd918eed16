"""The collector's thresholds are raised while imports run and put back after the last one, by the
entry point that owns the process, not by the importer."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from graph.config import Settings
from graph.gc_tuning import IMPORT_THRESHOLDS, fewer_collections
from graph.importer import Importer
from graph.jobs import JobLimits, run_job
from graph.store.embedded import EmbeddedStore

from .conftest import BASE
from .helpers import wave


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


def _thresholds(store: object, settings: object) -> tuple[int, ...]:
    return gc.get_threshold()


def test_a_maintainers_job_runs_with_them_raised(store_path: Path) -> None:
    """The job's process is the job's own: its entry point raises them around the write."""
    before = gc.get_threshold()
    inside = run_job(Settings(base_iri=BASE, store_path=store_path), _thresholds, limits=JobLimits())
    assert inside == IMPORT_THRESHOLDS and gc.get_threshold() == before


def test_the_importer_leaves_them_to_the_entry_point(store_path: Path) -> None:
    """A library class does not set a process-wide knob: a caller that imports keeps its thresholds."""
    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []
    store = EmbeddedStore(store_path)
    importer = Importer(store, Settings(base_iri=BASE, store_path=store_path))
    original = importer.prepare_file

    def spying(path: Path, fmt: str | None = None):
        seen.append(gc.get_threshold())
        return original(path, fmt)

    importer.prepare_file = spying  # type: ignore[method-assign]
    importer.import_file(wave(store_path.parent / "w.csv", 1, ["Collector Test Cluster"]))
    store.close()
    assert seen == [before] and gc.get_threshold() == before
