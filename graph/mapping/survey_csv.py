"""Survey answers as a survey tool exports them: a CSV with one row per response.

The columns are documented in ``graph/templates/README.md``. A multiple-choice cell lists its
options separated by ``;`` (an option's label as printed, its slug, or its IRI; any case).
The mapping never rejects a value itself: a value it cannot resolve is written as a literal so
that the SHACL gate reports it with the rule it breaks. It records, for every node and property
it writes, the CSV row and column it came from, so that the report can name them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from graph.mapping.memory import ImportGraph
from graph.namespaces import CKG, DCTERMS, RDF, RDFS, SKOS, VOCAB, DataIRIs, slugify
from graph.validate import Location, Violation
from graph.vocab import normalise_label, question_iri, resolve_option

# column -> question number, for the multiple-choice questions
CHOICE_COLUMNS: dict[str, int] = {
    "management_skills": 7,
    "resilience_challenges": 8,
    "green_challenges": 9,
    "digital_challenges": 10,
    "strategic_priorities": 11,
}
COLUMNS: list[str] = [
    "response_id", "survey_id", "cluster_name", "respondent_position", "member_count",
    "geographic_coverage", "cluster_focus", "kpis",
    *[c for col in CHOICE_COLUMNS for c in (col, f"{col}_other")],
    "additional_comments",
]
REQUIRED_COLUMNS = {"cluster_name"}
DEFAULT_SURVEY = "bioman4r2-2023"
# rdflib's RDF, RDFS and SKOS namespaces make these terms anew at each use: made once
_TYPE, _LABEL, _PREF_LABEL = RDF.type, RDFS.label, SKOS.prefLabel


class CSVFormatError(ValueError):
    """The file is not a readable survey CSV (encoding, header). Names the line when it can."""


@dataclass
class MappedCSV:
    graph: ImportGraph
    origins: dict[tuple, Location] = field(default_factory=dict)
    responses: list[URIRef] = field(default_factory=list)
    problems: list[Violation] = field(default_factory=list)  # what no shape can see (two rows, one response)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise CSVFormatError(
                f"line {line}: the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                f"{exc.start}); save it as UTF-8 and import it again") from exc
    raise AssertionError("unreachable")


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def map_survey_csv(data: bytes, iris: DataIRIs, *, known_clusters: dict[str, URIRef] | None = None,
                   default_survey: str = DEFAULT_SURVEY) -> MappedCSV:
    """Map a survey CSV to RDF. ``known_clusters`` maps normalised names to existing cluster IRIs."""
    text = _decode(data)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise CSVFormatError(f"line {line}: the file contains a NUL byte, which no text CSV has; "
                             "export it again as CSV (UTF-8)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CSVFormatError("the file is empty: it needs a header row and one row per response") from None
    except csv.Error as exc:
        raise CSVFormatError(f"row 1: cannot read the CSV header: {exc}") from exc
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise CSVFormatError(f"row 1: column(s) {', '.join(repr(h) for h in twice)} appear more than once")
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        raise CSVFormatError(f"line 1: missing column(s) {', '.join(sorted(missing))}; "
                             f"the expected columns are: {', '.join(COLUMNS)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise CSVFormatError(f"line 1: unknown column(s) {', '.join(unknown)}; "
                             f"the expected columns are: {', '.join(COLUMNS)}")
    known_clusters = known_clusters or {}
    out = MappedCSV(ImportGraph())
    g = out.graph
    seen_responses: dict[URIRef, int] = {}
    ids: dict[str, int] = {}
    row_number = 1  # as a spreadsheet numbers rows: the header is row 1, a blank line is a row too
    try:
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise CSVFormatError(f"row {row_number}: {len(cells)} cells but {len(header)} columns")
            row = {column: (cells[i].strip() if i < len(cells) else "") for i, column in enumerate(header)}
            _check_unique_id(row, row_number, ids, out)
            _map_row(row, row_number, g, out, iris, known_clusters, default_survey, seen_responses)
    except csv.Error as exc:
        raise CSVFormatError(f"row {row_number + 1}: {exc}") from exc
    if not out.responses:
        raise CSVFormatError("the file has a header but no rows: nothing to import")
    return out


def _check_unique_id(row: dict[str, str], n: int, ids: dict[str, int], out: MappedCSV) -> None:
    """A response_id given twice: both rows would be one response."""
    given = row.get("response_id", "")
    if not given:
        return
    if given in ids:
        out.problems.append(Violation(
            focus=given, path=None, value=given, rule="one row per response", severity="Violation",
            message=f"response_id {given!r} is also the id of row {ids[given]}; each response has its own id",
            location=Location(n, "response_id")))
        return
    ids[given] = n


def _map_row(row: dict[str, str], n: int, g: ImportGraph, out: MappedCSV, iris: DataIRIs,
             known_clusters: dict[str, URIRef], default_survey: str,
             seen: dict[URIRef, int]) -> None:
    add = g.add

    def at(node, prop, column: str) -> None:
        out.origins[(node, prop)] = Location(n, column)

    survey_id = slugify(row.get("survey_id") or default_survey) or default_survey
    survey = iris.survey(survey_id)
    name = row.get("cluster_name", "")
    response_slug = slugify(row.get("response_id", "")) or slugify(name) or f"row-{n}"
    response = iris.response(survey_id, response_slug)
    if response in seen:
        # two rows for one response: a distinct node keeps both rows reportable
        response = iris.response(survey_id, f"{response_slug}-row-{n}")
    seen[response] = n
    out.responses.append(response)
    out.origins[(response, None)] = Location(n, None)
    add((response, _TYPE, CKG.SurveyResponse))
    add((response, _LABEL, Literal(f"Response of {name or '(no cluster name)'} (CSV row {n})", lang="en")))
    add((response, CKG.survey, survey))
    at(response, CKG.survey, "survey_id")
    if survey_id != default_survey:
        # a survey the store may not know yet: described here, titled by its id
        add((survey, _TYPE, CKG.Survey))
        add((survey, DCTERMS.title, Literal(row.get("survey_id") or survey_id)))

    # cluster (question 1)
    known = known_clusters.get(normalise_label(name)) if name else None
    if known is not None:
        cluster = known  # an existing cluster: referenced, its names left as they are
    else:
        cluster = iris.cluster(slugify(name) or f"unnamed-{response_slug}")
        add((cluster, _TYPE, CKG.Cluster))
        if name:
            add((cluster, _PREF_LABEL, Literal(name, lang="en")))
            add((cluster, _LABEL, Literal(name, lang="en")))
    out.origins[(cluster, None)] = Location(n, "cluster_name")
    add((response, CKG.respondingCluster, cluster))
    at(response, CKG.respondingCluster, "cluster_name")

    # respondent (question 2)
    if row.get("respondent_position"):
        respondent = URIRef(f"{response}/respondent")
        add((response, CKG.respondent, respondent))
        add((respondent, _TYPE, CKG.Respondent))
        position = resolve_option(VOCAB["respondent-positions"], row["respondent_position"])
        add((respondent, CKG.position, position or Literal(row["respondent_position"])))
        out.origins[(respondent, None)] = Location(n, "respondent_position")

    # members (question 3): the integer as given, or the text if it is not one
    if row.get("member_count"):
        raw = row["member_count"].replace(" ", "").replace("\u00a0", "")
        try:
            value = Literal(int(raw), datatype=XSD.integer)
        except ValueError:
            value = Literal(row["member_count"])
        add((response, CKG.memberCount, value))
        at(response, CKG.memberCount, "member_count")

    # coverage (question 4)
    if row.get("geographic_coverage"):
        coverage = resolve_option(VOCAB["geographic-coverage"], row["geographic_coverage"])
        add((response, CKG.geographicCoverage, coverage or Literal(row["geographic_coverage"])))
        at(response, CKG.geographicCoverage, "geographic_coverage")

    if row.get("cluster_focus"):
        add((response, CKG.focus, Literal(row["cluster_focus"])))
        at(response, CKG.focus, "cluster_focus")
    if row.get("additional_comments"):
        add((response, CKG.additionalComments, Literal(row["additional_comments"])))
        at(response, CKG.additionalComments, "additional_comments")

    # KPIs (question 6): "Category: kpi; kpi; ..." or plain "kpi; kpi"
    for k, item in enumerate(_split(row.get("kpis", "")), start=1):
        kpi = URIRef(f"{response}/kpi/{k}")
        add((response, CKG.reportsKPI, kpi))
        add((kpi, _TYPE, CKG.KeyPerformanceIndicator))
        heading, _, text = item.partition(":") if ":" in item else ("", "", item)
        text = text.strip()
        add((kpi, CKG.kpiText, Literal(text)))
        add((kpi, _LABEL, Literal(text, lang="en")))
        if heading.strip():
            add((kpi, CKG.categoryHeading, Literal(heading.strip())))
            category = resolve_option(VOCAB["kpi-categories"], heading)
            add((kpi, CKG.kpiCategory, category or VOCAB["kpi-categories/other"]))
        out.origins[(kpi, None)] = Location(n, "kpis")

    # closed questions 7-11
    for column, number in CHOICE_COLUMNS.items():
        question = question_iri(number)
        scheme = VOCAB[{7: "management-skills", 8: "resilience-challenges", 9: "green-challenges",
                        10: "digital-challenges", 11: "strategic-priorities"}[number]]
        other_text = row.get(f"{column}_other", "")
        chosen = _split(row.get(column, ""))
        if other_text and not any(resolve_option(scheme, c) == VOCAB[f"{scheme.rsplit('/', 1)[-1]}/other"]
                                  for c in chosen):
            chosen.append("Other")
        for choice in chosen:
            option = resolve_option(scheme, choice)
            slug = option.rsplit("/", 1)[-1] if option is not None else slugify(choice) or "option"
            answer = URIRef(f"{response}/answer/q{number}/{slug}")
            add((response, CKG.hasAnswer, answer))
            add((answer, _TYPE, CKG.Answer))
            add((answer, CKG.question, question))
            add((answer, CKG.option, option if option is not None else Literal(choice)))
            if option is not None and option.endswith("/other") and other_text:
                add((answer, CKG.otherText, Literal(other_text)))
            out.origins[(answer, None)] = Location(n, column)
            out.origins[(answer, CKG.otherText)] = Location(n, f"{column}_other")
