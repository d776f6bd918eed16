"""The ontology and the vocabularies as loaded from ``ontology/``, and look-ups in them."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef

from graph.config import ONTOLOGY_FILE, REFERENCE_DIR, VOCAB_DIR
from graph.namespaces import CKG, QUESTION, RDF, SKOS, DataIRIs


def _parse(path: Path) -> Graph:
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


@dataclass(frozen=True)
class SystemGraph:
    """A named graph whose content comes from a file of ``ontology/``."""

    name: str  # e.g. "ontology", "vocab/themes"
    path: Path

    def graph(self) -> Graph:
        return _parse(self.path)

    def digest(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def system_graphs() -> list[SystemGraph]:
    """The ontology, each vocabulary file and each reference file, each its own named graph."""
    out = [SystemGraph("ontology", ONTOLOGY_FILE)]
    out += [SystemGraph(f"vocab/{p.stem}", p) for p in sorted(VOCAB_DIR.glob("*.ttl"))]
    out += [SystemGraph(f"reference/{p.stem}", p) for p in sorted(REFERENCE_DIR.glob("*.ttl"))]
    return out


def system_graph_iri(iris: DataIRIs, graph: SystemGraph) -> URIRef:
    return iris.graph(*graph.name.split("/"))


@cache
def terminology() -> Graph:
    """Ontology plus every vocabulary, merged: what validation and mapping look things up in."""
    merged = Graph()
    for sg in system_graphs():
        merged += sg.graph()
    return merged


def normalise_label(text: str) -> str:
    """Case-, accent-, quote- and whitespace-insensitive form of a label, for matching user input."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = text.replace("\u2019", "'").lower()
    return " ".join(text.split())


def question_iri(number: int) -> URIRef:
    return QUESTION[str(number)]


def option_scheme(question: URIRef) -> URIRef | None:
    value = terminology().value(question, CKG.optionScheme)
    return value if isinstance(value, URIRef) else None


def scheme_concepts(scheme: URIRef) -> list[URIRef]:
    return list(_scheme_concepts(scheme))


@cache
def _scheme_concepts(scheme: URIRef) -> tuple[URIRef, ...]:
    return tuple(sorted(c for c in terminology().subjects(SKOS.inScheme, scheme) if isinstance(c, URIRef)))


def pref_label(concept: URIRef) -> str:
    label = terminology().value(concept, SKOS.prefLabel)
    return str(label) if label is not None else str(concept)


def is_other_option(concept: URIRef) -> bool:
    return (concept, RDF.type, CKG.OtherOption) in terminology()


def resolve_option(scheme: URIRef, text: str) -> URIRef | None:
    """The concept of ``scheme`` that ``text`` names: its IRI, its slug, or a label of it."""
    return _resolve_option(scheme, text.strip())


@lru_cache(maxsize=8192)  # the terminology is fixed for the process (terminology() is cached too)
def _resolve_option(scheme: URIRef, text: str) -> URIRef | None:
    concepts = _scheme_concepts(scheme)
    if text.startswith(("http://", "https://")):
        return URIRef(text) if URIRef(text) in concepts else None
    wanted = normalise_label(text)
    for concept in concepts:
        if concept.rsplit("/", 1)[-1] == text:
            return concept
        labels = list(terminology().objects(concept, SKOS.prefLabel))
        labels += list(terminology().objects(concept, SKOS.altLabel))
        if any(isinstance(lab, Literal) and normalise_label(str(lab)) == wanted for lab in labels):
            return concept
    return None
