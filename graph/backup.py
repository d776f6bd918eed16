"""Backup and restore of a whole store as N-Quads.

A backup is every quad of every named graph, read from one snapshot, as N-Quads (one line per
quad, so that two backups can be compared with ``sort`` and ``diff``). A restore reads and checks
the whole file first, then replaces the store's graphs with the file's in one write: on the
embedded store a single transaction, on a remote engine the staged write of
:meth:`graph.store.Store.replace_graphs`, so an interrupted restore leaves the old store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from graph import __version__
from graph.messages import one_line
from graph.rdftext import triple_from_ox
from graph.store import Store, StoreError
from graph.store.sizes import SIZES_GRAPH


class BackupError(ValueError):
    """A backup file that cannot be restored; nothing was written."""


@dataclass(frozen=True)
class RestoreSummary:
    graphs: int
    quads: int
    dropped: list[str]


def backup_nquads(store: Store) -> bytes:
    """The backup's bytes: a comment line saying what and when, then every quad."""
    body = store.dump_nquads()
    quads = body.count(b"\n")
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    header = f"# clusterkg {__version__} backup, {stamp}, {quads} quads\n".encode()
    return header + body


def read_backup(path: Path) -> dict[str, Graph]:
    """The named graphs of an N-Quads file, checked whole before anything is written."""
    graphs: dict[str, Graph] = {}
    try:
        with path.open("rb") as handle:
            for quad in ox.parse(handle, format=ox.RdfFormat.N_QUADS):
                if not isinstance(quad.graph_name, ox.NamedNode):
                    raise BackupError(
                        f"{path.name}: the triple {quad.subject} {quad.predicate} {quad.object} is in the default "
                        "graph; a clusterkg backup holds every triple in a named graph")
                name = quad.graph_name.value
                graph = graphs.get(name)
                if graph is None:
                    graph = graphs[name] = Graph(identifier=URIRef(name))
                graph.add(triple_from_ox(quad))
    except SyntaxError as exc:
        raise BackupError(f"{path.name} is not valid N-Quads: {one_line(exc)}") from None
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    return graphs


def restore(store: Store, path: Path) -> RestoreSummary:
    """Make the store hold exactly the backup's graphs (graphs not in the backup are dropped)."""
    graphs = read_backup(path)
    graphs.pop(SIZES_GRAPH, None)  # the store records the restored graphs' sizes itself
    if not graphs:
        raise BackupError(f"{path.name} holds no quads; refusing to empty the store (drop imports instead)")
    dropped = [name for name in store.named_graphs() if name not in graphs and name != SIZES_GRAPH]
    changes: dict[str, Graph | None] = {name: None for name in dropped}
    changes.update(graphs)
    store.replace_graphs(changes)
    for name, graph in graphs.items():
        stored = len(store.get_graph(name))
        if stored != len(graph):  # a remote engine that silently dropped something
            raise StoreError(f"restore check failed: graph <{name}> holds {stored} triples, the backup {len(graph)}")
    return RestoreSummary(len(graphs), sum(len(g) for g in graphs.values()), dropped)
