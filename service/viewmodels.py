"""The data of each page, built from saved queries only: plain dicts that the HTML templates render
and that ``?format=json`` returns as they are (every page is also data, as in Datasette).

Templates hold no logic: grouping, ordering and chart geometry happen here.
"""

from __future__ import annotations

import datetime
import decimal
from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

from rdflib import URIRef

from graph.namespaces import CKG, QUESTION, VOCAB
from graph.queries import choices, resolve_values
from graph.results import GraphResult, SelectResult
from graph.vocab import is_other_option, option_scheme, pref_label, terminology
from service.links import href
from service.state import state

FIGURES = {1: 7, 2: 8, 3: 9, 4: 10, 5: 11}  # catalogue figure -> question
THEMES_SCHEME = str(VOCAB["themes"])
THEME_PREFIX = str(VOCAB["theme/"])


def _plain(value: object) -> object:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)


def rows(name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of a saved SELECT query as plain Python values."""
    values = {k: (v if isinstance(v, list) else [v]) for k, v in params.items() if v not in (None, "", [])}
    result = state().queries[name].run(state().store, {k: [str(x) for x in v] for k, v in values.items()})
    assert isinstance(result, SelectResult), name
    return [{k: _plain(v) for k, v in row.items()} for row in result.as_python()]


def api_url(name: str, **params: Any) -> str:
    pairs = [(k, str(x)) for k, v in params.items() if v not in (None, "")
             for x in (v if isinstance(v, list) else [v])]
    return f"/api/queries/{name}" + (f"?{urlencode(pairs)}" if pairs else "")


# -- home ----------------------------------------------------------------------------------------
def concept_choices() -> list[dict[str, Any]]:
    """Concepts grouped by scheme (themes first) for the headline question's selects."""
    groups: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for row in rows("schemes"):
        if row["scheme"] in (str(VOCAB["respondent-positions"]), str(VOCAB["geographic-coverage"])):
            continue
        group = groups.setdefault(row["scheme"], {"scheme": row["scheme"], "label": row["schemeLabel"],
                                                  "options": []})
        group["options"].append({"iri": row["concept"], "label": row["conceptLabel"]})
    ordered = sorted(groups.values(), key=lambda g: (g["scheme"] != THEMES_SCHEME, g["label"]))
    return ordered


def home() -> dict[str, Any]:
    summary = rows("dataset-summary")
    documents = [{"iri": r["document"], "href": href(r["document"]), "title": r.get("documentTitle"),
                  "identifier": r.get("identifier"), "issued": r.get("issued"), "author": r.get("author")}
                 for r in summary if r.get("document")]
    counts = {k: summary[0][k] for k in ("clusters", "responses", "unattributed", "answers", "kpis", "statements",
                                         "surveys")} if summary else {}
    default = state().queries["clusters-sharing"].param("concept").default
    unattributed = summary[0].get("unattributedResponse") if summary else None
    counts["unattributed_href"] = href(unattributed) if unattributed else None
    if summary:
        counts["attributed"] = int(counts["responses"]) - int(counts["unattributed"])
    return {"counts": counts, "documents": documents, "choices": concept_choices(),
            "selected": list(default), "api": api_url("dataset-summary")}


def share(concepts: list[str]) -> dict[str, Any]:
    """The headline question: which clusters share every one of these concepts, and how."""
    found = rows("clusters-sharing", concept=concepts)
    resolved = [{"iri": c, "href": href(c), "label": _label_of(c)} for c in concepts]
    evidence: dict[str, list[dict[str, Any]]] = {r["cluster"]: [] for r in found}
    for concept in concepts:
        for row in rows("concept-clusters", concept=concept):
            if row.get("cluster") in evidence:
                evidence[row["cluster"]].append({
                    "concept": _label_of(concept), "question": row["questionNumber"],
                    "option": row["optionLabel"], "heading": row.get("heading"),
                    "statement": row.get("statement"), "section": row.get("sectionLabel")})
    return {"concepts": resolved,
            "clusters": [{"iri": r["cluster"], "href": href(r["cluster"]), "label": r["clusterLabel"],
                          "evidence": evidence[r["cluster"]]} for r in found],
            "choices": concept_choices(), "selected": concepts,
            "api": api_url("clusters-sharing", concept=concepts), "query": "clusters-sharing"}


def _label_of(concept: str) -> str:
    details = rows("concept-details", concept=concept)
    return details[0]["label"] if details else concept


# -- clusters ----------------------------------------------------------------------------------
def clusters() -> dict[str, Any]:
    return {"clusters": [{**r, "href": href(r["cluster"])} for r in rows("clusters")], "api": api_url("clusters")}


def cluster(iri: str) -> dict[str, Any]:
    facts = rows("cluster-details", cluster=iri)
    name = next((f["value"] for f in facts if f["fact"].endswith("#prefLabel")), iri)
    shown = [{"label": f["factLabel"], "value": f.get("valueLabel") or f["value"],
              "href": href(f["value"]) if f.get("valueLabel") else None, "section": f.get("sectionLabel"),
              "section_href": href(f["section"]) if f.get("section") else None}
             for f in facts if f["fact"] != "http://www.w3.org/2004/02/skos/core#prefLabel"]
    questions: OrderedDict[int, dict[str, Any]] = OrderedDict()
    for row in rows("cluster-profile", cluster=iri):
        q = questions.setdefault(row["questionNumber"], {"number": row["questionNumber"],
                                                          "label": row["questionLabel"], "answers": []})
        q["answers"].append({"option": row["optionLabel"], "option_href": href(row["option"]),
                             "other": row.get("otherText"), "heading": row.get("heading"),
                             "statement": row.get("statement"), "section": row.get("sectionLabel"),
                             "section_href": href(row["section"]) if row.get("section") else None,
                             "href": href(row["answer"])})
    kpis: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for row in rows("kpis-by-category", cluster=iri):
        group = kpis.setdefault(row["category"], {"label": row["categoryLabel"], "href": href(row["category"]),
                                                  "kpis": []})
        group["kpis"].append(row["kpiText"])
    similar = [{"label": r["otherLabel"], "href": href(r["other"]), "shared": r["shared"],
                "jaccard": round(float(r["jaccard"]), 2)} for r in rows("similar-clusters", cluster=iri)]
    candidates = [r for r in _candidate_notes(iri)]
    readings = readings_of(iri)
    # the questions the source prints no answer to under this cluster's heading, by reason
    missing: OrderedDict[str, list[int]] = OrderedDict()
    for (who, number), reason in sorted(missing_answers().items()):
        if who == iri:
            missing.setdefault(reason, []).append(number)
    return {"iri": iri, "name": name, "facts": shown, "questions": list(questions.values()),
            "readings": readings,
            "missing": [{"questions": ", ".join(map(str, numbers)), "reason": reason}
                        for reason, numbers in missing.items()],
            "priorities": questions.get(11, {}).get("answers", []), "kpis": list(kpis.values()),
            "similar": similar, "candidates": candidates,
            "downloads": {"Turtle": api_url("cluster-subgraph", cluster=iri, format="ttl"),
                          "JSON-LD": api_url("cluster-subgraph", cluster=iri, format="jsonld")},
            "api": api_url("cluster-profile", cluster=iri)}


def readings_of(cluster: str) -> list[dict[str, Any]]:
    """The readings that propose ``cluster`` for a response the source does not attribute, each
    with its evidence (attribution-readings)."""
    readings: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for r in rows("attribution-readings", cluster=cluster):
        reading = readings.setdefault(r["reading"], {
            "label": r["readingLabel"], "confidence": r["confidenceLabel"], "confidence_href": href(r["confidence"]),
            "response": r["responseLabel"], "response_href": href(r["response"]), "evidence": []})
        reading["evidence"].append({"text": r["evidence"], "sections": r["sections"]})
    return list(readings.values())


def _candidate_notes(iri: str) -> list[dict[str, Any]]:
    """Responses the source does not attribute, for which this cluster is a candidate."""
    result = state().queries["describe-resource"].run(state().store, {"resource": [iri]})
    assert isinstance(result, GraphResult)
    from graph.namespaces import CKG, RDFS

    notes = []
    for response in result.graph.subjects(CKG.attributionCandidate, None):
        if str(response) == iri:
            continue
        notes.append({"href": href(response), "label": str(result.graph.value(response, RDFS.label) or response)})
    return notes


# -- vocabularies ----------------------------------------------------------------------------------
def vocabularies() -> dict[str, Any]:
    schemes: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for row in rows("schemes"):
        s = schemes.setdefault(row["scheme"], {"iri": row["scheme"], "href": href(row["scheme"]),
                                               "label": row["schemeLabel"], "question": row.get("question"),
                                               "concepts": []})
        s["concepts"].append({"label": row["conceptLabel"], "href": href(row["concept"]),
                              "themes": row.get("themes") or ""})
    # the theme tree: each theme with the options (of every question) under it
    themes = [s for s in schemes.values() if s["iri"] == THEMES_SCHEME]
    tree = []
    for theme in (themes[0]["concepts"] if themes else []):
        tree.append({**theme, "options": []})
    by_label = {t["label"]: t for t in tree}
    for s in schemes.values():
        if s["iri"] == THEMES_SCHEME:
            continue
        for c in s["concepts"]:
            for theme_label in filter(None, (c["themes"] or "").split("; ")):
                if theme_label in by_label:
                    by_label[theme_label]["options"].append({**c, "scheme": s["label"]})
    ordered = sorted(schemes.values(), key=lambda s: (s["question"] is None, s["question"] or 0, s["label"]))
    return {"schemes": ordered, "theme_tree": tree, "api": api_url("schemes")}


def concept(iri: str) -> dict[str, Any]:
    details = rows("concept-details", concept=iri)
    if not details:
        return {}
    relations: dict[str, list[dict[str, Any]]] = {}
    for row in details:
        related = row["related"]
        relations.setdefault(row["relation"], []).append({
            "label": row.get("relatedLabel") or related,
            "href": href(related) if row["relation"] != "altLabel" else None,
            "scheme": row.get("relatedSchemeLabel")})
    answers = [{"cluster": r.get("clusterLabel"), "cluster_href": href(r["cluster"]) if r.get("cluster") else None,
                "response_href": href(r["response"]), "question": r["questionNumber"], "option": r["optionLabel"],
                "option_href": href(r["option"]), "heading": r.get("heading"), "statement": r.get("statement"),
                "section": r.get("sectionLabel")} for r in rows("concept-clusters", concept=iri)]
    clusters = sorted({a["cluster"] for a in answers if a["cluster"]})
    is_theme = iri.startswith(THEME_PREFIX)
    kpis = [{"cluster": r["clusterLabel"], "cluster_href": href(r["cluster"]), "count": r["kpis"],
             "categories": r["categories"], "texts": r["kpiTexts"]}
            for r in rows("kpis-by-theme", theme=iri)] if is_theme else []
    return {"iri": iri, "label": details[0]["label"], "definition": details[0].get("definition"),
            "relations": relations, "answers": answers, "clusters": clusters, "is_theme": is_theme, "kpis": kpis,
            "kpis_api": api_url("kpis-by-theme", theme=iri) if is_theme else None,
            "share_href": "/share?" + urlencode({"concept": iri}),
            "api": api_url("concept-clusters", concept=iri)}


# -- figures, matrix, network ----------------------------------------------------------------------
def figure(number: int) -> dict[str, Any]:
    question = FIGURES[number]
    data = rows("option-counts", question=question)
    caption, scheme_label = _figure_caption(question)
    top = max([r["responses"] for r in data] + [1])
    bar_area = 360
    bars = []
    for i, r in enumerate(data):
        bars.append({"label": r["optionLabel"], "href": href(r["option"]), "clusters": r["clusters"],
                     "responses": r["responses"], "y": 10 + i * 46,
                     "w_responses": round(bar_area * r["responses"] / top, 1),
                     "w_clusters": round(bar_area * r["clusters"] / top, 1)})
    for bar in bars:
        bar["text_x"] = 12 + max(bar["w_responses"], bar["w_clusters"])
    return {"number": number, "question": question, "caption": caption, "bars": bars,
            "height": 20 + 46 * len(bars), "scheme": scheme_label,
            "query": "option-counts", "query_href": f"/queries/option-counts?question={question}",
            "api": api_url("option-counts", question=question)}


def _figure_caption(question: int) -> tuple[str, str]:
    """The figure's caption and its scheme's label, from the vocabularies (no query needed)."""
    scheme = option_scheme(QUESTION[str(question)])
    if scheme is None:
        return f"Options of question {question}", ""
    caption = terminology().value(scheme, CKG.figureCaption)
    return (str(caption) if caption else f"Options of question {question}"), pref_label(scheme)


def figures() -> dict[str, Any]:
    return {"figures": [figure(n) for n in FIGURES]}


def _filters(question: str | None, theme: str | None) -> dict[str, Any]:
    param = state().queries["cluster-challenge-matrix"]
    return {"questions": [{"value": str(q), "label": f"Question {q}"} for q in (7, 8, 9, 10, 11)],
            "themes": [{"value": iri, "label": label} for iri, label in choices(state().store, param.param("theme"))],
            "question": question, "theme": theme}


ATTRIBUTIONS = {"as-printed": "as printed (a response with no cluster is its own row)",
                "probable": "probable reading (credited to the cluster it proposes)"}


def missing_answers() -> dict[tuple[str, int], str]:
    """(respondent, question number) -> why the source prints no answer there (missing-answers)."""
    return {(r["cluster"], int(r["questionNumber"])): r["reason"] for r in rows("missing-answers")}


def matrix(question: str | None, theme: str | None, attribution: str | None = None) -> dict[str, Any]:
    if not question and not theme:
        question = "8"
    attribution = attribution if attribution in ATTRIBUTIONS else "as-printed"
    data = rows("cluster-challenge-matrix", question=question, theme=theme, attribution=attribution)
    if question and not theme:
        number = next((int(r["questionNumber"]) for r in data), None)
        columns = [{"iri": r["option"], "label": r["optionLabel"], "href": href(r["option"]), "question": number}
                   for r in rows("option-counts", question=question)]
    else:
        seen: OrderedDict[str, dict[str, Any]] = OrderedDict()
        for r in data:
            seen.setdefault(r["option"], {"iri": r["option"], "label": r["optionLabel"], "href": href(r["option"]),
                                          "question": int(r["questionNumber"])})
        columns = list(seen.values())
    cells = {(r["cluster"], r["option"]): (r["statements"], r.get("attribution")) for r in data}
    missing = missing_answers()
    respondents = [{"iri": c["cluster"], "label": c["clusterLabel"], "href": c["href"], "reading": None}
                   for c in clusters()["clusters"]]
    named = {r["iri"] for r in respondents}
    # a response whose source names no cluster: a row of its own, with its reading
    for r in data:
        if r["cluster"] not in named:
            named.add(r["cluster"])
            respondents.append({"iri": r["cluster"], "label": r["clusterLabel"], "href": href(r["cluster"]),
                                "reading": r.get("attribution")})
    table = []
    for c in respondents:
        row_cells = [_matrix_cell(c, col, *cells.get((c["iri"], col["iri"]), (0, None)),
                                  missing.get((c["iri"], col["question"]))) for col in columns]
        table.append({**c, "cells": row_cells, "total": sum(1 for x in row_cells if x["n"])})
    totals = [sum(1 for r in table if r["cells"][i]["n"]) for i in range(len(columns))]
    return {"columns": columns, "rows": table, "totals": totals, **_filters(question, theme),
            "attribution": attribution,
            "attributions": [{"value": value, "label": label} for value, label in ATTRIBUTIONS.items()],
            "api": api_url("cluster-challenge-matrix", question=question, theme=theme, attribution=attribution),
            "query_href": "/queries/cluster-challenge-matrix"}


def _matrix_cell(respondent: dict[str, Any], column: dict[str, Any], n: int, reading: str | None,
                 missing: str | None) -> dict[str, Any]:
    """One cell: how many statements back the choice, and what an empty cell means (not chosen,
    or nothing printed under the heading) or a full one rests on (a reading)."""
    where = f"{respondent['label']} — {column['label']}: "
    if n:
        said = f"{n} statement{'s' if n != 1 else ''}"
        if reading and not respondent["reading"]:
            said += f", credited by a reading ({reading})"
        credited = bool(reading and not respondent["reading"])
        return {"n": n, "text": f"{n}*" if credited else str(n), "missing": False, "reading": credited,
                "css": f"heat-{min(n, 2)}" + (" by-reading" if credited else ""), "title": where + said}
    if missing:
        return {"n": 0, "text": "–", "missing": True, "reading": False, "css": "heat-missing",
                "title": where + "no answer printed under this heading: " + missing}
    return {"n": 0, "text": "", "missing": False, "reading": False, "css": "heat-0", "title": where + "not chosen"}


def network(question: str | None, theme: str | None, minimum: int = 2) -> dict[str, Any]:
    data = rows("cluster-challenge-matrix", question=question, theme=theme)
    per_option: OrderedDict[str, set[str]] = OrderedDict()
    labels: dict[str, str] = {}
    for r in data:
        per_option.setdefault(r["option"], set()).add(r["cluster"])
        labels[r["option"]] = r["optionLabel"]
        labels[r["cluster"]] = r["clusterLabel"]
    # "Other" answers of different clusters are different free texts, not a shared challenge
    shared = [o for o, cs in per_option.items() if len(cs) >= minimum and not is_other_option(URIRef(o))]
    shared.sort(key=lambda o: (-len(per_option[o]), labels[o]))
    cluster_ids = sorted({c for o in shared for c in per_option[o]}, key=lambda c: labels[c].lower())
    left = {c: 40 + i * 60 for i, c in enumerate(cluster_ids)}
    right = {o: 30 + i * 34 for i, o in enumerate(shared)}
    height = max([*left.values(), *right.values(), 0]) + 50
    nodes_left = [{"label": labels[c], "href": href(c), "y": y} for c, y in left.items()]
    nodes_right = [{"label": _shorten(labels[o]), "full": labels[o], "href": href(o), "y": y, "n": len(per_option[o])}
                   for o, y in right.items()]
    edges = [{"y1": left[c], "y2": right[o], "title": f"{labels[c]} — {labels[o]}"}
             for o in shared for c in sorted(per_option[o])]
    return {"left": nodes_left, "right": nodes_right, "edges": edges, "height": height, "minimum": minimum,
            **_filters(question, theme), "api": api_url("cluster-challenge-matrix", question=question, theme=theme)}


def _shorten(text: str, limit: int = 58) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- saved queries -----------------------------------------------------------------------------------
def queries_index() -> dict[str, Any]:
    return {"queries": [{"name": q.name, "summary": q.summary, "tags": list(q.tags), "href": f"/queries/{q.name}",
                         "params": [p.name for p in q.params]} for q in state().queries.values()],
            "api": "/api/queries"}


def query_page(name: str, args: dict[str, list[str]]) -> dict[str, Any]:
    query = state().queries[name]
    form = []
    for p in query.params:
        listed = p.member_of_class or p.member_of_scheme or p.allowed or p.type == "endpoint"
        options = choices(state().store, p) if listed else []
        given = [v for v in args.get(p.name, []) if v]
        values = given or list(p.default)
        if options and values and (p.member_of_class or p.member_of_scheme):
            # "9", "medicen" or a label select the matching IRI in the form
            values = [str(term) for term in resolve_values(state().store, p, values)]
        form.append({"name": p.name, "type": p.type, "required": p.required, "repeatable": p.repeatable,
                     "description": p.description, "values": values,
                     "options": [{"value": v, "label": lab, "selected": v in values} for v, lab in options],
                     "input": "select" if options else ("number" if p.type == "integer" else "text")})
    params = {p["name"]: p["values"] for p in form if p["values"]}
    result = query.run(state().store, params)
    bound = query.bind(state().store, params)
    table: dict[str, Any] | None = None
    graph_size = None
    if isinstance(result, SelectResult):
        table = {"columns": result.variables,
                 "rows": [[{"text": str(row[v]) if v in row else "", "href": href(row[v])
                            if v in row and str(row[v]).startswith(("http://", "https://")) else None}
                           for v in result.variables] for row in result.rows]}
    elif isinstance(result, GraphResult):
        graph_size = len(result.graph)
    editor = "/sparql?" + urlencode({"editor": "1", "query": bound})
    return {"name": name, "summary": query.summary, "description": query.description, "tags": list(query.tags),
            "form": form, "table": table, "graph_size": graph_size, "sparql": query.text,
            "editor_href": editor, "api": api_url(name, **params),
            "downloads": ({"CSV": api_url(name, **params, format="csv"), "JSON": api_url(name, **params, format="json")}
                          if table is not None else
                          {"Turtle": api_url(name, **params, format="ttl"),
                           "JSON-LD": api_url(name, **params, format="jsonld")})}
