"""The ontology and the SKOS vocabularies: labels verbatim from the catalogue, themes, OWL hygiene."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal, URIRef

from graph.config import ONTOLOGY_FILE
from graph.mapping.d23 import D23Records, map_d23
from graph.namespaces import CKG, OWL, RDF, RDFS, SKOS, THEME, VOCAB, DataIRIs
from graph.vocab import system_graphs, terminology

from .conftest import BASE


def _legend_after(catalogue_text: str, caption: str) -> list[str]:
    """The bullet lines right before a figure caption (the figure's legend), in order."""
    before = catalogue_text[: catalogue_text.index(caption)]
    lines = [line.strip() for line in before.splitlines() if line.strip()]
    legend: list[str] = []
    for line in reversed(lines):
        if not re.match(r"^[-•]\s", line) or ":" in line or "<u>" in line:
            break  # the legend ends where the clusters' statements (with headings) begin
        legend.insert(0, line.lstrip("-• ").strip())
    return legend


@pytest.mark.parametrize("scheme,caption", [
    ("management-skills", "Figure 1:"), ("resilience-challenges", "Figure 2:"),
    ("green-challenges", "Figure 3:"), ("digital-challenges", "Figure 4:")])
def test_option_labels_are_the_figure_legends_verbatim(catalogue_text: str, scheme: str, caption: str) -> None:
    legend = _legend_after(catalogue_text, caption)
    t = terminology()
    concepts = sorted(t.subjects(SKOS.inScheme, VOCAB[scheme]), key=lambda c: int(t.value(c, SKOS.notation)))
    labels = [str(t.value(c, SKOS.prefLabel)) for c in concepts]
    assert labels == legend


def test_strategic_priority_labels_come_from_section_8(catalogue_text: str) -> None:
    section8 = catalogue_text[catalogue_text.index("8. Strategic Priorities for 2023 and Beyond\n\nIn charting"):
                              catalogue_text.index("Figure 5:")]
    t = terminology()
    labels = [str(t.value(c, SKOS.prefLabel)) for c in t.subjects(SKOS.inScheme, VOCAB["strategic-priorities"])]
    assert len(labels) == 8
    for label in labels:
        if label != "Other":
            assert label in section8, label


def test_every_option_of_a_closed_question_points_to_a_theme() -> None:
    t = terminology()
    themes = set(t.subjects(SKOS.inScheme, VOCAB["themes"]))
    assert {THEME["funding-finance"], THEME["supply-chains"], THEME["skills-expertise"], THEME["sustainability"],
            THEME["digitalisation"], THEME["member-engagement"], THEME["internationalisation"],
            THEME["services"]} <= themes
    for question in t.subjects(RDF.type, CKG.ClosedQuestion):
        scheme = t.value(question, CKG.optionScheme)
        if scheme in (VOCAB["respondent-positions"], VOCAB["geographic-coverage"]):
            continue
        for option in t.subjects(SKOS.inScheme, scheme):
            if (option, RDF.type, CKG.OtherOption) in t:
                continue
            assert set(t.objects(option, SKOS.broader)) & themes, f"{option} has no theme"


def test_every_scheme_has_labelled_concepts_and_other_is_marked() -> None:
    t = terminology()
    for scheme in set(t.subjects(RDF.type, SKOS.ConceptScheme)) | set(t.subjects(RDF.type, CKG.AnswerScheme)):
        assert t.value(scheme, SKOS.prefLabel) is not None
        if not str(scheme).startswith(str(VOCAB)):
            continue  # the EU reference schemes: see test_reference_places_are_complete
        concepts = list(t.subjects(SKOS.inScheme, scheme))
        assert concepts, scheme
        for concept in concepts:
            labels = [lab for lab in t.objects(concept, SKOS.prefLabel) if isinstance(lab, Literal)]
            assert len(labels) == 1 and labels[0].language == "en", concept
            assert (scheme, SKOS.hasTopConcept, concept) in t
            if str(labels[0]) == "Other":
                assert (concept, RDF.type, CKG.OtherOption) in t


def test_no_two_concepts_of_a_scheme_share_a_label() -> None:
    """A question's options (a scheme's concepts) are told apart by their labels, case aside: the
    saved queries sort by the label and only then by the option's IRI (see concept-clusters.rq).
    (Not the EU reference schemes, which are no question's options: NUTS names Île-de-France at
    two levels.)"""
    t = terminology()
    for scheme in set(t.subjects(RDF.type, SKOS.ConceptScheme)) | set(t.subjects(RDF.type, CKG.AnswerScheme)):
        if not str(scheme).startswith(str(VOCAB)):
            continue
        labels = [str(t.value(c, SKOS.prefLabel)).lower() for c in t.subjects(SKOS.inScheme, scheme)]
        assert len(labels) == len(set(labels)), scheme


def test_twelve_questions_verbatim(catalogue_text: str) -> None:
    t = terminology()
    questions = sorted(t.subjects(CKG.questionNumber, None), key=lambda q: int(t.value(q, CKG.questionNumber)))
    assert len(questions) == 12
    for q in questions:
        n = int(t.value(q, CKG.questionNumber))
        assert f"- {n}. {t.value(q, CKG.questionText)}" in catalogue_text


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE)


