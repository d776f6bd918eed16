"""What the service holds for its lifetime: settings, the open store, the saved queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from graph.config import Settings
from graph.queries import SavedQuery, load_queries
from graph.store import Store


@dataclass
class ServiceState:
    settings: Settings
    store: Store  # the store as the service uses it: queries bounded (graph.store.with_query_limits)
    queries: dict[str, SavedQuery] = field(default_factory=dict)
    owned: list[Store] = field(default_factory=list)  # what close() releases

    def __post_init__(self) -> None:
        # loaded (and syntax-checked) at start-up, so a broken query file stops the service early
        if not self.queries:
            self.queries = load_queries()

    def close(self) -> None:
        """Stop the query workers, and close the store if the service opened it."""
        for store in self.owned:
            store.close()
        self.owned.clear()


def state() -> ServiceState:
    return current_app.extensions["clusterkg"]
