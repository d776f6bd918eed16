"""The import's floor: each step of the import alone, on the same files, one after another.

The import's end-to-end rate (benchmarks/run.py) is what a user gets; this says what the steps it
cannot skip cost by themselves, so a rate target can be judged against the machine: the mapping
(Python), the derived edges, the N-Triples text both SHACL engines read, the core SHACL check
(shacl-rust), the SHACL-SPARQL constraints (graph.shacl_sparql on in-memory pyoxigraph), the
engine's bulk loader writing every graph into a fresh on-disk store, and one compaction of it. Left
out, so that the sum is a lower bound: the store context and conflict queries, the summary's
maintenance, the commit's transaction and bookkeeping, a compaction per bulk load, the provenance.

Each step is timed in wall and CPU seconds of the whole process (the bulk loader and compaction
run on several threads). No schedule can finish the work in less than its CPU seconds divided by
the cores, so ``triples / (cpu / cores)`` is the best rate any overlap of these steps could reach.

    python benchmarks/floor.py FILE.csv ...     # prints the table
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402
from rdflib import Graph, URIRef  # noqa: E402

from graph import validate  # noqa: E402
from graph.derived import add_derived  # noqa: E402
from graph.mapping.survey_csv import map_survey_csv  # noqa: E402
from graph.namespaces import CKG, RDF, SKOS, DataIRIs  # noqa: E402
from graph.rdftext import ntriples  # noqa: E402
from graph.vocab import normalise_label  # noqa: E402

BASE = "https://w3id.org/clusterkg/data/"
T = TypeVar("T")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(steps: dict[str, dict[str, float]], name: str, work: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), _cpu()
    out = work()
    steps[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": _cpu() - cpu}
    return out


def _clusters(graph: Graph) -> dict[str, URIRef]:
    """The clusters a mapped file introduces, by normalised name, as the importer would find them
    in the store when it maps the next file."""
    return {normalise_label(str(label)): cluster for cluster in graph.subjects(RDF.type, CKG.Cluster)
            if isinstance(cluster, URIRef) for label in graph.objects(cluster, SKOS.prefLabel)}


def import_floor(files: list[Path], cores: int | None = None) -> dict:
    """Time each import step alone over ``files`` (survey CSVs, in import order)."""
    cores = cores or os.cpu_count() or 1
    iris = DataIRIs(BASE)
    datas = [path.read_bytes() for path in files]
    terminology = validate._terminology_ntriples()  # made once per process, as in the service
    validate._core_shapes_ntriples()
    steps: dict[str, dict[str, float]] = {}

    def mapping() -> list[Graph]:
        known: dict[str, URIRef] = {}
        graphs = []
        for data in datas:
            graph = map_survey_csv(data, iris, known_clusters=dict(known)).graph
            known.update(_clusters(graph))
            graphs.append(graph)
        return graphs

    graphs = _timed(steps, "mapping", mapping)
    _timed(steps, "derived edges", lambda: [add_derived(g) for g in graphs])
    texts = _timed(steps, "N-Triples", lambda: [ntriples(g) for g in graphs])
    triples = sum(len(g) for g in graphs)
    _timed(steps, "SHACL core (shacl-rust)", lambda: [validate.core_check(text + terminology) for text in texts])
    _timed(steps, "SHACL-SPARQL constraints", lambda: [validate._sparql_checks(text + terminology) for text in texts])
    with tempfile.TemporaryDirectory(prefix="clusterkg-floor-") as tmp:
        _write(steps, ox.Store(tmp), texts)
    cpu = sum(s["cpu_s"] for s in steps.values())
    wall = sum(s["wall_s"] for s in steps.values())
    best = cpu / cores
    return {"files": len(files), "triples": triples, "cores": cores, "steps": steps, "cpu_s": cpu,
            "wall_s": wall, "best_s": best, "best_triples_per_s": triples / best}


def _write(steps: dict[str, dict[str, float]], store: ox.Store, texts: list[str]) -> None:
    """Every graph bulk-loaded into ``store`` (fresh, on disk), then the store compacted once."""

    def bulk_load() -> None:
        for i, text in enumerate(texts):  # lenient, as the import's write (its validation parsed the text)
            store.bulk_load(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES,
                            to_graph=ox.NamedNode(f"{BASE}graph/import/floor-{i}"), lenient=True)

    _timed(steps, "bulk load", bulk_load)
    _timed(steps, "one compaction", store.optimize)


def table(floor: dict) -> list[str]:
    """Markdown lines: each step's seconds and its rate alone, then the bound."""
    n = floor["triples"]
    lines = ["| step (alone, every file) | wall s | CPU s | triples/s alone |", "| --- | ---: | ---: | ---: |"]
    for name, s in floor["steps"].items():
        lines.append(f"| {name} | {s['wall_s']:.2f} | {s['cpu_s']:.2f} | {n / max(s['wall_s'], 1e-9):,.0f} |")
    lines.append(f"| **all, one after another** | {floor['wall_s']:.2f} | {floor['cpu_s']:.2f} | "
                 f"{n / max(floor['wall_s'], 1e-9):,.0f} |")
    return lines


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    floor = import_floor([Path(a) for a in argv])
    print("\n".join(table(floor)))
    print(f"\n{floor['triples']:,} triples; {floor['cpu_s']:.1f} CPU-s on {floor['cores']} cores: at best "
          f"{floor['best_s']:.1f} s, {floor['best_triples_per_s']:,.0f} triples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
