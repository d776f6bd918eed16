"""Derived edges written with each import: ``answer ckg:matches concept``.

An answer matches its option, every concept broader than the option (transitively, through the
vocabularies' ``skos:broader``), and, for an "Other" answer, its recorded theme and what is broader
than that. Queries then ask "answers under this concept" with one triple pattern instead of a
``skos:broader*`` path: faster on every engine, and the only form Virtuoso evaluates when the
concepts come from a VALUES list. The edges are a function of the import and the vocabularies;
`clusterkg init` re-imports the bundled data when a vocabulary changes.
"""

from __future__ import annotations

from functools import cache

from rdflib import Graph, URIRef

from graph.namespaces import CKG, SKOS
from graph.vocab import terminology


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
    added = 0
    for prop in (CKG.option, CKG.otherTheme):
        for answer, concept in list(graph.subject_objects(prop)):
            if not isinstance(concept, URIRef):
                continue
            for match in _ancestors(concept):
                if (answer, CKG.matches, match) not in graph:
                    graph.add((answer, CKG.matches, match))
                    added += 1
    return added
