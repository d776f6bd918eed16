"""Real SPARQL engines and `clusterkg serve` for the tests (launchers.servers, shared with the
benchmarks), and a trap server that records whatever reaches it."""

from __future__ import annotations

from launchers.servers import Engine, OxigraphServer, ServeProcess, VirtuosoServer, free_port, stop_process

__all__ = ["Engine", "OxigraphServer", "ServeProcess", "TrapServer", "VirtuosoServer", "free_port", "stop_process"]


class TrapServer:
    """A loopback HTTP server that no query may ever reach: it records every connection it accepts
    (``connections``, counted before any byte is read) and every request (``hits``).

    It answers 200 with a small body in the format asked for (SPARQL results JSON, else Turtle), so
    that a request that does slip through is not mistaken for a failure to connect."""

    def __init__(self) -> None:
        import http.server
        import threading

        hits: list[str] = []
        connections: list[tuple[str, int]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if "sparql-results" in (self.headers.get("Accept") or ""):
                    body = (b'{"head":{"vars":["trapped"]},"results":{"bindings":'
                            b'[{"trapped":{"type":"literal","value":"reached the trap"}}]}}')
                    kind = "application/sparql-results+json"
                else:
                    body, kind = b"<urn:a> <urn:b> <urn:c> .", "text/turtle"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def get_request(self):  # type: ignore[no-untyped-def]
                conn, address = super().get_request()
                connections.append(address)
                return conn, address

        self.hits = hits
        self.connections = connections
        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def __enter__(self) -> TrapServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
