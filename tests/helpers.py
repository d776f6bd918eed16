"""Helpers the test modules share: the CLI run as a user runs it, synthetic survey waves, the
summary graph checked against its definition, hostile parameter values."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from rdflib import Literal

from benchmarks import generate
from graph.config import Settings
from graph.derived import DERIVATION_VERSION, summary_graph
from graph.mapping.survey_csv import COLUMNS
from graph.namespaces import CKG, DataIRIs
from graph.results import SelectResult
from graph.store import Store

CLI = Path(sys.executable).with_name("clusterkg")


def run(store: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``clusterkg ARGS`` on ``store``, in a process of its own (no remote engine from the environment)."""
    env = {**os.environ, "CLUSTERKG_STORE": str(store)}
    env.pop("CLUSTERKG_ENDPOINT", None)
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, input=stdin, timeout=120)


# parameter values that would change a query if they were pasted into its text
HOSTILE = ['x" } ; DROP ALL ; #', "x' } DROP ALL", "{ ?s ?p ?o }", "} DROP ALL {", "<http://a> } DROP ALL",
           "http://example.org/a b", "http://example.org/a>", "http://example.org/>{", "\\u0022", "\n} #"]


def waves(out: Path, clusters: int = 12, waves: int = 3) -> list[Path]:
    """Synthetic waves (benchmarks/generate.py): the same clusters answering each wave, so every
    file after the first names clusters only the files before it introduce."""
    out.mkdir(parents=True, exist_ok=True)
    weights = generate.option_weights()
    per_row = generate.triples_per_row(2023, weights)
    files = generate.generate(round(clusters * waves * per_row), out, 2023, weights, per_row, clusters=clusters)
    assert len(files) == waves
    return files


def wave(path: Path, wave: int, clusters: list[str]) -> Path:
    """A CSV wave at ``path``: one response per cluster in ``clusters``: wave 1 names the supply-chain
    challenge, a later wave "Other" (Tariffs); every wave the same green challenge."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        for i, name in enumerate(clusters):
            row = dict.fromkeys(COLUMNS, "")
            first = "Analysing supply chains for higher transparency"
            row.update(response_id=f"test-w{wave}-{i}", survey_id=f"test-survey-{wave}", cluster_name=name,
                       resilience_challenges=first if wave == 1 else "Other",
                       resilience_challenges_other="" if wave == 1 else "Tariffs",
                       green_challenges="Finding sustainable finance instruments")
            writer.writerow(row)
    return path


# what the summary must hold, computed from the import graphs alone (the definition, not the code)
EXPECTED = f"""
SELECT DISTINCT ?c ?p ?o WHERE {{
  {{ GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.option}> ?o }}
     BIND (<{CKG.choseOption}> AS ?p) }}
  UNION
  {{ GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.matches}> ?o }}
     BIND (<{CKG.matchesConcept}> AS ?p) }}
  UNION
  {{ SELECT ?c (<{CKG.optionCount}> AS ?p) (COUNT(DISTINCT ?x) AS ?o) WHERE {{
       GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?a . ?a <{CKG.option}> ?x }}
       FILTER NOT EXISTS {{ GRAPH ?v {{ ?x a <{CKG.OtherOption}> }} }} }} GROUP BY ?c }}
}}"""


def _edge_rows(store: Store, query: str) -> set[tuple[str, str, str]]:
    result = store.query(query)
    assert isinstance(result, SelectResult)
    return {(str(r["c"]), str(r["p"]), str(r["o"])) for r in result.rows}


# the option pairs: every two options ("Other" left out) and how many clusters chose both
EXPECTED_PAIRS = f"""
SELECT ?a ?b (COUNT(DISTINCT ?c) AS ?n) WHERE {{
  GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?x . ?x <{CKG.option}> ?a }}
  GRAPH ?h {{ ?s <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?y . ?y <{CKG.option}> ?b }}
  FILTER (STR(?a) < STR(?b))
  FILTER NOT EXISTS {{ GRAPH ?v {{ ?a a <{CKG.OtherOption}> }} }}
  FILTER NOT EXISTS {{ GRAPH ?w {{ ?b a <{CKG.OtherOption}> }} }}
}} GROUP BY ?a ?b"""

# the option tallies: every option ("Other" left out) and how many clusters chose it
EXPECTED_TALLIES = f"""
SELECT ?a (COUNT(DISTINCT ?c) AS ?n) WHERE {{
  GRAPH ?g {{ ?r <{CKG.respondingCluster}> ?c ; <{CKG.hasAnswer}> ?x . ?x <{CKG.option}> ?a }}
  FILTER NOT EXISTS {{ GRAPH ?v {{ ?a a <{CKG.OtherOption}> }} }}
}} GROUP BY ?a"""


def _count_rows(store: Store, query: str) -> set[tuple]:
    result = store.query(query)
    assert isinstance(result, SelectResult)
    return {(*(str(r[v]) for v in result.variables[:-1]), int(r["n"])) for r in result.rows}  # type: ignore[arg-type]


def check_summary(store: Store, settings: Settings) -> set[tuple[str, str, str]]:
    """The summary's cluster edges (returned), option pairs and option tallies equal their definitions."""
    summary = summary_graph(DataIRIs(settings.base_iri))
    held = _edge_rows(store, f"SELECT ?c ?p ?o WHERE {{ GRAPH <{summary}> {{ ?c ?p ?o "
                        f"FILTER NOT EXISTS {{ ?c a <{CKG.OptionPair}> }} FILTER (?c != <{summary}>) "
                        f"FILTER (?p != <{CKG.chosenByClusters}>) }} }}")
    assert held == _edge_rows(store, EXPECTED)
    pairs_query = (f"SELECT ?a ?b ?n WHERE {{ GRAPH <{summary}> {{ ?p a <{CKG.OptionPair}> ; "
                   f"<{CKG.pairedOption}> ?a, ?b ; <{CKG.clusterCount}> ?n FILTER (STR(?a) < STR(?b)) }} }}")
    pairs = store.query(pairs_query)
    assert isinstance(pairs, SelectResult)
    as_set = _count_rows(store, pairs_query)
    assert as_set == _count_rows(store, EXPECTED_PAIRS)
    assert len(as_set) == len(pairs.rows) and as_set  # one node per pair; D2.3 alone has pairs
    tallies = _count_rows(store, f"SELECT ?a ?n WHERE {{ GRAPH <{summary}> {{ ?a <{CKG.chosenByClusters}> ?n }} }}")
    assert tallies == _count_rows(store, EXPECTED_TALLIES) and tallies
    version = store.query(f"SELECT ?v WHERE {{ GRAPH <{summary}> {{ <{summary}> <{CKG.derivationVersion}> ?v }} }}")
    assert isinstance(version, SelectResult) and version.values("v") == [Literal(DERIVATION_VERSION)]
    return held
