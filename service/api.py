"""The JSON API over the saved queries: ``/api/queries``, ``/api/queries/NAME``, ``/api/openapi.json``."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from graph import __version__
from graph.queries import SavedQuery
from service.negotiation import CSV, GRAPH_TYPES, RESULT_TYPES, SPARQL_JSON, render_result
from service.state import state

blueprint = Blueprint("api", __name__, url_prefix="/api")


def _query(name: str) -> SavedQuery:
    query = state().queries.get(name)
    if query is None:
        abort(404, description=f"no saved query {name!r}; GET /api/queries lists them")
    return query


@blueprint.get("/queries")
def list_queries():
    """Every saved query's metadata."""
    return jsonify([{**q.as_dict(), "url": f"/api/queries/{q.name}"} for q in state().queries.values()])


@blueprint.get("/queries/<name>")
def run_query(name: str):
    """Run one saved query; parameters come from the query string (repeat a key for a list)."""
    query = _query(name)
    values = {key: request.args.getlist(key) for key in request.args if key != "format"}
    result = query.run(state().store, values, max_rows=state().settings.max_rows)
    return render_result(result, request)


@blueprint.get("/queries/<name>.rq")
def query_text(name: str):
    return _query(name).text, 200, {"Content-Type": "application/sparql-query; charset=utf-8"}


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(state().queries))


def _schema(param) -> dict:
    base: dict = {"type": "integer" if param.type == "integer" else "string"}
    if param.type in ("iri", "endpoint"):  # an endpoint is one of the service's SERVICE allow-list
        base["format"] = "iri"
    if param.allowed:
        base["enum"] = list(param.allowed)
    if param.minimum is not None:
        base["minimum"] = param.minimum
    if param.maximum is not None:
        base["maximum"] = param.maximum
    if param.repeatable:
        schema = {"type": "array", "items": base, "minItems": param.min_count}
        if param.default:
            schema["default"] = list(param.default)
        return schema
    if param.default:
        base["default"] = int(param.default[0]) if param.type == "integer" else param.default[0]
    return base


def openapi_document(queries: dict[str, SavedQuery]) -> dict:
    """OpenAPI 3.0 description of the API, generated from the queries' decorators."""
    paths: dict = {
        "/api/queries": {"get": {
            "operationId": "listQueries", "summary": "The saved queries and their parameters",
            "responses": {"200": {"description": "Query metadata",
                                  "content": {"application/json": {"schema": {"type": "array"}}}}}}},
    }
    for query in queries.values():
        parameters = []
        for p in query.params:
            description = p.description
            if p.member_of_class or p.member_of_scheme:
                description += " Accepts an IRI, a prefixed name, a local name or a label."
            parameters.append({
                "name": p.name, "in": "query", "required": p.required and not p.default,
                "description": description.strip(), "schema": _schema(p),
                **({"style": "form", "explode": True} if p.repeatable else {}),
            })
        parameters.append({"name": "format", "in": "query", "required": False,
                           "description": "Override the Accept header (json, csv, tsv, xml; "
                                          "ttl, nt, jsonld for graphs).",
                           "schema": {"type": "string"}})
        types = GRAPH_TYPES if query.form in ("CONSTRUCT", "DESCRIBE") else RESULT_TYPES
        paths[f"/api/queries/{query.name}"] = {"get": {
            "operationId": query.name, "summary": query.summary, "description": query.description,
            "tags": list(query.tags), "parameters": parameters,
            "responses": {
                "200": {"description": "SPARQL 1.1 query results (JSON by default, CSV for Accept: text/csv)"
                        if query.form not in ("CONSTRUCT", "DESCRIBE") else "An RDF graph",
                        "content": {t: {} for t in types}},
                "400": {"description": "A parameter was refused; the message names it",
                        "content": {"application/json": {}}},
                "406": {"description": "No acceptable media type", "content": {"application/json": {}}},
            }}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "clusterkg saved queries", "version": __version__,
                 "description": "Saved SPARQL queries over the cluster-survey knowledge graph. "
                                f"Default result type: {SPARQL_JSON}; CSV with Accept: {CSV}."},
        "paths": paths,
    }
