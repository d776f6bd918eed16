"""Recorded graph sizes: how many triples each named graph holds, kept by the store that writes it.

Counting a graph's triples is a scan on Oxigraph (where Virtuoso answers from its indexes), so
every store records each graph's count when it writes the graph, as ``<graph> void:triples N``
in the graph :data:`SIZES_GRAPH`. The ``named-graphs`` query reads these records and counts only
the graphs that have none.

A record is never wrong, only missing: a write deletes the records of the graphs it replaces in
its own update, and records the new counts after it has committed, counted by the engine itself
(so a count agrees with what the engine stored, whatever rdflib thought of the literals). A crash
between the two leaves the graphs unrecorded, and they are counted. The embedded store does both
under its write lock; a remote engine has no lock across them, so a concurrent writer of the same
graph can leave a stale record there (as it can leave the summary's counts stale). A graph written
behind clusterkg's back has no record until :func:`record_missing` runs (`init`, `serve`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from graph.results import SelectResult

if TYPE_CHECKING:
    from graph.store.base import Store

SIZES_GRAPH = "urn:clusterkg:graph-sizes"
VOID_TRIPLES = "http://rdfs.org/ns/void#triples"
_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


def recorded_names(graphs: Iterable[str], touched: Iterable[str] = ()) -> list[str]:
    """The graphs whose records a write renews: those it writes and those its updates change (``touched``)
    (never the records' own graph, which is counted like any unrecorded graph)."""
    return [name for name in dict.fromkeys([*graphs, *touched]) if name != SIZES_GRAPH]


def delete_data(records: Iterable[tuple[str, str]]) -> str:
    """``DELETE DATA`` of existing records, each a graph name and the N-Triples form of its count as
    stored (data, not a pattern: an operation with a WHERE clause in a write's update makes
    Oxigraph read through the pending writes)."""
    lines = "\n".join(f"<{name}> <{VOID_TRIPLES}> {count} ." for name, count in records)
    return f"DELETE DATA {{ GRAPH <{SIZES_GRAPH}> {{\n{lines}\n}} }}" if lines else ""


def insert_data(counts: Mapping[str, int]) -> str:
    lines = "\n".join(f'<{name}> <{VOID_TRIPLES}> "{n}"^^<{_INTEGER}> .' for name, n in counts.items() if n > 0)
    return f"INSERT DATA {{ GRAPH <{SIZES_GRAPH}> {{\n{lines}\n}} }}" if lines else ""


RECORDS_QUERY = f"SELECT ?g ?n WHERE {{ GRAPH <{SIZES_GRAPH}> {{ ?g <{VOID_TRIPLES}> ?n }} }}"


def forget_update(names: Iterable[str]) -> str:
    """Deleting the records of ``names`` whatever they say (for an update of its own)."""
    return " ;\n".join(f"DELETE WHERE {{ GRAPH <{SIZES_GRAPH}> {{ <{name}> <{VOID_TRIPLES}> ?n }} }}"
                       for name in names)


def count_query(name: str) -> str:
    return f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}"


def record_missing(store: Store) -> list[str]:
    """Record the sizes of the graphs that have no record (a store written before records were
    kept, or graphs written behind clusterkg's back); run by `clusterkg init` and `clusterkg serve`.
    Returns their names."""
    result = store.query(RECORDS_QUERY)
    assert isinstance(result, SelectResult)
    recorded = {str(row["g"]) for row in result.rows}
    missing = [name for name in recorded_names(store.named_graphs()) if name not in recorded]
    if missing:
        with store.writing() as write:
            write.update("", touches=missing)
    return missing
