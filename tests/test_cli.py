"""The clusterkg command, run as a user runs it: a real process, its output, its exit status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from .conftest import FIXTURES, VOCAB
from .helpers import run


@pytest.fixture
def cli_store(store_path: Path) -> Path:
    return store_path


def test_init_on_an_empty_store_then_count(tmp_path: Path) -> None:
    store = tmp_path / "fresh"
    first = run(store, "init")
    assert first.returncode == 0, first.stderr
    assert "imported   bioman4r2-d2.3" in first.stdout
    again = run(store, "init")
    assert "0 graph(s) written" in again.stdout
    count = run(store, "sparql", "SELECT (COUNT(*) AS ?n) {?s ?p ?o}", "--format", "json")
    n = int(json.loads(count.stdout)["results"]["bindings"][0]["n"]["value"])
    assert n > 2500  # ontology, vocabularies and the D2.3 data


def test_mission_question(cli_store: Path) -> None:
    out = run(cli_store, "query", "clusters-sharing",
              "--param", f"concept={VOCAB}resilience-challenges/supply-chain-transparency",
              "--param", f"concept={VOCAB}theme/funding-finance", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1:] == [
        "https://w3id.org/clusterkg/data/cluster/bioregio-stern,BioRegio STERN",
        "https://w3id.org/clusterkg/data/cluster/medsilesia,MedSilesia"]


def test_query_json_is_sparql_results_json(cli_store: Path) -> None:
    out = run(cli_store, "query", "option-counts", "-p", "question=11", "--format", "json")
    body = json.loads(out.stdout)
    assert body["head"]["vars"] == ["option", "optionLabel", "clusters", "responses"]
    first = body["results"]["bindings"][0]
    assert first["optionLabel"] == {"type": "literal", "value": "Funding Possibilities", "xml:lang": "en"}
    assert first["clusters"]["datatype"] == "http://www.w3.org/2001/XMLSchema#integer"


def test_store_option_after_the_subcommand(cli_store: Path, tmp_path: Path) -> None:
    out = run(tmp_path / "elsewhere", "queries", "--store", str(cli_store))
    assert out.returncode == 0 and "clusters-sharing" in out.stdout
    out = run(tmp_path / "elsewhere", "query", "cluster-profile", "-p", "cluster=biocat", "--store", str(cli_store))
    assert "Increasing members' engagement" in out.stdout


@pytest.mark.parametrize("args,message", [
    (["query", "nope"], "no saved query 'nope'"),
    (["query", "option-counts", "-p", "question=99"], "parameter 'question'"),
    (["query", "option-counts", "-p", "question"], "is not KEY=VALUE"),
    (["sparql", "DROP ALL"], "updates are refused"),
    (["sparql", "SELECT * WHERE { ?s ?p "], "SPARQL syntax error"),
    (["drop-import", "nothing-here"], "no import 'nothing-here'"),
    (["import", str(FIXTURES / "csv" / "latin1.csv")], "not valid UTF-8"),
    (["import", str(FIXTURES / "rdf" / "entity-bomb.rdf")], "refused"),
])
def test_errors_are_one_line_without_traceback(cli_store: Path, args: list[str], message: str) -> None:
    out = run(cli_store, *args)
    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_import_violation_exits_2_and_writes_nothing(cli_store: Path) -> None:
    before = run(cli_store, "export", "--format", "nq").stdout
    out = run(cli_store, "import", str(FIXTURES / "csv" / "fourth-priority.csv"))
    assert out.returncode == 2
    assert "row 2, column 'strategic_priorities'" in out.stdout and "MaxSelectionsConstraint" in out.stdout
    assert sorted(run(cli_store, "export", "--format", "nq").stdout.splitlines()) == sorted(before.splitlines())
    as_json = run(cli_store, "validate", str(FIXTURES / "csv" / "bad-option.csv"), "--report", "json")
    assert as_json.returncode == 2
    [violation] = json.loads(as_json.stdout)["violations"]
    assert (violation["row"], violation["column"], violation["value"]) == (2, "green_challenges", "Lack of patience")


def test_import_list_drop_cycle(cli_store: Path) -> None:
    example = Path(__file__).parents[1] / "graph" / "templates" / "survey-responses.example.csv"
    assert run(cli_store, "validate", str(example)).returncode == 0
    imported = run(cli_store, "import", str(example))
    assert imported.returncode == 0 and "imported as survey-responses-example-" in imported.stdout
    assert "already imported" in run(cli_store, "import", str(example)).stdout
    listing = run(cli_store, "imports").stdout
    import_id = next(line.split("\t")[0] for line in listing.splitlines() if "example" in line)
    assert run(cli_store, "drop-import", import_id).returncode == 0
    assert import_id not in run(cli_store, "imports").stdout


@pytest.mark.parametrize("fmt", ["nq", "trig", "jsonld", "ttl"])
def test_export_round_trips(cli_store: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"export.{fmt}"
    assert run(cli_store, "export", "--format", fmt, "-o", str(out)).returncode == 0
    data = "GRAPH ?g { ?s ?p ?o } FILTER (?g != <urn:clusterkg:graph-sizes>)"  # the store's records are not data
    count = int(json.loads(run(cli_store, "sparql", f"SELECT (COUNT(*) AS ?n) {{ {data} }}",
                                "--format", "json").stdout)["results"]["bindings"][0]["n"]["value"])
    if fmt == "ttl":
        graph = Graph().parse(out, format="turtle")
        query = f"SELECT (COUNT(*) AS ?n) {{ SELECT DISTINCT ?s ?p ?o {{ {data} }} }}"
        distinct = int(json.loads(run(cli_store, "sparql", query, "--format", "json").stdout)
                       ["results"]["bindings"][0]["n"]["value"])
        assert len(graph) == distinct
    else:
        ds = Dataset()
        ds.parse(out, format={"nq": "nquads", "trig": "trig", "jsonld": "json-ld"}[fmt])
        assert len(list(ds.quads((None, None, None, None)))) == count


def test_construct_query_prints_turtle(cli_store: Path) -> None:
    out = run(cli_store, "query", "cluster-subgraph", "-p", "cluster=medsilesia")
    graph = Graph().parse(data=out.stdout, format="turtle")
    assert len(graph) > 50


def test_sparql_from_stdin(cli_store: Path) -> None:
    query = ("SELECT ?n WHERE { ?c a <https://w3id.org/clusterkg/ontology#Cluster> ; "
             "<http://www.w3.org/2004/02/skos/core#prefLabel> ?n } ORDER BY ?n")
    out = run(cli_store, "sparql", "-", "--format", "csv", stdin=query)
    assert out.stdout.splitlines() == ["n", "BioRegio STERN", "Biocat", "HealthTurku", "LifetecZONe",
                                       "MedSilesia", "Medicen Paris Region"]  # code-point order


def test_the_cli_reads_and_writes_a_store_another_process_has_open(cli_store: Path) -> None:
    from graph.store.embedded import EmbeddedStore

    holder = EmbeddedStore(cli_store)  # e.g. `clusterkg serve`
    try:
        before = holder.named_graphs()
        out = run(cli_store, "sparql", "ASK { ?s ?p ?o }", "--format", "json")
        assert out.returncode == 0 and '"boolean": true' in out.stdout.replace("\n", "")
        example = Path(__file__).parents[1] / "graph" / "templates" / "survey-responses.example.csv"
        out = run(cli_store, "import", str(example))
        assert out.returncode == 0, out.stderr
        added = set(holder.named_graphs()) - set(before)
        assert len(added) == 1 and "/graph/import/survey-responses-example-" in added.pop()
    finally:
        holder.close()
    shutil.rmtree(cli_store / "nonexistent", ignore_errors=True)


def test_an_existing_import_id_is_replaced_only_when_asked(cli_store: Path, tmp_path: Path) -> None:
    from graph.config import PROJECT_ROOT

    example = PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv"
    before = run(cli_store, "imports").stdout
    taken = run(cli_store, "import", str(example), "--id", "bioman4r2-d2.3")
    assert taken.returncode == 1 and "--replace" in taken.stderr and "Traceback" not in taken.stderr
    assert run(cli_store, "imports").stdout == before
    for bad in ("has space", "../up", "a..b", "x>y", "-lead", "é"):
        refused = run(cli_store, "import", str(example), "--id", bad)
        assert refused.returncode == 1 and "is not an import id" in refused.stderr, (bad, refused.stderr)
    mine = run(cli_store, "import", str(example), "--id", "wave-2024")
    assert mine.returncode == 0, mine.stderr
    changed = tmp_path / "changed.csv"
    changed.write_text(example.read_text(encoding="utf-8").replace("Example comment: none.", "Changed."),
                       encoding="utf-8")
    again = run(cli_store, "import", str(changed), "--id", "wave-2024")
    assert again.returncode == 1 and "--replace" in again.stderr
    replaced = run(cli_store, "import", str(changed), "--id", "wave-2024", "--replace")
    assert replaced.returncode == 0, replaced.stderr


def test_a_short_maintainer_token_is_refused_however_it_is_given(cli_store: Path, tmp_path: Path) -> None:

    cli = Path(sys.executable).with_name("clusterkg")
    env = {**os.environ, "CLUSTERKG_ADMIN_TOKEN": "short"}
    by_env = subprocess.run([str(cli), "--store", str(cli_store), "serve", "--port", "1"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert by_env.returncode == 1 and "at least 16 characters" in by_env.stderr
    token = tmp_path / "token"
    token.write_text("short\n", encoding="utf-8")
    by_file = run(cli_store, "serve", "--port", "1", "--admin-token-file", str(token))
    assert by_file.returncode == 1 and "at least 16 characters" in by_file.stderr
