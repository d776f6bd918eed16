"""Derived edges: what the queries would otherwise compute from every answer on every call.

Two kinds, both a function of the survey data and the vocabularies, never new facts:

- **In each import graph**, written with the import (same transaction, dropped with it):
  ``answer ckg:matches concept`` (the option, everything broader, and for an "Other" answer its
  recorded theme and everything broader) and ``response ckg:chose option``.
- **In the cluster summary graph** ``<base>graph/derived/clusters``, one graph for the whole store:
  ``cluster ckg:choseOption option``, ``cluster ckg:matchesConcept concept`` and
  ``cluster ckg:optionCount n`` (distinct options other than "Other"), one ``ckg:OptionPair``
  per two options some cluster chose both of, with ``ckg:clusterCount`` (how many did), and
  ``option ckg:chosenByClusters n`` (how many clusters chose the option). A cluster
  answering in ten survey waves has its edges once here, so the cluster-level queries (themes,
  shared challenges, similarity, co-occurrence) read a few edges per cluster instead of joining
  every answer of every wave. It changes in the same write as the import graphs (a step of the
  write, :func:`keep_summary`, run under the store's write lock): a new import adds its clusters'
  edges (computed here, from the import alone); replacing or dropping one recomputes the edges of
  the clusters it named from what the store still holds. Counts, pairs and tallies are computed
  here, in Python, from every cluster's options after the write (the summary's edges as the write
  finds them, plus the change) and rewritten where they changed: a
  SPARQL count enumerates every cluster's pairs (half a million rows at 1,000 clusters), a set
  intersection per pair of options does not. The maintenance works on terms as N-Triples text
  (``Store.select_texts``), which it compares and writes as they are: tens of thousands of
  rdflib terms a wave, compared in Python, cost it more than its own work.
  ``clusterkg init`` rebuilds the graph whole when it is missing or its ``ckg:derivationVersion``
  is not ``DERIVATION_VERSION``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import NamedTuple

from rdflib import Graph, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from graph.namespaces import CKG, RDF, SKOS, DataIRIs
from graph.results import AskResult
from graph.store import Store, Write
from graph.store.dataops import data_ops
from graph.store.write import Reads
from graph.vocab import terminology

SUMMARY_GRAPH_PATH = ("derived", "clusters")
_CHUNK = 400  # clusters per VALUES block of a read
DERIVATION_VERSION = "3"  # 2: option pairs; 3: option tallies; bump when the rules change, so that `init` rebuilds
Text = str  # a term as N-Triples text: "<iri>", "\"5\"^^<...#integer>"
Options = dict[Text, set[Text]]  # cluster -> the options it chose
Triple = tuple[Text, Text, Text]


def _iri(term: URIRef | str) -> Text:
    return f"<{term}>"


def _integer(n: int) -> Text:
    return f'"{n}"^^<{XSD.integer}>'  # Oxigraph's form and rdflib's n3() of Literal(n)


_TYPE, _OPTION_PAIR, _PAIRED, _CLUSTER_COUNT = _iri(RDF.type), _iri(CKG.OptionPair), _iri(CKG.pairedOption), \
    _iri(CKG.clusterCount)
_CHOSE_OPTION, _MATCHES_CONCEPT, _OPTION_COUNT, _CHOSEN_BY = _iri(CKG.choseOption), _iri(CKG.matchesConcept), \
    _iri(CKG.optionCount), _iri(CKG.chosenByClusters)


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
    edges = [(answer, CKG.matches, match) for prop in (CKG.option, CKG.otherTheme)
             for answer, concept in graph.subject_objects(prop) if isinstance(concept, URIRef)
             for match in _ancestors(concept)]
    add = graph.add
    for edge in edges:
        add(edge)
    return len(graph) - before


def add_derived(graph: Graph) -> int:
    """Add the import-graph edges (``ckg:matches``, ``ckg:chose``) to ``graph``; the number added."""
    before = len(graph)
    add_matches(graph)
    options_of: dict[Node, list[URIRef]] = defaultdict(list)
    for answer, option in graph.subject_objects(CKG.option):
        if isinstance(option, URIRef):
            options_of[answer].append(option)
    chose = [(response, CKG.chose, option)
             for response, answer in graph.subject_objects(CKG.hasAnswer) for option in options_of.get(answer, ())]
    add = graph.add
    for edge in chose:
        add(edge)
    return len(graph) - before


def clusters_in(graph: Graph) -> set[Text]:
    return {_iri(c) for c in graph.objects(None, CKG.respondingCluster) if isinstance(c, URIRef)}


@cache
def _ancestor_texts(concept: Text) -> frozenset[Text]:
    return frozenset(_iri(c) for c in _ancestors(URIRef(concept[1:-1])))


def cluster_edges(graph: Graph) -> set[Triple]:
    """The summary edges ``graph`` (an import graph with its derived edges) gives its clusters."""
    cluster_of_response = {r: _iri(c) for r, c in graph.subject_objects(CKG.respondingCluster) if isinstance(c, URIRef)}
    cluster_of_answer = {a: cluster_of_response[r] for r, a in graph.subject_objects(CKG.hasAnswer)
                         if r in cluster_of_response}
    texts: dict[URIRef, Text] = {}  # options and concepts repeat: each written once
    edges: set[Triple] = set()
    for prop, summary_prop in ((CKG.option, _CHOSE_OPTION), (CKG.matches, _MATCHES_CONCEPT)):
        for a, o in graph.subject_objects(prop):
            cluster = cluster_of_answer.get(a)
            if cluster is not None:
                text = texts.get(o)
                if text is None:
                    text = texts[o] = o.n3()
                edges.add((cluster, summary_prop, text))
    return edges


def _data_ops(keyword: str, summary: str, triples: Iterable[Triple]) -> list[str]:
    """``INSERT DATA`` / ``DELETE DATA`` operations (graph.store.dataops), the rows sorted."""
    return data_ops(keyword, summary, sorted(f"{s} {p} {o} ." for s, p, o in triples))


def _values(clusters: Iterable[Text]) -> str:
    return " ".join(sorted(clusters))  # IRIs from the store or the mapping, as N-Triples


def rebuild_update(store: Reads, iris: DataIRIs) -> str:
    """SPARQL update: the summary graph recomputed whole (``clusterkg init``)."""
    summary = summary_graph(iris)
    other = f"<{CKG.OtherOption}>"
    version = f'<{summary}> <{CKG.derivationVersion}> "{DERIVATION_VERSION}"'
    return (f"DROP SILENT GRAPH <{summary}> ;\n{_derive(summary, '')} ;\n"
            f"INSERT {{ GRAPH <{summary}> {{ ?c <{CKG.optionCount}> ?n }} }} WHERE {{ "
            f"SELECT ?c (COUNT(DISTINCT ?o) AS ?n) WHERE {{ GRAPH <{summary}> {{ ?c <{CKG.choseOption}> ?o }} "
            f"FILTER NOT EXISTS {{ GRAPH ?v {{ ?o a {other} }} }} }} GROUP BY ?c }} ;\n"
            f"INSERT DATA {{ GRAPH <{summary}> {{ {version} }} }} ;\n"
            + " ;\n".join(_data_ops("INSERT DATA", summary, option_triples(
                iris, import_options(store, skip=[summary]), other_options(store)))))


def is_current(store: Reads, iris: DataIRIs) -> bool:
    """Whether the store's summary graph exists and was derived by this code's rules."""
    summary = summary_graph(iris)
    result = store.query(f'ASK {{ GRAPH <{summary}> {{ <{summary}> <{CKG.derivationVersion}> '
                         f'"{DERIVATION_VERSION}" }} }}')
    return isinstance(result, AskResult) and result.value


def _derive(summary: str, values: str) -> str:
    # GRAPH ?g: an update's WHERE reads the default graph, which is not the union on every engine
    return (
        f"INSERT {{ GRAPH <{summary}> {{ ?c <{CKG.choseOption}> ?o }} }} WHERE {{ {values} "
        f"GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.option}> ?o }} }} ;\n"
        f"INSERT {{ GRAPH <{summary}> {{ ?c <{CKG.matchesConcept}> ?m }} }} WHERE {{ {values} "
        f"GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.matches}> ?m }} }}")


def _chunks(items: list[Text]) -> Iterable[list[Text]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _is_iri(text: Text | None) -> bool:
    return text is not None and text.startswith("<")


def old_clusters(store: Reads, names: Iterable[str]) -> set[Text]:
    """The clusters the stored versions of graphs ``names`` name (before they change)."""
    out: set[Text] = set()
    for name in names:
        rows = store.select_texts(
            f"SELECT DISTINCT ?c WHERE {{ GRAPH <{name}> {{ ?r <{CKG.respondingCluster}> ?c }} }}")
        out |= {c for (c,) in rows if _is_iri(c)}  # type: ignore[misc]
    return out


def _options(store: Reads, query: str) -> Options:
    out: Options = defaultdict(set)
    for cluster, option in store.select_texts(query):
        if _is_iri(cluster) and _is_iri(option):
            out[cluster].add(option)  # type: ignore[index,arg-type]
    return out


def summary_options(store: Reads, summary: str) -> Options:
    """Every cluster's options as the summary graph holds them."""
    return _options(store, f"SELECT ?c ?o WHERE {{ GRAPH <{summary}> {{ ?c <{CKG.choseOption}> ?o }} }}")


