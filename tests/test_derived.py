"""The cluster summary graph (graph.derived) always equals what the import graphs imply: after
init, imports of new waves, a drop, a replacement by the Graph Store Protocol and a rebuild, on
every backend; and nobody can write it directly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rdflib import Graph

from graph.config import Settings
from graph.derived import rebuild_summary, summary_graph
from graph.importer import Importer
from graph.namespaces import CKG, DataIRIs
from graph.store import Store, Write, sizes
from graph.writes import GraphWriter, WriteRefused

from .helpers import check_summary, wave


def test_summary_follows_imports_drops_and_writes(store: Store, settings: Settings, tmp_path: Path) -> None:
    importer = Importer(store, settings)
    before = check_summary(store, settings)  # D2.3, as `init` left it
    assert any(p == str(CKG.optionCount) for _, p, _ in before)

    one = importer.import_file(wave(tmp_path / "wave1.csv", 1, ["Medicen", "Summary Test Cluster"]))
    after_one = check_summary(store, settings)
    new_cluster = next(c for c, p, o in after_one if c.endswith("summary-test-cluster"))
    assert (new_cluster, str(CKG.choseOption),
            "https://w3id.org/clusterkg/vocab/resilience-challenges/supply-chain-transparency") in after_one

    two = importer.import_file(wave(tmp_path / "wave2.csv", 2, ["Summary Test Cluster"]))
    after_two = check_summary(store, settings)
    assert (new_cluster, str(CKG.optionCount), "2") in after_two  # the Other answer does not count

    importer.drop_import(one.import_id)  # Medicen keeps what D2.3 says; the test cluster what wave 2 says
    after_drop = check_summary(store, settings)
    assert (new_cluster, str(CKG.choseOption),
            "https://w3id.org/clusterkg/vocab/resilience-challenges/supply-chain-transparency") not in after_drop
    assert {t for t in after_drop if not t[0].endswith("summary-test-cluster")} == before

    writer = GraphWriter(store, settings)
    writer.put(two.graph, Graph())  # replaced by nothing: the test cluster's edges go
    assert check_summary(store, settings) == before
    with pytest.raises(WriteRefused):
        writer.put(summary_graph(DataIRIs(settings.base_iri)), Graph())

    with store.writing() as write:
        rebuild_summary(write, DataIRIs(settings.base_iri))
    assert check_summary(store, settings) == before


def _spy_on_writes(store: Store, between: Callable[[], None] = lambda: None) -> list[Write]:
    """Each write of ``store`` as it commits; ``between`` runs after the caller's block, before the commit."""
    seen: list[Write] = []
    original = store.writing

    @contextmanager
    def spy(**options: bool) -> Iterator[Write]:
        with original(**options) as write:
            yield write
            seen.append(write)
            between()

    store.writing = spy  # type: ignore[method-assign]
    return seen


def test_summary_is_in_the_same_write_as_the_import(store: Store, settings: Settings, tmp_path: Path) -> None:
    """One write carries the import graph and the summary's change (so neither lands alone)."""
    writes = _spy_on_writes(store)
    Importer(store, settings).import_file(wave(tmp_path / "w.csv", 1, ["Summary Test Cluster"]))
    summary = str(summary_graph(DataIRIs(settings.base_iri)))
    assert len(writes) == 1 and len(writes[0].graphs) == 1
    assert str(CKG.choseOption) in writes[0].rows()[summary] and summary in writes[0].touched()
    # and the summary's size is recorded anew with it (graph.store.sizes), counted as written
    recorded = {str(r["g"]): int(r["n"]) for r in store.query(sizes.RECORDS_QUERY).rows}  # type: ignore[union-attr]
    assert recorded.get(summary) == len(store.get_graph(summary))


def test_a_writer_committing_meanwhile_is_seen_by_the_summary(store_path: Path, tmp_path: Path) -> None:
    """The summary's change is computed at the commit, under the store's write lock: another
    writer (a second handle, as another process would be) that commits while this import is
    prepared is in what the maintenance reads, so the summary still equals its definition."""
    from graph.store.embedded import EmbeddedStore
    from tests.conftest import BASE

    settings = Settings(base_iri=BASE, store_path=store_path)
    store = EmbeddedStore(store_path)
    other = EmbeddedStore(store_path)

    def racer() -> None:
        Importer(other, settings).import_file(wave(tmp_path / "racer.csv", 2, ["Summary Test Cluster"]))

    writes = _spy_on_writes(store, racer)
    Importer(store, settings).import_file(wave(tmp_path / "mine.csv", 1, ["Medicen", "Summary Test Cluster"]))
    assert len(writes) == 1
    assert len({i.import_id for i in Importer(store, settings).list_imports()}) >= 3  # D2.3, the racer's, mine
    check_summary(store, settings)
    other.close()
    store.close()
