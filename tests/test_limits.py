"""Query limits: a runaway query is stopped at the deadline, a memory hog dies alone, and other
clients keep being answered meanwhile; query workers have no network."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from graph.config import Settings
from graph.queries import load_queries
from graph.store import QueryAborted, QueryTimeout, StoreBusy
from graph.store.embedded import EmbeddedStore
from graph.store.sandbox import Limits, SandboxedStore

from . import engines
from .conftest import BASE

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # ~10^10 rows on the bundled data
MEMORY_HOG = "SELECT ?a ?b ?c ?d WHERE { ?a ?x ?b . ?c ?y ?d } ORDER BY ?a ?b ?c ?d"
LIGHT = "/api/queries/clusters"


def _get(url: str, timeout: float = 30, client: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` from the loopback address ``client`` (each address is another client to the service)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout, source_address=(client, 0))
    try:
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                     headers={"Accept": "application/json"})
        response = conn.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        conn.close()


def _sparql(base: str, query: str) -> str:
    return base + "/sparql?" + urllib.parse.urlencode({"query": query})


@pytest.fixture(scope="module")
def limited_server(template_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """`clusterkg serve` with a 2 s time limit and 1 GB per query worker."""
    path = tmp_path_factory.mktemp("limited") / "store"
    shutil.copytree(template_store, path)
    env = {"CLUSTERKG_BASE_IRI": BASE, "CLUSTERKG_QUERY_TIMEOUT": "2", "CLUSTERKG_QUERY_MEMORY_MB": "1024",
           "CLUSTERKG_QUERY_WORKERS": "2"}
    with engines.ServeProcess(["--store", str(path)], path.parent / "serve.log", env) as serve:
        yield serve


def test_a_runaway_query_is_stopped_while_others_are_answered(limited_server: engines.ServeProcess) -> None:
    base = limited_server.url
    others: list[tuple[int, float]] = []
    refused: list[tuple[str, int, bytes]] = []
    stop = threading.Event()

    def client(path: str) -> None:
        while not stop.is_set():
            started = time.monotonic()
            status, _, body = _get(base + path)
            others.append((status, time.monotonic() - started))
            if status != 200:
                refused.append((path, status, body[:300]))

    threads = [threading.Thread(target=client, args=(p,)) for p in (LIGHT, "/clusters", LIGHT)]
    for t in threads:
        t.start()
    try:
        started = time.monotonic()
        status, _, body = _get(_sparql(base, RUNAWAY), client="127.0.0.2")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert status == 503, body
    answer = json.loads(body)
    assert answer["limit"] == "timeout" and "stopped after 2 s" in answer["error"]
    assert 1.9 <= elapsed < 6, elapsed
    assert len(others) >= 10 and not refused, refused[:3]
    # nobody waited for the runaway: each answer came well within the runaway's lifetime
    assert max(seconds for _, seconds in others) < 1.9, sorted(s for _, s in others)[-3:]
    # and the service goes on with a fresh worker
    assert _get(_sparql(base, "ASK { ?s ?p ?o }"))[0] == 200


def test_a_memory_hog_dies_alone(limited_server: engines.ServeProcess) -> None:
    base = limited_server.url
    status, _, body = _get(_sparql(base, MEMORY_HOG))
    assert status == 503, body
    assert json.loads(body)["limit"] in ("memory", "timeout")  # whichever limit it reaches first
    for _ in range(4):  # both workers are back
        assert _get(base + LIGHT)[0] == 200


def test_the_memory_limit_counts_memory_used_not_address_space_reserved(template_store: Path) -> None:
    """A worker answering a light query reserves ~0.6 GB of address space (glibc's 64 MB per
    malloc arena, thread stacks, the store's mapped files) while writing to ~0.1 GB: under an
    address-space limit of 450 MB every saved query aborted, and at 1 GB a loaded machine made
    light queries abort now and then (RocksDB could not start a thread). The limit is on memory
    written to: at 256 MB every saved query is answered, and a memory hog still dies of it."""
    inner = EmbeddedStore(template_store, read_only=True)
    store = SandboxedStore(inner, Limits(timeout=30, memory_mb=256, workers=1))
    try:
        answered = 0
        for query in load_queries().values():
            if all(p.type != "endpoint" for p in query.params):  # federated: no endpoint here
                store.query(query.bind(inner, {}))
                answered += 1
        assert answered >= 15
        with pytest.raises(QueryAborted, match="256 MB"):
            store.query(MEMORY_HOG)
        assert store.query("ASK { ?s ?p ?o }").value is True  # type: ignore[union-attr]
    finally:
        store.close()
        inner.close()


def test_several_runaways_at_once_leave_the_service_standing(limited_server: engines.ServeProcess) -> None:
    base = limited_server.url
    statuses: list[int] = []
    def runaway(client: str) -> None:
        statuses.append(_get(_sparql(base, RUNAWAY), client=client)[0])

    threads = [threading.Thread(target=runaway, args=(f"127.0.1.{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [503] * 4
    assert _get(base + LIGHT)[0] == 200
    assert _get(base + "/clusters")[0] == 200


def test_a_client_with_a_heavy_query_running_waits_its_turn(limited_server: engines.ServeProcess) -> None:
    """One client, one heavy query at a time: its next query is refused at once (429, Retry-After)
    while the heavy one runs, and another client is answered meanwhile."""
    base = limited_server.url
    outcome: list[int] = []
    runaway = threading.Thread(target=lambda: outcome.append(_get(_sparql(base, RUNAWAY), client="127.0.2.1")[0]))
    runaway.start()
    time.sleep(1.0)  # past the moment it becomes heavy
    status, headers, body = _get(_sparql(base, RUNAWAY + " # another"), client="127.0.2.1")
    assert status == 429 and int(headers["Retry-After"]) >= 1, body
    assert b"long query running" in body
    light = _get(_sparql(base, "SELECT * WHERE { ?s ?p ?o } LIMIT 3"), client="127.0.2.2")
    assert light[0] == 200
    runaway.join()
    assert outcome == [503]

    def twin(n: int) -> None:
        outcome.append(_get(_sparql(base, RUNAWAY + f" # {n}"), client="127.0.2.3")[0])

    two = [threading.Thread(target=twin, args=(n,)) for n in range(2)]
    for t in two:  # both admitted at once, neither heavy yet: the second to turn heavy is stopped
        t.start()
    for t in two:
        t.join()
    assert sorted(outcome[1:]) == [429, 503]
    assert _get(_sparql(base, "ASK { ?s ?p ?o }"), client="127.0.2.1")[0] == 200


def test_a_too_long_query_is_refused_before_it_runs(limited_server: engines.ServeProcess) -> None:
    query = "ASK { " + "?s ?p ?o . " * 12_000 + "}"
    request = urllib.request.Request(limited_server.url + "/sparql", data=query.encode(), method="POST",
                                     headers={"Content-Type": "application/sparql-query"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    assert raised.value.code == 413 and b"longer than 100000 characters" in raised.value.read()


def test_the_pool_says_busy_rather_than_queueing_forever(template_store: Path) -> None:
    inner = EmbeddedStore(template_store, read_only=True)
    store = SandboxedStore(inner, Limits(timeout=1.5, workers=1, queue_timeout=0.2))
    try:
        outcomes: list[str] = []

        def block() -> None:
            try:
                store.query(RUNAWAY)
            except QueryTimeout:
                outcomes.append("timeout")

        blocker = threading.Thread(target=block)
        blocker.start()
        time.sleep(0.3)
        with pytest.raises(StoreBusy, match="busy"):
            store.query("ASK {}")
        blocker.join()
        assert outcomes == ["timeout"]
        assert store.query("ASK { ?s ?p ?o }").value is True  # type: ignore[union-attr]
    finally:
        store.close()
        inner.close()


def test_killed_workers_are_replaced_and_none_is_left_behind(template_store: Path) -> None:
    inner = EmbeddedStore(template_store, read_only=True)
    store = SandboxedStore(inner, Limits(timeout=0.5, workers=2))
    store.query("ASK {}")
    store.query("ASK {}")  # both workers have started (LIFO: the same one may answer twice; fine)
    own = os.readlink("/proc/self/ns/net")
    first = set(store.workers.pids())
    deadline = time.monotonic() + 10
    for pid in first:  # no SERVICE is allowed here, so the workers leave our network namespace
        while os.readlink(f"/proc/{pid}/ns/net") == own and time.monotonic() < deadline:
            time.sleep(0.05)  # a worker leaves as its first act; it may not have run yet
        assert os.readlink(f"/proc/{pid}/ns/net") != own
    with pytest.raises(QueryTimeout):
        store.query(RUNAWAY)
    second = set(store.workers.pids())
    assert len(second) == 2 and len(first & second) == 1
    with pytest.raises((QueryAborted, QueryTimeout)):
        store.query(MEMORY_HOG)
    store.close()
    inner.close()
    for pid in first | second:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_settings_from_the_environment_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUSTERKG_QUERY_TIMEOUT", "2.5")
    monkeypatch.setenv("CLUSTERKG_QUERY_WORKERS", "3")
    settings = Settings.from_env()
    assert (settings.query_timeout, settings.query_workers) == (2.5, 3)
    monkeypatch.setenv("CLUSTERKG_QUERY_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="CLUSTERKG_QUERY_TIMEOUT must be a number, not 'soon'"):
        Settings.from_env()
    monkeypatch.setenv("CLUSTERKG_QUERY_TIMEOUT", "-1")
    with pytest.raises(ValueError, match="must not be negative"):
        Settings.from_env()


def test_a_remote_engine_query_is_bounded_by_the_time_limit(tmp_path: Path, template_nquads: bytes) -> None:
    """On a remote engine the limit is the HTTP timeout: the user gets the same 503 answer. (The
    engine may go on computing: docs/security.md says how to set the engine's own limit.)"""
    from graph.store import with_query_limits
    from graph.store.remote import RemoteStore

    with engines.OxigraphServer(tmp_path) as engine:
        engine.reset(template_nquads)
        settings = Settings(base_iri=BASE, store_path=tmp_path / "unused", endpoint=engine.query_url,
                            update_endpoint=engine.update_url, graph_store=engine.graph_store_url,
                            query_timeout=1)
        store = with_query_limits(RemoteStore(settings), settings)
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="did not answer within 1 s"):
            store.query(RUNAWAY)
        assert time.monotonic() - started < 5
        store.close()
        engine.kill()  # it is still computing the runaway; Oxigraph server cannot be told to stop


def test_a_deeply_nested_query_costs_only_its_worker(limited_server: engines.ServeProcess) -> None:
    """Oxigraph's parser recurses per level: deep enough, it overflows a stack. In a worker, that is
    the worker's end (reported as a crash or a refusal, never a traceback), and the service goes on."""
    base = limited_server.url
    for depth in (5_000, 49_000):  # 49,000 levels: as deep as the query length limit allows
        query = "SELECT * WHERE " + "{" * depth + "?s ?p ?o" + "}" * depth
        request = urllib.request.Request(base + "/sparql", data=query.encode(), method="POST",
                                         headers={"Content-Type": "application/sparql-query",
                                                  "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        assert status in (200, 400, 503), (depth, status)
        assert b"Traceback" not in body
    assert _get(base + LIGHT)[0] == 200


_UNDER_A_TIGHTER_LIMIT = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_DATA, (3 * 1024 ** 3, 3 * 1024 ** 3))  # an operator's ulimit -d
from graph.store.embedded import EmbeddedStore
from graph.store.sandbox import Limits, SandboxedStore
store = SandboxedStore(EmbeddedStore(Path(sys.argv[1]), read_only=True), Limits(memory_mb=4096, workers=1))
try:
    print(store.query("ASK { ?s ?p ?o }").value)
finally:
    store.close()
"""


def test_a_worker_under_a_tighter_limit_than_its_own_still_answers(store_path: Path) -> None:
    """A service started under a hard data limit below CLUSTERKG_QUERY_MEMORY_MB keeps the tighter
    one for its workers, instead of every worker dying before its first query."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _UNDER_A_TIGHTER_LIMIT, str(store_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-2000:]