def _in_graphs_but(pattern: str, skip: Iterable[str]) -> str:
    """``pattern`` in any named graph but those in ``skip``."""
    skipped = ", ".join(f"<{name}>" for name in skip)
    return f"GRAPH ?g {{ {pattern} }}" + (f" FILTER (?g NOT IN ({skipped}))" if skipped else "")


def import_options(store: Reads, skip: Iterable[str]) -> Options:
    """Every cluster's options as the stored graphs other than ``skip`` give them; the same pattern
    as the summary's own ``ckg:choseOption`` rule."""
    where = _in_graphs_but(f"?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.option}> ?o", skip)
    return _options(store, f"SELECT DISTINCT ?c ?o WHERE {{ {where} }}")


def import_edges(store: Reads, clusters: Iterable[Text], skip: Iterable[str]) -> set[Triple]:
    """The summary edges (``ckg:choseOption``, ``ckg:matchesConcept``) that the stored graphs other
    than ``skip`` give ``clusters``: the rules of :func:`_derive`, read rather than written."""
    skip = list(skip)
    out: set[Triple] = set()
    for prop, summary_prop in ((CKG.option, _CHOSE_OPTION), (CKG.matches, _MATCHES_CONCEPT)):
        where = _in_graphs_but(f"?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{prop}> ?o", skip)
        for chunk in _chunks(sorted(set(clusters))):
            rows = store.select_texts(f"SELECT DISTINCT ?c ?o WHERE {{ VALUES ?c {{ {_values(chunk)} }} {where} }}")
            out |= {(c, summary_prop, o) for c, o in rows}  # type: ignore[misc]
    return out


