"""Derived edges: what the queries would otherwise compute from every answer on every call.

Two kinds, both a function of the survey data and the vocabularies, never new facts:

- **In each import graph**, written with the import (same transaction, dropped with it):
  ``answer ckg:matches concept`` (the option, everything broader, and for an "Other" answer its
  recorded theme and everything broader) and ``response ckg:chose option``.
- **In the cluster summary graph** ``<base>graph/derived/clusters``, one graph for the whole store:
  ``cluster ckg:choseOption option``, ``cluster ckg:matchesConcept concept`` and
  ``cluster ckg:optionCount n`` (distinct options other than "Other"). A cluster answering in ten
  survey waves has its edges once here, so the cluster-level queries (themes, shared challenges,
  similarity, co-occurrence) read a few edges per cluster instead of joining every answer of every
  wave. It changes in the same SPARQL update as the import graphs (``Store.replace_graphs(then=)``):
  a new import adds its clusters' edges (computed here, from the import alone); replacing or
  dropping one recomputes the edges of the clusters it named from what the store still holds.
  ``clusterkg init`` rebuilds it whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

from rdflib import Graph, URIRef

from graph.namespaces import CKG, SKOS, DataIRIs
from graph.results import SelectResult
from graph.store import Store
from graph.vocab import terminology

SUMMARY_GRAPH_PATH = ("derived", "clusters")
_CHUNK = 400  # clusters per VALUES block of a refresh


def summary_graph(iris: DataIRIs) -> str:
    return str(iris.graph(*SUMMARY_GRAPH_PATH))


@cache
def _ancestors(concept: URIRef) -> frozenset[URIRef]:
    """The concept and everything broader than it."""
    seen = {concept}
    todo = [concept]
    while todo:
        for parent in terminology().objects(todo.pop(), SKOS.broader):
            if isinstance(parent, URIRef) and parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return frozenset(seen)


def add_matches(graph: Graph) -> int:
    """Add the ``ckg:matches`` edges of every answer in ``graph``; the number added."""
    before = len(graph)
    edges = []
    for prop in (CKG.option, CKG.otherTheme):
        for answer, concept in graph.subject_objects(prop):
            if isinstance(concept, URIRef):
                edges.extend((answer, CKG.matches, match, graph) for match in _ancestors(concept))
    graph.addN(edges)
    return len(graph) - before


def add_derived(graph: Graph) -> int:
    """Add the import-graph edges (``ckg:matches``, ``ckg:chose``) to ``graph``; the number added."""
    before = len(graph)
    add_matches(graph)
    chose = [(response, CKG.chose, option, graph)
             for response, answer in graph.subject_objects(CKG.hasAnswer)
             for option in graph.objects(answer, CKG.option) if isinstance(option, URIRef)]
    graph.addN(chose)
    return len(graph) - before


def clusters_in(graph: Graph) -> set[URIRef]:
    return {c for c in graph.objects(None, CKG.respondingCluster) if isinstance(c, URIRef)}


def cluster_edges(graph: Graph) -> Graph:
    """The summary edges ``graph`` (an import graph with its derived edges) gives its clusters."""
    edges = Graph()
    for response, cluster in graph.subject_objects(CKG.respondingCluster):
        if not isinstance(cluster, URIRef):
            continue
        for answer in graph.objects(response, CKG.hasAnswer):
            for option in graph.objects(answer, CKG.option):
                edges.add((cluster, CKG.choseOption, option))
            for concept in graph.objects(answer, CKG.matches):
                edges.add((cluster, CKG.matchesConcept, concept))
    return edges


def _values(clusters: Iterable[URIRef]) -> str:
    return " ".join(f"<{c}>" for c in sorted(clusters))  # IRIs from the store or the mapping


def _recount(summary: str, values: str) -> str:
    other = f"<{CKG.OtherOption}>"
    return (
        f"DELETE {{ GRAPH <{summary}> {{ ?c <{CKG.optionCount}> ?n }} }} "
        f"WHERE {{ VALUES ?c {{ {values} }} GRAPH <{summary}> {{ ?c <{CKG.optionCount}> ?n }} }} ;\n"
        f"INSERT {{ GRAPH <{summary}> {{ ?c <{CKG.optionCount}> ?n }} }} WHERE {{ "
        f"SELECT ?c (COUNT(DISTINCT ?o) AS ?n) WHERE {{ VALUES ?c {{ {values} }} "
        f"GRAPH <{summary}> {{ ?c <{CKG.choseOption}> ?o }} "
        f"FILTER NOT EXISTS {{ GRAPH ?v {{ ?o a {other} }} }} }} GROUP BY ?c }}")


def add_update(summary: str, edges: Graph) -> str:
    """SPARQL update: add ``edges`` (computed from new imports) and recount their clusters."""
    if not len(edges):
        return ""
    clusters = {s for s in edges.subjects() if isinstance(s, URIRef)}
    parts = [f"INSERT DATA {{ GRAPH <{summary}> {{\n{edges.serialize(format='nt')}\n}} }}"]
    parts += [_recount(summary, _values(chunk)) for chunk in _chunks(sorted(clusters))]
    return " ;\n".join(parts)


def refresh_update(summary: str, clusters: Iterable[URIRef]) -> str:
    """SPARQL update: recompute the summary edges of ``clusters`` from the import graphs."""
    parts = []
    for chunk in _chunks(sorted(set(clusters))):
        values = _values(chunk)
        parts.append(
            f"DELETE {{ GRAPH <{summary}> {{ ?c ?p ?o }} }} "
            f"WHERE {{ VALUES ?c {{ {values} }} GRAPH <{summary}> {{ ?c ?p ?o }} }}")
        parts.append(_derive(summary, f"VALUES ?c {{ {values} }}"))
        parts.append(_recount(summary, values))
    return " ;\n".join(parts)


def rebuild_update(summary: str) -> str:
    """SPARQL update: the summary graph recomputed whole (``clusterkg init``)."""
    other = f"<{CKG.OtherOption}>"
    return (f"DROP SILENT GRAPH <{summary}> ;\n{_derive(summary, '')} ;\n"
            f"INSERT {{ GRAPH <{summary}> {{ ?c <{CKG.optionCount}> ?n }} }} WHERE {{ "
            f"SELECT ?c (COUNT(DISTINCT ?o) AS ?n) WHERE {{ GRAPH <{summary}> {{ ?c <{CKG.choseOption}> ?o }} "
            f"FILTER NOT EXISTS {{ GRAPH ?v {{ ?o a {other} }} }} }} GROUP BY ?c }}")


def _derive(summary: str, values: str) -> str:
    # GRAPH ?g: an update's WHERE reads the default graph, which is not the union on every engine
    return (
        f"INSERT {{ GRAPH <{summary}> {{ ?c <{CKG.choseOption}> ?o }} }} WHERE {{ {values} "
        f"GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.option}> ?o }} }} ;\n"
        f"INSERT {{ GRAPH <{summary}> {{ ?c <{CKG.matchesConcept}> ?m }} }} WHERE {{ {values} "
        f"GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.matches}> ?m }} }}")


def _chunks(items: list[URIRef]) -> Iterable[list[URIRef]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def old_clusters(store: Store, names: Iterable[str]) -> set[URIRef]:
    """The clusters the stored versions of graphs ``names`` name (before they change)."""
    out: set[URIRef] = set()
    for name in names:
        result = store.query(f"SELECT DISTINCT ?c WHERE {{ GRAPH <{name}> {{ ?r <{CKG.respondingCluster}> ?c }} }}")
        assert isinstance(result, SelectResult)
        out |= {c for c in result.values("c") if isinstance(c, URIRef)}
    return out


def maintenance(store: Store, iris: DataIRIs, graphs: Mapping[str, Graph | None]) -> str:
    """The SPARQL update that keeps the summary graph right when ``graphs`` are written (run in
    the same update as the write: ``store.replace_graphs(graphs, then=...)``)."""
    summary = summary_graph(iris)
    existing = set(store.named_graphs())
    replaced = [name for name in graphs if name in existing]
    new_edges = Graph()
    for name, graph in graphs.items():
        if name not in existing and graph is not None:
            new_edges += cluster_edges(graph)
    parts = [add_update(summary, new_edges)]
    if replaced:
        affected = old_clusters(store, replaced)
        for name in replaced:
            graph = graphs[name]
            if graph is not None:
                affected |= clusters_in(graph)
        parts.append(refresh_update(summary, affected))
    return " ;\n".join(p for p in parts if p)

