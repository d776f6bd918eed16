"""Validation reports others can read: the W3C sh:ValidationReport graph, and pyshacl as the
engine when asked (the same verdict and results as the fast default, on every shape's fixture)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyshacl
import pytest
from rdflib import BNode, Graph, URIRef

from graph.namespaces import RDF, SH
from graph.shacl_report import report_graph
from graph.validate import shapes_graph, validate_graph
from graph.vocab import terminology

from .conftest import FIXTURES

SHAPE_FIXTURES = FIXTURES / "shapes"
NAMES = sorted(p.stem for p in SHAPE_FIXTURES.glob("*.ttl") if p.stem != "_base")


def fixture(name: str) -> Graph:
    return Graph().parse(SHAPE_FIXTURES / "_base.ttl").parse(SHAPE_FIXTURES / f"{name}.ttl")


def key(v) -> tuple:
    focus = "_:" if v.focus.startswith("_:") else v.focus  # blank nodes are relabelled by each engine
    return (focus, v.path or "", v.value or "", v.rule, v.message, v.severity)


@pytest.mark.parametrize("name", ["_base", *NAMES])
def test_pyshacl_as_the_engine_gives_the_fast_engines_report(name: str) -> None:
    data = Graph().parse(SHAPE_FIXTURES / "_base.ttl") if name == "_base" else fixture(name)
    fast = validate_graph(data)
    reference = validate_graph(data, engine="pyshacl")
    assert fast.conforms == reference.conforms
    assert sorted(map(key, fast.violations)) == sorted(map(key, reference.violations))


def _results(report: Graph) -> set[tuple]:
    def text(term: object) -> str:
        return "" if term is None or isinstance(term, BNode) else str(term)
    return {tuple(text(report.value(r, p)) for p in (SH.focusNode, SH.resultPath, SH.sourceConstraintComponent,
                                                     SH.resultSeverity))
            for r in report.objects(None, SH.result)}


@pytest.mark.parametrize("name", NAMES)
def test_the_report_graph_is_what_pyshacl_writes(name: str) -> None:
    data = fixture(name)
    ours = report_graph(validate_graph(data))
    _conforms, theirs, _text = pyshacl.validate(data + terminology(), shacl_graph=shapes_graph(), inference="none")
    assert (None, RDF.type, SH.ValidationReport) in ours
    assert ours.value(next(ours.subjects(RDF.type, SH.ValidationReport)), SH.conforms).toPython() is False
    assert _results(ours) == _results(theirs)
    for result in ours.objects(None, SH.result):
        assert isinstance(ours.value(result, SH.sourceShape), URIRef | BNode)
        assert ours.value(result, SH.resultMessage) is not None


def test_the_command_line_gives_the_report_graph(tmp_path: Path, template_store: Path) -> None:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(template_store, store)
    cli = Path(sys.executable).with_name("clusterkg")
    bad = FIXTURES / "csv" / "bad-option.csv"
    for fmt, parser in (("shacl-ttl", "turtle"), ("shacl-jsonld", "json-ld")):
        done = subprocess.run([str(cli), "--store", str(store), "validate", str(bad), "--report", fmt],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        graph = Graph().parse(data=done.stdout, format=parser)
        [result] = list(graph.objects(None, SH.result))
        assert str(graph.value(result, URIRef("https://w3id.org/clusterkg/ontology#sourceColumn"))) == \
            "green_challenges"
    done = subprocess.run([str(cli), "--store", str(store), "validate", str(bad), "--shacl-engine", "pyshacl",
                           "--report", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and json.loads(done.stdout)["violations"][0]["rule"] == "OptionInSchemeConstraint"


def test_anyone_can_validate_a_file_and_nothing_is_written(client, shared_store) -> None:
    from .conftest import quads_of

    before = quads_of(shared_store)
    bad = (FIXTURES / "csv" / "bad-option.csv").read_bytes()
    rows = client.post("/api/validate?name=bad.csv", data=bad)
    assert rows.status_code == 422 and rows.get_json()["violations"][0]["column"] == "green_challenges"
    graph = client.post("/api/validate?name=bad.csv", data=bad, headers={"Accept": "text/turtle"})
    assert graph.status_code == 422 and graph.mimetype == "text/turtle"
    assert len(list(Graph().parse(data=graph.get_data(as_text=True), format="turtle").objects(None, SH.result))) == 1
    from graph.config import PROJECT_ROOT

    good = (PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv").read_bytes()
    fine = client.post("/api/validate?name=good.csv", data=good)
    assert fine.status_code == 200 and fine.get_json()["conforms"] is True
    assert quads_of(shared_store) == before
