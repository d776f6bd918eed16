"""Accepted links as RDF: owl:sameAs, plus for each link its score and reason, and the record
linkage run (PROV) that made them, in one named graph per source, replaced on each run."""

from __future__ import annotations

import csv
import hashlib
import io
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, XSD

from graph import __version__
from graph.linking.matcher import Candidate
from graph.namespaces import CKG, PROV, RDF, RDFS, DataIRIs, is_absolute_iri, slugify


class ReviewError(ValueError):
    """A reviewed links file that cannot be used; names the row."""


def source_slug(source: str) -> str:
    if source.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(source)
        return slugify(f"{parts.hostname or ''}-{parts.port or ''}-{parts.path}")[:60] or "endpoint"
    return slugify(Path(source).stem)[:60] or "file"


def links_graph_iri(iris: DataIRIs, source: str) -> URIRef:
    return iris.graph("links", source_slug(source))


def build(iris: DataIRIs, source: str, accepted: list[Candidate], method: str) -> Graph:
    slug = source_slug(source)
    g = Graph()
    activity = URIRef(f"{iris.base}linkage/{slug}")
    g.add((activity, RDF.type, CKG.Linkage))
    g.add((activity, RDFS.label, Literal(f"Record linkage with {source}", lang="en")))
    g.add((activity, CKG.method, Literal(method)))
    g.add((activity, PROV.endedAtTime, Literal(datetime.now(UTC).replace(microsecond=0).isoformat(),
                                               datatype=XSD.dateTime)))
    g.add((activity, CKG.toolVersion, Literal(f"clusterkg {__version__}")))
    if source.startswith(("http://", "https://")):
        g.add((activity, PROV.used, URIRef(source)))
    else:
        data = Path(source).read_bytes()
        file_node = iris.source_file(hashlib.sha256(data).hexdigest())
        g.add((file_node, RDF.type, CKG.SourceFile))
        g.add((file_node, CKG.fileName, Literal(Path(source).name)))
        g.add((file_node, CKG.sha256, Literal(hashlib.sha256(data).hexdigest())))
        g.add((activity, PROV.used, file_node))
    for c in accepted:
        local, remote = URIRef(c.local), URIRef(c.remote)
        digest = hashlib.sha256(f"{c.local} {c.remote}".encode()).hexdigest()[:16]
        link = URIRef(f"{iris.base}link/{slug}/{digest}")
        g.add((local, OWL.sameAs, remote))
        g.add((link, RDF.type, CKG.Link))
        g.add((link, CKG.linkSubject, local))
        g.add((link, CKG.linkTarget, remote))
        g.add((link, CKG.score, Literal(f"{c.score:.3f}", datatype=XSD.decimal)))
        g.add((link, CKG.reason, Literal(c.reason)))
        g.add((link, PROV.wasGeneratedBy, activity))
    return g


def read_reviewed(path: Path, found: list[Candidate]) -> list[Candidate]:
    """The pairs of a reviewed file (CSV with local and remote columns, e.g. an edited
    ``--dry-run`` output); each keeps the score and reason it was proposed with, if it was."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewError(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"local", "remote"} <= set(reader.fieldnames):
        raise ReviewError(f"{path.name}: needs the columns local and remote (as `--dry-run --format csv` prints)")
    proposed = {(c.local, c.remote): c for c in found}
    out = []
    for line, row in enumerate(reader, start=2):
        local, remote = (row.get("local") or "").strip(), (row.get("remote") or "").strip()
        for column, value in (("local", local), ("remote", remote)):
            if not is_absolute_iri(value):
                raise ReviewError(f"{path.name} row {line}, column {column!r}: {value!r} is not an absolute IRI")
        known = proposed.get((local, remote))
        reason = (known.reason + "; " if known else "") + f"accepted by review ({path.name})"
        out.append(Candidate(local, remote, known.score if known else 1.0, reason))
    return out
