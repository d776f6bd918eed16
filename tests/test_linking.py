"""Linking with another dataset: shared identifiers, record linkage (`clusterkg link`) against a
second, independent dataset served by a real Oxigraph server, and a federated saved query."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import OWL

from graph.config import Settings
from graph.importer import Importer
from graph.linking import names
from graph.linking.mapping import Mapping, MappingError
from graph.linking.matcher import accept, candidates
from graph.linking.places import places
from graph.linking.records import Record, SourceError, from_csv_file, from_rdf_file, our_clusters, read_source
from graph.namespaces import CKG, PROV
from graph.queries import ParameterError, load_queries
from graph.results import SelectResult
from graph.store import StoreError
from graph.store.embedded import EmbeddedStore

from . import engines
from .conftest import BASE, FIXTURES
from .helpers import run

LINKING = FIXTURES / "linking"
DIRECTORY_GRAPH = "https://example.org/eurohealth/graph/directory"


def _truth() -> set[tuple[str, str]]:
    with (LINKING / "true-matches.csv").open(encoding="utf-8") as handle:
        return {(row["local"], row["remote"]) for row in csv.DictReader(handle)}


def _precision_recall(found: set[tuple[str, str]]) -> tuple[float, float]:
    truth = _truth()
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), hits / len(truth)


@pytest.fixture(scope="module")
def directory_server(tmp_path_factory: pytest.TempPathFactory):
    """The second dataset, served by a real Oxigraph server on loopback (stopped by its PID)."""
    ds = Dataset()
    target = ds.graph(URIRef(DIRECTORY_GRAPH))
    target.parse(LINKING / "directory.ttl", format="turtle")
    with engines.OxigraphServer(tmp_path_factory.mktemp("directory")) as engine:
        engine.reset(ds.serialize(format="nquads", encoding="utf-8"))
        yield engine


# -- names and places ---------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b", "how"), [
    ("BioRegio STERN", "BioRegio STERN Management GmbH", "equal"),
    ("HealthTurku", "Health Turku", "equal without spaces"),
    ("Medicen Paris Region", "Médicen Paris Région", "equal"),
    ("Medicen", "Medicen Paris Region", "contained"),
    ("TSP", "Turku Science Park Ltd", "acronym"),
    ("MedSilesia", "MedSilesia sp. z o.o.", "equal"),
    ("Lifeteczone", "Lifetec Zone e.V.", "equal without spaces"),
])
def test_names_are_normalised_and_compared(a: str, b: str, how: str) -> None:
    match = names.compare(a, b)
    assert match is not None and match.how == how and match.score >= 0.85


def test_different_names_score_low() -> None:
    for a, b in (("Medicen Paris Region", "Medical Cluster Paris"), ("BioRegio STERN", "BioRegio Regensburg"),
                 ("HealthTurku", "Health Capital Helsinki"), ("Biocat", "Medicon Valley Alliance")):
        match = names.compare(a, b)
        assert match is None or match.score < 0.7, (a, b, match)


@pytest.mark.parametrize("value", ["FR", "FRA", "fra", "France", " france ",
                                   "http://publications.europa.eu/resource/authority/country/FRA"])
def test_countries_are_read_however_written(value: str) -> None:
    assert places().country(value) == "http://publications.europa.eu/resource/authority/country/FRA"


@pytest.mark.parametrize(("value", "code"), [("FR10", "FR10"), ("http://data.europa.eu/nuts/code/FR10", "FR10"),
                                             ("Île-de-France", "FR1"), ("Paris Region", "FR10"),
                                             ("Catalonia", "ES51"), ("DE11", "DE11"), ("Atlantis", None)])
def test_regions_are_read_however_written(value: str, code: str | None) -> None:
    assert places().region(value) == code


# -- record linkage -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["directory.ttl", "directory.csv"])
def test_linkage_finds_the_true_matches_and_no_false_ones(shared_store, name: str) -> None:
    mapping = Mapping.load()
    remote = read_source(str(LINKING / name), mapping)
    assert len(remote) == 14
    found = candidates(our_clusters(shared_store), remote)
    accepted = {(c.local, c.remote) for c in accept(found, 0.9)}
    assert _precision_recall(accepted) == (1.0, 1.0), accepted ^ _truth()
    by_pair = {(c.local, c.remote): c for c in found}
    # namesakes in other countries are never compared; look-alikes stay below the threshold
    assert not any(r.endswith(("/103", "/114")) for _, r in by_pair)
    assert all(c.score < 0.9 for (_, r), c in by_pair.items() if r.endswith(("/108", "/109", "/111")))
    medicen = by_pair[(BASE + "cluster/medicen", "https://example.org/eurohealth/org/101")]
    assert "same country France" in medicen.reason and "FR10" in medicen.reason and "equal" in medicen.reason


def test_an_ambiguous_match_is_proposed_but_not_accepted(shared_store, tmp_path: Path) -> None:
    """Our MedSilesia has no country; two MedSilesias in two countries must go to a reviewer."""
    data = tmp_path / "two.csv"
    data.write_text("id,name,country\nhttps://e.org/pl,MedSilesia,PL\nhttps://e.org/cz,Med Silesia,CZ\n",
                    encoding="utf-8")
    found = [c for c in candidates(our_clusters(shared_store), from_csv_file(data, Mapping.load()))
             if c.local.endswith("/medsilesia")]
    assert len(found) == 2 and all(c.ambiguous and "ambiguous" in c.reason for c in found)
    assert accept(found, 0.5) == []


def test_a_mapping_file_reads_another_vocabulary(shared_store, tmp_path: Path) -> None:
    (tmp_path / "data.ttl").write_text(
        "@prefix ex: <https://e.org/v#> .\n"
        "<https://e.org/o/1> a ex:Cluster ; ex:title \"Bio-Cat\" ; ex:nation \"ESP\" .\n"
        "<https://e.org/o/2> a ex:Other ; ex:title \"Biocat\" .\n", encoding="utf-8")
    (tmp_path / "mapping.yaml").write_text(
        "prefixes: {ex: 'https://e.org/v#'}\nclasses: [ex:Cluster]\nnames: [ex:title]\ncountries: [ex:nation]\n",
        encoding="utf-8")
    remote = from_rdf_file(tmp_path / "data.ttl", Mapping.load(tmp_path / "mapping.yaml"))
    assert [(r.iri, r.names, r.countries) for r in remote] == [("https://e.org/o/1", ["Bio-Cat"], ["ESP"])]
    found = accept(candidates(our_clusters(shared_store), remote), 0.9)
    assert [(c.local, c.remote) for c in found] == [(BASE + "cluster/biocat", "https://e.org/o/1")]


@pytest.mark.parametrize(("content", "message"), [
    ("classes: [nope:Thing]\n", "unknown prefix 'nope'"),
    ("names: ['<not an iri>']\n", "is not a prefixed name or an <IRI>"),
    ("colour: blue\n", "unknown key 'colour'"),
    ("- a list\n", "a mapping is a YAML mapping"),
])
def test_bad_mappings_are_explained(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "m.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(MappingError, match=message):
        Mapping.load(tmp_path / "m.yaml")


def test_bad_sources_are_explained(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_source(str(tmp_path / "missing.ttl"), Mapping.load())
    (tmp_path / "x.csv").write_text("id,name\nnot-an-iri,Foo\n", encoding="utf-8")
    with pytest.raises(SourceError, match="row 2, column 'id'"):
        read_source(str(tmp_path / "x.csv"), Mapping.load())
    with pytest.raises(SourceError, match="cannot query the SPARQL endpoint"):
        read_source(f"http://127.0.0.1:{engines.free_port()}/sparql", Mapping.load())


def test_cli_link_against_a_served_dataset(directory_server, store_path: Path, tmp_path: Path) -> None:
    endpoint = directory_server.query_url
    # --dry-run: the candidates, best first, as CSV with the contract's header; nothing written
    before = sorted(run(store_path, "export", "--format", "nq").stdout.splitlines())
    out = run(store_path, "link", endpoint, "--dry-run", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.stdout.splitlines()[0] == "local,remote,score,reason"
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(r["reason"] for r in rows)
    assert _truth() <= {(r["local"], r["remote"]) for r in rows}
    assert sorted(run(store_path, "export", "--format", "nq").stdout.splitlines()) == before
    as_json = json.loads(run(store_path, "link", endpoint, "--dry-run", "--format", "json").stdout)
    assert [list(item) for item in as_json[:1]] == [["local", "remote", "score", "reason"]]
    assert len(as_json) == len(rows)

    # accepted by threshold: exactly the true matches, with PROV and a score and reason per link
    out = run(store_path, "link", endpoint)
    assert out.returncode == 0 and "6 link(s) written" in out.stdout, out.stdout + out.stderr
    store = EmbeddedStore(store_path, read_only=True)
    graphs = [g for g in store.named_graphs() if "/graph/links/" in g]
    assert len(graphs) == 1
    links = store.get_graph(graphs[0])
    assert {(str(s), str(o)) for s, o in links.subject_objects(OWL.sameAs)} == _truth()
    activity = next(links.subjects(PROV.endedAtTime, None))
    assert "threshold 0.9" in str(links.value(activity, CKG.method))
    assert str(links.value(activity, PROV.used)) == endpoint
    for link in links.subjects(CKG.linkSubject, None):
        assert links.value(link, CKG.score) is not None and links.value(link, CKG.reason) is not None
        assert links.value(link, PROV.wasGeneratedBy) == activity
    store.close()

    # a reviewed file replaces the graph with exactly its pairs
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_text("local,remote\n" + f"{BASE}cluster/biocat,https://example.org/eurohealth/org/102\n",
                        encoding="utf-8")
    out = run(store_path, "link", endpoint, "--accept", str(reviewed))
    assert out.returncode == 0 and "1 link(s) written" in out.stdout
    store = EmbeddedStore(store_path, read_only=True)
    links = store.get_graph(graphs[0])
    assert len(list(links.subject_objects(OWL.sameAs))) == 1
    assert "accepted by review" in str(next(links.objects(None, CKG.reason)))
    store.close()


# -- federated queries --------------------------------------------------------------------------
def _federated_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path, endpoint: str):
    """Our data plus the alignment, on the embedded store or on a second Oxigraph server."""
    settings_kwargs = {"base_iri": BASE, "service_allowlist": frozenset({endpoint})}
    if backend == "embedded":
        path = tmp_path / "store"
        shutil.copytree(request.getfixturevalue("template_store"), path)
        store = EmbeddedStore(path, allowed_services=frozenset({endpoint}))
        settings = Settings(store_path=path, **settings_kwargs)
    else:
        from graph.store.remote import RemoteStore

        engine = request.getfixturevalue("oxigraph_server")
        engine.reset(request.getfixturevalue("template_nquads"))
        settings = Settings(store_path=tmp_path / "unused", endpoint=engine.query_url,
                            update_endpoint=engine.update_url, graph_store=engine.graph_store_url,
                            **settings_kwargs)
        store = RemoteStore(settings)
    Importer(store, settings).import_file(LINKING / "alignment.ttl")
    return store


@pytest.mark.parametrize("backend_name", ["embedded", "oxigraph"])
def test_a_federated_query_pairs_clusters_across_datasets(directory_server, request: pytest.FixtureRequest,
                                                          tmp_path: Path, backend_name: str) -> None:
    endpoint = directory_server.query_url
    store = _federated_store(backend_name, request, tmp_path, endpoint)
    queries = load_queries()
    query = queries["federated-shared-themes"]
    result = query.run(store, {})  # the only allowed endpoint is the default
    assert isinstance(result, SelectResult)
    pairs = {(str(r["themeLabel"]), str(r["clusterLabel"]), str(r["otherName"])) for r in result.rows}
    # BioRegio STERN (ours) and the directory's BioRegio STERN both name supply chains
    assert ("Supply and value chains", "BioRegio STERN", "BioRegio STERN Management GmbH") in pairs
    # the directory's Health Turku names digital skills, aligned to the skills theme Medicen answered under
    assert ("Skills and expertise", "Medicen Paris Region", "Health Turku") in pairs
    # nothing the alignment does not cover: the sustainability-reporting challenge is not aligned
    assert not any(other == "BioCat" for _, _, other in pairs)
    store.close()


def test_service_off_the_allow_list_is_refused(directory_server, request: pytest.FixtureRequest,
                                               tmp_path: Path) -> None:
    store = _federated_store("embedded", request, tmp_path, directory_server.query_url)
    queries = load_queries()
    query = queries["federated-shared-themes"]
    with pytest.raises(ParameterError, match="is not one of the configured endpoints"):
        query.run(store, {"source": ["http://127.0.0.1:9/sparql"]})
    with pytest.raises(StoreError, match="not on this service's allow-list"):
        store.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    store.close()
    plain = EmbeddedStore(tmp_path / "store", read_only=True)  # no allow-list at all
    with pytest.raises(ParameterError, match="no federated endpoint is configured"):
        query.run(plain, {})
    plain.close()


def test_records_of_our_store_carry_names_and_places(shared_store) -> None:
    mine = {r.iri.rsplit("/", 1)[-1]: r for r in our_clusters(shared_store)}
    assert isinstance(mine["medicen"], Record)
    assert set(mine["medicen"].names) >= {"Medicen Paris Region", "Medicen"}
    assert mine["medicen"].countries == ["http://publications.europa.eu/resource/authority/country/FRA"]
    assert mine["medsilesia"].countries == []


def test_links_graph_is_plain_rdf(tmp_path: Path) -> None:
    from graph.linking.links import build
    from graph.linking.matcher import Candidate
    from graph.namespaces import DataIRIs

    g = build(DataIRIs(BASE), str(LINKING / "directory.csv"),
              [Candidate(BASE + "cluster/biocat", "https://example.org/eurohealth/org/102", 0.92, "why")], "m")
    again = Graph().parse(data=g.serialize(format="turtle"), format="turtle")
    assert len(again) == len(g) and (URIRef(BASE + "cluster/biocat"), OWL.sameAs, None) in again


# -- another survey, aligned: saved queries and figures across both datasets ----------------------
RC = "https://w3id.org/clusterkg/vocab/resilience-challenges/"
THEME = "https://w3id.org/clusterkg/vocab/theme/"


def _sharing(store, *concepts: str) -> set[str]:
    result = load_queries()["clusters-sharing"].run(store, {"concept": list(concepts)})
    assert isinstance(result, SelectResult)
    return {str(r["clusterLabel"]) for r in result.rows}


def test_an_aligned_survey_is_counted_by_clusters_sharing_and_the_figures(store, settings: Settings) -> None:
    importer = Importer(store, settings)
    importer.import_file(LINKING / "other-survey.ttl")
    before = _sharing(store, RC + "supply-chain-transparency")
    assert "Medical Cluster Paris" not in before  # not aligned yet: their options are theirs
    importer.import_file(LINKING / "alignment.ttl")

    assert _sharing(store, RC + "supply-chain-transparency") == before | {"Medical Cluster Paris"}
    assert "Medical Cluster Paris" in _sharing(store, RC + "supply-chain-transparency", THEME + "funding-finance")
    assert "Medical Cluster Paris" in _sharing(store, THEME + "supply-chains")  # through our option's theme
    assert "Health Capital Helsinki" in _sharing(store, THEME + "skills-expertise")
    assert "Health Capital Helsinki" not in _sharing(store, THEME + "sustainability")  # not aligned

    counts = load_queries()["option-counts"].run(store, {"question": ["8"]})
    assert isinstance(counts, SelectResult)
    row = next(r for r in counts.rows if str(r["option"]) == RC + "supply-chain-transparency")
    assert int(row["clusters"]) == len(before) + 1
