"""Imports: map -> validate -> commit, all-or-nothing, reported by row, column, value and rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph

from graph.config import PROJECT_ROOT, Settings
from graph.importer import Importer, ImportRejected
from graph.mapping.rdf_file import RDFFormatError
from graph.mapping.survey_csv import CSVFormatError
from graph.namespaces import SKOS
from graph.results import SelectResult
from graph.store.embedded import EmbeddedStore

from .conftest import FIXTURES, quads_of

CSV = FIXTURES / "csv"
RDF_FILES = FIXTURES / "rdf"
EXAMPLE = PROJECT_ROOT / "graph" / "templates" / "survey-responses.example.csv"


@pytest.fixture
def importer(store: EmbeddedStore, settings: Settings) -> Importer:
    return Importer(store, settings)


def _rejected(importer: Importer, store: EmbeddedStore, path: Path) -> ImportRejected:
    before = quads_of(store)
    with pytest.raises(ImportRejected) as info:
        importer.import_file(path)
    assert quads_of(store) == before, "a refused import changed the store"
    return info.value


def test_bad_option_is_reported_by_row_column_value_and_rule(importer: Importer, store: EmbeddedStore) -> None:
    report = _rejected(importer, store, CSV / "bad-option.csv").report
    [v] = report.violations
    assert (v.location.row, v.location.column, v.value) == (2, "green_challenges", "Lack of patience")
    assert v.rule == "OptionInSchemeConstraint"
    assert "Finding sustainable finance instruments" in v.message  # the allowed options are listed


def test_the_allowed_options_are_listed_in_the_questionnaires_order(importer: Importer, store: EmbeddedStore,
                                                                     tmp_path: Path) -> None:
    """As the form lists them (skos:notation 1, 2, ... 10, not 1, 10, 2), the same in every run."""
    scheme = Graph().parse(PROJECT_ROOT / "ontology" / "vocab" / "digital-challenges.ttl")
    concepts = list(scheme.subjects(SKOS.inScheme, None))
    expected = [str(scheme.value(c, SKOS.prefLabel))
                for c in sorted(concepts, key=lambda c: int(scheme.value(c, SKOS.notation)))]
    assert len(expected) >= 10
    header, row = (CSV / "bad-option.csv").read_text(encoding="utf-8").splitlines()
    columns = header.split(",")
    cells = [""] * len(columns)
    cells[:6] = row.split(",")[:6]
    cells[columns.index("digital_challenges")] = "Blockchain for everything"
    path = tmp_path / "bad-digital-option.csv"
    path.write_text(header + "\n" + ",".join(cells) + "\n", encoding="utf-8")
    [v] = _rejected(importer, store, path).report.violations
    assert v.rule == "OptionInSchemeConstraint" and v.location.column == "digital_challenges"
    assert v.message.endswith("; the options are: " + "; ".join(expected) + ".")


def test_fourth_priority_is_refused(importer: Importer, store: EmbeddedStore) -> None:
    [v] = _rejected(importer, store, CSV / "fourth-priority.csv").report.violations
    assert (v.location.row, v.location.column, v.rule) == (2, "strategic_priorities", "MaxSelectionsConstraint")
    assert "at most 3" in v.message


def test_missing_cluster_name_is_refused_naming_the_row(importer: Importer, store: EmbeddedStore) -> None:
    [v] = _rejected(importer, store, CSV / "missing-cluster-name.csv").report.violations
    assert (v.location.row, v.location.column) == (3, "cluster_name")
    assert v.rule.startswith("ClusterNameShape")


def test_negative_member_count_is_refused(importer: Importer, store: EmbeddedStore) -> None:
    [v] = _rejected(importer, store, CSV / "negative-member-count.csv").report.violations
    assert (v.location.row, v.location.column, v.value) == (2, "member_count", "-5")
    assert v.rule.startswith("MemberCountNonNegativeShape")


@pytest.mark.parametrize("name,column,rule", [
    ("non-integer-member-count.csv", "member_count", "MemberCountTypeShape"),
    ("other-without-text.csv", "resilience_challenges", "OtherNeedsTextConstraint"),
    ("option-of-other-question.csv", "resilience_challenges", "OptionInSchemeConstraint"),
])
def test_other_csv_violations(importer: Importer, store: EmbeddedStore, name: str, column: str, rule: str) -> None:
    violations = _rejected(importer, store, CSV / name).report.violations
    assert [(v.location.column, v.rule.split(" ")[0]) for v in violations] == [(column, rule)]


def test_bad_position_and_coverage_both_reported(importer: Importer, store: EmbeddedStore) -> None:
    violations = _rejected(importer, store, CSV / "bad-position-coverage.csv").report.violations
    assert sorted((v.location.column, v.value) for v in violations) == [
        ("geographic_coverage", "galactic"), ("respondent_position", "Chief Wizard")]


def test_encoding_and_header_problems_are_clear(importer: Importer, store: EmbeddedStore) -> None:
    before = quads_of(store)
    with pytest.raises(CSVFormatError, match=r"line 2: the file is not valid UTF-8"):
        importer.import_file(CSV / "latin1.csv")
    with pytest.raises(CSVFormatError, match=r"line 1: missing column\(s\) cluster_name"):
        importer.import_file(CSV / "unknown-column.csv")
    assert quads_of(store) == before


def test_example_csv_imports_once_with_provenance(importer: Importer, store: EmbeddedStore, tmp_path: Path) -> None:
    outcome = importer.import_file(EXAMPLE)
    assert outcome.status == "imported"
    again = importer.import_file(EXAMPLE)
    assert again.status == "unchanged" and again.import_id == outcome.import_id
    [info] = [i for i in importer.list_imports() if i.import_id == outcome.import_id]
    assert info.file_name == "survey-responses.example.csv"
    import hashlib
    assert info.sha256 == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    result = store.query(
        "PREFIX ckg: <https://w3id.org/clusterkg/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#> "
        "SELECT ?r ?v ?when WHERE { GRAPH <" + outcome.graph + "> { ?r a ckg:SurveyResponse ; "
        "prov:wasGeneratedBy ?a . ?a ckg:toolVersion ?v ; prov:endedAtTime ?when } }")
    assert isinstance(result, SelectResult) and len(result.rows) == 2
    assert str(result.rows[0]["v"]).startswith("clusterkg ")
    # a copy of the same bytes under another name is the same import content: new id, but responses clash
    copy = tmp_path / "renamed.csv"
    shutil.copy(EXAMPLE, copy)
    with pytest.raises(ImportRejected, match="already in import"):
        importer.import_file(copy)


def test_imported_answers_are_queryable(importer: Importer, store: EmbeddedStore) -> None:
    importer.import_file(EXAMPLE)
    result = store.query(
        "PREFIX ckg: <https://w3id.org/clusterkg/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?label ?text WHERE { ?r ckg:respondingCluster/skos:prefLabel 'Example Cluster North'@en ; "
        "ckg:hasAnswer ?a . ?a ckg:option/skos:prefLabel ?label . OPTIONAL { ?a ckg:otherText ?text } } "
        "ORDER BY ?label")
    labels = [str(r["label"]) for r in result.rows]  # type: ignore[union-attr]
    assert "Analysing supply chains for higher transparency" in labels and "Other" in labels
    assert any(str(r.get("text", "")) == "Access to single-use consumables" for r in result.rows)  # type: ignore[union-attr]


def test_drop_import_removes_exactly_its_graph(importer: Importer, store: EmbeddedStore) -> None:
    before = quads_of(store)
    outcome = importer.import_file(EXAMPLE)
    assert quads_of(store) != before
    importer.drop_import(outcome.import_id)
    assert quads_of(store) == before
    with pytest.raises(KeyError, match="no import"):
        importer.drop_import(outcome.import_id)


def test_csv_naming_an_existing_cluster_links_to_it(importer: Importer, store: EmbeddedStore, tmp_path: Path) -> None:
    header = (CSV / "bad-option.csv").read_text().splitlines()[0]
    path = tmp_path / "medicen-2025.csv"
    row = "medicen-2025,wave-2025,MEDICEN,CEO,400,international,,,,,,,,,,,Funding Possibilities,,"
    path.write_text(header + "\n" + row + "\n")
    importer.import_file(path)
    result = store.query(
        "PREFIX ckg: <https://w3id.org/clusterkg/ontology#> SELECT ?c WHERE { "
        "<https://w3id.org/clusterkg/data/response/wave-2025/medicen-2025> ckg:respondingCluster ?c }")
    assert [str(r["c"]) for r in result.rows] == ["https://w3id.org/clusterkg/data/cluster/medicen"]  # type: ignore[union-attr]
    labels = store.query("SELECT ?l WHERE { <https://w3id.org/clusterkg/data/cluster/medicen> "
                         "<http://www.w3.org/2004/02/skos/core#prefLabel> ?l }")
    assert len(labels.rows) == 1  # the existing name is left alone  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["response.ttl", "response.jsonld", "response.nt"])
def test_rdf_imports(importer: Importer, store: EmbeddedStore, name: str) -> None:
    outcome = importer.import_file(RDF_FILES / name)
    assert outcome.status == "imported"
    graph = store.get_graph(outcome.graph)
    assert len(graph) > 5


def test_rdf_violation_names_the_node(importer: Importer, store: EmbeddedStore) -> None:
    [v] = _rejected(importer, store, RDF_FILES / "bad-option.ttl").report.violations
    assert v.focus == "https://example.org/bad/answer" and v.rule == "OptionInSchemeConstraint"
    assert "node <https://example.org/bad/answer>" in v.describe()


@pytest.mark.parametrize("name,match", [
    ("remote-context.jsonld", "would have to be loaded"),
    ("entity-bomb.rdf", "refused: the XML declares a DTD"),
    ("entity-bomb-utf16.rdf", "refused: the XML declares a DTD"),  # a byte search for <!DOCTYPE misses it
    ("external-entity.rdf", "refused: the XML declares a DTD"),
    ("broken.ttl", "cannot parse as turtle"),
    ("bad-iri.ttl", r"line 4: <https://example.org/response/a\{b\}> is not a valid IRI \(Invalid IRI code point"),
])
def test_unsafe_or_broken_rdf_is_refused(importer: Importer, store: EmbeddedStore, name: str, match: str) -> None:
    before = quads_of(store)
    with pytest.raises(RDFFormatError, match=match):
        importer.import_file(RDF_FILES / name)
    assert quads_of(store) == before


def test_init_is_idempotent(importer: Importer, store: EmbeddedStore) -> None:
    before = quads_of(store)
    outcomes = importer.init_bundled()
    assert {o.status for o in outcomes} == {"unchanged"}
    assert quads_of(store) == before


def test_the_mapped_graph_counts_its_triples_as_it_holds_them() -> None:
    """The CSV mapping's graph (graph.mapping.memory) keeps its triples beside its index; it
    agrees with the triples it holds through duplicates, removals and patterns, and so with the
    mapping's own output."""
    from rdflib import Literal, URIRef

    from graph.mapping.memory import ImportGraph
    from graph.mapping.survey_csv import map_survey_csv
    from graph.namespaces import DataIRIs

    g = ImportGraph()
    s, p = URIRef("https://example.org/s"), URIRef("https://example.org/p")
    for value in ("a", "b", "a", "c"):
        g.add((s, p, Literal(value)))
    g.add((p, p, s))
    assert len(g) == len(list(g)) == 4
    g.remove((None, None, Literal("a")))
    g.remove((s, p, Literal("nothing")))
    assert len(g) == len(list(g)) == 3
    g.remove((s, None, None))
    assert len(g) == len(list(g)) == 1 and set(g) == {(p, p, s)}
    mapped = map_survey_csv(EXAMPLE.read_bytes(), DataIRIs("https://w3id.org/clusterkg/data/")).graph
    assert len(mapped) == len(set(mapped)) > 100


