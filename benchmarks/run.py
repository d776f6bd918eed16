"""The benchmark: import synthetic surveys, then time every saved query, the HTTP API, pages and
the service's start, on the embedded store, against the raw engine and against engine servers.

    python benchmarks/run.py                       # 10k, 100k, 1M triples (long)
    python benchmarks/run.py --quick               # 10k only, few repeats: what CI runs
    python benchmarks/run.py --sizes 10k 100k --engines oxigraph virtuoso

For each size: a fresh embedded store with the bundled data, the synthetic waves imported through
the real import path (mapping, SHACL, one import each; then, into another fresh store, all in one
import, ``--import-runs`` times, the median reported; and each import step alone,
benchmarks/floor.py); then, for every saved query that runs
with its defaults, the median and p95 of repeated runs after warm-up through clusterkg
(`SavedQuery.run`) and of the same bound SPARQL on pyoxigraph directly, the two sides' runs
alternating (the ratio is clusterkg's overhead); `/api/queries/NAME`, `/sparql` and pages over HTTP
from `clusterkg serve` (sent with `Cache-Control: no-cache`, so the service's result cache does not
answer; each API request alternating with a raw-engine run of the same SPARQL), its cold start
and light-query throughput (uncached and as served; medians of three starts and three rounds),
resident memory; and the same saved queries on the engine servers given with ``--engines``
(loaded with the same quads; each run alternating with a run through clusterkg).
A comparison that a target judges (the API against the raw engine, clusterkg against an engine
server) whose first alternated series comes within 10% of the target's line, met or not, is timed
in a second series and judged on both. A query is stopped at ``--cap`` seconds. Writes
benchmarks/REPORT.md, REPORT.json and scaling.svg
(or ``--output``) after each size. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from benchmarks import floor, generate  # noqa: E402
from graph.config import Settings  # noqa: E402
from graph.gc_tuning import fewer_collections  # noqa: E402
from graph.importer import Importer  # noqa: E402
from graph.queries import load_queries  # noqa: E402
from graph.store.embedded import EmbeddedStore  # noqa: E402
from graph.store.handle_reads import materialise  # noqa: E402

BASE = "https://w3id.org/clusterkg/data/"
CLI = Path(sys.executable).with_name("clusterkg")
PAGES = ["/", "/clusters", "/figures/2", "/queries/clusters-sharing", "/matrix"]
LIGHT_QUERY = "/api/queries/cluster-details"  # one cluster's facts: the "light query" of issue #8
TARGET_MS = {"clusters-sharing": 100, "cluster-profile": 100, "clusters-by-theme": 100, "similar-clusters": 100,
             "option-counts": 500, "theme-overview": 500, "challenge-cooccurrence": 2000}
KEY_QUERIES = list(TARGET_MS)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "runs": len(ordered)}


def _once(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


MIN_TIMED_S = 1.0  # a fast action is timed at least this long in all ...
MAX_RUNS = 41  # ... with at most this many runs: a median of 5 runs of a 3 ms request was noise, and
# the median of 14 alternated runs of option-counts (20 ms at 1M) put the API 10 ms behind the raw
# engine in one full run, 4 ms in the run before, 1.5 ms timed again alone (session 15)


def _time(action, repeats: int, warmup: int = 2, budget_s: float = 60.0) -> dict[str, float]:
    """Median and p95 of at least ``repeats`` runs after ``warmup`` runs (a fast action: as many
    runs as fill ``MIN_TIMED_S``, at most ``MAX_RUNS``). An action slower than the budget allows
    gets its first run as the only warm-up and as many timed runs as fit in ``budget_s`` (at least
    one; ``runs`` says how many), so that one slow query cannot hold the whole run up."""
    first = _once(action)
    if first * (warmup + repeats) <= budget_s:
        for _ in range(warmup - 1):
            _once(action)
        runs = max(repeats, min(MAX_RUNS, int(MIN_TIMED_S / max(first, 1e-6))))
    else:
        runs = max(1, min(repeats, int(budget_s / first)))
    return _stats([_once(action) for _ in range(runs)])


def _raw_child(store_path: str) -> None:
    """In a child process (so that a query can be stopped): for each JSON line on stdin (a query
    text), run it once on pyoxigraph directly and answer the seconds it took, as a line."""
    raw = ox.Store.read_only(store_path)
    for line in sys.stdin:
        text = json.loads(line)
        started = time.perf_counter()
        materialise(raw.query(text, use_default_graph_as_union=True), None)
        print(json.dumps(time.perf_counter() - started), flush=True)


class RawEngine:
    """pyoxigraph on the store, in a long-lived child process: one timed run per call, so that its
    runs can alternate with clusterkg's (a machine whose speed drifts then moves both sides alike;
    two blocks timed tens of seconds apart once gave ratios 0.6-1.8x of the same code)."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.proc: subprocess.Popen | None = None

    def run(self, text: str, cap_s: float) -> float | None:
        """Seconds for one run, or None if it was stopped at ``cap_s`` (the child is then killed,
        and the next call starts a fresh one)."""
        import select

        if self.proc is None:
            self.proc = subprocess.Popen([sys.executable, __file__, "--raw-child", str(self.store_path)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(text) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], cap_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            return None
        return float(line)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


class Capped(Exception):
    """An action was stopped at the benchmark's cap (e.g. the service answered 503 at its limit)."""


def _time_interleaved(ours, raw, repeats: int, warmup: int = 2, budget_s: float = 60.0,
                      close: Callable[[float, float], bool] | None = None) -> tuple[dict, dict]:
    """:func:`_time` for two actions at once, their runs alternating (which goes first alternates
    too); ``ours`` raises QueryTimeout or :class:`Capped` on its cap, ``raw`` returns None. A side
    that hit its cap is reported as capped, and the other is timed alone.

    ``close(ours_s, raw_s)``: whether the two medians are near the line a target draws between
    them; if they are, a second alternated series is timed and both are judged on the two series'
    runs together (``series``: 2). This machine's speed swings 20-30% within minutes, and a row
    within a few per cent of its line was met in one full run and missed in the next; every row
    near its line, met or not, gets the second series, so the rule favours neither verdict."""
    first = _interleaved_runs(ours, raw, repeats, warmup, budget_s)
    series = 1
    if close is not None and first[0] and first[1] and close(statistics.median(first[0]),
                                                            statistics.median(first[1])):
        again = _interleaved_runs(ours, raw, repeats, 1, budget_s)
        if again[0] and again[1]:
            first = (first[0] + again[0], first[1] + again[1])
            series = 2
    return tuple({**_stats(s), "series": series} if s else {"capped_s": budget_s}  # type: ignore[return-value]
                 for s in first)


def _interleaved_runs(ours, raw, repeats: int, warmup: int, budget_s: float) -> tuple[list[float], list[float]]:
    """The seconds of each side's runs (:func:`_time_interleaved`); a side that hit its cap: []."""
    from graph.store import QueryTimeout

    def our_once() -> float | None:
        try:
            return _once(ours)
        except (QueryTimeout, Capped):
            return None

    first = (our_once(), raw())  # the first runs warm up, as in _time
    if first[0] is None or first[1] is None:
        alone: list[list[float]] = []
        for seconds, action in zip(first, (our_once, raw), strict=True):
            alone.append([t for t in (action() for _ in range(repeats)) if t is not None] if seconds is not None
                         else [])
        return alone[0], alone[1]
    slowest = max(first)
    if slowest * 2 * (warmup + repeats) <= budget_s:
        for _ in range(warmup - 1):
            our_once(), raw()
        runs = max(repeats, min(MAX_RUNS, int(MIN_TIMED_S / max(slowest, 1e-6))))
    else:
        runs = max(1, min(repeats, int(budget_s / (2 * slowest))))
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(runs):
        if i % 2 == 0:
            mine, theirs = our_once(), raw()
        else:
            theirs, mine = raw(), our_once()
        for side, seconds in enumerate((mine, theirs)):
            if seconds is not None:
                samples[side].append(seconds)
    return samples


NEAR = 0.1  # a median within 10% of a target's line is "near" it (_time_interleaved's ``close``)


def _near(value: float, line: float) -> bool:
    return line / (1 + NEAR) <= value <= line * (1 + NEAR)


def near_api_line(api_s: float, raw_s: float) -> bool:
    """The API's median near the API target's line: 1.3x the raw engine, or +5 ms."""
    return _near(api_s, max(raw_s * 1.3, raw_s + 0.005))


def near_engine_line(ours_s: float, engine_s: float) -> bool:
    """clusterkg's median near an engine server's (the line of "not slower than the engine")."""
    return _near(ours_s, engine_s)


def survey_files(size: int, workdir: Path, seed: int) -> list[Path]:
    weights = generate.option_weights()
    return generate.generate(size, workdir, seed, weights, generate.triples_per_row(seed, weights))


def import_size(store_path: Path, files: list[Path], *, together: bool = False) -> dict[str, float]:
    """``files`` imported into a fresh store with the bundled data: one import each, or with
    ``together`` all in one (``Importer.import_files``: one write, one compaction)."""
    subprocess.run([str(CLI), "--store", str(store_path), "init"], check=True, capture_output=True)
    store = EmbeddedStore(store_path)
    importer = Importer(store, Settings(base_iri=BASE, store_path=store_path))
    started = time.perf_counter()
    with fewer_collections():  # as `clusterkg import` and the service's jobs import
        if together:
            triples = sum(o.triples for o in importer.import_files(files))
        else:
            triples = sum(importer.import_file(path).triples for path in files)
    seconds = time.perf_counter() - started
    store.close()
    return {"files": len(files), "triples": triples, "seconds": seconds, "triples_per_s": triples / seconds}


def import_together(store_path: Path, files: list[Path], runs: int) -> dict:
    """``files`` in one import, ``runs`` times, each into a fresh store with the bundled data: the
    median run (by its time), with every run's seconds (this machine's speed drifts from minute to
    minute: one run says little of a rate within 10-20% of a target)."""
    done = []
    for _ in range(max(1, runs)):
        done.append(import_size(store_path, files, together=True))
        shutil.rmtree(store_path)
    ordered = sorted(done, key=lambda run: run["seconds"])
    return {**ordered[(len(ordered) - 1) // 2], "runs_s": [run["seconds"] for run in done]}


def time_queries(store_path: Path, repeats: int, cap_s: float) -> dict[str, dict]:
    """Each saved query through clusterkg as the service runs it (in a query worker, stopped at
    ``cap_s``) and the same text on pyoxigraph directly (in a child process, stopped likewise)."""
    from graph.store import with_query_limits

    plain = EmbeddedStore(store_path, read_only=True)
    store = with_query_limits(plain, Settings(base_iri=BASE, store_path=store_path, query_timeout=cap_s,
                                              query_workers=1, query_memory_mb=4096))
    engine_child = RawEngine(store_path)
    out = {}
    for name, query in load_queries().items():
        if any(p.type == "endpoint" for p in query.params):
            continue
        try:
            text = query.bind(store, {})
        except ValueError:
            continue

        def through_clusterkg(query=query) -> None:
            query.run(store, {})

        def raw_once(text=text) -> float | None:
            return engine_child.run(text, cap_s)

        print(f"  {name}", flush=True)
        ours, engine = _time_interleaved(through_clusterkg, raw_once, repeats, budget_s=cap_s)
        both = "median_ms" in ours and "median_ms" in engine
        ratio = ours["median_ms"] / max(engine["median_ms"], 1e-6) if both else None
        out[name] = {"clusterkg": ours, "raw": engine, "ratio": ratio}
    engine_child.close()
    store.close()
    plain.close()
    return out


NO_CACHE = {"Cache-Control": "no-cache"}  # the service's result cache skipped: the engine's own answer


def _get(port: int, path: str, accept: str = "application/json", cached: bool = False) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", path, headers={"Accept": accept, **({} if cached else NO_CACHE)})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status == 503:
        raise Capped(f"{path}: HTTP 503")
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")


def _rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (the query workers)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
        for child in children:  # the forkserver's workers are grandchildren
            pids += [int(g) for g in Path(f"/proc/{child}/task/{child}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _throughput(port: int, path: str, seconds: float, clients: int = 8, cached: bool = False) -> dict:
    """Requests per second that ``clients`` keep-alive clients get from ``path`` (the clients run
    on the same two cores as the service: a lower bound); ``cached``: as a browser asks, so the
    service's result cache answers repeats, else with ``Cache-Control: no-cache``."""
    import threading

    counts = [0] * clients
    errors = [0] * clients
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            conn.request("GET", path, headers={"Accept": "application/json", **({} if cached else NO_CACHE)})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                counts[i] += 1
            else:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"path": path, "clients": clients, "seconds": elapsed, "requests": sum(counts),
            "errors": sum(errors), "rps": sum(counts) / elapsed, "cached": cached}


def _time_or_error(action, repeats: int, budget_s: float, **kwargs) -> dict:
    """``_time``, or what stopped the action (a query over the service's time limit answers 503)."""
    try:
        return _time(action, repeats, budget_s=budget_s, **kwargs)
    except Exception as exc:  # a failing request or engine is a finding for the report, not a crash
        return {"error": " ".join(str(exc).split())[:200]}


def _start_serve(store_path: Path, port: int, log, cap_s: float) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), "serve", "--store", str(store_path), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "CLUSTERKG_BASE_IRI": BASE, "CLUSTERKG_QUERY_TIMEOUT": str(cap_s)})


def _wait_until_serving(proc: subprocess.Popen, port: int, started: float, log_path: Path) -> float:
    """Seconds from ``started`` until the service answers its first request."""
    while True:
        try:
            _get(port, "/api/queries")
            return time.perf_counter() - started
        except (OSError, RuntimeError):
            if proc.poll() is not None or time.perf_counter() - started > 60:
                raise RuntimeError("serve did not start: " + log_path.read_text()) from None
            time.sleep(0.02)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def time_http(store_path: Path, repeats: int, workdir: Path, cap_s: float, rounds: int = 3) -> dict:
    """The service over HTTP. Each API request alternates with a run of the same SPARQL on the raw
    engine (``api_raw``), so the API's ratio is of two sides timed together; cold start and the
    light query's requests/s are medians of ``rounds`` starts and ``rounds`` rounds."""
    from tests.engines import free_port

    port = free_port()
    log_path = workdir / "serve.log"
    log = log_path.open("w")
    cold_starts = []
    for _ in range(rounds - 1):  # the extra starts first: the last one is kept serving
        started = time.perf_counter()
        proc = _start_serve(store_path, port, log, cap_s)
        try:
            cold_starts.append(_wait_until_serving(proc, port, started, log_path))
        finally:
            _stop(proc)
    started = time.perf_counter()
    proc = _start_serve(store_path, port, log, cap_s)
    plain = EmbeddedStore(store_path, read_only=True)
    engine_child = RawEngine(store_path)
    try:
        cold_starts.append(_wait_until_serving(proc, port, started, log_path))
        out: dict = {"cold_start_s": statistics.median(cold_starts), "cold_starts_s": cold_starts,
                     "api": {}, "api_raw": {}, "pages": {}}
        for name, query in load_queries().items():
            if query.params and any(p.type == "endpoint" for p in query.params):
                continue
            def over_http(name=name) -> None:
                _get(port, f"/api/queries/{name}")

            def raw_once(query=query) -> float | None:
                return engine_child.run(query.bind(plain, {}), cap_s)

            try:
                out["api"][name], out["api_raw"][name] = _time_interleaved(over_http, raw_once, repeats,
                                                                           budget_s=cap_s, close=near_api_line)
            except Exception as exc:  # a failing request (or a query that needs a value) is a finding
                out["api"][name] = {"error": " ".join(str(exc).split())[:200]}
        seconds = 5.0 if repeats < 20 else 10.0
        for key, cached in (("light_rps", False), ("light_rps_cached", True)):
            runs = [_throughput(port, LIGHT_QUERY, seconds, cached=cached) for _ in range(rounds)]
            best = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]  # the median round
            out[key] = {**best, "rounds_rps": [r["rps"] for r in runs]}
        sparql = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        out["sparql_count_all"] = _time_or_error(
            lambda: _get(port, "/sparql?" + urllib.parse.urlencode({"query": sparql})), repeats, cap_s)
        for page in PAGES:
            out["pages"][page] = _time_or_error(lambda page=page: _get(port, page, "text/html"), repeats, cap_s)
        out["rss_mb"] = _rss_kb(proc.pid) / 1024
        return out
    finally:
        engine_child.close()
        plain.close()
        _stop(proc)
        log.close()


