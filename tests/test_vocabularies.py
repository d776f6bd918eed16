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
        concepts = list(t.subjects(SKOS.inScheme, scheme))
        assert concepts, scheme
        for concept in concepts:
            labels = [lab for lab in t.objects(concept, SKOS.prefLabel) if isinstance(lab, Literal)]
            assert len(labels) == 1 and labels[0].language == "en", concept
            assert (scheme, SKOS.hasTopConcept, concept) in t
            if str(labels[0]) == "Other":
                assert (concept, RDF.type, CKG.OtherOption) in t


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
