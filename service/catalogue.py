"""The dataset described for others: VoID and DCAT-AP 3 (one description, at /void and /dcat; the
dataset's IRI, ``<base>dataset``, dereferences to it), and the whole graph as an N-Quads dump.

The description is a data file (templates/catalogue.ttl) filled with the data's base IRI and the
service's root URL; what the store holds is added to it: each named graph as a VoID subset (minted
under the dataset's IRI), the numbers of triples and of resources, the source documents. The dump
is written by a job (graph.jobs: its own process and memory limit) once per write generation of the
store, into a directory beside the store, and served from there.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, abort, render_template, request, send_file
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF

from graph import exporting
from graph.jobs import JobLimits, job_settings, run_job
from graph.queries import internal_query
from graph.results import SelectResult
from service import viewmodels as vm
from service.linkeddata import rdf_response, representation_asked
from service.negotiation import TURTLE
from service.state import state

blueprint = Blueprint("catalogue", __name__)
VOID = "http://rdfs.org/ns/void#"
SD_NAME = URIRef("http://www.w3.org/ns/sparql-service-description#name")
_DUMPING = threading.Lock()


def root_url() -> str:
    """The service's root URL as the request names it, checked to be an IRI (it is written into Turtle)."""
    try:
        return ox.NamedNode(request.url_root).value
    except ValueError:
        abort(400, description="the request's URL (its Host header) is not a valid IRI")


def description() -> Graph:
    """The catalogue, the dataset, its distributions and the data service, with what the store holds."""
    base = state().settings.base_iri
    graph = Graph().parse(data=render_template("catalogue.ttl", base=base, root=root_url()), format="turtle")
    dataset = URIRef(base + "dataset")
    total = 0
    for row in vm.rows("named-graphs"):
        name = row["graph"]
        subset = URIRef(f"{base}dataset/graph/{hashlib.sha256(name.encode()).hexdigest()[:16]}")
        graph.add((dataset, URIRef(VOID + "subset"), subset))
        graph.add((subset, RDF.type, URIRef(VOID + "Dataset")))
        graph.add((subset, SD_NAME, URIRef(name)))
        graph.add((subset, URIRef(VOID + "triples"), Literal(int(row["triples"]))))
        total += int(row["triples"])
    graph.add((dataset, URIRef(VOID + "triples"), Literal(total)))
    result = internal_query("void-entities").run(state().store, {"base": [base]})
    assert isinstance(result, SelectResult)
    graph.add((dataset, URIRef(VOID + "entities"), Literal(int(result.rows[0]["entities"]))))  # type: ignore[call-overload]
    for row in vm.rows("dataset-summary"):
        if row.get("document"):
            graph.add((dataset, PROV.wasDerivedFrom, URIRef(row["document"])))  # DCAT-AP keeps dct:source for datasets
    return graph


def _described():
    representation = representation_asked()
    return rdf_response(description(), representation if representation not in ("html", "json") else TURTLE)


@blueprint.get("/void")
@blueprint.get("/.well-known/void")
def void():
    return _described()


@blueprint.get("/dcat")
def dcat():
    return _described()


@blueprint.get("/data/dataset")
@blueprint.get("/data/catalogue")
@blueprint.get("/data/dataset/<path:part>")
@blueprint.get("/data/service/sparql")
@blueprint.get("/data/agent/publisher")
def described_resource(part: str | None = None):
    """The description's own IRIs dereference to it."""
    return _described()


@blueprint.get("/dumps/clusterkg.nq")
def dump():
    store = state().store
    generation = store.generation()
    location = store.location()
    if generation is None or location.get("store_path") is None:
        abort(404, description="no dump of a remote engine's store here: the engine has its own export; "
                               "or use /sparql")
    folder = Path(str(location["store_path"])).with_name(Path(str(location["store_path"])).name + "-dumps")
    path = folder / f"clusterkg-{hashlib.sha256(generation.encode()).hexdigest()[:16]}.nq"
    with _DUMPING:
        if not path.exists():
            folder.mkdir(exist_ok=True)
            settings = state().settings
            limits = JobLimits(timeout=settings.write_timeout, memory_mb=settings.write_memory_mb or None)
            run_job(job_settings(settings, store), exporting.dump_job, str(path), limits=limits)
            for old in folder.glob("clusterkg-*.nq"):
                if old != path:
                    old.unlink(missing_ok=True)
    return send_file(path, mimetype="application/n-quads", download_name="clusterkg.nq", conditional=True)
