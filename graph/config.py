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
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"
ONTOLOGY_FILE = ONTOLOGY_DIR / "clusterkg.ttl"
QUERIES_DIR = PROJECT_ROOT / "queries"
D23_DIR = Path(__file__).resolve().parent / "data" / "d23"

DEFAULT_BASE_IRI = "https://w3id.org/clusterkg/data/"
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
            "max_rows": int(env.get("CLUSTERKG_MAX_ROWS", "10000")),
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
