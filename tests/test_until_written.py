"""The one cache (graph.until_written): kept while the store's version stands, forgotten when it
moves, never kept across a write that happened while it was computed, within its budgets, and one
computation for threads that miss together."""

from __future__ import annotations

import threading
import time

from graph.until_written import UntilWritten


class Version:
    def __init__(self) -> None:
        self.value: str | None = "1"

    def __call__(self) -> str | None:
        return self.value


def _counting(value: object) -> tuple[list[int], object]:
    calls: list[int] = []

    def compute() -> object:
        calls.append(1)
        return value
    return calls, compute


def test_kept_while_the_version_stands_and_forgotten_when_it_moves() -> None:
    cache: UntilWritten[str, object] = UntilWritten((10,), lambda _: (1,))
    version = Version()
    calls, compute = _counting("a")
    assert [cache.get("k", compute, version) for _ in range(3)] == ["a"] * 3
    assert len(calls) == 1 and (cache.hits, cache.misses) == (2, 1)
    version.value = "2"
    assert cache.get("k", compute, version) == "a" and len(calls) == 2
    cache.clear()
    assert cache.get("k", compute, version) == "a" and len(calls) == 3


def test_nothing_kept_for_a_store_that_cannot_say_when_it_changes() -> None:
    cache: UntilWritten[str, object] = UntilWritten((10,), lambda _: (1,))
    version = Version()
    version.value = None
    calls, compute = _counting("a")
    cache.get("k", compute, version)
    cache.get("k", compute, version)
    assert len(calls) == 2 and cache.weights() == (0,)


def test_a_value_computed_across_a_write_is_not_kept() -> None:
    cache: UntilWritten[str, object] = UntilWritten((10,), lambda _: (1,))
    version = Version()

    def written_meanwhile() -> object:
        version.value = "2"
        return "before the write"

    assert cache.get("k", written_meanwhile, version) == "before the write"
    calls, compute = _counting("after")
    assert cache.get("k", compute, version) == "after" and len(calls) == 1


def test_budgets_least_recently_used_first_out_and_big_or_unweighed_values_never_kept() -> None:
    cache: UntilWritten[str, int | None] = UntilWritten((8, 100), lambda v: None if v is None else (1, v))
    version = Version()
    for key in "abcd":
        cache.get(key, lambda: 25, version)
    cache.get("a", lambda: 0, version)  # "a" is used again: "b" is the least recent
    cache.get("e", lambda: 25, version)
    assert cache.weights() == (4, 100)
    calls, compute = _counting(25)
    cache.get("b", compute, version)
    assert len(calls) == 1  # "b" was let go
    cache.get("big", lambda: 26, version)  # more than a quarter of the byte budget
    cache.get("none", lambda: None, version)
    assert cache.weights()[1] <= 100 and cache.get("big", lambda: -1, version) == -1
    assert cache.get("none", lambda: -2, version) == -2


def test_threads_that_miss_together_wait_for_one_computation() -> None:
    cache: UntilWritten[str, object] = UntilWritten((10,), lambda _: (1,), single_flight=True)
    version = Version()
    calls: list[int] = []
    start = threading.Barrier(6)

    def slow() -> object:
        calls.append(1)
        time.sleep(0.3)
        return "members"

    answers: list[object] = []

    def ask() -> None:
        start.wait()
        answers.append(cache.get("k", slow, version))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert answers == ["members"] * 6 and len(calls) == 1


def test_a_failed_computation_is_not_kept_and_the_next_one_runs() -> None:
    cache: UntilWritten[str, object] = UntilWritten((10,), lambda _: (1,), single_flight=True)
    version = Version()

    def failing() -> object:
        raise TimeoutError("the engine did not answer")

    for _ in range(2):
        try:
            cache.get("k", failing, version)
        except TimeoutError:
            pass
        else:
            raise AssertionError("the failure was swallowed")
    assert cache.get("k", lambda: "now", version) == "now" and cache.weights() == (1,)
