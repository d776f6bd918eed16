"""Real SPARQL engines for the tests, started on loopback by the tests and stopped by their PID."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Engine:
    query_url: str
    update_url: str
    graph_store_url: str
    auth: str | None = None
    auth_type: str = "basic"
    proc: subprocess.Popen | None = None

    def start(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def reset(self, nquads: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=15)
            self.proc = None

    def _wait_ready(self, deadline_s: float = 60) -> None:
        deadline = time.monotonic() + deadline_s
        probe = self.query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        while True:
            try:
                urllib.request.urlopen(probe, timeout=2).read()
                return
            except OSError:
                if (self.proc is not None and self.proc.poll() is not None) or time.monotonic() > deadline:
                    raise RuntimeError(f"{type(self).__name__} did not start: {self.log_text()}") from None
                time.sleep(0.1)

    def log_text(self) -> str:
        return ""


class OxigraphServer(Engine):
    """`oxigraph serve` (PyPI package oxigraph) with a union default graph, in a directory of its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        base = f"http://127.0.0.1:{self.port}"
        self.query_url, self.update_url, self.graph_store_url = f"{base}/query", f"{base}/update", f"{base}/store"
        self.binary = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
        self.log = directory / "oxigraph.log"

    def start(self) -> None:
        if not self.binary:
            raise RuntimeError("the oxigraph server is not installed (pip install oxigraph)")
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--location", str(self.directory / "data"),
             "--bind", f"127.0.0.1:{self.port}", "--union-default-graph"],
            stdout=handle, stderr=subprocess.STDOUT)
        self._wait_ready()

    def reset(self, nquads: bytes) -> None:
        """Exactly the given quads: drop everything, then load them in one request."""
        request = urllib.request.Request(self.update_url, data=b"DROP ALL", method="POST",
                                         headers={"Content-Type": "application/sparql-update"})
        urllib.request.urlopen(request, timeout=60).read()
        request = urllib.request.Request(self.graph_store_url, data=nquads, method="POST",
                                         headers={"Content-Type": "application/n-quads"})
        urllib.request.urlopen(request, timeout=120).read()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
