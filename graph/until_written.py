"""Values computed from a store, kept until the store is written: the one cache of the house.

A value read from a store stays right for exactly as long as the store's content does not change,
and a store that can say when it changes (``Store.generation()``: the embedded store's write
counter, shared by every process that opens the store) tells when to forget it. So a cache here
is given, with each look-up, how to read the current *version* of what it caches (a generation,
or anything comparable made from one); when the version moves, everything kept is forgotten at
once, whoever wrote. When the version is None (a remote engine, written by others) nothing is kept.

A value is kept only if the version did not move while it was computed (else it may describe the
store before the write), and only within budgets: each value weighs something in each budget
(rows, bytes, entries), least recently used first out; a value weighing more than a quarter of a
budget is never kept, nor one whose weight is None (a kind of value not to keep). With
``single_flight``, the threads that miss the same key together wait for one computation instead of
each running it (the first requests after a start or a write).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class UntilWritten(Generic[K, V]):
    """Values by key, kept while the version they were computed at is current (module docstring)."""

    def __init__(self, budgets: Sequence[int], weigh: Callable[[V], Sequence[int] | None], *,
                 single_flight: bool = False) -> None:
        self.budgets = tuple(budgets)
        self._weigh = weigh
        self._single_flight = single_flight
        self._entries: OrderedDict[K, tuple[V, tuple[int, ...]]] = OrderedDict()
        self._totals = [0] * len(self.budgets)
        self._version: Hashable | None = None
        self._lock = threading.Lock()
        self._flights: dict[K, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: K, compute: Callable[[], V], version: Callable[[], Hashable | None]) -> V:
        """The value kept for ``key`` at the current ``version()``, else ``compute()`` (kept if it may be)."""
        current = version()
        if current is None:
            return compute()
        found = self._kept(key, current, count=True)
        if found is not None:
            return found[0]
        if not self._single_flight:
            return self._compute(key, compute, version, current)
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        try:
            with flight:
                found = self._kept(key, current)
                if found is not None:
                    return found[0]
                return self._compute(key, compute, version, current)
        finally:
            with self._lock:
                self._flights.pop(key, None)

    def weights(self) -> tuple[int, ...]:
        """What the kept values weigh together, in each budget."""
        with self._lock:
            return tuple(self._totals)

    def clear(self) -> None:
        """Forget everything (a write through the cache's own store: the version moves anyway)."""
        with self._lock:
            self._follow(None)

    # -- inside -----------------------------------------------------------------------------------
    def _kept(self, key: K, current: Hashable, *, count: bool = False) -> tuple[V] | None:
        with self._lock:
            if current != self._version:
                self._follow(current)
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += count
                return (entry[0],)
            self.misses += count
            return None

    def _compute(self, key: K, compute: Callable[[], V], version: Callable[[], Hashable | None],
                 current: Hashable) -> V:
        value = compute()
        weight = self._weigh(value)
        if weight is None or any(w > budget // 4 for w, budget in zip(weight, self.budgets, strict=True)):
            return value
        weight = tuple(weight)
        if version() != current:
            return value
        with self._lock:
            if current == self._version and key not in self._entries:
                self._entries[key] = (value, weight)
                self._add(weight, 1)
                while any(total > budget for total, budget in zip(self._totals, self.budgets, strict=True)):
                    _, (_, old) = self._entries.popitem(last=False)
                    self._add(old, -1)
        return value

    def _add(self, weight: tuple[int, ...], sign: int) -> None:
        for i, w in enumerate(weight):
            self._totals[i] += sign * w

    def _follow(self, version: Hashable | None) -> None:
        self._entries.clear()
        self._totals = [0] * len(self.budgets)
        self._version = version
