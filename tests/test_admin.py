"""Writes: only with the maintainer token; validated by the shapes; all or nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graph.config import PROJECT_ROOT, Settings

from .conftest import BASE, FIXTURES, quads_of

TOKEN = "correct-horse-battery-staple-42"
EXAMPLE = PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "https://example.org/graphs/extra"
VALID_TTL = (FIXTURES / "rdf" / "response.ttl").read_bytes()
BAD_TTL = (FIXTURES / "rdf" / "bad-option.ttl").read_bytes()


@pytest.fixture
def admin_client(store, settings: Settings, make_app):
    from dataclasses import replace

    app = make_app(replace(settings, admin_token=TOKEN), store=store, config={"TESTING": True})
    return app.test_client()


@pytest.fixture
def readonly_client(store, settings: Settings, make_app):
    return make_app(settings, store=store, config={"TESTING": True}).test_client()


WRITES = [
    ("POST", "/api/imports?name=x.csv", {"data": EXAMPLE.read_bytes()}),
    ("DELETE", "/api/imports/bioman4r2-d2.3", {}),
    ("PUT", f"/graph-store?graph={GRAPH}", {"data": VALID_TTL, "content_type": "text/turtle"}),
    ("POST", f"/graph-store?graph={GRAPH}", {"data": VALID_TTL, "content_type": "text/turtle"}),
    ("DELETE", f"/graph-store?graph={BASE}graph/import/bioman4r2-d2.3", {}),
    ("POST", "/update", {"data": "DROP ALL", "content_type": "application/sparql-update"}),
]


@pytest.mark.parametrize("method,path,kwargs", WRITES)
def test_without_a_configured_token_every_write_is_refused(readonly_client, store, method, path, kwargs) -> None:
    before = quads_of(store)
    response = readonly_client.open(path, method=method, headers=AUTH, **kwargs)
    assert response.status_code == 403 and "no maintainer token" in response.get_json()["error"]
    assert quads_of(store) == before


@pytest.mark.parametrize("method,path,kwargs", WRITES)
def test_writes_need_the_right_token(admin_client, store, method, path, kwargs) -> None:
    before = quads_of(store)
    missing = admin_client.open(path, method=method, **kwargs)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = admin_client.open(path, method=method, headers={"Authorization": "Bearer nope"}, **kwargs)
    assert wrong.status_code == 403
    basic = admin_client.open(path, method=method, headers={"Authorization": f"Basic {TOKEN}"}, **kwargs)
    assert basic.status_code == 401
    assert quads_of(store) == before


def test_import_api(admin_client, store) -> None:
    created = admin_client.post("/api/imports?name=survey.csv", data=EXAMPLE.read_bytes(), headers=AUTH)
    assert created.status_code == 201 and created.get_json()["status"] == "imported"
    again = admin_client.post("/api/imports?name=survey.csv", data=EXAMPLE.read_bytes(), headers=AUTH)
    assert again.status_code == 200 and again.get_json()["status"] == "unchanged"
    ids = [i["import_id"] for i in admin_client.get("/api/imports").get_json()]
    assert created.get_json()["id"] in ids
    before = quads_of(store)
    bad = admin_client.post("/api/imports?name=bad.csv", data=(FIXTURES / "csv" / "fourth-priority.csv").read_bytes(),
                            headers=AUTH)
    assert bad.status_code == 422
    [violation] = bad.get_json()["violations"]
    assert (violation["row"], violation["column"], violation["rule"]) == (2, "strategic_priorities",
                                                                           "MaxSelectionsConstraint")
    assert quads_of(store) == before
    gone = admin_client.delete(f"/api/imports/{created.get_json()['id']}", headers=AUTH)
    assert gone.status_code == 204


def test_graph_store_protocol(admin_client, store) -> None:
    put = admin_client.put(f"/graph-store?graph={GRAPH}", data=VALID_TTL, content_type="text/turtle", headers=AUTH)
    assert put.status_code == 201
    got = admin_client.get(f"/graph-store?graph={GRAPH}", headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and b"Example Cluster Turtle" in got.data
    before = quads_of(store)
    bad = admin_client.post(f"/graph-store?graph={GRAPH}", data=BAD_TTL, content_type="text/turtle", headers=AUTH)
    assert bad.status_code == 422 and "OptionInSchemeConstraint" in str(bad.get_json()["violations"])
    assert quads_of(store) == before
    replaced = admin_client.put(f"/graph-store?graph={GRAPH}", data=VALID_TTL, content_type="text/turtle", headers=AUTH)
    assert replaced.status_code == 204
    assert admin_client.delete(f"/graph-store?graph={GRAPH}", headers=AUTH).status_code == 204
    assert admin_client.get(f"/graph-store?graph={GRAPH}").status_code == 404
    vocab = admin_client.put(f"/graph-store?graph={BASE}graph/vocab/themes", data=VALID_TTL,
                             content_type="text/turtle", headers=AUTH)
    assert vocab.status_code == 400 and "ontology/" in vocab.get_json()["error"]
    default = admin_client.put("/graph-store?default", data=VALID_TTL, content_type="text/turtle", headers=AUTH)
    assert default.status_code == 400
    unsupported = admin_client.put(f"/graph-store?graph={GRAPH}", data=b"x", content_type="text/plain", headers=AUTH)
    assert unsupported.status_code == 415


def test_sparql_update_is_validated_and_all_or_nothing(admin_client, store) -> None:
    d23 = f"{BASE}graph/import/bioman4r2-d2.3"
    ok = admin_client.post("/update", headers=AUTH, content_type="application/sparql-update", data=(
        f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <https://example.org/c> a <https://w3id.org/clusterkg/ontology#Cluster> ; "
        f"<http://www.w3.org/2004/02/skos/core#prefLabel> \"Example Cluster Update\"@en }} }}"))
    assert ok.status_code == 200 and ok.get_json()["changed"] == [GRAPH]
    before = quads_of(store)
    # removing Medicen's name would leave a nameless cluster in the D2.3 graph
    broken = admin_client.post("/update", headers=AUTH, data={"update": (
        f"DELETE WHERE {{ GRAPH <{d23}> {{ <{BASE}cluster/medicen> "
        f"<http://www.w3.org/2004/02/skos/core#prefLabel> ?n }} }} ; "
        f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <https://example.org/d> <https://example.org/p> 1 }} }}")})
    assert broken.status_code == 422
    assert "ClusterNameShape" in str(broken.get_json()["violations"][d23])
    assert quads_of(store) == before  # neither graph changed
    for update, message in (("LOAD <http://127.0.0.1:9/x> INTO GRAPH <https://example.org/g>", "LOAD"),
                            ("\\u004cOAD <http://127.0.0.1:9/x> INTO GRAPH <https://example.org/g>", "LOAD"),
                            ("INSERT DATA { <https://example.org/a> <https://example.org/b> 1 }", "default graph"),
                            ("INSERT DATA { GRAPH <x:y> { ", "syntax error"),
                            (f"CLEAR GRAPH <{BASE}graph/ontology>", "ontology/")):
        refused = admin_client.post("/update", headers=AUTH, content_type="application/sparql-update", data=update)
        assert refused.status_code == 400 and message in refused.get_json()["error"], update
    assert quads_of(store) == before


def _csrf(client) -> str:
    page = client.get("/admin/import", headers={"Accept": "text/html"}).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_import_page(admin_client, store) -> None:
    csrf = _csrf(admin_client)
    before = quads_of(store)
    no_csrf = admin_client.post("/admin/import", data={"token": TOKEN, "action": "import",
                                                       "file": (open(EXAMPLE, "rb"), "survey.csv")},
                                headers={"Accept": "text/html"})
    assert no_csrf.status_code == 400
    wrong = admin_client.post("/admin/import", data={"csrf": csrf, "token": "nope", "action": "import",
                                                     "file": (open(EXAMPLE, "rb"), "survey.csv")},
                              headers={"Accept": "text/html"})
    assert wrong.status_code == 403
    bad_file = (open(FIXTURES / "csv" / "bad-option.csv", "rb"), "bad.csv")
    bad = admin_client.post("/admin/import", data={"csrf": csrf, "token": TOKEN, "action": "import", "file": bad_file},
                            headers={"Accept": "text/html"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="violations"' in body and "Lack of patience" in body
    assert "green_challenges" in body and "OptionInSchemeConstraint" in body
    assert quads_of(store) == before
    checked = admin_client.post("/admin/import", data={"csrf": csrf, "token": TOKEN, "action": "validate",
                                                       "file": (open(EXAMPLE, "rb"), "survey.csv")},
                                headers={"Accept": "text/html"})
    assert "conforms" in checked.get_data(as_text=True) and quads_of(store) == before
    done = admin_client.post("/admin/import", data={"csrf": csrf, "token": TOKEN, "action": "import",
                                                    "file": (open(EXAMPLE, "rb"), "survey.csv")},
                             headers={"Accept": "text/html"})
    assert done.status_code == 200 and "Imported as" in done.get_data(as_text=True)
    assert quads_of(store) != before


def test_serve_refuses_a_short_token(tmp_path: Path, store_path: Path) -> None:
    from .helpers import run

    short = tmp_path / "token"
    short.write_text("short")
    out = run(store_path, "serve", "--port", "1", "--admin-token-file", str(short))
    assert out.returncode == 1 and "at least 16 characters" in out.stderr


def test_an_upload_over_the_size_limit_is_refused_whole(store, settings: Settings, make_app) -> None:
    from dataclasses import replace

    app = make_app(replace(settings, admin_token=TOKEN, max_upload_mb=1), store=store, config={"TESTING": True})
    client = app.test_client()
    before = quads_of(store)
    big = EXAMPLE.read_bytes() + b"x" * (1024 * 1024)
    response = client.post("/api/imports?name=big.csv", data=big, headers=AUTH, content_type="text/csv")
    assert response.status_code == 413
    assert "larger than this service's limit of 1 MB" in response.get_json()["error"]
    response = client.put(f"/graph-store?graph={GRAPH}", data=VALID_TTL + b"#" * (1024 * 1024), headers=AUTH,
                          content_type="text/turtle")
    assert response.status_code == 413
    assert quads_of(store) == before