def _cluster_edges_stored(store: Reads, summary: str, clusters: Iterable[Text]) -> set[Triple]:
    """What the summary graph says of ``clusters`` (their edges and counts)."""
    out: set[Triple] = set()
    for chunk in _chunks(sorted(set(clusters))):
        out |= _stored(store, summary, f"VALUES ?s {{ {_values(chunk)} }} ?s ?p ?o")
    return out


def other_options(store: Reads) -> frozenset[Text]:
    """The "Other" options, as the store declares them (the queries' definition)."""
    rows = store.select_texts(f"SELECT DISTINCT ?o WHERE {{ GRAPH ?g {{ ?o a <{CKG.OtherOption}> }} }}")
    return frozenset(o for (o,) in rows if _is_iri(o))  # type: ignore[misc]


def _clusters_by_option(options: Mapping[Text, set[Text]], other: frozenset[Text]) -> dict[Text, set[Text]]:
    by_option: dict[Text, set[Text]] = defaultdict(set)
    for cluster, chosen in options.items():
        for option in chosen - other:
            by_option[option].add(cluster)
    return by_option


def pair_counts(options: Mapping[Text, set[Text]], other: frozenset[Text]) -> dict[tuple[Text, Text], int]:
    """For every two options (in their IRIs' order, ``other`` left out), how many clusters chose both."""
    by_option = _clusters_by_option(options, other)
    ordered = sorted(by_option, key=lambda text: text[1:-1])
    counts = {}
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            n = len(by_option[a] & by_option[b])
            if n:
                counts[(a, b)] = n
    return counts


