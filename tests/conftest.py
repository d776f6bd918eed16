"""Shared fixtures: a store initialised once per session, copied for each test that writes."""

from __future__ import annotations

import os
import resource
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from graph.config import PROJECT_ROOT, Settings
from graph.importer import Importer
from graph.store import Store, bulkwrite, open_store
from graph.store.embedded import EmbeddedStore
from graph.store.sizes import record_missing

from . import engines

CATALOGUE = PROJECT_ROOT / "sources" / "bioman4r2-d2.3-catalogue.txt"
FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://w3id.org/clusterkg/data/"
VOCAB = "https://w3id.org/clusterkg/vocab/"


@pytest.fixture(scope="session")
def catalogue_text() -> str:
    if not CATALOGUE.exists():
        pytest.fail(f"the D2.3 source text is missing: {CATALOGUE}")
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
    """A private copy of the bundled embedded store, for a test that writes."""
    path = tmp_path / "store"
    shutil.copytree(template_store, path)
    return path


# -- backends: the contract tests run on every store backend ------------------------------------------
BACKENDS = [b for b in os.environ.get("CLUSTERKG_TEST_BACKENDS", "embedded,oxigraph,virtuoso").split(",") if b]


@pytest.fixture(scope="session")
def template_nquads(template_store: Path) -> bytes:
    store = EmbeddedStore(template_store, read_only=True)
    data = store.dataset().serialize(format="nquads", encoding="utf-8")
    store.close()
    return data


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[engines.Engine]:
    with engines.OxigraphServer(tmp_path_factory.mktemp("oxigraph")) as engine:
        yield engine


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[engines.Engine]:
    with engines.VirtuosoServer(tmp_path_factory.mktemp("virtuoso")) as engine:
        yield engine


def _engine(request: pytest.FixtureRequest, backend: str) -> engines.Engine:
    return request.getfixturevalue(f"{backend}_server")


def _remote_settings(engine: engines.Engine) -> Settings:
    return Settings(base_iri=BASE, store_path=Path("/nonexistent"), endpoint=engine.query_url,
                    update_endpoint=engine.update_url, graph_store=engine.graph_store_url,
                    auth=engine.auth, auth_type=engine.auth_type)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if backend == "embedded":
        return Settings(base_iri=BASE, store_path=request.getfixturevalue("store_path"))
    return _remote_settings(_engine(request, backend))


@pytest.fixture
def store(backend: str, settings: Settings, request: pytest.FixtureRequest, template_nquads: bytes) -> Iterator[Store]:
    """A store holding exactly the bundled data, private to the test, on each backend."""
    if backend == "embedded":
        s: Store = EmbeddedStore(settings.store_path)
    else:
        _engine(request, backend).reset(template_nquads)
        s = open_store(settings)
        record_missing(s)  # as `clusterkg serve` does on a store loaded behind its back
    yield s
    s.close()


@pytest.fixture(scope="session", params=BACKENDS)
def shared_store(request: pytest.FixtureRequest, template_store: Path, template_nquads: bytes,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One copy of the bundled data per backend, for tests that only read."""
    if request.param == "embedded":
        path = tmp_path_factory.mktemp("shared") / "store"
        shutil.copytree(template_store, path)
        s: Store = EmbeddedStore(path)
    else:
        engine = _engine(request, request.param)
        engine.reset(template_nquads)
        s = open_store(_remote_settings(engine))
        record_missing(s)
    yield s
    s.close()


def quads_of(store: Store) -> list[str]:
    """Every quad as N-Quads lines, sorted: to compare a store before and after. The lines are in
    the store's own serialisation (the embedded store's is Oxigraph's dump, ~50x faster than
    rdflib's), so compare a store with itself or with a store of the same backend."""
    return sorted(store.dump_nquads().decode("utf-8").splitlines())


@pytest.fixture(scope="session")
def app(shared_store: Store):
    from service import create_app

    app = create_app(Settings(base_iri=BASE), store=shared_store, config={"TESTING": True})
    yield app
    app.extensions["clusterkg"].close()


@pytest.fixture
def make_app():
    """create_app for one test; the apps' query workers are stopped after it."""
    from service import create_app

    made = []

    def make(*args, **kwargs):
        made.append(create_app(*args, **kwargs))
        return made[-1]

    yield make
    for app in made:
        app.extensions["clusterkg"].close()


@pytest.fixture
def client(app):
    return app.test_client()


free_port = engines.free_port


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(request: pytest.FixtureRequest, template_store: Path, template_nquads: bytes,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`clusterkg serve` on the bundled data (an embedded copy, or an engine), on a free loopback
    port; stopped by its PID."""
    path = tmp_path_factory.mktemp("live") / "store"
    args = ["--store", str(path)]
    if request.param == "embedded":
        shutil.copytree(template_store, path)
    else:
        engine = _engine(request, request.param)
        engine.reset(template_nquads)
        args = ["--endpoint", engine.query_url, "--update-endpoint", engine.update_url,
                "--graph-store", engine.graph_store_url]
        if engine.auth:
            args += ["--auth", engine.auth, "--auth-type", engine.auth_type]
    with engines.ServeProcess(args, path.parent / "serve.log", {"CLUSTERKG_BASE_IRI": BASE}) as serve:
        yield serve.url


ObserveLoads = Callable[[Callable[[bulkwrite.Load], None]], None]


@pytest.fixture
def observe_loads() -> Iterator[ObserveLoads]:
    """``observe_loads(observer)``: ``observer`` sees every bulk load for the rest of the test, in
    the loading thread, before and after each (graph.store.bulkwrite.observing)."""
    with ExitStack() as stack:
        yield lambda observer: stack.enter_context(bulkwrite.observing(observer))


@pytest.fixture(autouse=True)
def _data_limit_restored() -> Iterator[None]:
    """A test that runs the command line in this process (click's CliRunner) sets its memory limit
    (graph.worker_process.limit_data_memory): put back, so that the next tests, and the processes
    they start, do not inherit it."""
    before = resource.getrlimit(resource.RLIMIT_DATA)
    yield
    if resource.getrlimit(resource.RLIMIT_DATA) != before:
        resource.setrlimit(resource.RLIMIT_DATA, before)
