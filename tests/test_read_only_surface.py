"""Every route of the service, every method, with write payloads and no maintainer token:
nothing is written and nothing is fetched (LOAD, SERVICE), whatever the route."""

from __future__ import annotations

import re

from . import engines
from .conftest import quads_of

# what a path variable is filled with: real names, so that the route does its real work
SAMPLES = {"name": "clusters-sharing", "import_id": "bioman4r2-d2.3", "scheme": "green-challenges",
           "concept": "other", "path": "cluster/biocat", "filename": "style.css", "number": "7"}


def _paths(app) -> list[tuple[str, set[str]]]:
    out = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLES.get(m.group(1), "x"), rule.rule)
        out.append((path, set(rule.methods or ()) - {"HEAD", "OPTIONS"}))
    return out


def _attempts(update: str) -> list[dict]:
    """The ways a write could be sent: as parameters, a form, a body of each SPARQL type, RDF."""
    return [
        {"query_string": {"update": update, "query": update, "graph": "urn:g"}},
        {"data": {"update": update, "query": update}},
        {"data": update, "content_type": "application/sparql-update"},
        {"data": update, "content_type": "application/sparql-query"},
        {"data": "<urn:a> <urn:b> <urn:c> .", "content_type": "text/turtle", "query_string": {"graph": "urn:g"}},
    ]


def test_no_route_writes_or_fetches_without_the_token(client, app, shared_store) -> None:
    before = quads_of(shared_store)
    seen = []
    with engines.TrapServer() as trap:
        url = trap.url
        updates = [f"LOAD <{url}>", "DROP ALL", "CLEAR ALL",
                   "INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }",
                   f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                   f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}"]
        for path, methods in _paths(app):
            for method in sorted(methods | {"POST", "PUT", "DELETE", "PATCH"}):
                for kwargs in (k for update in updates for k in _attempts(update)):
                    response = client.open(path, method=method, **kwargs)
                    seen.append((method, path, response.status_code))
                    if method not in ("GET", "POST") or path == "/update" or path.startswith("/graph-store"):
                        assert response.status_code >= 400, (method, path, kwargs)
                    assert response.status_code != 500, (method, path, kwargs, response.get_data()[:300])
        assert quads_of(shared_store) == before
        assert trap.hits == []
    assert len({p for _, p, _ in seen}) >= 20  # the routes were all tried
