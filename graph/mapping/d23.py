"""The D2.3 transcription (``graph/data/d23/``) mapped to RDF.

The records are the human-editable source of truth; this module only restates them in the
ontology's terms. Every resource that states a fact about a cluster points to the document
section it was read from (``prov:wasDerivedFrom``).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from graph.config import D23_DIR
from graph.namespaces import CKG, DCTERMS, FOAF, ORG, PROV, RDF, RDFS, SKOS, THEME, VOCAB, DataIRIs
from graph.vocab import question_iri

SOURCE_FILES = ("document.yaml", "clusters.yaml", "answers.csv", "kpis.csv", "statements.yaml")


@dataclass(frozen=True)
class D23Records:
    """The transcription's records, as read from their files."""

    document: dict
    clusters: list[dict]
    answers: list[dict]
    kpis: list[dict]
    statements: list[dict]

    @classmethod
    def load(cls, directory: Path = D23_DIR) -> D23Records:
        def read_yaml(name: str):
            return yaml.safe_load((directory / name).read_text(encoding="utf-8"))

        def read_csv(name: str) -> list[dict]:
            with (directory / name).open(encoding="utf-8", newline="") as fh:
                return list(csv.DictReader(fh))

        return cls(read_yaml("document.yaml"), read_yaml("clusters.yaml"), read_csv("answers.csv"),
                   read_csv("kpis.csv"), read_yaml("statements.yaml"))


def source_digest(directory: Path = D23_DIR) -> str:
    """SHA-256 over the record files, so a re-import of unchanged records is a no-op."""
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _text(value: object) -> Literal:
    return Literal(" ".join(str(value).split()))


COUNTRY = "http://publications.europa.eu/resource/authority/country/"
CONFIDENCE = str(VOCAB) + "confidence/"
NUTS = "http://data.europa.eu/nuts/code/"
SECTOR = "https://w3id.org/clusterkg/vocab/sector/"


def _section_of(doc: dict, question: int) -> int:
    return next(int(s["number"]) for s in doc["document"]["sections"] if s.get("question") == question)


def _add_reading(g: Graph, response: URIRef, node: URIRef, reading: dict, cluster: URIRef,
                 sections: dict[int, URIRef]) -> None:
    """A transcriber's reading of who gave ``response``: the cluster, the confidence, the evidence
    (what the source shows, with the sections it is seen in)."""
    g.add((node, RDF.type, CKG.AttributionReading))
    g.add((node, RDFS.label, Literal(reading["label"], lang="en")))
    g.add((node, CKG.proposedCluster, cluster))
    g.add((node, CKG.confidence, URIRef(CONFIDENCE + reading["confidence"])))
    g.add((response, CKG.attributionReading, node))
    for i, ev in enumerate(reading["evidence"], start=1):
        evidence = URIRef(f"{node}/evidence/{i}")
        g.add((evidence, RDF.type, CKG.Evidence))
        g.add((evidence, CKG.readingBasis, _text(ev["text"])))
        g.add((node, CKG.evidence, evidence))
        for number in ev["sections"]:
            g.add((evidence, PROV.wasDerivedFrom, sections[int(number)]))


def _add_evidence(g: Graph, cluster: URIRef, node: URIRef, ev: dict, section: URIRef) -> None:
    """A cluster's country, region and sectors, each supported by a quoted passage of the source."""
    values: list[tuple[URIRef, URIRef]] = []
    if ev.get("country"):
        values.append((CKG.country, URIRef(COUNTRY + ev["country"])))
    if ev.get("region"):
        values.append((CKG.region, URIRef(NUTS + ev["region"])))
    values += [(CKG.sector, URIRef(SECTOR + s)) for s in ev.get("sectors", [])]
    g.add((node, RDF.type, CKG.Evidence))
    g.add((node, CKG.quote, _text(ev["quote"])))
    g.add((node, CKG.readingBasis, _text(ev["basis"])))
    g.add((node, PROV.wasDerivedFrom, section))
    g.add((cluster, CKG.evidence, node))
    for prop, value in values:
        g.add((cluster, prop, value))
        g.add((node, CKG.supports, value))