def pair_iri(iris: DataIRIs, a: Text, b: Text) -> URIRef:
    return iris.graph("derived", "clusters", "pair", hashlib.sha256(f"{a[1:-1]} {b[1:-1]}".encode()).hexdigest()[:20])


def pair_triples(iris: DataIRIs, counts: Mapping[tuple[Text, Text], int]) -> set[Triple]:
    out: set[Triple] = set()
    for (a, b), n in counts.items():
        node = _iri(pair_iri(iris, a, b))
        out |= {(node, _TYPE, _OPTION_PAIR), (node, _PAIRED, a), (node, _PAIRED, b),
                (node, _CLUSTER_COUNT, _integer(n))}
    return out


def tally_triples(options: Mapping[Text, set[Text]], other: frozenset[Text]) -> set[Triple]:
    """``option ckg:chosenByClusters n`` for every option (``other`` left out) some cluster chose."""
    return {(option, _CHOSEN_BY, _integer(len(clusters)))
            for option, clusters in _clusters_by_option(options, other).items()}


def option_triples(iris: DataIRIs, options: Mapping[Text, set[Text]], other: frozenset[Text]) -> set[Triple]:
    """The summary's counts over all clusters: option pairs and option tallies."""
    return pair_triples(iris, pair_counts(options, other)) | tally_triples(options, other)


def count_triples(options: Mapping[Text, set[Text]], other: frozenset[Text],
                  clusters: Iterable[Text]) -> set[Triple]:
    """``ckg:optionCount`` of ``clusters`` (none for a cluster with no option but "Other")."""
    out: set[Triple] = set()
    for cluster in clusters:
        n = len(options.get(cluster, set()) - other)
        if n:
            out.add((cluster, _OPTION_COUNT, _integer(n)))
    return out


def _stored(store: Reads, summary: str, pattern: str) -> set[Triple]:
    return set(store.select_texts(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{summary}> {{ {pattern} }} }}"))  # type: ignore[arg-type]


class Maintenance(NamedTuple):
    """The summary's change for a write: ``update`` (its deletions, a SPARQL update) and
    ``additions`` (the triples it adds to the summary graph, as N-Triples rows)."""

    update: str
    additions: str


