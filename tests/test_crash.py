"""`kill -9` of `clusterkg serve` during an import, at several points: the embedded store holds
exactly what it held before the import, or exactly the import's result; never a part of it."""

from __future__ import annotations

import csv
import http.client
import io
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rdflib import Graph

from graph.config import PROJECT_ROOT, Settings
from graph.importer import Importer
from graph.namespaces import PROV
from graph.store.embedded import EmbeddedStore

from . import engines
from .conftest import BASE, quads_of

pytestmark = pytest.mark.slow

TOKEN = "crash-test-token-0123456789"
ROWS = 60  # ~4,200 triples: long enough to be caught in each stage


def _synthetic_csv(rows: int) -> bytes:
    """The template's example rows, repeated as distinct responses of distinct clusters."""
    example = (PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv").read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(example)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]))
    writer.writeheader()
    for i in range(rows):
        record = dict(records[i % len(records)])
        record["response_id"] = f"synthetic-{i:05d}"
        record["cluster_name"] = f"Synthetic Cluster {i:05d}"
        writer.writerow(record)
    return out.getvalue().encode("utf-8")


def _stable(graph: Graph) -> set:
    """The import's triples without its timestamp, which differs from run to run."""
    return {t for t in graph if t[1] != PROV.endedAtTime}


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "synthetic.csv"
    path.write_bytes(_synthetic_csv(ROWS))
    return path


@pytest.fixture(scope="module")
def reference(template_store: Path, upload: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, set]:
    """The import graph an uninterrupted import produces."""
    path = tmp_path_factory.mktemp("reference") / "store"
    shutil.copytree(template_store, path)
    store = EmbeddedStore(path)
    outcome = Importer(store, Settings(base_iri=BASE, store_path=path)).import_file(upload)
    graph = store.get_graph(outcome.graph)
    store.close()
    return outcome.graph, _stable(graph)


def _wait_for(log: Path, marker: str, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while marker not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker!r} never appeared in the service log:\n{log.read_text()}")
        time.sleep(0.001)


# (log line to wait for, then how long to wait before kill -9)
POINTS = [
    ("POST /api/imports", 0.05),          # reading the upload / mapping
    ("; validating", 0.0),                # SHACL validation starting (it takes ~0.3 s here)
    # the import graph (~4,200 triples, more than an eighth of the store) is bulk-loaded
    # (graph.store.bulkwrite): serialise and open the store read-write, write the intent, bulk-load,
    # commit the rest with the marker in one transaction, compact, close; the kills land among these
    ("; writing", 0.0),
    ("; writing", 0.05),
    ("; writing", 0.08),
    ("; writing", 0.11),
    ("bulk-loaded", 0.0),                 # the new graph bulk-loaded, the commit not yet made
    (": committed", 0.0),                 # committed, the HTTP answer not yet sent
]


def test_kill_9_during_an_import_leaves_before_or_after(template_store: Path, upload: Path,
                                                        reference: tuple[str, set], tmp_path: Path) -> None:
    graph_name, expected = reference
    outcomes = []
    for i, (marker, delay) in enumerate(POINTS):
        path = tmp_path / f"store-{i}"
        shutil.copytree(template_store, path)
        with EmbeddedStore(path, read_only=True) as store:
            before = quads_of(store)
        log = tmp_path / f"serve-{i}.log"
        serve = engines.ServeProcess(["--store", str(path)], log,
                                     {"CLUSTERKG_BASE_IRI": BASE, "CLUSTERKG_ADMIN_TOKEN": TOKEN})
        request = urllib.request.Request(serve.url + "/api/imports?name=synthetic.csv", data=upload.read_bytes(),
                                         method="POST", headers={"Authorization": f"Bearer {TOKEN}",
                                                                 "Content-Type": "text/csv"})

        def send(request: urllib.request.Request = request) -> None:
            try:
                urllib.request.urlopen(request, timeout=120).read()
            except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException):
                pass  # the service died under it (even mid-answer): that is the point

        sender = threading.Thread(target=send)
        sender.start()
        try:
            if marker.startswith("POST"):
                time.sleep(delay)
            else:
                _wait_for(log, marker)
                time.sleep(delay)
        finally:
            serve.kill()
            sender.join()

        store = EmbeddedStore(path)  # opening read-write replays RocksDB's log, as the next start does
        after = quads_of(store)
        imported = store.get_graph(graph_name)
        store.close()
        if after == before:
            outcomes.append("before")
        else:
            assert _stable(imported) == expected, f"kill at {marker!r}+{delay}s left a partial import"
            summary = "/graph/derived/clusters> ."  # changes in the same transaction
            others = [q for q in after if graph_name not in q and not q.endswith(summary)]
            assert sorted(others) == [q for q in before if graph_name not in q and not q.endswith(summary)], \
                "other graphs changed"
            # cluster edges are only added; option-pair counts and option tallies are replaced
            edges_before, edges_after = ({q for q in quads if q.endswith(summary) and "/clusters/pair/" not in q
                                          and "#chosenByClusters>" not in q} for quads in (before, after))
            assert edges_before < edges_after
            outcomes.append("after")
    print("kill outcomes:", list(zip(POINTS, outcomes, strict=True)))
    # the early kills cannot have committed, the last one must have
    assert outcomes[:2] == ["before", "before"] and outcomes[-1] == "after", outcomes


def test_the_service_starts_again_after_a_kill(template_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "store"
    shutil.copytree(template_store, path)
    serve = engines.ServeProcess(["--store", str(path)], tmp_path / "a.log", {"CLUSTERKG_BASE_IRI": BASE})
    serve.kill()
    with engines.ServeProcess(["--store", str(path)], tmp_path / "b.log", {"CLUSTERKG_BASE_IRI": BASE}) as again:
        with urllib.request.urlopen(again.url + "/api/queries/clusters", timeout=30) as response:
            assert response.status == 200
