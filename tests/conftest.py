"""Shared fixtures: a store initialised once per session, copied for each test that writes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.config import PROJECT_ROOT, Settings
from graph.importer import Importer
from graph.store.embedded import EmbeddedStore

CATALOGUE = PROJECT_ROOT.parent / "shared" / "sources" / "bioman4r2-d2.3-catalogue.txt"
FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://w3id.org/clusterkg/data/"
VOCAB = "https://w3id.org/clusterkg/vocab/"


@pytest.fixture(scope="session")
def catalogue_text() -> str:
    if not CATALOGUE.exists():
        pytest.fail(f"the D2.3 source text is missing: {CATALOGUE} (../shared must be beside the repo)")
    return CATALOGUE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed store directory holding the bundled data, made once."""
    path = tmp_path_factory.mktemp("template") / "store"
    store = EmbeddedStore(path)
    Importer(store, Settings(base_iri=BASE, store_path=path)).init_bundled()
    store.close()
    return path


@pytest.fixture
def store_path(template_store: Path, tmp_path: Path) -> Path:
    """A private copy of the bundled store, for a test that writes."""
    path = tmp_path / "store"
    shutil.copytree(template_store, path)
    return path


@pytest.fixture
def settings(store_path: Path) -> Settings:
    return Settings(base_iri=BASE, store_path=store_path)


@pytest.fixture
def store(store_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(store_path)
    yield s
    s.close()


@pytest.fixture(scope="session")
def shared_store(template_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """One read-mostly copy of the bundled store for tests that only query."""
    path = tmp_path_factory.mktemp("shared") / "store"
    shutil.copytree(template_store, path)
    s = EmbeddedStore(path)
    yield s
    s.close()


def quads_of(store: EmbeddedStore) -> list[str]:
    """Every quad as N-Quads lines, sorted: to compare a store before and after."""
    return sorted(store.dataset().serialize(format="nquads").splitlines())


@pytest.fixture(scope="session")
def app(shared_store: EmbeddedStore):
    from service import create_app

    return create_app(Settings(base_iri=BASE, store_path=shared_store.path), store=shared_store,
                      config={"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(template_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`clusterkg serve` on a copy of the bundled store, on a free loopback port; stopped by PID."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    path = tmp_path_factory.mktemp("live") / "store"
    shutil.copytree(template_store, path)
    port = free_port()
    cli = Path(sys.executable).with_name("clusterkg")
    log = (path.parent / "serve.log").open("w")
    proc = subprocess.Popen([str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), "--store", str(path)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "CLUSTERKG_BASE_IRI": BASE})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/api/queries", timeout=2).read()
            break
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log_text = (path.parent / "serve.log").read_text()
                raise RuntimeError("clusterkg serve did not start: " + log_text) from exc
            time.sleep(0.2)
    yield url
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
