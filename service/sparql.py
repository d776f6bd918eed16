"""``/sparql``: the SPARQL 1.1 Protocol, queries only.

GET with ``query=``, POST form-encoded with ``query=``, or POST with the query as the body
(``application/sparql-query``). Updates (``update=`` or ``application/sparql-update``, or an
update sent as a query) are refused before anything runs. Without a query the endpoint answers
with its SPARQL 1.1 Service Description. Read-only use is open to other origins (CORS).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from graph.namespaces import CKG, PREFIXES, VOCAB
from graph.sparql_text import query_form
from service.negotiation import (
    GRAPH_NAMES,
    GRAPH_TYPES,
    RESULT_TYPES,
    TURTLE,
    negotiate,
    prefers_html,
    render_result,
)
from service.protocol import endpoint_iri, read_operation, with_base
from service.state import state

blueprint = Blueprint("sparql", __name__)

@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint():
    if request.method == "OPTIONS":
        return Response(status=204)
    operation = read_operation("query")
    if operation is None or not operation.text.strip():
        if request.method == "GET" and _wants_html():
            return editor_page(operation.text if operation else "")
        return service_description()
    if request.method == "GET" and request.args.get("editor") and _wants_html():
        return editor_page(operation.text)
    limit = state().settings.max_query_length
    if len(operation.text) > limit:
        abort(413, description=f"the query is longer than {limit} characters, this service's limit")
    if query_form(operation.text) is None:
        abort(400, description="only SELECT, CONSTRUCT, ASK and DESCRIBE queries are accepted; "
                               "updates are refused (the endpoint is read-only)")
    result = state().store.query(with_base(operation.text, operation.base), max_rows=state().settings.max_rows,
                                 dataset=operation.dataset)
    return render_result(result, request)


def _wants_html() -> bool:
    """A browser (HTML before any answer format), not a SPARQL client."""
    return prefers_html([*RESULT_TYPES, *GRAPH_TYPES], "application/sparql-results+json")


def editor_page(query: str):
    """The query editor for browsers: examples are the saved queries with their defaults bound."""
    queries = state().queries
    examples = {}
    for name, q in queries.items():
        try:
            bound = q.bind(state().store, {})
            # the #+ decorators are metadata for the loader, not for someone editing the query
            lines = [line for line in bound.splitlines() if not line.startswith("#+")]
            examples[name] = "\n".join(lines).strip() + "\n"
        except ValueError:
            continue  # a query whose parameters have no defaults is not an example
    prefixes = "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items())
    base = state().settings.base_iri
    client = {"examples": examples, "prefixes": prefixes,
              "spaces": [[base, "/data/"], [str(VOCAB), "/vocab/"], [str(CKG), "/ontology#"]]}
    data = {"endpoint": request.base_url, "query": query or examples.get("clusters-sharing", ""),
            "examples": [{"name": n, "summary": queries[n].summary} for n in examples], "client": client}
    return render_template("sparql.html", data=data, nav="sparql")


def service_description() -> Response:
    """SPARQL 1.1 Service Description of this endpoint."""
    # IRIs of our own making (the request's URL is validated by werkzeug; the base by config)
    turtle = render_template("service-description.ttl", endpoint=endpoint_iri(),
                             graphs=state().settings.base_iri + "graph/", dataset=state().settings.base_iri + "dataset",
                             federated=bool(state().store.allowed_services))
    wanted = negotiate(GRAPH_TYPES, TURTLE, names=GRAPH_NAMES)
    if wanted == TURTLE:
        return Response(turtle, content_type="text/turtle; charset=utf-8")
    from rdflib import Graph

    from graph.results import GraphResult
    from service.negotiation import render_graph_result

    return render_graph_result(GraphResult(Graph().parse(data=turtle, format="turtle")), wanted)
