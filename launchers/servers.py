"""Servers for the tests and the benchmarks, started on loopback and stopped by their PID: an
Oxigraph server, Virtuoso, and `clusterkg serve` itself, as a user starts it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not ended within 15 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


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

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, nquads: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
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

    union_default_graph = True

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
        union = ["--union-default-graph"] if self.union_default_graph else []
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--location", str(self.directory / "data"),
             "--bind", f"127.0.0.1:{self.port}", *union],
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


VIRTUOSO_INI = """[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
LiteMode = 0
DisableUnixSocket = 1
DisableTcpSocket = 0
ServerThreads = 10
CheckpointInterval = 60
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
DirsAllowed = ., {d}
DefaultIsolation = 4
; one transaction may log up to 1 GB (the default aborted a write of ~1M triples, "SR325")
TransactionAfterImageLimit = 1000000000

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}
ServerThreads = 10
MaxClientConnections = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
EnabledDavVSP = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime = 120
DefaultQuery = ASK {{}}
"""


class VirtuosoServer(Engine):
    """Virtuoso open source (Debian virtuoso-opensource) with its own virtuoso.ini, in the
    foreground, on loopback; writes through the digest-authenticated endpoints as dba."""

    auth = "dba:dba"
    auth_type = "digest"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sql_port, self.http_port = free_port(), free_port()
        base = f"http://127.0.0.1:{self.http_port}"
        self.query_url = f"{base}/sparql"
        self.update_url = f"{base}/sparql-auth"
        self.graph_store_url = f"{base}/sparql-graph-crud-auth"
        self.binary = shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t"

    def start(self) -> None:
        if not Path(self.binary).exists():
            raise RuntimeError("Virtuoso is not installed (Debian package virtuoso-opensource)")
        self.directory.mkdir(parents=True, exist_ok=True)
        ini = self.directory / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(d=self.directory, sql_port=self.sql_port, http_port=self.http_port))
        handle = (self.directory / "stdout.log").open("ab")
        self.proc = subprocess.Popen([self.binary, "+foreground", "+configfile", str(ini)],
                                     stdout=handle, stderr=subprocess.STDOUT, cwd=self.directory)
        self._wait_ready(deadline_s=90)

    def reset(self, nquads: bytes) -> None:
        """Exactly the given quads in the clusterkg graphs (Virtuoso's own graphs are left alone)."""
        from rdflib import Dataset

        from graph.config import Settings
        from graph.store.remote import RemoteStore

        store = RemoteStore(Settings(endpoint=self.query_url, update_endpoint=self.update_url,
                                     graph_store=self.graph_store_url, auth=self.auth, auth_type=self.auth_type))
        ds = Dataset()
        ds.parse(data=nquads, format="nquads")
        wanted = {str(g.identifier): g for g in ds.graphs() if len(g)}
        graphs: dict = {name: None for name in store.named_graphs() if name not in wanted}
        graphs.update(wanted)
        store.replace_graphs(graphs)

    def log_text(self) -> str:
        log = self.directory / "virtuoso.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""


class ServeProcess:
    """`clusterkg serve` as a user runs it, on a free loopback port (or ``port``); stopped by its PID.

    ``args`` are its options (the store's, ``--threads``); ``env`` adds CLUSTERKG_* settings; its
    output goes to ``log_path`` (appended). The constructor returns once the service answers;
    ``started_in`` is how long that took from the process's start (its cold start).
    """

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("a")
        cli = Path(sys.executable).with_name("clusterkg")
        started = time.perf_counter()
        self.proc: subprocess.Popen | None = subprocess.Popen(
            [str(cli), "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.pid = self.proc.pid
        deadline = started + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/api/queries", timeout=2).read()
                self.started_in = time.perf_counter() - started
                return
            except OSError as exc:
                if self.proc.poll() is not None or time.perf_counter() > deadline:
                    self.kill()
                    raise RuntimeError("clusterkg serve did not start: " + log_path.read_text()[-3000:]) from exc
                time.sleep(0.02)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        self._log.close()

    def kill(self) -> None:
        """SIGKILL, as a crash or an operator's kill -9 would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
        self._log.close()
