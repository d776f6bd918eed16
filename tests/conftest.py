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
