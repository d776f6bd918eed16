"""Settings, read from the environment in one place.

Everything that differs between deployments (the base IRI of the data, where the store lives,
which remote engine to use) is a field of :class:`Settings`. Command-line options override the
environment; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
VOCAB_DIR = ONTOLOGY_DIR / "vocab"
REFERENCE_DIR = ONTOLOGY_DIR / "reference"  # external identifiers (EU countries, NUTS regions)
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"
ONTOLOGY_FILE = ONTOLOGY_DIR / "clusterkg.ttl"
QUERIES_DIR = PROJECT_ROOT / "queries"
D23_DIR = Path(__file__).resolve().parent / "data" / "d23"

DEFAULT_BASE_IRI = "https://w3id.org/clusterkg/data/"
MIN_TOKEN_LENGTH = 16
DEFAULT_STORE_DIR = PROJECT_ROOT / "var" / "store"


@dataclass(frozen=True)
class Settings:
    """Where the data lives and how it is named."""

    base_iri: str = DEFAULT_BASE_IRI
    store_path: Path = DEFAULT_STORE_DIR
    endpoint: str | None = None
    update_endpoint: str | None = None
    graph_store: str | None = None
    auth: str | None = None
    auth_type: str = "basic"
    admin_token: str | None = None
    service_allowlist: frozenset[str] = frozenset()
    max_rows: int = 10_000  # rows (or triples) the public endpoint and API return at most
    max_answer_mb: int = 8  # an answer's terms, written out, at most (graph.results.term_bytes); 0: no cap
    # limits of the service's queries (see graph/store/sandbox.py and docs/security.md)
    query_timeout: float = 5.0  # seconds; a query still running then is stopped
    query_workers: int = 2  # processes that run queries (embedded store); 0 runs them in-process, unbounded
    query_memory_mb: int = 2048  # memory a query worker may write to (RLIMIT_DATA)
    queue_timeout: float = 1.0  # seconds a query waits for a free worker at most
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For names the client
    shacl_engine: str = "fast"  # what checks the shapes: "fast" (shacl-rust + Oxigraph) or "pyshacl"
    max_query_length: int = 100_000  # characters of a /sparql query
    max_upload_mb: int = 32  # size of any request body: uploads, graph-store writes, queries
    # limits of a maintainer's write over HTTP, which runs in a process of its own (graph/jobs.py)
    write_timeout: float = 60.0  # seconds until its commit
    write_memory_mb: int = 3072  # an import's, on the command line too (graph.importer.check_memory)
    result_cache_rows: int = 200_000  # rows of query results the service keeps until the next write; 0: none
    result_cache_mb: int = 64  # ... and their bytes (graph.results.term_bytes); 0: no cache

    def __post_init__(self) -> None:
        if self.shacl_engine not in ("fast", "pyshacl"):
            raise ValueError(f"the SHACL engine must be fast or pyshacl, not {self.shacl_engine!r} "
                             "(CLUSTERKG_SHACL_ENGINE or --shacl-engine)")
        if self.admin_token is not None and len(self.admin_token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the maintainer token must be at least {MIN_TOKEN_LENGTH} characters long "
                             "(CLUSTERKG_ADMIN_TOKEN or serve --admin-token-file)")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``CLUSTERKG_*`` variables; non-None ``overrides`` win."""
        env = os.environ
        values: dict[str, object] = {
            "base_iri": env.get("CLUSTERKG_BASE_IRI", DEFAULT_BASE_IRI),
            "store_path": Path(env.get("CLUSTERKG_STORE", str(DEFAULT_STORE_DIR))),
            "endpoint": env.get("CLUSTERKG_ENDPOINT") or None,
            "update_endpoint": env.get("CLUSTERKG_UPDATE_ENDPOINT") or None,
            "graph_store": env.get("CLUSTERKG_GRAPH_STORE") or None,
            "auth": env.get("CLUSTERKG_AUTH") or None,
            "auth_type": (env.get("CLUSTERKG_AUTH_TYPE") or "basic").lower(),
            "admin_token": env.get("CLUSTERKG_ADMIN_TOKEN") or None,
            "max_rows": _number(env, "CLUSTERKG_MAX_ROWS", 10_000, int),
            "query_timeout": _number(env, "CLUSTERKG_QUERY_TIMEOUT", 5.0, float),
            "query_workers": _number(env, "CLUSTERKG_QUERY_WORKERS", 2, int),
            "query_memory_mb": _number(env, "CLUSTERKG_QUERY_MEMORY_MB", 2048, int),
            "queue_timeout": _number(env, "CLUSTERKG_QUEUE_TIMEOUT", 1.0, float),
            "trusted_proxies": _number(env, "CLUSTERKG_TRUSTED_PROXIES", 0, int),
            "shacl_engine": env.get("CLUSTERKG_SHACL_ENGINE") or "fast",
            "max_query_length": _number(env, "CLUSTERKG_MAX_QUERY_LENGTH", 100_000, int),
            "max_upload_mb": _number(env, "CLUSTERKG_MAX_UPLOAD_MB", 32, int),
            "write_timeout": _number(env, "CLUSTERKG_WRITE_TIMEOUT", 60.0, float),
            "write_memory_mb": _number(env, "CLUSTERKG_WRITE_MEMORY_MB", 3072, int),
            "result_cache_rows": _number(env, "CLUSTERKG_RESULT_CACHE_ROWS", 200_000, int),
            "result_cache_mb": _number(env, "CLUSTERKG_RESULT_CACHE_MB", 64, int),
            "max_answer_mb": _number(env, "CLUSTERKG_MAX_ANSWER_MB", 8, int),
            "service_allowlist": frozenset(
                x.strip() for x in env.get("CLUSTERKG_SERVICE_ALLOWLIST", "").split(",") if x.strip()),
        }
        for key, value in overrides.items():
            if value is not None:
                values[key] = Path(value) if key == "store_path" else value
        base = str(values["base_iri"])
        if not base.endswith(("/", "#")):
            base += "/"
        values["base_iri"] = base
        return cls(**values)  # type: ignore[arg-type]


def _number(env: os._Environ[str] | dict[str, str], name: str, default: float, kind: type) -> float:
    """A non-negative number from the environment, or a clear error naming the variable."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value
