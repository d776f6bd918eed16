"""A small Python API for notebooks and scripts.

    >>> from graph.api import ClusterKG
    >>> kg = ClusterKG.open()                      # the embedded store (CLUSTERKG_STORE or var/store)
    >>> kg.queries()                               # names of the saved queries
    >>> kg.run("clusters-sharing", concept=["theme:funding-finance", "supply-chain-transparency"])
    [{'cluster': 'https://…/cluster/bioregio-stern', 'clusterLabel': 'BioRegio STERN'}, …]
    >>> kg.dataframe("option-counts", question=8)  # needs the optional pandas extra
    >>> kg.sparql("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rdflib import Graph

from graph.config import Settings
from graph.queries import SavedQuery, load_queries
from graph.results import AskResult, GraphResult, QueryResult, SelectResult
from graph.store import Store, open_store


class ClusterKG:
    """An open store plus the saved queries, with Python values in and out."""

    def __init__(self, store: Store, queries: dict[str, SavedQuery] | None = None) -> None:
        self.store = store
        self._queries = queries or load_queries()

    @classmethod
    def open(cls, store: str | Path | None = None, *, endpoint: str | None = None,
             base_iri: str | None = None) -> ClusterKG:
        """Open the embedded store (a directory) or, once supported, a remote SPARQL engine."""
        settings = Settings.from_env(store_path=store, endpoint=endpoint, base_iri=base_iri)
        return cls(open_store(settings))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> ClusterKG:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def queries(self) -> list[str]:
        return list(self._queries)

    def describe(self, name: str) -> dict[str, object]:
        return self._queries[name].as_dict()

    def result(self, name: str, **params: Any) -> QueryResult:
        """The raw result of a saved query; keyword arguments are its parameters (a list repeats)."""
        if name not in self._queries:
            raise KeyError(f"no saved query {name!r}; known: {', '.join(self._queries)}")
        values = {key: [str(v) for v in value] if _is_list(value) else [str(value)]
                  for key, value in params.items() if value is not None}
        return self._queries[name].run(self.store, values)

    def run(self, name: str, **params: Any) -> list[dict[str, object]] | bool | Graph:
        """Rows as dicts of Python values (SELECT), a bool (ASK) or an rdflib Graph (CONSTRUCT)."""
        return _python(self.result(name, **params))

    def dataframe(self, name: str, **params: Any):
        """The rows of a SELECT saved query as a pandas DataFrame (``pip install clusterkg[pandas]``)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise ImportError("dataframes need pandas: pip install 'clusterkg[pandas]'") from exc
        result = self.result(name, **params)
        if not isinstance(result, SelectResult):
            raise TypeError(f"{name} is not a SELECT query")
        return pd.DataFrame(result.as_python(), columns=result.variables)

    def sparql(self, query: str) -> list[dict[str, object]] | bool | Graph:
        """An ad-hoc read-only query."""
        return _python(self.store.query(query))


def _is_list(value: object) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | bytes)


def _python(result: QueryResult) -> list[dict[str, object]] | bool | Graph:
    if isinstance(result, SelectResult):
        return result.as_python()
    if isinstance(result, AskResult):
        return result.value
    assert isinstance(result, GraphResult)
    return result.graph
