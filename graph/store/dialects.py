"""What differs between SPARQL engines, in one place.

Each engine clusterkg runs on is described by a :class:`Dialect`; the remote store consults it and
nothing else knows an engine's quirks. docs/deploy.md explains each quirk.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    # Graph names the engine keeps for itself, hidden from named_graphs().
    system_graph_prefixes: tuple[str, ...] = ()
    # The engine refuses blank nodes in INSERT DATA: skolemise them first.
    skolemise_blank_nodes: bool = False
    # DROP GRAPH of a graph that does not exist fails: always use DROP SILENT.
    drop_needs_silent: bool = True
    # Largest INSERT DATA body sent in one update; bigger graphs are staged (GSP) then moved.
    max_insert_bytes: int = 8_000_000
    # How to make the default graph the union of all graphs, if the engine needs to be told.
    union_hint: str = ""
    # Largest body of one Graph Store upload: bigger staging graphs are sent in several POSTs.
    max_upload_bytes: int = 64_000_000
    # Accept header for CONSTRUCT/DESCRIBE results.
    graph_accept: str = "application/n-triples, text/turtle;q=0.9"
    # ASK answered as a one-row SELECT with this variable (1 or 0) instead of a boolean.
    ask_variable: str | None = None


GENERIC = Dialect("generic", union_hint="configure the engine so that its default graph is the union of its "
                                        "named graphs (Fuseki: unionDefaultGraph; GraphDB: default)")
OXIGRAPH = Dialect("oxigraph", union_hint="start it with `oxigraph serve --union-default-graph`")
VIRTUOSO = Dialect(
    "virtuoso",
    system_graph_prefixes=("http://www.openlinksw.com/", "http://www.w3.org/2002/07/owl",
                           "http://www.w3.org/ns/ldp", "urn:activitystreams-owl:map", "urn:core:services:sparql",
                           "http://localhost:8890/", "http://localuriqaserver/",
                           "http://www.w3.org/ns/sparql-service-description"),
    skolemise_blank_nodes=True,
    graph_accept="text/turtle",
    ask_variable="__ASK_RETVAL",
    max_insert_bytes=0,  # its SQL compiler chokes on large INSERT DATA: always stage, then MOVE
    max_upload_bytes=1_000_000,  # it resets the connection on large digest-authenticated bodies
)

DIALECTS = {d.name: d for d in (GENERIC, OXIGRAPH, VIRTUOSO)}


def detect(server_header: str, body_hint: str = "") -> Dialect:
    """The dialect of an engine from its HTTP ``Server`` header (or a hint in a response body)."""
    text = f"{server_header} {body_hint}".lower()
    if "virtuoso" in text:
        return VIRTUOSO
    if "oxigraph" in text:
        return OXIGRAPH
    return GENERIC
