"""What an import may state: facts about the resources it mints, nothing about anyone else's.

An import is one named graph, but every graph is read through the union default graph: a triple
``<medicen> skos:prefLabel "…"`` in any import relabels Medicen on every page. So the gate refuses
an import that

- mints a resource in a namespace clusterkg keeps for itself (the ontology, the vocabularies,
  the store's graph names, ``urn:clusterkg:``);
- puts a resource into a vocabulary's hierarchy (``skos:inScheme`` a scheme of ours,
  ``skos:broader`` one of our concepts, …): vocabularies change through their files. (Alignments
  with SKOS mapping properties are statements of their own, not membership.)
- says anything new about a resource that another graph describes (another import's cluster or
  survey, a vocabulary's concept, a reference place): it may refer to it, and restate what is
  said of it already, but not add to it; except to link it: SKOS mapping properties and
  ``owl:sameAs`` (an alignment file, graph.linking) may be stated of anyone's resource.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from graph.derived import SUMMARY_GRAPH_PATH
from graph.namespaces import CKG, OWL, SKOS, VOCAB, DataIRIs
from graph.results import SelectResult
from graph.store.sizes import SIZES_GRAPH
from graph.store.write import Reads
from graph.validate import Location, Origins, Violation

RULE = "an import describes only what it mints"
_HIERARCHY = {SKOS.inScheme, SKOS.topConceptOf, SKOS.hasTopConcept, SKOS.broader, SKOS.narrower,
              SKOS.broaderTransitive, SKOS.narrowerTransitive, SKOS.member}
_LINKS = {SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch, OWL.sameAs}
_CHUNK = 5000  # subjects looked up in one query


@dataclass(frozen=True)
class Owner:
    """Who may write what: the import's own graph, and the namespaces it may not mint in: the
    ontology's, the vocabularies', the store's graph names and, unless the import is one of
    clusterkg's own mappings (``mints_data``: the survey CSV, D2.3), the data namespace under the
    base, which those mappings mint (a file mints in a namespace of its own). ``parts_of``: this
    import's new responses, whose parts (``<response>/answer/…``) only it can have minted, so they
    are not looked up. A ``maintainer``'s write (the Graph Store Protocol, SPARQL Update) may say
    new things of any data resource, in any graph but the protected ones; the ontology's and the
    vocabularies' namespaces and hierarchies stay closed to it too."""

    iris: DataIRIs
    own_graph: str
    mints_data: bool = False
    parts_of: frozenset[URIRef] = frozenset()
    maintainer: bool = False  # a maintainer's graph write: may say new things of any data resource

    def __post_init__(self) -> None:
        kept = [(str(CKG), "the ontology"), (str(VOCAB), "the vocabularies"),
                (str(self.iris.graph("")), "the store's graph names"), ("urn:clusterkg:", "clusterkg")]
        if not self.mints_data and not self.maintainer:
            kept.append((self.iris.base, "clusterkg's data (its mappings mint there)"))
        object.__setattr__(self, "_kept", tuple(kept))
        object.__setattr__(self, "_prefixes", tuple(prefix for prefix, _ in kept))

    def reserved(self, iri: str) -> str | None:
        """What namespace kept from this import ``iri`` is in, or None."""
        iri = str(iri)  # rdflib's URIRef.startswith takes no tuple
        if not iri.startswith(self._prefixes):  # type: ignore[attr-defined]
            return None
        return next(what for prefix, what in self._kept if iri.startswith(prefix))  # type: ignore[attr-defined]

    def is_part(self, iri: str) -> bool:
        whole, found, _ = iri.partition("/answer/")
        return bool(found) and URIRef(whole) in self.parts_of


