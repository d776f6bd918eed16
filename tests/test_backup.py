"""`clusterkg backup` / `restore`: the whole store round-trips, compared triple for triple."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from graph.backup import BackupError, backup_nquads, read_backup, restore
from graph.store import Store
from graph.store.embedded import EmbeddedStore

from .conftest import quads_of
from .helpers import run

TRICKY = "https://example.org/graph/tricky"
EX = "https://example.org/"


def _tricky_graph() -> Graph:
    """What a lossy dump would break: blank nodes, language tags, datatypes, escapes, non-ASCII."""
    from rdflib.namespace import XSD  # imported here: pytest's collection trips over the namespace object
    g = Graph()
    s = URIRef(EX + "s")
    node = BNode()
    g.add((s, URIRef(EX + "bnode"), node))
    g.add((node, URIRef(EX + "label"), Literal("inner \"quoted\"\nnew line\ttab \\ back", lang="fr-BE")))
    g.add((s, URIRef(EX + "int"), Literal("042", datatype=XSD.integer)))  # non-canonical lexical form
    g.add((s, URIRef(EX + "date"), Literal("2023-06-01", datatype=XSD.date)))
    g.add((s, URIRef(EX + "unicode"), Literal("Łódź — Zürich 東京 🧬")))
    g.add((s, URIRef(EX + "typed"), Literal("x", datatype=URIRef(EX + "customType"))))
    g.add((s, URIRef(EX + "iri"), URIRef("https://example.org/ä?q=1#frag")))
    return g


def _compare(a: dict[str, Graph], b: dict[str, Graph]) -> None:
    """Same graph names; each graph the same triples (blank nodes up to renaming, as RDF defines)."""
    assert sorted(a) == sorted(b)
    for name in a:
        if any(isinstance(t, BNode) for triple in a[name] for t in triple):
            assert isomorphic(a[name], b[name]), name
        else:
            assert set(a[name]) == set(b[name]), name


def test_backup_and_restore_round_trip_every_quad(store: Store, tmp_path: Path) -> None:
    store.replace_graphs({TRICKY: _tricky_graph()})
    first = tmp_path / "first.nq"
    first.write_bytes(backup_nquads(store))
    original = read_backup(first)
    assert TRICKY in original and len(original) == len(store.named_graphs())

    # the store changes: an extra graph, a lost graph; the restore undoes both
    store.replace_graphs({EX + "graph/extra": _tricky_graph(), TRICKY: None})
    summary = restore(store, first)
    assert summary.dropped == [EX + "graph/extra"]
    assert summary.quads == sum(len(g) for g in original.values())
    second = tmp_path / "second.nq"
    second.write_bytes(backup_nquads(store))
    _compare(original, read_backup(second))


def test_restore_into_a_fresh_store_by_the_cli_is_line_for_line_identical(cli_store: Path, tmp_path: Path) -> None:
    backup = tmp_path / "store.nq"
    out = run(cli_store, "backup", str(backup))
    assert out.returncode == 0 and backup.read_text().startswith("# clusterkg ")
    fresh = tmp_path / "fresh"
    out = run(fresh, "restore", str(backup), "--yes")
    assert out.returncode == 0, out.stderr
    assert "restored" in out.stdout
    again = run(fresh, "backup", "-").stdout
    # the bundled data has no blank nodes, so the N-Quads lines themselves must be the same
    assert sorted(again.splitlines()[1:]) == sorted(backup.read_text().splitlines()[1:])
    assert len(again.splitlines()) > 3000


@pytest.fixture
def cli_store(store_path: Path) -> Path:
    return store_path


GOOD = b"<https://e/s> <https://e/p> <https://e/o> <https://e/g> .\n" * 3


@pytest.mark.parametrize(("content", "message"), [
    (GOOD + b"<https://e/s> <https://e/p> \"unterminated .\n", "is not valid N-Quads"),
    (GOOD + b"<https://e/s> <https://e/p> <https://e/o> .\n", "is in the default graph"),
    (b"# nothing but a comment\n", "holds no quads"),
])
def test_a_bad_backup_is_refused_and_nothing_changes(store_path: Path, tmp_path: Path, content: bytes,
                                                      message: str) -> None:
    bad = tmp_path / "bad.nq"
    bad.write_bytes(content)
    store = EmbeddedStore(store_path)
    before = quads_of(store)
    with pytest.raises(BackupError, match=message):
        restore(store, bad)
    assert quads_of(store) == before
    store.close()
    out = run(store_path, "restore", str(bad), "--yes")
    assert out.returncode == 1 and message in out.stderr and "nothing was written" in out.stderr
    assert "Traceback" not in out.stderr


def test_restore_asks_before_replacing(store_path: Path, tmp_path: Path) -> None:
    backup = tmp_path / "b.nq"
    backup.write_bytes(b"<https://e/s> <https://e/p> <https://e/o> <https://e/g> .\n")
    out = run(store_path, "restore", str(backup), stdin="n\n")
    assert out.returncode == 1 and "Aborted" in out.stderr
    store = EmbeddedStore(store_path)
    assert "https://e/g" not in store.named_graphs()
    store.close()
