"""The organisations of a dataset, read through a mapping: from a SPARQL endpoint, an RDF file, a
CSV file, or our own store."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from graph.linking.mapping import Mapping
from graph.mapping.rdf_file import RDFFormatError, format_for, parse_rdf
from graph.messages import one_line
from graph.namespaces import is_absolute_iri
from graph.results import SelectResult
from graph.store import Store


class SourceError(ValueError):
    """The other dataset cannot be read; the message says where and why."""


@dataclass
class Record:
    iri: str
    names: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # as the dataset writes them
    regions: list[str] = field(default_factory=list)


def organisations_query(mapping: Mapping) -> str:
    """SELECT ?r ?name ?country ?region, built from the mapping's (validated) IRIs."""
    classes = " ".join(f"<{c}>" for c in mapping.classes)

    def alternatives(paths: tuple[str, ...]) -> str:
        return "|".join(f"({p})" for p in paths)

    parts = [f"SELECT ?r ?name ?country ?region WHERE {{\n  VALUES ?class {{ {classes} }}\n  ?r a ?class .",
             f"  ?r {alternatives(mapping.names)} ?name ."]
    if mapping.countries:
        parts.append(f"  OPTIONAL {{ ?r {alternatives(mapping.countries)} ?country }}")
    if mapping.regions:
        parts.append(f"  OPTIONAL {{ ?r {alternatives(mapping.regions)} ?region }}")
    parts.append("  FILTER(isIRI(?r))\n}")
    return "\n".join(parts)


def _collect(rows: list[dict[str, str]]) -> list[Record]:
    records: dict[str, Record] = {}
    for row in rows:
        record = records.setdefault(row["r"], Record(row["r"]))
        for key, values in (("name", record.names), ("country", record.countries), ("region", record.regions)):
            value = (row.get(key) or "").strip()
            if value and value not in values:
                values.append(value)
    return sorted(records.values(), key=lambda r: r.iri)


def from_endpoint(url: str, mapping: Mapping, *, auth: str | None = None, timeout_s: int = 60) -> list[Record]:
    wrapper = SPARQLWrapper(url, agent="clusterkg-link")
    wrapper.setMethod(POST)
    wrapper.setTimeout(timeout_s)
    wrapper.setReturnFormat(JSON)
    wrapper.setQuery(organisations_query(mapping))
    wrapper.queryType = "SELECT"
    if auth:
        user, _, password = auth.partition(":")
        wrapper.setCredentials(user, password)
    try:
        body = json.loads(wrapper.query().response.read())
    except (SPARQLWrapperException, urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
        raise SourceError(f"cannot query the SPARQL endpoint {url}: {one_line(exc)}") from None
    rows = [{k: v["value"] for k, v in b.items()} for b in body.get("results", {}).get("bindings", [])]
    return _collect(rows)


def from_rdf_file(path: Path, mapping: Mapping, fmt: str | None = None) -> list[Record]:
    try:
        base = f"urn:x-clusterkg-link-source:{urllib.parse.quote(path.name)}/"  # never the file's path
        graph = parse_rdf(path.read_bytes(), format_for(path.name, fmt), base=base)
    except (RDFFormatError, OSError) as exc:
        raise SourceError(f"{path.name}: {exc}") from None
    store = ox.Store()  # in memory; the query below names no SERVICE and nothing is fetched
    store.load(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    rows = []
    for solution in store.query(organisations_query(mapping)):
        rows.append({v: solution[v].value for v in ("r", "name", "country", "region") if solution[v] is not None})
    return _collect(rows)


def _column(header: list[str], wanted: tuple[str, ...]) -> list[str]:
    lowered = {h.strip().lower(): h for h in header}
    return [lowered[w] for w in wanted if w in lowered]


def from_csv_file(path: Path, mapping: Mapping) -> list[Record]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path.name} is not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    ids, names = _column(header, mapping.id_columns), _column(header, mapping.name_columns)
    countries, regions = _column(header, mapping.country_columns), _column(header, mapping.region_columns)
    if not ids or not names:
        raise SourceError(f"{path.name}: needs an id column ({', '.join(mapping.id_columns)}) holding each "
                          f"organisation's IRI and a name column ({', '.join(mapping.name_columns)})")
    rows = []
    for line, row in enumerate(reader, start=2):
        iri = (row.get(ids[0]) or "").strip()
        if not is_absolute_iri(iri):
            raise SourceError(f"{path.name} row {line}, column {ids[0]!r}: {iri!r} is not an absolute IRI")
        for name_col in names:
            for name in (row.get(name_col) or "").split("|"):
                rows.append({"r": iri, "name": name,
                             "country": row.get(countries[0]) if countries else None,
                             "region": row.get(regions[0]) if regions else None})
    return _collect(rows)


def read_source(source: str, mapping: Mapping, *, fmt: str | None = None, auth: str | None = None) -> list[Record]:
    """The organisations of SOURCE: an http(s) SPARQL endpoint, or a local RDF or CSV file."""
    if source.startswith(("http://", "https://")):
        return from_endpoint(source, mapping, auth=auth)
    path = Path(source)
    if not path.is_file():
        raise SourceError(f"{source}: no such file (give a SPARQL endpoint URL or an RDF/CSV file)")
    if (fmt or path.suffix.lstrip(".")).lower() == "csv":
        return from_csv_file(path, mapping)
    return from_rdf_file(path, mapping, fmt)


def our_clusters(store: Store) -> list[Record]:
    result = store.query(
        "PREFIX ckg: <https://w3id.org/clusterkg/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?r ?name ?country ?region WHERE { ?r a ckg:Cluster . "
        "?r skos:prefLabel|skos:altLabel|<http://www.w3.org/2000/01/rdf-schema#label> ?name . "
        "OPTIONAL { ?r ckg:country ?country } OPTIONAL { ?r ckg:region ?region } }")
    assert isinstance(result, SelectResult)
    return _collect([{k: str(v) for k, v in row.items()} for row in result.rows])