def test_every_ontology_term_has_label_and_definition(ontology: Graph) -> None:
    terms = {s for s in ontology.subjects(RDF.type, None) if isinstance(s, URIRef) and s.startswith(str(CKG))}
    assert len(terms) > 40
    for term in terms:
        assert ontology.value(term, RDFS.label) is not None, term
        assert ontology.value(term, SKOS.definition) is not None, term


def test_ontology_declares_every_term_the_data_uses(ontology: Graph) -> None:
    """OWL 2 DL hygiene: every class and property used is declared with one kind only."""
    data = map_d23(D23Records.load(), DataIRIs(BASE))
    for sg in system_graphs():
        if sg.name != "ontology":
            data += sg.graph()
    declared = {s: set(ontology.objects(s, RDF.type)) for s in ontology.subjects(RDF.type, None)}
    for _s, p, o in data:
        if p == RDF.type:
            assert o in declared and OWL.Class in declared[o], f"class {o} is not declared"
        else:
            builtin = str(p).startswith((str(RDF), str(RDFS), str(OWL)))
            assert p in declared or builtin, f"property {p} is not declared"
    kinds = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}
    for term, types in declared.items():
        assert len(types & kinds) <= 1, f"{term} is declared as {types & kinds} (punning)"
    assert (URIRef("https://w3id.org/clusterkg/ontology"), RDF.type, OWL.Ontology) in ontology


COUNTRY_SCHEME = URIRef("http://publications.europa.eu/resource/authority/country")
NUTS_SCHEME = URIRef("http://data.europa.eu/nuts")


def test_reference_places_are_complete() -> None:
    """Every country has its alpha-3 and alpha-2 codes; every NUTS region its code (= the end of its
    IRI), level, country, source and (below level 1) a parent one level up."""
    t = terminology()
    countries = set(t.subjects(SKOS.inScheme, COUNTRY_SCHEME))
    assert len(countries) >= 31
    for country in countries:
        codes = sorted((str(n) for n in t.objects(country, SKOS.notation)), key=len)
        assert [len(c) for c in codes] == [2, 3] and str(country).endswith("/" + codes[1]), country
    for region in t.subjects(SKOS.inScheme, NUTS_SCHEME):
        code = str(t.value(region, SKOS.notation))
        level = int(t.value(region, CKG.nutsLevel))
        assert str(region).endswith("/" + code) and len(code) == 2 + level, region
        assert t.value(region, CKG.country) in countries
        assert t.value(region, URIRef("http://purl.org/dc/terms/source")) is not None
        parent = t.value(region, SKOS.broader)
        if level > 1:
            assert parent is not None and str(t.value(parent, SKOS.notation)) == code[:-1], region


def test_cluster_places_and_sectors_are_reference_terms_with_quoted_evidence(catalogue_text: str) -> None:
    data = map_d23(D23Records.load(), DataIRIs(BASE))
    t = terminology()
    flat = " ".join(catalogue_text.split())
    for prop in (CKG.country, CKG.region, CKG.sector):
        for cluster, value in data.subject_objects(prop):
            assert (value, SKOS.prefLabel, None) in t, f"{cluster} {prop} {value}: not in the reference data"
            evidence = [e for e in data.objects(cluster, CKG.evidence) if (e, CKG.supports, value) in data]
            assert evidence, f"{cluster} {prop} {value} has no evidence"
            for e in evidence:
                assert " ".join(str(data.value(e, CKG.quote)).split()) in flat
    # only what the catalogue states: MedSilesia and BioRegio STERN have no place
    located = {str(c).rsplit("/", 1)[-1] for c in data.subjects(CKG.country, None)}
    assert located == {"lifeteczone", "medicen", "healthturku", "biocat"}
    regions = {str(c).rsplit("/", 1)[-1]: str(r).rsplit("/", 1)[-1] for c, r in data.subject_objects(CKG.region)}
    assert regions == {"lifeteczone": "NL4", "medicen": "FR10", "healthturku": "FI1C1", "biocat": "ES51"}