def time_engines(store_path: Path, engines: list[str], repeats: int, workdir: Path, cap_s: float) -> dict:
    """The saved queries on each engine server loaded with the store's quads, each run alternating
    with a run through clusterkg's embedded store (``clusterkg`` in each cell), so that "slower
    than the engine" compares two sides timed together."""
    from graph.store import QueryTimeout, with_query_limits
    from graph.store.remote import RemoteStore
    from tests.engines import OxigraphServer, VirtuosoServer

    plain = EmbeddedStore(store_path, read_only=True)
    nquads = plain.dump_nquads()
    ours = with_query_limits(plain, Settings(base_iri=BASE, store_path=store_path, query_timeout=cap_s,
                                             query_workers=1, query_memory_mb=4096))
    out: dict = {}
    try:
        for name in engines:
            directory = workdir / name
            directory.mkdir()
            server = {"oxigraph": OxigraphServer, "virtuoso": VirtuosoServer}[name](directory)
            with server:
                settings = Settings(base_iri=BASE, store_path=directory / "unused", endpoint=server.query_url,
                                    update_endpoint=server.update_url, graph_store=server.graph_store_url,
                                    auth=server.auth, auth_type=server.auth_type)
                remote = RemoteStore(settings)
                try:
                    _load(server, remote, nquads)
                except Exception as exc:  # an engine that cannot take the data is a finding, not a crash
                    out[name] = {"load_error": " ".join(str(exc).split())[:300]}
                    continue
                remote.query_timeout_s = cap_s
                out[name] = {}
                for qname, query in load_queries().items():
                    if any(p.type == "endpoint" for p in query.params):
                        continue

                    def through_clusterkg(query=query) -> None:
                        query.run(ours, {})

                    def on_engine(query=query, remote=remote) -> float | None:
                        try:
                            return _once(lambda: query.run(remote, {}))
                        except QueryTimeout:
                            return None

                    try:
                        mine, theirs = _time_interleaved(through_clusterkg, on_engine, repeats, warmup=1,
                                                         budget_s=cap_s, close=near_engine_line)
                        out[name][qname] = {**theirs, "clusterkg": mine}
                    except Exception as exc:  # e.g. the engine refused the query: a finding
                        out[name][qname] = {"error": " ".join(str(exc).split())[:200]}
                remote.close()
    finally:
        ours.close()
        plain.close()
    return out