def map_d23(records: D23Records, iris: DataIRIs) -> Graph:
    """The RDF of the D2.3 dataset."""
    g = Graph()
    doc = records.document
    doc_id = doc["document"]["id"]
    survey_id = doc["survey"]["id"]
    document = iris.document(doc_id)
    survey = iris.survey(survey_id)
    project = iris.project(doc["project"]["id"])

    # project, document, sections ------------------------------------------------------------
    p = doc["project"]
    g.add((project, RDF.type, CKG.Project))
    g.add((project, DCTERMS.title, Literal(p["title"], lang="en")))
    g.add((project, RDFS.label, Literal(p["acronym"])))
    g.add((project, CKG.acronym, Literal(p["acronym"])))
    g.add((project, CKG.grantAgreement, Literal(str(p["grant_agreement"]))))
    g.add((project, FOAF.homepage, URIRef(p["url"])))
    g.add((project, PROV.wasDerivedFrom, document))

    d = doc["document"]
    g.add((document, RDF.type, CKG.SourceDocument))
    g.add((document, DCTERMS.title, Literal(d["title"], lang="en")))
    g.add((document, RDFS.label, Literal(f"{p['acronym']} {d['identifier']} {d['title']}", lang="en")))
    g.add((document, DCTERMS.identifier, Literal(str(d["identifier"]))))
    g.add((document, DCTERMS.issued, Literal(str(d["issued"]), datatype=XSD.date)))
    g.add((document, DCTERMS.creator, iris.cluster(d["author_cluster"])))
    g.add((document, DCTERMS.accessRights, Literal(d["dissemination"])))
    g.add((document, CKG.repositoryFile, Literal(f"sources/{d['source_file']}")))
    g.add((document, CKG.inProject, project))
    sections: dict[int, URIRef] = {}
    for s in d["sections"]:
        sec = iris.section(doc_id, int(s["number"]))
        sections[int(s["number"])] = sec
        g.add((sec, RDF.type, CKG.DocumentSection))
        g.add((sec, CKG.sectionNumber, Literal(int(s["number"]), datatype=XSD.integer)))
        g.add((sec, DCTERMS.title, Literal(s["title"], lang="en")))
        g.add((sec, RDFS.label, Literal(f"{d['identifier']} section {s['number']}: {s['title']}", lang="en")))
        g.add((sec, DCTERMS.isPartOf, document))
        if s.get("question"):
            g.add((sec, CKG.aboutQuestion, question_iri(int(s["question"]))))

    # survey -----------------------------------------------------------------------------------
    sv = doc["survey"]
    g.add((survey, RDF.type, CKG.Survey))
    g.add((survey, DCTERMS.title, Literal(sv["title"], lang="en")))
    g.add((survey, RDFS.label, Literal(f"{p['acronym']} survey: {sv['title']}", lang="en")))
    g.add((survey, DCTERMS.temporal, Literal(sv["temporal"])))
    g.add((survey, CKG.inProject, project))
    g.add((survey, CKG.reportedResponseCount,
           Literal(int(sv["reported_response_count"]), datatype=XSD.integer)))
    g.add((survey, CKG.attributionNote, _text(sv["count_note"])))
    g.add((survey, PROV.wasDerivedFrom, sections[2]))
    for n in range(1, 13):
        g.add((survey, CKG.hasQuestion, question_iri(n)))

    # clusters ---------------------------------------------------------------------------------
    for c in records.clusters:
        cl = iris.cluster(c["id"])
        g.add((cl, RDF.type, CKG.Cluster))
        g.add((cl, SKOS.prefLabel, Literal(c["pref_label"], lang="en")))
        g.add((cl, RDFS.label, Literal(c.get("label", c["pref_label"]), lang="en")))
        for alt in c.get("alt_labels", []):
            g.add((cl, SKOS.altLabel, Literal(alt, lang="en")))
        g.add((cl, DCTERMS.description, Literal(" ".join(c["description"].split()), lang="en")))
        g.add((cl, PROV.wasDerivedFrom, sections[2]))
        if c.get("founding_year"):
            g.add((cl, CKG.foundingYear, Literal(str(c["founding_year"]), datatype=XSD.gYear)))
        if c.get("active_since"):
            g.add((cl, CKG.activeSince, Literal(str(c["active_since"]), datatype=XSD.gYear)))
        for key, prop in (("region_statement", CKG.regionStatement), ("size_statement", CKG.sizeStatement),
                          ("legal_form_statement", CKG.legalFormStatement)):
            if c.get(key):
                g.add((cl, prop, _text(c[key])))
        if c.get("note"):
            g.add((cl, SKOS.editorialNote, _text(c["note"])))
        for i, ev in enumerate(c.get("evidence", []), start=1):
            _add_evidence(g, cl, URIRef(f"{cl}/evidence/{i}"), ev, sections[2])
        if c.get("coordinator"):
            co = c["coordinator"]
            org = iris.organisation(co["id"])
            g.add((org, RDF.type, ORG.FormalOrganization))
            g.add((org, SKOS.prefLabel, Literal(co["label"], lang="en")))
            g.add((org, RDFS.label, Literal(co["label"], lang="en")))
            if co.get("alt_label"):
                g.add((org, SKOS.altLabel, Literal(co["alt_label"], lang="en")))
            g.add((org, PROV.wasDerivedFrom, sections[2]))
            g.add((cl, CKG.coordinatedBy, org))

    # responses ----------------------------------------------------------------------------------
    responses: dict[str, URIRef] = {}
    for r in doc["responses"]:
        resp = iris.response(survey_id, r["id"])
        responses[r["id"]] = resp
        g.add((resp, RDF.type, CKG.ReportedResponse))
        g.add((resp, RDF.type, CKG.SurveyResponse))
        g.add((resp, CKG.survey, survey))
        g.add((resp, CKG.reportedIn, document))
        if r.get("cluster"):
            cl = iris.cluster(r["cluster"])
            g.add((resp, CKG.respondingCluster, cl))
            name = next(c["pref_label"] for c in records.clusters if c["id"] == r["cluster"])
            g.add((resp, RDFS.label, Literal(f"Response of {name} (as reported in D2.3)", lang="en")))
        else:
            g.add((resp, RDFS.label, Literal(r["label"], lang="en")))
        for cand in r.get("candidates", []):
            g.add((resp, CKG.attributionCandidate, iris.cluster(cand)))
        if r.get("note"):
            g.add((resp, CKG.attributionNote, _text(r["note"])))
        if r.get("missing"):
            for number in r["missing"]["questions"]:
                missing = URIRef(f"{resp}/missing/q{number}")
                g.add((missing, RDF.type, CKG.MissingAnswer))
                g.add((missing, CKG.missingQuestion, question_iri(int(number))))
                g.add((missing, CKG.missingReason, _text(r["missing"]["reason"])))
                g.add((missing, PROV.wasDerivedFrom, sections[_section_of(doc, int(number))]))
                g.add((resp, CKG.missingAnswer, missing))
        for i, reading in enumerate(r.get("readings", []), start=1):
            _add_reading(g, resp, URIRef(f"{resp}/reading/{i}"), reading, iris.cluster(reading["cluster"]), sections)

    # answers ------------------------------------------------------------------------------------
    answers: dict[str, URIRef] = {}
    for a in records.answers:
        resp = responses[a["response"]]
        ans = URIRef(f"{resp}/answer/q{a['id'].rsplit('-q', 1)[1]}")
        answers[a["id"]] = ans
        g.add((resp, CKG.hasAnswer, ans))
        g.add((ans, RDF.type, CKG.Answer))
        g.add((ans, CKG.question, question_iri(int(a["question"]))))
        option = VOCAB[a["option"]]
        g.add((ans, CKG.option, option))
        if a["heading"]:  # one bullet has no heading of its own: its sentence is the whole statement
            g.add((ans, CKG.statementHeading, Literal(a["heading"])))
        g.add((ans, CKG.statementText, Literal(a["text"])))
        g.add((ans, RDFS.label, Literal(a["heading"] or _shortened(a["text"]), lang="en")))
        g.add((ans, PROV.wasDerivedFrom, sections[int(a["section"])]))
        g.add((ans, CKG.sourceBlock, Literal(a["block"])))
        g.add((ans, CKG.mappingBasis, Literal(a["basis"])))
        if a["basis"] == "other":
            g.add((ans, CKG.otherText, Literal(f"{a['heading']}: {a['text']}" if a["heading"] else a["text"])))
        for theme in filter(None, a["other_theme"].split(";")):
            g.add((ans, CKG.otherTheme, THEME[theme.strip()]))
        if a["repeats"]:
            g.add((ans, CKG.repeats, answers[a["repeats"]]))
        if a["note"]:
            g.add((ans, CKG.attributionNote, _text(a["note"])))

    # KPIs ---------------------------------------------------------------------------------------
    for k in records.kpis:
        resp = responses[k["response"]]
        kpi = URIRef(f"{resp}/kpi/{k['id'].rsplit('-kpi-', 1)[1]}")
        g.add((resp, CKG.reportsKPI, kpi))
        g.add((kpi, RDF.type, CKG.KeyPerformanceIndicator))
        g.add((kpi, CKG.kpiText, Literal(k["kpi"])))
        g.add((kpi, RDFS.label, Literal(k["kpi"], lang="en")))
        g.add((kpi, CKG.kpiCategory, VOCAB[k["category"]]))
        g.add((kpi, CKG.categoryHeading, Literal(k["category_heading"])))
        g.add((kpi, PROV.wasDerivedFrom, sections[int(k["section"])]))
        if k["note"]:
            g.add((kpi, CKG.attributionNote, _text(k["note"])))

    # statements of the document ------------------------------------------------------------------
    for s in records.statements:
        st = iris.statement(doc_id, s["id"])
        g.add((st, RDF.type, CKG.DocumentStatement))
        g.add((st, CKG.statementText, Literal(s["text"])))
        if s.get("heading"):
            g.add((st, CKG.statementHeading, Literal(s["heading"])))
        label = s.get("heading") or f"{d['identifier']} section {s['section']} ({s['kind']})"
        g.add((st, RDFS.label, Literal(label, lang="en")))
        g.add((st, CKG.statementKind, Literal(s["kind"])))
        g.add((st, PROV.wasDerivedFrom, sections[int(s["section"])]))
        g.add((st, DCTERMS.isPartOf, document))
        if s.get("question"):
            g.add((st, CKG.aboutQuestion, question_iri(int(s["question"]))))
    return g


def _shortened(text: str, limit: int = 60) -> str:
    """A label from a sentence: its first words, up to ``limit`` characters."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"