def violations(store: Reads, owner: Owner, graph: Graph, origins: Origins,
               skip: Collection[str] = ()) -> list[Violation]:
    """The triples of ``graph`` (the import's, to become ``owner.own_graph``) that break :data:`RULE`;
    graphs in ``skip`` count as this write's own (an import of several files)."""
    out: list[Violation] = []
    subjects = [s for s in graph.subjects(unique=True) if isinstance(s, URIRef) and not owner.is_part(s)]
    own = {owner.own_graph, *skip}
    # the cluster summary describes every cluster, derived from the imports: it owns nothing
    derived = {str(owner.iris.graph(*SUMMARY_GRAPH_PATH)), SIZES_GRAPH}
    elsewhere = {} if owner.maintainer else _described_in(store, subjects, exclude=own | derived)
    kept = {s: what for s in subjects if s not in elsewhere and (what := owner.reserved(s)) is not None}
    mine = _described_in(store, list(kept), only=own) if kept else {}
    for subject, what in sorted(kept.items()):
        if subject not in mine:
            out.append(_violation(subject, None, None, origins,
                                  f"{subject} is in a namespace kept for {what}; an import mints its own IRIs"))
    vocab = str(VOCAB)
    for p in _HIERARCHY:
        for s, _, o in graph.triples((None, p, None)):
            if isinstance(o, URIRef) and str(o).startswith(vocab):
                out.append(_violation(s, p, o, origins, f"{s} is put into the vocabulary <{o}> ({_short(p)}); "
                                      "vocabularies change through their files (ontology/vocab/)"))
    if elsewhere:
        said = {s: [(p, o) for p, o in graph.predicate_objects(s) if p not in _LINKS] for s in elsewhere}
        held = _held(store, [(s, p, o) for s, pairs in said.items() for p, o in pairs])
        for s in sorted(elsewhere):
            for p, o in sorted(said[s]):
                if (s, p, o) not in held:
                    out.append(_violation(s, p, o, origins,
                                          f"{s} is described by {elsewhere[s]}; this import may refer to it, and "
                                          "restate what is said of it, but not add to it"))
    return out


def graph_name_violations(owner: Owner, names: Collection[str]) -> list[Violation]:
    """A file's named graphs are merged into its import's own graph; one that names a graph of
    the store's (another import, the ontology, …) is refused, not merged."""
    return [Violation(focus=name, path=None, value=None, rule=RULE, severity="Violation", location=Location(),
                      message=f"the file names the graph <{name}>, which is {what}'s; a file's graphs are merged "
                              "into its import's own graph, so name no graph of this store")
            for name in sorted(names) if (what := owner.reserved(name)) is not None]


def _described_in(store: Reads, subjects: list[URIRef], *, exclude: Collection[str] = (),
                 only: Collection[str] = ()) -> dict[URIRef, str]:
    """Subjects that a graph (not in ``exclude``; in ``only``, if given) describes -> one such graph."""
    found: dict[URIRef, str] = {}
    graphs = ", ".join(f"<{g}>" for g in sorted(only or exclude))
    where = f"FILTER(?g IN ({graphs}))" if only else (f"FILTER(?g NOT IN ({graphs}))" if exclude else "")
    for start in range(0, len(subjects), _CHUNK):
        values = " ".join(f"<{s}>" for s in subjects[start:start + _CHUNK])
        result = store.query("SELECT ?s (SAMPLE(?g) AS ?in) WHERE { VALUES ?s { " + values + " } "
                             "GRAPH ?g { ?s ?p ?o } " + where + " } GROUP BY ?s")
        assert isinstance(result, SelectResult)
        for row in result.rows:
            found[row["s"]] = f"<{row['in']}>"  # type: ignore[index]
    return found


def _held(store: Reads, triples: list[tuple[Node, Node, Node]]) -> set[tuple[Node, Node, Node]]:
    """Which of ``triples`` the store holds (in any graph); one with a blank node counts as new."""
    triples = [t for t in triples if not any(isinstance(term, BNode) for term in t)]
    held: set[tuple[Node, Node, Node]] = set()
    for start in range(0, len(triples), _CHUNK):
        chunk = triples[start:start + _CHUNK]
        rows = " ".join(f"({s.n3()} {p.n3()} {o.n3()})" for s, p, o in chunk)
        result = store.query("SELECT ?s ?p ?o WHERE { VALUES (?s ?p ?o) { " + rows + " } ?s ?p ?o }")
        assert isinstance(result, SelectResult)
        held |= {(r["s"], r["p"], r["o"]) for r in result.rows}
    return held


def _violation(s: Node, p: Node | None, o: Node | None, origins: Origins, message: str) -> Violation:
    location = origins.get((s, p), origins.get((s, None), Location()))
    return Violation(focus=str(s), path=None if p is None else str(p), value=None if o is None else str(o),
                     message=message, rule=RULE, severity="Violation", location=location)


def _short(iri: Node) -> str:
    return "skos:" + str(iri).rsplit("#", 1)[-1] if str(iri).startswith(str(SKOS)) else str(iri)
