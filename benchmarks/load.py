"""Load test: many concurrent clients mixing saved queries, pages and /sparql against `clusterkg serve`.

    python benchmarks/load.py                       # 50 clients for 60 s on the bundled data
    python benchmarks/load.py --clients 10 --duration 5 --quick   # what CI runs
    python benchmarks/load.py --fairness            # the same light load without, then with, a runaway a second

It starts `clusterkg serve` on a copy of a store (by default a fresh store with the bundled data)
on a free loopback port, runs the clients, stops the service by its PID and prints a report:
requests, errors, 5xx, throughput and latency percentiles per kind of request. Loopback only and
bounded in time and in requests. ``--output`` writes the report (Markdown) and the raw figures
(JSON beside it). The exit status is 1 if any request failed.

``--runaway-per-s R`` adds another client (another loopback address, 127.0.0.2) that sends R
runaway queries a second, each stopped by the service's time limit; its answers (503, 429) are
expected and reported apart. ``--fairness`` runs the light load twice, without and with one
runaway a second, and reports what the light requests kept: the service's promise is at least
80% of their throughput and a p99 under 1 s.
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
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launchers.servers import ServeProcess  # noqa: E402

CLI = Path(sys.executable).with_name("clusterkg")
BASE = "https://w3id.org/clusterkg/data/"
VOCAB = "https://w3id.org/clusterkg/vocab/"

SPARQL = [
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX ckg: <https://w3id.org/clusterkg/ontology#> "
    "SELECT ?c ?name WHERE { ?c a ckg:Cluster ; skos:prefLabel ?name } ORDER BY ?name",
    "PREFIX ckg: <https://w3id.org/clusterkg/ontology#> "
    "SELECT ?option (COUNT(DISTINCT ?a) AS ?n) WHERE { ?a ckg:matches ?option } GROUP BY ?option ORDER BY DESC(?n)",
    "SELECT (COUNT(*) AS ?triples) WHERE { ?s ?p ?o }",
    "ASK { ?s a <https://w3id.org/clusterkg/ontology#Cluster> }",
]

# (kind, path): the mix every client cycles through, each client from a different offset
MIX: list[tuple[str, str]] = [
    ("saved query", "/api/queries/clusters"),
    ("saved query", "/api/queries/clusters-sharing?" + urllib.parse.urlencode(
        [("concept", VOCAB + "resilience-challenges/supply-chain-transparency"),
         ("concept", VOCAB + "theme/funding-finance")])),
    ("saved query", "/api/queries/cluster-profile?cluster=Biocat"),
    ("saved query", "/api/queries/option-counts?question=9"),
    ("saved query", "/api/queries/theme-overview"),
    ("saved query", "/api/queries/challenge-cooccurrence"),
    ("page", "/"),
    ("page", "/clusters"),
    ("page", "/data/cluster/biocat"),
    ("page", "/figures/1"),
    ("page", "/queries/clusters-sharing"),
    ("page", "/vocab/green-challenges"),
    *[("sparql", "/sparql?" + urllib.parse.urlencode({"query": q})) for q in SPARQL],
]


RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # ~10^10 rows: never finishes
RUNAWAY_CLIENT = "127.0.0.2"  # another client to the service (graph.store.sandbox counts queries per client)


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    runaway_statuses: dict[int, int] = field(default_factory=dict)

    def record(self, kind: str, status: int, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if kind == "runaway":
                self.runaway_statuses[status] = self.runaway_statuses.get(status, 0) + 1
            if error and len(self.errors) < 20 and error not in self.errors:
                self.errors.append(error)


def _client(port: int, offset: int, stop_at: float, budget: threading.Semaphore, tally: Tally,
            headers: dict[str, str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = offset
    while time.monotonic() < stop_at and budget.acquire(blocking=False):
        kind, path = MIX[i % len(MIX)]
        i += 1
        accept = "text/html" if kind == "page" else "application/json"
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept": accept, **headers})
            response = conn.getresponse()
            body = response.read()
            seconds = time.perf_counter() - started
            error = None if response.status == 200 else f"{response.status} {path}: {body[:200]!r}"
            tally.record(kind, response.status, seconds, error)
        except (OSError, http.client.HTTPException) as exc:
            tally.record(kind, 0, time.perf_counter() - started, f"{type(exc).__name__} {path}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.close()


def _runaways(port: int, stop_at: float, per_s: float, tally: Tally) -> None:
    """One runaway query every 1/per_s seconds from RUNAWAY_CLIENT, each on a connection of its own."""
    path = "/sparql?" + urllib.parse.urlencode({"query": RUNAWAY})

    def one() -> None:
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(RUNAWAY_CLIENT, 0))
        try:
            conn.request("GET", path, headers={"Accept": "application/json"})
            response = conn.getresponse()
            response.read()
            tally.record("runaway", response.status, time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as exc:
            tally.record("runaway", 0, time.perf_counter() - started, f"runaway: {exc}")
        finally:
            conn.close()

    sent = []
    next_at = time.monotonic()
    while next_at < stop_at:
        time.sleep(max(0.0, next_at - time.monotonic()))
        thread = threading.Thread(target=one, daemon=True)
        thread.start()
        sent.append(thread)
        next_at += 1 / per_s
    for thread in sent:
        thread.join(timeout=60)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float], seconds: float) -> dict[str, float]:
    return {"requests": len(values), "per_second": len(values) / seconds,
            "p50_ms": _percentile(values, 0.50) * 1000, "p95_ms": _percentile(values, 0.95) * 1000,
            "p99_ms": _percentile(values, 0.99) * 1000, "max_ms": max(values) * 1000,
            "mean_ms": statistics.fmean(values) * 1000}


def _prepare_store(args: argparse.Namespace, workdir: Path) -> Path:
    path = workdir / "store"
    if args.store:
        shutil.copytree(args.store, path)
    else:
        subprocess.run([str(CLI), "--store", str(path), "init"], check=True, capture_output=True)
    return path


def start_service(store: Path, log: Path, threads: int) -> ServeProcess:
    """`clusterkg serve` on the store, answering (launchers.servers)."""
    return ServeProcess(["--store", str(store), "--threads", str(threads)], log, {"CLUSTERKG_BASE_IRI": BASE})


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="clusterkg-load-") as tmp:
        workdir = Path(tmp)
        store = _prepare_store(args, workdir)
        service = start_service(store, workdir / "serve.log", args.threads)
        port = service.port
        try:
            tally = Tally()
            budget = threading.Semaphore(args.max_requests)
            started = time.monotonic()
            stop_at = started + args.duration
            headers = {"Cache-Control": "no-cache"} if args.uncached else {}
            clients = [threading.Thread(target=_client, args=(port, i * 3, stop_at, budget, tally, headers))
                       for i in range(args.clients)]
            if args.runaway_per_s:
                clients.append(threading.Thread(target=_runaways, args=(port, stop_at, args.runaway_per_s, tally)))
            for c in clients:
                c.start()
            for c in clients:
                c.join()
            elapsed = time.monotonic() - started
        finally:
            service.stop()
    light = {kind: values for kind, values in tally.latencies.items() if kind != "runaway"}
    everything = [s for values in light.values() for s in values]
    failed = sum(n for status, n in tally.statuses.items() if status != 200) - \
        sum(n for status, n in tally.runaway_statuses.items() if status in (429, 503))
    return {
        "when": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "settings": {"clients": args.clients, "duration_s": args.duration, "threads": args.threads,
                     "max_requests": args.max_requests, "store": str(args.store or "bundled data"),
                     "runaway_per_s": args.runaway_per_s, "uncached": args.uncached},
        "elapsed_s": elapsed,
        "errors": failed,
        "server_errors": sum(n for status, n in tally.statuses.items() if status >= 500),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "overall": _summary(everything, elapsed) if everything else {},
        "by_kind": {kind: _summary(values, elapsed) for kind, values in sorted(tally.latencies.items())},
        "runaway_statuses": {str(k): v for k, v in sorted(tally.runaway_statuses.items())},
        "error_samples": tally.errors,
    }


def report_markdown(result: dict) -> str:
    lines = [
        "# Load test", "",
        f"Run {result['when']} on {result['machine']['cpus']} CPUs (Python {result['machine']['python']}): "
        f"{result['settings']['clients']} concurrent clients for {result['settings']['duration_s']} s against "
        f"`clusterkg serve` (waitress, {result['settings']['threads']} threads, embedded store, "
        f"{result['settings']['store']}), loopback. Each client cycles through saved queries (`/api/queries`), "
        "HTML pages and `/sparql` queries on one keep-alive connection. Regenerate with "
        "`python benchmarks/load.py --output benchmarks/load-report.md`.", "",
        f"- requests: **{result['overall'].get('requests', 0)}** in {result['elapsed_s']:.1f} s, "
        f"**{result['overall'].get('per_second', 0):.0f}/s**",
        f"- errors: **{result['errors']}**, of which 5xx: **{result['server_errors']}** "
        f"(statuses: {result['statuses']})", "",
        "| requests | count | per s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [("all", result["overall"]), *result["by_kind"].items()]
    for kind, s in rows:
        if s:
            lines.append(f"| {kind} | {s['requests']} | {s['per_second']:.0f} | {s['p50_ms']:.1f} | "
                         f"{s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} |")
    if result["settings"].get("runaway_per_s"):
        lines += ["", f"Beside the light clients, {result['settings']['runaway_per_s']:g} runaway query a second "
                  f"from another client ({RUNAWAY_CLIENT}); its answers: {result['runaway_statuses']} (not counted "
                  "as light requests or errors)."]
    if result["error_samples"]:
        lines += ["", "Errors (first ones):", "", *[f"- `{e}`" for e in result["error_samples"]]]
    return "\n".join(lines) + "\n"


def fairness_markdown(baseline: dict, runaway: dict) -> str:
    """What the light requests kept with one runaway a second, against the same load without."""
    kept = runaway["overall"]["per_second"] / baseline["overall"]["per_second"]
    p99 = runaway["overall"]["p99_ms"]
    verdict = "met" if kept >= 0.8 and p99 < 1000 else "NOT met"
    return "\n".join([
        "# Load test: one runaway a second", "",
        f"The same light load ({baseline['settings']['clients']} clients, {baseline['settings']['duration_s']} s each) "
        "without and with one runaway query a second from another client. The promise: light requests keep at "
        f"least 80% of their throughput and a p99 under 1 s. **{verdict}**: {kept:.0%} of the throughput, "
        f"p99 {p99:.0f} ms.", "",
        "| run | light requests/s | p50 ms | p95 ms | p99 ms | max ms | runaway answers |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        *[f"| {name} | {r['overall']['per_second']:.0f} | {r['overall']['p50_ms']:.1f} | {r['overall']['p95_ms']:.1f} "
          f"| {r['overall']['p99_ms']:.1f} | {r['overall']['max_ms']:.1f} | {r['runaway_statuses'] or '-'} |"
          for name, r in (("without", baseline), ("with one runaway a second", runaway))],
        "", "", report_markdown(baseline), report_markdown(runaway)]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of the service")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="stop after this many requests")
    parser.add_argument("--store", type=Path, default=None, help="an existing store to copy (default: bundled data)")
    parser.add_argument("--output", type=Path, default=None, help="write the Markdown report here (+ .json beside)")
    parser.add_argument("--quick", action="store_true", help="CI: a few clients for a few seconds")
    parser.add_argument("--uncached", action="store_true", help="light requests skip the result cache (no-cache)")
    parser.add_argument("--runaway-per-s", type=float, default=0.0, help="runaway queries a second from another client")
    parser.add_argument("--fairness", action="store_true", help="the light load without, then with, a runaway a second")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.duration = min(args.clients, 10), min(args.duration, 5.0)
    if not 1 <= args.clients <= 200 or not 0 < args.duration <= 600:
        parser.error("--clients must be 1-200 and --duration at most 600 s")
    if args.fairness:
        args.runaway_per_s = 0.0
        baseline = run(args)
        args.runaway_per_s = 1.0
        with_runaway = run(args)
        text = fairness_markdown(baseline, with_runaway)
        print(text)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
            args.output.with_suffix(".json").write_text(
                json.dumps({"without": baseline, "with_runaway": with_runaway}, indent=2) + "\n", encoding="utf-8")
        return 1 if baseline["errors"] or with_runaway["errors"] else 0
    result = run(args)
    text = report_markdown(result)
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        args.output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
