"""The benchmark: import synthetic surveys, then time every saved query, the HTTP API, pages and
the service's start, on the embedded store, against the raw engine and against engine servers.

    python benchmarks/run.py                       # 10k, 100k, 1M triples (long)
    python benchmarks/run.py --quick               # 10k only, few repeats: what CI runs
    python benchmarks/run.py --sizes 10k 100k --engines oxigraph virtuoso

For each size: a fresh embedded store with the bundled data, the synthetic waves imported through
the real import path (mapping, SHACL, one transaction each); then, for every saved query that runs
with its defaults, the median and p95 of repeated runs after warm-up through clusterkg
(`SavedQuery.run`) and of the same bound SPARQL on pyoxigraph directly (the ratio is clusterkg's
overhead); `/api/queries/NAME`, `/sparql` and pages over HTTP from `clusterkg serve`, its cold
start and resident memory; and the same saved queries on the engine servers given with
``--engines`` (loaded with the same quads). Writes benchmarks/REPORT.md and REPORT.json (or
``--output``). Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from benchmarks import generate  # noqa: E402
from graph.config import Settings  # noqa: E402
from graph.importer import Importer  # noqa: E402
from graph.queries import load_queries  # noqa: E402
from graph.store.embedded import EmbeddedStore, _materialise  # noqa: E402

BASE = "https://w3id.org/clusterkg/data/"
CLI = Path(sys.executable).with_name("clusterkg")
PAGES = ["/", "/clusters", "/figures/2", "/queries/clusters-sharing", "/matrix"]


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "runs": len(ordered)}


def _time(action, repeats: int, warmup: int = 2) -> dict[str, float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return _stats(samples)


def import_size(store_path: Path, size: int, workdir: Path, seed: int) -> dict[str, float]:
    weights = generate.option_weights()
    per_row = generate.triples_per_row(seed, weights)
    files = generate.generate(size, workdir, seed, weights, per_row)
    subprocess.run([str(CLI), "--store", str(store_path), "init"], check=True, capture_output=True)
    store = EmbeddedStore(store_path)
    importer = Importer(store, Settings(base_iri=BASE, store_path=store_path))
    triples = 0
    started = time.perf_counter()
    for path in files:
        triples += importer.import_file(path).triples
    seconds = time.perf_counter() - started
    store.close()
    return {"files": len(files), "triples": triples, "seconds": seconds, "triples_per_s": triples / seconds}


def time_queries(store_path: Path, repeats: int) -> dict[str, dict]:
    """Each saved query through clusterkg and the same text on pyoxigraph directly."""
    store = EmbeddedStore(store_path, read_only=True)
    raw = ox.Store.read_only(str(store_path))
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

        def on_raw_engine(text=text) -> None:
            _materialise(raw.query(text, use_default_graph_as_union=True), None)

        ours, engine = _time(through_clusterkg, repeats), _time(on_raw_engine, repeats)
        out[name] = {"clusterkg": ours, "raw": engine, "ratio": ours["median_ms"] / max(engine["median_ms"], 1e-6)}
    store.close()
    return out


def _get(port: int, path: str, accept: str = "application/json") -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Accept": accept})
    response = conn.getresponse()
    response.read()
    conn.close()
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


def time_http(store_path: Path, repeats: int, workdir: Path) -> dict:
    from tests.engines import free_port

    port = free_port()
    log = (workdir / "serve.log").open("w")
    started = time.perf_counter()
    proc = subprocess.Popen([str(CLI), "serve", "--store", str(store_path), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "CLUSTERKG_BASE_IRI": BASE,
                                                                       "CLUSTERKG_QUERY_TIMEOUT": "120"})
    try:
        while True:
            try:
                _get(port, "/api/queries")
                break
            except (OSError, RuntimeError):
                if proc.poll() is not None or time.perf_counter() - started > 60:
                    raise RuntimeError("serve did not start: " + (workdir / "serve.log").read_text()) from None
                time.sleep(0.02)
        cold = time.perf_counter() - started
        out: dict = {"cold_start_s": cold, "api": {}, "pages": {}}
        for name, query in load_queries().items():
            if query.params and any(p.type == "endpoint" for p in query.params):
                continue
            try:
                out["api"][name] = _time(lambda name=name: _get(port, f"/api/queries/{name}"), repeats)
            except RuntimeError:
                continue
        sparql = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        out["sparql_count_all"] = _time(lambda: _get(port, "/sparql?" + urllib.parse.urlencode({"query": sparql})),
                                        repeats)
        for page in PAGES:
            out["pages"][page] = _time(lambda page=page: _get(port, page, "text/html"), repeats)
        out["rss_mb"] = _rss_kb(proc.pid) / 1024
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def time_engines(store_path: Path, engines: list[str], repeats: int, workdir: Path) -> dict:
    from graph.store.remote import RemoteStore
    from tests.engines import OxigraphServer, VirtuosoServer

    store = EmbeddedStore(store_path, read_only=True)
    nquads = store.dump_nquads()
    store.close()
    out: dict = {}
    for name in engines:
        directory = workdir / name
        directory.mkdir()
        server = {"oxigraph": OxigraphServer, "virtuoso": VirtuosoServer}[name](directory)
        with server:
            server.reset(nquads)
            settings = Settings(base_iri=BASE, store_path=directory / "unused", endpoint=server.query_url,
                                update_endpoint=server.update_url, graph_store=server.graph_store_url,
                                auth=server.auth, auth_type=server.auth_type)
            remote = RemoteStore(settings)
            out[name] = {}
            for qname, query in load_queries().items():
                if any(p.type == "endpoint" for p in query.params):
                    continue
                try:
                    out[name][qname] = _time(lambda query=query, remote=remote: query.run(remote, {}), repeats,
                                             warmup=1)
                except Exception as exc:  # an engine that cannot run a query is a finding, not a crash
                    out[name][qname] = {"error": " ".join(str(exc).split())[:200]}
            remote.close()
    return out


def report_markdown(result: dict) -> str:
    lines = ["# clusterkg benchmark report", "",
             f"Run {result['when']} on {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, "
             f"{result['machine']['platform']}. Regenerate with `{result['command']}`.", ""]
    for size in result["sizes"]:
        s = result["by_size"][size]
        imp = s["import"]
        lines += [f"## {size}: {imp['triples']:,} imported triples", "",
                  f"Import with SHACL: {imp['files']} file(s), {imp['seconds']:.1f} s, "
                  f"**{imp['triples_per_s']:,.0f} triples/s** end to end.", ""]
        engines = sorted(s.get("engines", {}))
        head = "| query | clusterkg p50 ms | p95 ms | raw pyoxigraph p50 ms | ratio | HTTP API p50 ms |"
        head += "".join(f" {e} p50 ms |" for e in engines)
        lines += [head, "| --- | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(engines)]
        for name, q in s["queries"].items():
            api = s.get("http", {}).get("api", {}).get(name)
            row = (f"| `{name}` | {q['clusterkg']['median_ms']:.1f} | {q['clusterkg']['p95_ms']:.1f} | "
                   f"{q['raw']['median_ms']:.1f} | {q['ratio']:.2f} | {api['median_ms']:.1f} |" if api else
                   f"| `{name}` | {q['clusterkg']['median_ms']:.1f} | {q['clusterkg']['p95_ms']:.1f} | "
                   f"{q['raw']['median_ms']:.1f} | {q['ratio']:.2f} | — |")
            for e in engines:
                cell = s["engines"][e].get(name, {})
                row += f" {cell['median_ms']:.1f} |" if "median_ms" in cell else f" {cell.get('error', '—')[:40]} |"
            lines.append(row)
        if "http" in s:
            h = s["http"]
            lines += ["", f"`clusterkg serve`: cold start {h['cold_start_s']:.2f} s, resident memory "
                          f"{h['rss_mb']:.0f} MB (service and query workers); `/sparql` count of all triples "
                          f"p50 {h['sparql_count_all']['median_ms']:.1f} ms.", "",
                      "| page | p50 ms | p95 ms |", "| --- | ---: | ---: |"]
            lines += [f"| `{p}` | {v['median_ms']:.1f} | {v['p95_ms']:.1f} |" for p, v in h["pages"].items()]
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["10k", "100k", "1m"])
    parser.add_argument("--engines", nargs="*", default=["oxigraph", "virtuoso"], choices=["oxigraph", "virtuoso"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--quick", action="store_true", help="10k only, 5 repeats, no engine servers")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "REPORT.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.engines = ["10k"], 5, []
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
            entry: dict = {"import": import_size(store_path, size, workdir, args.seed)}
            print(f"[{label}] {entry['import']['triples']} triples at {entry['import']['triples_per_s']:.0f}/s; "
                  "timing queries ...", flush=True)
            entry["queries"] = time_queries(store_path, args.repeats)
            print(f"[{label}] HTTP ...", flush=True)
            entry["http"] = time_http(store_path, args.repeats, workdir)
            if args.engines:
                print(f"[{label}] engine servers {', '.join(args.engines)} ...", flush=True)
                entry["engines"] = time_engines(store_path, args.engines, args.repeats, workdir)
            result["by_size"][label] = entry
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report_markdown(result), encoding="utf-8")
    args.output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output} and {args.output.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
