"""Export of the whole store in standard RDF formats."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from graph.namespaces import PREFIXES
from graph.store import Store

EXPORT_FORMATS = {"ttl": "turtle", "nq": "nquads", "trig": "trig", "jsonld": "json-ld"}


def export_dataset(store: Store, fmt: str) -> bytes:
    """Every quad of the store; ``ttl`` merges the named graphs into one graph."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    dataset = store.dataset()
    for prefix, ns in PREFIXES.items():
        dataset.bind(prefix, ns)
    if fmt == "ttl":
        merged = Graph()
        for prefix, ns in PREFIXES.items():
            merged.bind(prefix, ns)
        for s, p, o, _g in dataset.quads((None, None, None, None)):
            merged.add((s, p, o))
        return merged.serialize(format="turtle", encoding="utf-8")
    return dataset.serialize(format=EXPORT_FORMATS[fmt], encoding="utf-8")


def dump_job(store: Store, settings: object, path: str) -> None:
    """(graph.jobs) Every quad of ``store`` as N-Quads into ``path``, whole or not at all."""
    partial = Path(path + ".partial")
    partial.write_bytes(store.dump_nquads())
    partial.replace(path)
