"""Memory of `clusterkg serve` under hostile answers: short queries that build huge answers.

    python benchmarks/hostile.py                    # 40 distinct huge answers, 2 and then 8 at a time
    python benchmarks/hostile.py --output benchmarks/hostile-report.md

It starts `clusterkg serve` on a fresh store with the bundled data (default limits) on a free
loopback port, sends ``--queries`` distinct queries that each build a one-row answer of tens of MB
or thousands of rows of large values (every one different, so none is answered from the result
cache, and each fills the cache as much as the cache allows), ``--concurrency`` at a time, and
samples the resident memory of the service process (its query workers apart) every 50 ms. It
stops the service by its PID and prints what the answers were (statuses, truncation, sizes) and the
service's peak memory. Loopback only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import BASE, CLI, start_service


def huge_term(n: int, doublings: int = 23) -> str:
    """One row whose value is 10 * 2**doublings characters (~80 MB), different for each ``n``."""
    binds = [f'BIND("{n:010d}" AS ?a0)'] + [f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(doublings)]
    return f"SELECT ?a{doublings} WHERE {{ {' '.join(binds)} }}"


def many_big_rows(n: int) -> str:
    """Up to 10,000 rows (the row cap) of ~4 KB each, different for each ``n``."""
    return ("SELECT ?s ?big WHERE { ?s ?p ?o . BIND(CONCAT(STR(?s), STR(?o), '" + f"{n:06d}" + "x" * 4000
            + "') AS ?big) } LIMIT 10000")


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(args: argparse.Namespace, concurrency: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="clusterkg-hostile-") as tmp:
        store = Path(tmp) / "store"
        subprocess.run([str(CLI), "--store", str(store), "init"], check=True, capture_output=True)
        service = start_service(store, Path(tmp) / "serve.log", args.threads)
        port = service.port
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss_kb(service.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        baseline = _rss_kb(service.pid)

        def ask(n: int) -> dict:
            query = huge_term(n) if n % 2 == 0 else many_big_rows(n)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60,
                                              source_address=(f"127.0.{n // 250}.{n % 250 + 1}", 0))
            started = time.perf_counter()
            try:
                conn.request("POST", "/sparql", body=urllib.parse.urlencode({"query": query}),
                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                      "Accept": "application/sparql-results+json"})
                response = conn.getresponse()
                body = response.read()
                return {"status": response.status, "bytes": len(body), "seconds": time.perf_counter() - started,
                        "truncated": response.getheader("X-Clusterkg-Truncated") == "true"}
            finally:
                conn.close()

        try:
            with ThreadPoolExecutor(concurrency) as pool:
                answers = list(pool.map(ask, range(args.queries)))
        finally:
            done.set()
            sampler.join()
            service.stop()
    statuses: dict[str, int] = {}
    for a in answers:
        statuses[str(a["status"])] = statuses.get(str(a["status"]), 0) + 1
    return {"queries": args.queries, "concurrency": concurrency, "threads": args.threads,
            "baseline_rss_mb": baseline / 1024, "peak_rss_mb": peak[0] / 1024, "statuses": statuses,
            "truncated": sum(a["truncated"] for a in answers), "largest_answer_bytes": max(a["bytes"] for a in answers),
            "slowest_s": max(a["seconds"] for a in answers), "base": BASE, "cpus": os.cpu_count()}


def report(results: list[dict]) -> str:
    first = results[0]
    lines = [
        "# Hostile answers: the service's memory", "",
        f"{first['queries']} distinct queries against `clusterkg serve` (default limits: answers cut at 8 MB of "
        f"terms, a 64 MB result cache; {first['threads']} threads, bundled data) on {first['cpus']} CPUs, each from "
        "a client of its own: half build one ~80 MB value, half 10,000 rows of ~4 KB values; none can be answered "
        "from the result cache. Regenerate with `python benchmarks/hostile.py --output benchmarks/hostile-report.md`.",
        "", "| at a time | service memory before | peak | answers | cut with the marker | largest answer | slowest |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r['concurrency']} | {r['baseline_rss_mb']:.0f} MB | **{r['peak_rss_mb']:.0f} MB** | "
                     f"{r['statuses']} | {r['truncated']} | {r['largest_answer_bytes'] / 1e6:.1f} MB | "
                     f"{r['slowest_s']:.1f} s |")
    lines += ["", "Service memory is the resident memory of the service process (its query workers apart, each of "
              "which has its own limit, CLUSTERKG_QUERY_MEMORY_MB). A 503 is a query that waited its 1 s for a "
              "worker (two run at once) or was stopped at the time limit.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.queries <= 400 or not all(1 <= c <= 32 for c in args.concurrency):
        parser.error("--queries must be 1-400 and --concurrency 1-32")
    results = [run(args, concurrency) for concurrency in args.concurrency]
    text = report(results)
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        args.output.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
