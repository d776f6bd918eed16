"""An import (or a maintainer's graph write) states facts only about what it mints: it cannot
relabel another import's cluster, redefine the ontology, join a vocabulary or name the store's
graphs (graph.ownership)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.config import Settings
from graph.importer import Importer, ImportRejected
from graph.ownership import RULE
from graph.store.embedded import EmbeddedStore

from .conftest import BASE, FIXTURES, quads_of

PREFIXES = f"""@prefix ckg: <https://w3id.org/clusterkg/ontology#> .
@prefix ckgv: <https://w3id.org/clusterkg/vocab/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix ex: <https://example.org/survey-2025/> .
@prefix data: <{BASE}> .
"""
RESPONSE = (FIXTURES / "rdf" / "response.ttl").read_text(encoding="utf-8")


@pytest.fixture
def importer(store_path: Path) -> Importer:
    return Importer(EmbeddedStore(store_path), Settings(base_iri=BASE, store_path=store_path))


def refused(importer: Importer, tmp_path: Path, name: str, text: str) -> list:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = quads_of(importer.store)
    with pytest.raises(ImportRejected) as info:
        importer.import_file(path)
    assert quads_of(importer.store) == before
    mine = [v for v in info.value.report.violations if v.rule == RULE]
    assert mine, info.value.report.text()
    return mine


@pytest.mark.parametrize("name,text,where", [
    ("relabel.ttl", RESPONSE + '\ndata:cluster\\/medicen skos:prefLabel "HACKED Medicen"@en .\n', "cluster/medicen"),
    ("alias.ttl", RESPONSE + '\n<' + BASE + 'cluster/medicen> skos:altLabel "Not Medicen"@en .\n', "cluster/medicen"),
    ("ontology.ttl", RESPONSE + '\nckg:Cluster rdfs:label "A hacked class"@en .\n', "ontology#Cluster"),
    ("new-class.ttl", RESPONSE + '\nckg:Backdoor a <http://www.w3.org/2002/07/owl#Class> .\n', "ontology#Backdoor"),
    ("scheme.ttl", RESPONSE + '\nex:theme a skos:Concept ; skos:inScheme ckgv:themes ; skos:prefLabel "Mine"@en .\n',
     "example.org/survey-2025/theme"),
    ("broader.ttl", RESPONSE + '\nex:narrow skos:broader ckgv:theme\\/funding-finance .\n', "survey-2025/narrow"),
    ("place.ttl", RESPONSE + '\n<http://publications.europa.eu/resource/authority/country/FRA> '
                             'skos:prefLabel "Not France"@en .\n', "country/FRA"),
])
def test_an_import_cannot_say_new_things_of_what_it_does_not_own(importer: Importer, tmp_path: Path,
                                                                 name: str, text: str, where: str) -> None:
    found = refused(importer, tmp_path, name, PREFIXES + text)
    assert any(where in v.focus for v in found), [v.focus for v in found]
    assert all(v.message for v in found)


def test_a_file_may_not_name_a_graph_of_the_store(importer: Importer, tmp_path: Path) -> None:
    trig = PREFIXES + f"<{BASE}graph/ontology> {{ ex:x a ckg:Cluster ; skos:prefLabel \"X\"@en . }}\n"
    found = refused(importer, tmp_path, "named.trig", trig)
    assert any(v.focus == f"{BASE}graph/ontology" for v in found)


def test_it_may_refer_to_and_restate_what_others_say(importer: Importer, tmp_path: Path) -> None:
    medicen = f"<{BASE}cluster/medicen>"
    text = PREFIXES + RESPONSE.replace("ckg:respondingCluster ex:cluster", f"ckg:respondingCluster {medicen}") \
        + f'\n{medicen} a ckg:Cluster ; skos:prefLabel "Medicen Paris Region"@en ; skos:altLabel "Medicen"@en .\n'
    path = tmp_path / "refers.ttl"
    path.write_text(text, encoding="utf-8")
    outcome = importer.import_file(path)
    assert outcome.status == "imported"


def test_a_second_wave_of_a_survey_restates_its_survey(importer: Importer, tmp_path: Path) -> None:
    from graph.config import PROJECT_ROOT

    example = (PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv").read_text(encoding="utf-8")
    first, second = tmp_path / "wave1.csv", tmp_path / "wave2.csv"
    first.write_text(example, encoding="utf-8")
    second.write_text(example.replace("example-north-2024,", "example-north-2024-b,")
                      .replace("example-south-2024,", "example-south-2024-b,"), encoding="utf-8")
    assert importer.import_file(first).status == "imported"
    assert importer.import_file(second).status == "imported"


def test_a_maintainers_graph_write_cannot_change_the_ontology_or_a_vocabulary(store_path: Path, make_app) -> None:
    """A maintainer may say new things of any data resource in a graph of theirs (the SPARQL
    protocol's own update tests do), but not mint in the ontology's namespace or join a scheme."""
    from dataclasses import replace

    token = "correct-horse-battery-staple-42"
    settings = replace(Settings(base_iri=BASE, store_path=store_path), admin_token=token)
    client = make_app(settings, store=EmbeddedStore(store_path), config={"TESTING": True}).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    for body in ('ckg:Backdoor a <http://www.w3.org/2002/07/owl#Class> .\n',
                 'ex:mine a skos:Concept ; skos:inScheme ckgv:themes ; skos:prefLabel "Mine"@en .\n'):
        response = client.put("/graph-store?graph=https://example.org/g", data=(PREFIXES + body).encode(),
                              content_type="text/turtle", headers=auth)
        assert response.status_code == 422 and RULE in str(response.get_json()["violations"]), body
    note = PREFIXES + f'<{BASE}cluster/medicen> <https://example.org/note> "checked"@en .\n'
    noted = client.put("/graph-store?graph=https://example.org/notes", content_type="text/turtle", headers=auth,
                       data=note.encode())
    assert noted.status_code in (201, 204), noted.get_json()
