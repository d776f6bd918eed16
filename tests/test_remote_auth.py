"""Basic authentication against a real engine: an authenticating reverse proxy on loopback in front
of an Oxigraph server (Virtuoso's digest authentication is exercised by the contract suite)."""

from __future__ import annotations

import base64
import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from graph.config import Settings
from graph.store import StoreError, StoreUnavailable, open_store

from . import engines
from .conftest import BASE

USER, PASSWORD = "maintainer", "s3cret-pass"


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    engine = engines.OxigraphServer(tmp_path)
    engine.start()
    upstream = engine.query_url.rsplit("/", 1)[0]
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            seen.append(f"{self.command} {self.path.split('?')[0]} {self.headers.get('Authorization', '')}")
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            request = urllib.request.Request(upstream + self.path, data=body, method=self.command, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, payload, ctype = response.status, response.read(), response.headers.get("Content-Type")
            except urllib.error.HTTPError as exc:
                status, payload, ctype = exc.code, exc.read(), exc.headers.get("Content-Type")
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Server", "Oxigraph (behind a test proxy)")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", engines.free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    engine.stop()


def _settings(base: str, auth: str | None) -> Settings:
    return Settings(base_iri=BASE, endpoint=f"{base}/query", update_endpoint=f"{base}/update",
                    graph_store=f"{base}/store", auth=auth, auth_type="basic")


def test_basic_auth_reads_writes_and_stages(proxy) -> None:
    base, seen = proxy
    store = open_store(_settings(base, f"{USER}:{PASSWORD}"))
    small = Graph()
    small.add((URIRef("https://example.org/s"), URIRef("https://example.org/p"), Literal("o")))
    store.replace_graphs({BASE + "graph/import/small": small})  # one update
    # a graph over the dialect's largest INSERT DATA is staged through the Graph Store, then moved
    # (lowered here from Oxigraph's 8 MB, which test_remote_crash writes: the path is the same)
    store.dialect = replace(store.dialect, max_insert_bytes=100_000)  # type: ignore[attr-defined]
    big = Graph()
    for i in range(3_000):  # about 240 kB of N-Triples
        big.add((URIRef(f"https://example.org/big/{i}"), URIRef("https://example.org/p"), Literal(f"value number {i}")))
    store.replace_graphs({BASE + "graph/import/big": big})
    assert store.named_graphs() == [BASE + "graph/import/big", BASE + "graph/import/small"]
    assert len(store.get_graph(BASE + "graph/import/big")) == 3_000
    assert any(line.startswith("POST /store ") for line in seen)  # the staging upload
    assert all(" Basic " in line for line in seen)


def test_missing_or_wrong_credentials_are_reported(proxy) -> None:
    base, _seen = proxy
    with pytest.raises((StoreUnavailable, StoreError), match="401"):
        open_store(_settings(base, None))
    with pytest.raises((StoreUnavailable, StoreError), match="401"):
        open_store(_settings(base, f"{USER}:wrong"))
