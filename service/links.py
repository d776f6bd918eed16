"""Where a resource's page lives on this service: IRIs of our namespaces map to local paths."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from graph.namespaces import CKG, VOCAB
from service.state import state

ONTOLOGY_IRI = "https://w3id.org/clusterkg/ontology"


def href(iri: object) -> str:
    """The local URL of a resource page for an IRI (data, vocabulary, ontology, or any other)."""
    text = str(iri)
    base = state().settings.base_iri
    if text.startswith(base):
        return "/data/" + quote(text[len(base):], safe="/-._~")
    if text.startswith(str(VOCAB)):
        return "/vocab/" + quote(text[len(str(VOCAB)):], safe="/-._~")
    if text.startswith(str(CKG)):
        return "/ontology#" + quote(text[len(str(CKG)):], safe="-._~")
    if text == ONTOLOGY_IRI:
        return "/ontology"
    return "/resource?" + urlencode({"iri": text})


def iri_for_path(prefix: str, path: str) -> str:
    """The IRI a local ``/data/...`` or ``/vocab/...`` path stands for."""
    if prefix == "data":
        return state().settings.base_iri + path
    return str(VOCAB) + path


def is_iri(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "urn:"))