def test_an_import_graph_answers_every_pattern_as_rdflib_does() -> None:
    """The import graph's store (one predicate index: graph.mapping.memory) matches every triple
    pattern as rdflib's own store does, also while triples are removed as they are read."""
    from rdflib import Graph

    from graph.mapping.survey_csv import map_survey_csv
    from graph.namespaces import CKG, DataIRIs

    mapped = map_survey_csv(EXAMPLE.read_bytes(), DataIRIs("https://w3id.org/clusterkg/data/")).graph
    plain = Graph()
    for triple in mapped:
        plain.add(triple)
    some = sorted(plain)[::7]
    assert len(some) > 3
    for s, p, o in some:
        for pattern in [(s, p, o), (s, p, None), (s, None, o), (None, p, o), (s, None, None), (None, p, None),
                        (None, None, o), (None, None, None)]:
            assert set(mapped.triples(pattern)) == set(plain.triples(pattern)), pattern
    assert sorted(mapped.subject_objects(CKG.hasAnswer)) == sorted(plain.subject_objects(CKG.hasAnswer))
    for s, p, o in mapped:  # the graph changed while it is read
        if p == CKG.option:
            mapped.remove((s, p, o))
            plain.remove((s, p, o))
    assert len(mapped) == len(plain) and set(mapped) == set(plain)
    assert not list(mapped.triples((None, CKG.option, None)))