def maintenance(store: Reads, iris: DataIRIs, graphs: Mapping[str, Graph | None]) -> Maintenance:
    """What keeps the summary graph right when ``graphs`` are written (written with them, by
    :func:`keep_summary`: the update, and the additions as rows, which a bulk write loads beside
    the new graphs instead of inserting them in its transaction, graph.store.bulkwrite). It is
    computed from what the store holds under the write's lock.

    The changes are written as data (``INSERT DATA`` / ``DELETE DATA`` of the edges, counts and
    pairs that change, computed here): an operation with a WHERE clause inside the write's
    transaction reads through its pending writes, which costs Oxigraph seconds per wave in a big
    store (docs/performance.md). A new import adds its
    clusters' edges; replacing or dropping a graph recomputes the edges of the clusters it named
    from the other graphs the store holds and from the graph's new version.
    """
    summary = summary_graph(iris)
    existing = set(store.named_graphs())
    replaced = [name for name in graphs if name in existing]
    options = summary_options(store, summary)
    before = {cluster: set(chosen) for cluster, chosen in options.items()}
    other = other_options(store)
    new_edges: set[Triple] = set()
    for name, graph in graphs.items():
        if name not in existing and graph is not None:
            new_edges |= cluster_edges(graph)
    old: set[Triple] = set()
    new: set[Triple] = set(new_edges)
    affected: set[Text] = set()
    if replaced:
        affected = old_clusters(store, replaced)
        for name in replaced:
            graph = graphs[name]
            if graph is not None:
                affected |= clusters_in(graph)
        fresh = import_edges(store, affected, skip=list(graphs))
        for name in replaced:
            graph = graphs[name]
            if graph is not None:
                fresh |= cluster_edges(graph)
        old |= _cluster_edges_stored(store, summary, affected)
        new |= fresh
        for cluster in affected:
            options[cluster] = set()
        for cluster, prop, option in fresh:
            if prop == _CHOSE_OPTION:
                options[cluster].add(option)
    for cluster, prop, option in new_edges:
        if prop == _CHOSE_OPTION:
            options[cluster].add(option)
    counted = {c for c, _, _ in new_edges} | affected
    old |= _stored(store, summary, f"?s ?p ?o . ?s a <{CKG.OptionPair}>")
    old |= _stored(store, summary, f"?s ?p ?o FILTER (?p = <{CKG.chosenByClusters}>)")
    old |= {t for t in _stored(store, summary, f"?s ?p ?o FILTER (?p = <{CKG.optionCount}>)") if t[0] in counted}
    new |= option_triples(iris, options, other) | count_triples(options, other, counted)
    inserts = _not_implied(new - old, before, affected)
    return Maintenance(" ;\n".join(_data_ops("DELETE DATA", summary, old - new)),
                       "".join(sorted(f"{s} {p} {o} .\n" for s, p, o in inserts)))


def _not_implied(inserts: set[Triple], before: Options, affected: set[Text]) -> set[Triple]:
    """``inserts`` without the edges the summary holds already: a cluster that had chosen an option
    has its ``ckg:choseOption`` edge and a ``ckg:matchesConcept`` edge to everything the option
    falls under (the rules of :func:`cluster_edges`). A wave of clusters answering again repeats
    most of their edges, and inserting them again costs the write's update. Clusters
    whose edges are recomputed (``affected``) are left alone: their stored edges are in the diff."""
    matched: dict[Text, frozenset[Text]] = {}

    def implied(triple: Triple) -> bool:
        cluster, prop, value = triple
        chosen = before.get(cluster)
        if not chosen or cluster in affected:
            return False
        if prop == _CHOSE_OPTION:
            return value in chosen
        if prop == _MATCHES_CONCEPT:
            found = matched.get(cluster)
            if found is None:
                found = matched[cluster] = frozenset().union(*(_ancestor_texts(o) for o in chosen))
            return value in found
        return False

    return {t for t in inserts if not implied(t)}


def keep_summary(write: Write, iris: DataIRIs) -> None:
    """The summary kept right by ``write``: its maintenance for the graphs the write puts, computed
    and added at the commit (a step after those registered before, under the store's write lock,
    so no other writer gets in between)."""
    write.before_commit(lambda w: _maintain(w, iris))


def _maintain(write: Write, iris: DataIRIs) -> None:
    change = maintenance(write, iris, write.graphs)
    summary = str(summary_graph(iris))
    write.update(change.update, touches=[summary])
    write.add_rows(summary, change.additions)


def write_with_summary(store: Store, iris: DataIRIs, graphs: Mapping[str, Graph | None]) -> None:
    """``graphs`` written (``None`` drops one) in one write that keeps the summary right."""
    with store.writing() as write:
        for name, graph in graphs.items():
            write.put(name, graph)
        keep_summary(write, iris)


def rebuild_summary(write: Write, iris: DataIRIs) -> None:
    """The summary graph rebuilt whole by ``write``, from what the store holds at the commit."""
    summary = str(summary_graph(iris))
    write.before_commit(lambda w: w.update(rebuild_update(w, iris), touches=[summary]))
