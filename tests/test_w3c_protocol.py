"""The W3C SPARQL 1.1 Protocol test suite (tests/fixtures/w3c/), run as its manifest describes it:
every query test against ``/sparql``, every update test against ``/update`` (with the maintainer
token), on every backend, with data1-data3 loaded into the graphs the manifest names."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

import pytest
from rdflib import Dataset, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

from graph.config import Settings
from graph.store.embedded import EmbeddedStore

from .conftest import BACKENDS, BASE, FIXTURES, _engine, _remote_settings

SUITE = FIXTURES / "w3c" / "sparql11-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = "http://www.w3.org/2011/http-statusCodes#StatusCode"
TOKEN = "w3c-protocol-suite-token-0123"
RESULT_TYPES = {"application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values", "application/json", "application/xml"}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json", "text/plain",
             "text/n3", "application/x-turtle"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[str]
    expected_format: str | None
    expected_boolean: bool | None


@dataclass
class ProtocolTest:
    name: str
    label: str
    requests: list[Request] = field(default_factory=list)


def load_manifest() -> list[ProtocolTest]:
    manifest = Graph().parse(SUITE / "manifest.ttl", format="turtle", publicID=SUITE.as_uri() + "/manifest.ttl")
    root = next(manifest.subjects(RDF.type, MF.Manifest))
    tests = []
    for test in Collection(manifest, manifest.value(root, MF.entries)):
        entry = ProtocolTest(str(test).rsplit("#", 1)[-1], str(manifest.value(test, MF.name)))
        action = manifest.value(test, MF.action)
        for req in Collection(manifest, manifest.value(action, HT.requests)):
            headers = {}
            listed = manifest.value(req, HT.headers)
            for header in Collection(manifest, listed) if listed is not None else []:
                headers[str(manifest.value(header, HT.fieldName))] = str(manifest.value(header, HT.fieldValue))
            body = manifest.value(req, HT.body)
            data = None
            if body is not None:
                encoding = str(manifest.value(body, CNT.characterEncoding) or "UTF-8")
                data = str(manifest.value(body, CNT.chars)).encode(encoding)
            resp = manifest.value(req, HT.resp)
            fmt = manifest.value(resp, MF.expectedFormat)
            boolean = manifest.value(resp, MF.expectedBoolean)
            entry.requests.append(Request(
                str(manifest.value(req, HT.methodName)), str(manifest.value(req, HT.absolutePath)), headers, data,
                {str(s)[len(HTS):] for s in manifest.objects(resp, MF.expectedStatus)},
                str(fmt) if fmt is not None else None, boolean.toPython() if boolean is not None else None))
        tests.append(entry)
    return tests


TESTS = load_manifest()
QUERY_TESTS = [t for t in TESTS if not t.name.startswith(("update_", "bad_update", "bad_multiple_updates"))]
UPDATE_TESTS = [t for t in TESTS if t not in QUERY_TESTS]


def suite_data() -> Dataset:
    """data1-data3 in the graphs the manifest names (http://kasei.us/2009/09/sparql/data/dataN.rdf)."""
    ds = Dataset()
    for n in (1, 2, 3):
        graph = ds.graph(URIRef(f"http://kasei.us/2009/09/sparql/data/data{n}.rdf"))
        graph.parse(SUITE / f"data{n}.nt", format="nt")
    return ds


def is_update(req: Request) -> bool:
    content = req.headers.get("content-type", "")
    text = unquote(req.path) + (req.body or b"").decode("utf-8", "replace")
    return "sparql-update" in content or "update=" in text or "using-graph-uri" in text \
        or "using-named-graph-uri" in text


@pytest.fixture(params=BACKENDS)
def protocol_client(request: pytest.FixtureRequest, tmp_path: Path, make_app):
    """The service over a store holding the suite's data only (its update tests clear everything)."""
    ds = suite_data()
    if request.param == "embedded":
        path = tmp_path / "store"
        store = EmbeddedStore(path)
        store.replace_graphs({str(g.identifier): Graph() + g for g in ds.graphs() if len(g)})
        settings = Settings(base_iri=BASE, store_path=path, admin_token=TOKEN)
    else:
        engine = _engine(request, request.param)
        engine.reset(ds.serialize(format="nquads", encoding="utf-8"))
        settings = replace(_remote_settings(engine), admin_token=TOKEN)
        from graph.store import open_store

        store = open_store(settings)
    app = make_app(settings, store=store, config={"TESTING": True})
    yield app.test_client()
    store.close()


def run(client, test: ProtocolTest) -> None:
    for step, req in enumerate(test.requests, start=1):
        update = is_update(req)
        path = req.path.replace("/sparql/", "/update" if update else "/sparql", 1)
        headers = dict(req.headers)
        if update:
            headers["Authorization"] = f"Bearer {TOKEN}"
        if req.body is not None and "content-type" not in {k.lower() for k in headers}:
            headers["Content-Type"] = ""  # the test sends a body with no media type
        response = client.open(path, method=req.method, headers=headers, data=req.body)
        where = f"{test.name} request {step}: {req.method} {path} -> {response.status_code} {response.data[:300]!r}"
        assert f"{response.status_code // 100}xx" in req.statuses, where
        if req.expected_format == "boolean":
            found = boolean_of(response)
            assert found is not None, where
            assert req.expected_boolean is None or found is req.expected_boolean, where
        elif req.expected_format == "tabular":
            assert response.mimetype in RESULT_TYPES, where
        elif req.expected_format == "RDF":
            assert response.mimetype in RDF_TYPES, where


def boolean_of(response) -> bool | None:
    if response.mimetype in ("application/sparql-results+json", "application/json"):
        return json.loads(response.data)["boolean"]
    if response.mimetype in ("application/sparql-results+xml", "application/xml"):
        node = ET.fromstring(response.data).find("{http://www.w3.org/2005/sparql-results#}boolean")
        return node is not None and node.text == "true"
    return None


@pytest.mark.parametrize("test", QUERY_TESTS, ids=[t.name for t in QUERY_TESTS])
def test_query(protocol_client, test: ProtocolTest) -> None:
    run(protocol_client, test)


@pytest.mark.parametrize("test", UPDATE_TESTS, ids=[t.name for t in UPDATE_TESTS])
def test_update(protocol_client, test: ProtocolTest) -> None:
    run(protocol_client, test)


def test_the_suite_is_all_there() -> None:
    assert len(QUERY_TESTS) == 20 and len(UPDATE_TESTS) == 14, ([t.name for t in QUERY_TESTS], len(UPDATE_TESTS))
    assert all(t.label for t in TESTS) and RDFS.label  # every test is named
