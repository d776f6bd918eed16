"""Property-based tests: random and hostile values at every saved-query parameter, at /sparql and
at the CSV importer. Whatever comes in: never a 500, never a write, never a partial import."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.config import PROJECT_ROOT
from graph.queries import load_queries
from graph.store import Store

from . import engines
from .conftest import quads_of
from .helpers import HOSTILE

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

TOKEN = "fuzzing-token-0123456789abcdef"
FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

QUERIES = load_queries()
PARAMETERS = [(name, p.name) for name, q in sorted(QUERIES.items()) for p in q.params]

# values that have broken query services: injection, escapes, IRIs that are not, numbers that are not
NASTY = [*HOSTILE, "", " ", "\x00", "%00", "\\", "\"\"\"", "'''", "<>", "<script>alert(1)</script>",
         "${jndi:ldap://127.0.0.1/a}", "../../etc/passwd", "file:///etc/passwd", "http://127.0.0.1:9/",
         "-1", "1e309", "NaN", "99999999999999999999999999", "0x10", "１２", "ﬁ", "\u202e", "a" * 5000,
         "https://w3id.org/clusterkg/vocab/green-challenges/", "skos:Concept", "ckg:Cluster", "_:b0",
         "?x", "$x", "#", "\ufeff", "\r\n"]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=80),
                   st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=20)))

WORDS = ["SELECT", "*", "WHERE", "{", "}", "?s", "?p", "?o", "SERVICE", "SILENT", "<http://127.0.0.1:1/sparql>",
         "\\u0053ERVICE", "LOAD", "INSERT", "DATA", "DELETE", "DROP", "ALL", "CLEAR", "FILTER", "(", ")", '"',
         "'", "#", "GRAPH", "CONSTRUCT", "ASK", "DESCRIBE", "PREFIX", "x:", "<", ">", "1", ".", ";", ",",
         "VALUES", "BIND", "AS", "COUNT", "ORDER", "BY", "LIMIT", "OFFSET", "FROM", "<file:///etc/passwd>",
         "UNION", "OPTIONAL", "MINUS", "REGEX", "\n", "a", "<urn:x>", '"x"@en', "^^", "|", "/", "+", "*", "?",
         "GROUP_CONCAT", "SEPARATOR", "=", "!", "&&", "EXISTS", "NOT", "IRI", "BNODE", "STRUUID"]
SPARQLISH = st.one_of(st.text(max_size=200),
                      st.lists(st.sampled_from(WORDS), min_size=1, max_size=40).map(" ".join))


@pytest.fixture(scope="module")
def trap():
    """A loopback server no query may ever reach."""
    with engines.TrapServer() as server:
        yield server


@pytest.fixture(scope="module")
def fuzz_store(template_store, tmp_path_factory: pytest.TempPathFactory):
    """The bundled data on the embedded store (fuzzing is about clusterkg's own code, not the engines)."""
    import shutil

    from graph.store.embedded import EmbeddedStore

    path = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(template_store, path)
    store = EmbeddedStore(path)
    yield store
    store.close()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_store: Store):
    from graph.config import Settings
    from service import create_app

    from .conftest import BASE

    app = create_app(replace(Settings(base_iri=BASE), query_timeout=2), store=fuzz_store, config={"TESTING": True})
    yield app.test_client()
    app.extensions["clusterkg"].close()


def _never_a_server_error(response) -> None:
    assert response.status_code < 500 or response.status_code == 503, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert response.get_json()["error"]  # a message, not a traceback
        assert "Traceback" not in response.get_data(as_text=True)


@FUZZ
@given(data=st.data())
def test_saved_query_parameters(fuzz_client, fuzz_store: Store, data: st.DataObject) -> None:
    name, param = data.draw(st.sampled_from(PARAMETERS), label="parameter")
    values = data.draw(st.lists(VALUES, min_size=1, max_size=3), label="values")
    before = len(quads_of(fuzz_store)) if data.draw(st.integers(0, 20), label="check") == 0 else None
    response = fuzz_client.get(f"/api/queries/{name}", query_string=[(param, v) for v in values])
    _never_a_server_error(response)
    assert response.status_code in (200, 400), (name, param, values, response.get_json())
    if before is not None:
        assert len(quads_of(fuzz_store)) == before


