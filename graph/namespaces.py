"""Namespaces of the ontology, the vocabularies and the data, and the IRIs minted in them."""

from __future__ import annotations

import re
import unicodedata

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SKOS, XSD


class CachedNamespace(Namespace):
    """A namespace that makes each of its terms once: rdflib's builds and validates a new URIRef at
    every ``CKG.option`` or ``VOCAB[...]``, which the mapping and the derivations do per triple."""

    def term(self, name: str) -> URIRef:
        terms: dict[str, URIRef] = self.__dict__.setdefault("_terms", {})
        found = terms.get(name)
        if found is None:
            found = terms[name] = super().term(name)
        return found

    def __getattr__(self, name: str) -> URIRef:
        found = super().__getattr__(name)
        self.__dict__[name] = found  # found as an attribute from now on, without __getattr__
        return found


CKG = CachedNamespace("https://w3id.org/clusterkg/ontology#")
VOCAB = CachedNamespace("https://w3id.org/clusterkg/vocab/")
QUESTION = CachedNamespace("https://w3id.org/clusterkg/vocab/question/")
THEME = CachedNamespace("https://w3id.org/clusterkg/vocab/theme/")
SH = CachedNamespace("http://www.w3.org/ns/shacl#")

PREFIXES: dict[str, str] = {
    "ckg": str(CKG),
    "ckgv": str(VOCAB),
    "q": str(QUESTION),
    "theme": str(THEME),
    "skos": str(SKOS),
    "org": str(ORG),
    "prov": str(PROV),
    "dcterms": str(DCTERMS),
    "foaf": str(FOAF),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "sh": str(SH),
}

__all__ = [
    "CKG",
    "DCTERMS",
    "FOAF",
    "ORG",
    "OWL",
    "PREFIXES",
    "PROV",
    "QUESTION",
    "RDF",
    "RDFS",
    "SH",
    "SKOS",
    "THEME",
    "VOCAB",
    "XSD",
    "DataIRIs",
    "slugify",
]


_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")


def is_absolute_iri(text: str) -> bool:
    """An absolute IRI with none of the characters that IRIs may not contain (spaces, <>"{}|\\^`)."""
    return bool(_ABSOLUTE_IRI.match(text))


def slugify(text: str) -> str:
    """A lowercase ASCII slug: accents dropped, runs of other characters become one hyphen."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class DataIRIs:
    """Mints the IRIs of data resources and named graphs under one configurable base IRI."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _iri(self, *parts: str) -> URIRef:
        return URIRef(self.base + "/".join(parts))

    def cluster(self, slug: str) -> URIRef:
        return self._iri("cluster", slug)

    def organisation(self, slug: str) -> URIRef:
        return self._iri("organisation", slug)

    def project(self, slug: str) -> URIRef:
        return self._iri("project", slug)

    def survey(self, slug: str) -> URIRef:
        return self._iri("survey", slug)

    def response(self, survey: str, slug: str) -> URIRef:
        return self._iri("response", survey, slug)

    def document(self, slug: str) -> URIRef:
        return self._iri("document", slug)

    def section(self, document: str, number: int) -> URIRef:
        return self._iri("document", document, "section", str(number))

    def statement(self, document: str, slug: str) -> URIRef:
        return self._iri("document", document, "statement", slug)

    def import_activity(self, import_id: str) -> URIRef:
        return self._iri("import", import_id)

    def source_file(self, sha256: str) -> URIRef:
        return self._iri("file", sha256)

    # named graphs -------------------------------------------------------------------------
    def graph(self, *parts: str) -> URIRef:
        return self._iri("graph", *parts)

    def import_graph(self, import_id: str) -> URIRef:
        return self.graph("import", import_id)

    def is_import_graph(self, iri: str) -> bool:
        return iri.startswith(self.base + "graph/import/")

    def import_id_of(self, graph_iri: str) -> str:
        return graph_iri[len(self.base + "graph/import/"):]