def _load(server, remote, nquads: bytes) -> None:
    """The same quads into an engine server: one graph per transaction (as the imports were
    written), since one transaction for a million quads is more than an engine need accept."""
    from rdflib import Dataset

    server.reset(b"")
    dataset = Dataset()
    dataset.parse(data=nquads, format="nquads")
    for graph in dataset.graphs():
        if len(graph):
            remote.replace_graphs({str(graph.identifier): graph})


def report_markdown(result: dict) -> str:
    lines = ["# clusterkg benchmark report", "",
             f"Run {result['when']} on {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, "
             f"{result['machine']['platform']}. Regenerate with `{result['command']}`.", ""]
    for size in result["sizes"]:
        s = result["by_size"][size]
        imp = s["import"]
        lines += [f"## {size}: {imp['triples']:,} imported triples", "",
                  f"Import with SHACL: {imp['files']} file(s), one import each, {imp['seconds']:.1f} s, "
                  f"**{imp['triples_per_s']:,.0f} triples/s** end to end.", ""]
        if "import_together" in s:
            both = s["import_together"]
            runs = both.get("runs_s", [both["seconds"]])
            of = (f"the median of {len(runs)} runs ({', '.join(f'{t:.1f}' for t in runs)} s), " if len(runs) > 1
                  else "")
            lines += [f"All {both['files']} files in one import (`clusterkg import` given them all: one write, one "
                      f"compaction; into another fresh store, the queries below run on the first): "
                      f"{of}{both['seconds']:.1f} s, **{both['triples_per_s']:,.0f} triples/s**.", ""]
        if "import_floor" in s:
            lines += _floor_lines(s["import_floor"])
        engines = sorted(s.get("engines", {}))
        head = ("| query | clusterkg p50 ms | p95 ms | raw pyoxigraph p50 ms | ratio | HTTP API p50 ms | "
                "raw, alongside the API | API ratio |")
        head += "".join(f" {e} p50 ms (clusterkg alongside) |" for e in engines)
        lines += [head, "| --- |" + " ---: |" * (7 + len(engines))]
        http = s.get("http", {})
        for name, q in s["queries"].items():
            api = http.get("api", {}).get(name, {})
            api_raw = http.get("api_raw", {}).get(name, {})
            ratio = f"{q['ratio']:.2f}" if q.get("ratio") else "—"
            api_ratio = (f"{api['median_ms'] / max(api_raw['median_ms'], 1e-6):.2f}"
                         if "median_ms" in api and "median_ms" in api_raw else "—")
            row = (f"| `{name}` | {_ms(q['clusterkg'])} | {_ms(q['clusterkg'], 'p95_ms')} | {_ms(q['raw'])} | "
                   f"{ratio} | {_ms(api)} | {_ms(api_raw)} | {api_ratio} |")
            for e in engines:
                cell = s["engines"][e].get(name, {})
                alongside = f" ({_ms(cell['clusterkg'])})" if "clusterkg" in cell else ""
                row += f" {_ms(cell)}{alongside} |"
            lines.append(row)
        for e in engines:
            if "load_error" in s["engines"][e]:
                lines += ["", f"{e} could not be loaded with the data: {s['engines'][e]['load_error']}"]
        if "http" in s:
            h = s["http"]
            starts = ", ".join(f"{t:.2f}" for t in h.get("cold_starts_s", []))
            rounds = ", ".join(f"{r:.0f}" for r in h["light_rps"].get("rounds_rps", []))
            cached_rounds = ", ".join(f"{r:.0f}" for r in h.get("light_rps_cached", {}).get("rounds_rps", []))
            lines += ["", f"`clusterkg serve`: cold start {h['cold_start_s']:.2f} s (median of starts: {starts}), "
                          f"resident memory {h['rss_mb']:.0f} MB (service and query workers); `/sparql` count of "
                          f"all triples p50 {_ms(h['sparql_count_all'])} ms; `{h['light_rps']['path']}` "
                          f"{h['light_rps']['rps']:.0f} requests/s uncached (median of rounds: {rounds}), "
                          f"{h.get('light_rps_cached', {}).get('rps', 0):.0f} requests/s from the result cache "
                          f"({cached_rounds}; {h['light_rps']['clients']} clients, "
                          f"{h['light_rps']['errors']} errors). Timings over HTTP skip the result cache "
                          "(`Cache-Control: no-cache`) unless said otherwise; the API's requests alternate with "
                          "runs of the same SPARQL on the raw engine (its own column), and each engine server's "
                          "runs with runs through clusterkg (in brackets).", "",
                      "| page | p50 ms | p95 ms |", "| --- | ---: | ---: |"]
            lines += [f"| `{p}` | {_ms(v)} | {_ms(v, 'p95_ms')} |" for p, v in h["pages"].items()]
        lines.append("")
    lines += targets_markdown(result)
    if len(result["sizes"]) > 1:
        lines += ["## Growth", "", "![p50 of the key saved queries by store size, log-log](scaling.svg)", "",
                  "| query | " + " | ".join(result["sizes"]) + " |", "| --- |" + " ---: |" * len(result["sizes"])]
        for name in KEY_QUERIES:
            cells = [_ms(result["by_size"][size]["queries"].get(name, {}).get("clusterkg", {}))
                     for size in result["sizes"]]
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
        rates = {"import triples/s, one import a file": "import", "import triples/s, all files in one import":
                 "import_together", "import's steps alone, best triples/s on these cores": "import_floor"}
        for row, key in rates.items():
            lines.append(f"| {row} | " + " | ".join(_rate(result["by_size"][size], key) for size in result["sizes"])
                         + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _rate(entry: dict, key: str) -> str:
    """A size's import rate of one kind; a single file's import is also "all files in one"."""
    if key == "import_floor":
        return f"{entry[key]['best_triples_per_s']:,.0f}" if key in entry else "—"
    return f"{entry.get(key, entry['import'])['triples_per_s']:,.0f}"


def _ms(cell: dict, key: str = "median_ms") -> str:
    if key in cell:
        return f"{cell[key]:.1f}"
    if "capped_s" in cell:
        return f"> {cell['capped_s'] * 1000:.0f}"
    return (cell.get("error") or "—")[:40]


def _verdict(ok: bool, detail: str) -> str:
    return ("met" if ok else "**missed**") + f" ({detail})"


def targets_markdown(result: dict) -> list[str]:
    """Issue #8's targets, judged on the largest size run (they are stated for 1M triples)."""
    size = result["sizes"][-1]
    s = result["by_size"][size]
    lines = [f"## Targets (issue #8, stated for 1M triples; judged here on {size})", "",
             "| target | result |", "| --- | --- |"]
    for name, limit in TARGET_MS.items():
        cell = s["queries"].get(name, {}).get("clusterkg", {})
        got = cell.get("median_ms", cell.get("capped_s", 1e9) * 1000)
        lines.append(f"| `{name}` p50 < {limit} ms | " + _verdict(
            got < limit, f"{_ms(cell)} ms" + ("" if got < limit else f", {got / limit:.1f}x the target")) + " |")
    api = s.get("http", {}).get("api", {})
    api_raw = s.get("http", {}).get("api_raw", {})  # timed alternating with the API's requests
    slow = []
    for name, q in s["queries"].items():
        raw = api_raw.get(name, q["raw"]).get("median_ms")
        through = api.get(name, {}).get("median_ms")
        if raw is not None and through is not None and through > max(raw * 1.3, raw + 5):
            slow.append(f"`{name}` {through:.1f} vs {raw:.1f} ms")
    lines.append("| API within 1.3x (or +5 ms) of the raw engine, every saved query | "
                 + _verdict(not slow, "; ".join(slow) if slow else "all") + " |")
    for engine in sorted(s.get("engines", {})):
        if "load_error" in s["engines"][engine]:
            lines.append(f"| no saved query slower on the embedded store than on {engine} | not measured "
                         "(the engine could not be loaded) |")
            continue
        behind = []
        for name, q in s["queries"].items():
            cell = s["engines"][engine].get(name, {})
            ours, theirs = cell.get("clusterkg", q["clusterkg"]).get("median_ms"), cell.get("median_ms")
            if ours is not None and theirs is not None and ours > theirs:
                behind.append(f"`{name}` {ours:.1f} vs {theirs:.1f} ms")
        lines.append(f"| no saved query slower on the embedded store than on {engine} | "
                     + _verdict(not behind, "; ".join(behind) if behind else "none slower") + " |")
    rate = s["import"]["triples_per_s"]
    together = s.get("import_together", {}).get("triples_per_s")
    shown = f"{rate:,.0f}/s one import a file" + (f", {together:,.0f}/s all in one import" if together else "")
    bound = (f"; its steps alone, perfectly overlapped on {s['import_floor']['cores']} cores, at best "
             f"{s['import_floor']['best_triples_per_s']:,.0f}/s" if "import_floor" in s else "")
    lines.append("| import with SHACL >= 50,000 triples/s | "
                 + _verdict(max(rate, together or 0) >= 50_000, f"{shown}{bound}") + " |")
    twice = [f"`{name}` over the API" for name, cell in api.items() if cell.get("series") == 2]
    twice += [f"`{name}` against {engine}" for engine in sorted(s.get("engines", {}))
              for name, cell in s["engines"][engine].items()
              if isinstance(cell, dict) and cell.get("clusterkg", {}).get("series") == 2]
    if "http" in s:
        h = s["http"]
        rps = h["light_rps"]["rps"]
        cached = h.get("light_rps_cached", {}).get("rps", 0)
        lines += [f"| `{h['light_rps']['path']}` >= 300 requests/s (uncached: every request runs the query) | "
                  + _verdict(rps >= 300, f"{rps:.0f}/s") + " |",
                  f"| `{h['light_rps']['path']}` >= 300 requests/s (as served: repeats from the result cache) | "
                  + _verdict(cached >= 300, f"{cached:.0f}/s") + " |",
                  "| cold start of `serve` < 2 s | "
                  + _verdict(h["cold_start_s"] < 2, f"{h['cold_start_s']:.2f} s") + " |",
                  "| resident memory < 1 GB | " + _verdict(h["rss_mb"] < 1024, f"{h['rss_mb']:.0f} MB") + " |"]
    if twice:
        lines += ["", f"Timed in a second alternated series, and judged on both series' runs together, since "
                      f"their first series came within {NEAR:.0%} of the target's line (met or not): "
                      + ", ".join(twice) + "."]
    return [*lines, ""]


def _floor_lines(found: dict) -> list[str]:
    """The import's steps alone (benchmarks/floor.py) and the best rate their CPU time allows."""
    return [f"The same files' import steps alone, one after another (`benchmarks/floor.py`; without the "
            f"summary's maintenance, the commit and a compaction per load, so a lower bound): "
            f"{found['cpu_s']:.1f} CPU-s for {found['triples']:,} triples, so no overlap of them on "
            f"{found['cores']} cores can finish in less than {found['best_s']:.1f} s: at best "
            f"**{found['best_triples_per_s']:,.0f} triples/s**.", "", *floor.table(found), ""]


def scaling_svg(result: dict) -> str:
    """A log-log chart of the key queries' p50 (and the import's seconds) by imported triples."""
    import math

    sizes = result["sizes"]
    xs = [result["by_size"][z]["import"]["triples"] for z in sizes]
    series = {name: [result["by_size"][z]["queries"].get(name, {}).get("clusterkg", {}).get("median_ms")
                     for z in sizes] for name in KEY_QUERIES}
    values = [v for vs in series.values() for v in vs if v]
    if not values or len(xs) < 2:
        return ""
    w, h, left, bottom = 640, 400, 70, 50
    lx0, lx1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    ly0, ly1 = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))

    def px(x: float) -> float:
        return left + (math.log10(x) - lx0) / (lx1 - lx0) * (w - left - 180)

    def py(y: float) -> float:
        return h - bottom - (math.log10(y) - ly0) / max(ly1 - ly0, 1) * (h - bottom - 20)

    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    for e in range(ly0, ly1 + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 180}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10 ** e:g} ms</text>')
    for x, z in zip(xs, sizes, strict=True):
        out.append(f'<line x1="{px(x):.1f}" y1="20" x2="{px(x):.1f}" y2="{h - bottom}" stroke="#eee"/>'
                   f'<text x="{px(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">{x:,} ({z})</text>')
    out.append(f'<text x="{(w - 180 + left) / 2}" y="{h - 10}" text-anchor="middle">imported triples (log)</text>')
    for i, (name, vs) in enumerate(series.items()):
        pts = [(px(x), py(v)) for x, v in zip(xs, vs, strict=True) if v]
        colour = colours[i % len(colours)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                   + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
        out.append(f'<text x="{w - 172}" y="{30 + i * 16}" fill="{colour}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["10k", "100k", "1m"])
    parser.add_argument("--engines", nargs="*", default=["oxigraph", "virtuoso"], choices=["oxigraph", "virtuoso"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--quick", action="store_true", help="10k only, 5 repeats, no engine servers")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds a query may take before it is stopped")
    parser.add_argument("--import-runs", type=int, default=3,
                        help="imports of all files in one, each into a fresh store: the median is reported")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "REPORT.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.engines, args.import_runs = ["10k"], 5, [], 1
    result: dict = {"when": datetime.now(UTC).replace(microsecond=0).isoformat(),
                    "command": "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "platform": platform.platform()},
                    "sizes": args.sizes, "by_size": {}}
    for label in args.sizes:
        size = generate.SIZES.get(label.lower()) or int(label)
        with tempfile.TemporaryDirectory(prefix="clusterkg-bench-") as tmp:
            workdir = Path(tmp)
            store_path = workdir / "store"
            print(f"[{label}] importing ...", flush=True)
            files = survey_files(size, workdir, args.seed)
            entry: dict = {"import": import_size(store_path, files)}
            print(f"[{label}] {entry['import']['triples']} triples at {entry['import']['triples_per_s']:.0f}/s",
                  flush=True)
            if len(files) > 1:
                print(f"[{label}] all {len(files)} files in one import, {args.import_runs} time(s) ...", flush=True)
                entry["import_together"] = import_together(workdir / "store-together", files, args.import_runs)
                print(f"[{label}] {entry['import_together']['triples_per_s']:.0f}/s", flush=True)
            print(f"[{label}] the import's steps alone ...", flush=True)
            entry["import_floor"] = floor.import_floor(files)
            print(f"[{label}] at best {entry['import_floor']['best_triples_per_s']:.0f}/s; timing queries ...",
                  flush=True)
            entry["queries"] = time_queries(store_path, args.repeats, args.cap)
            print(f"[{label}] HTTP ...", flush=True)
            entry["http"] = time_http(store_path, args.repeats, workdir, args.cap, rounds=1 if args.quick else 3)
            result["by_size"][label] = entry
            write_report(result, args.output, done=result["sizes"].index(label) + 1)
            if args.engines:
                print(f"[{label}] engine servers {', '.join(args.engines)} ...", flush=True)
                entry["engines"] = time_engines(store_path, args.engines, args.repeats, workdir, args.cap)
            result["by_size"][label] = entry
        write_report(result, args.output, done=result["sizes"].index(label) + 1)
    return 0


def write_report(result: dict, output: Path, done: int) -> None:
    """The report of the sizes done so far (written after each size, so a long run that is stopped
    keeps what it measured)."""
    partial = {**result, "sizes": result["sizes"][:done]}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report_markdown(partial), encoding="utf-8")
    output.with_suffix(".json").write_text(json.dumps(partial, indent=2) + "\n", encoding="utf-8")
    chart = scaling_svg(partial)
    if chart:
        output.with_name("scaling.svg").write_text(chart, encoding="utf-8")
    print(f"wrote {output} and {output.with_suffix('.json')} ({', '.join(partial['sizes'])})", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--raw-child":
        _raw_child(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