@FUZZ
@given(query=SPARQLISH, method=st.sampled_from(["get", "post-form", "post-body"]))
def test_the_sparql_endpoint(fuzz_client, trap, query: str, method: str) -> None:
    query = query.replace("<http://127.0.0.1:1/sparql>", f"<{trap.url}>")
    if method == "get":
        response = fuzz_client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/json"})
    elif method == "post-form":
        response = fuzz_client.post("/sparql", data={"query": query}, headers={"Accept": "application/json"})
    else:
        response = fuzz_client.post("/sparql", data=query.encode("utf-8"), content_type="application/sparql-query",
                                    headers={"Accept": "application/json"})
    _never_a_server_error(response)
    assert trap.hits == []


def test_the_store_is_unchanged_after_fuzzing(fuzz_store: Store, template_store) -> None:
    # runs after the fuzzers above (file order): nothing they sent wrote anything
    from graph.store.embedded import EmbeddedStore

    template = EmbeddedStore(template_store, read_only=True)
    try:
        assert quads_of(fuzz_store) == quads_of(template)
    finally:
        template.close()


# -- the CSV importer ---------------------------------------------------------------------------
HEADER = next(csv.reader(io.StringIO(
    (PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv").read_text(encoding="utf-8"))))
EXAMPLE_ROW = next(csv.DictReader(io.StringIO(
    (PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv").read_text(encoding="utf-8"))))
CELL = st.one_of(st.sampled_from([*NASTY, "Other", "Funding Possibilities; Other", ";;;", "regional", "12"]),
                 st.text(max_size=40))


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A survey CSV whose cells (and sometimes header or encoding) are mutated."""
    kind = draw(st.sampled_from(["cells", "cells", "cells", "bytes", "header", "encoding"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    header = list(HEADER)
    if kind == "header":
        header = draw(st.lists(st.sampled_from([*HEADER, "", "extra", "cluster name"]), min_size=1, max_size=22))
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        row = dict(EXAMPLE_ROW)
        row["response_id"] = draw(st.text(min_size=1, max_size=12)) if draw(st.booleans()) else "fuzz-1"
        for column in draw(st.lists(st.sampled_from(HEADER), max_size=5)):
            row[column] = draw(CELL)
        rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"])) if kind == "encoding" else "utf-8"
    return out.getvalue().encode(encoding, errors="replace")


@pytest.fixture(scope="module")
def import_app(template_store, tmp_path_factory: pytest.TempPathFactory):
    import shutil

    from graph.config import Settings
    from graph.store.embedded import EmbeddedStore
    from service import create_app

    from .conftest import BASE

    path = tmp_path_factory.mktemp("fuzz-import") / "store"
    shutil.copytree(template_store, path)
    store = EmbeddedStore(path)
    app = create_app(Settings(base_iri=BASE, store_path=path, admin_token=TOKEN), store=store,
                     config={"TESTING": True})
    yield app, store
    app.extensions["clusterkg"].close()
    store.close()


@settings(max_examples=35, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=csv_files())
def test_the_csv_importer(import_app, content: bytes) -> None:
    app, store = import_app
    client = app.test_client()
    before = quads_of(store)
    response = client.post("/api/imports?name=fuzz.csv", data=content, content_type="text/csv",
                           headers={"Authorization": f"Bearer {TOKEN}"})
    _never_a_server_error(response)
    assert response.status_code in (200, 201, 400, 422), response.get_json()
    if response.status_code == 201:  # imported: one new graph (and its clusters' summary edges), then undo it
        body = response.get_json()
        added = sorted(set(quads_of(store)) - set(before))
        summary = "/graph/derived/clusters> ."
        assert added and all(f"<{body['graph']}>" in q or q.endswith(summary) for q in added)
        assert {q for q in before if not q.endswith(summary)} <= set(quads_of(store))
        assert client.delete(f"/api/imports/{body['id']}", headers={"Authorization": f"Bearer {TOKEN}"}
                             ).status_code == 204
        assert quads_of(store) == before
    else:
        body = response.get_json()
        if response.status_code == 422:
            assert all(v.get("rule") and v.get("message") for v in body["violations"])
        assert quads_of(store) == before  # nothing was written
