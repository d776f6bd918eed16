"""A SPARQL 1.1 Protocol request read: its one query (or update), its dataset and its base.

The three ways to send an operation (GET with ``query=``; POST form-encoded; POST with the text
as the body, ``application/sparql-query`` or ``application/sparql-update``), one parameter of it
only, text in UTF-8 (a body declaring another charset is 415, never misread), and the dataset
parameters (``default-graph-uri`` / ``named-graph-uri`` for a query, ``using-graph-uri`` /
``using-named-graph-uri`` for an update), which must be IRIs. The base IRI of the operation is
the endpoint's own IRI, as the protocol allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from flask import abort, request

from graph.store import QueryDataset

FORM = "application/x-www-form-urlencoded"
DIRECT = {"query": "application/sparql-query", "update": "application/sparql-update"}
DATASET = {"query": ("default-graph-uri", "named-graph-uri"), "update": ("using-graph-uri", "using-named-graph-uri")}


def with_base(text: str, base: str) -> str:
    """``text`` with ``base`` as its base IRI: a BASE declared first, which the text's own BASE, if
    it has one, follows and overrides."""
    return f"BASE <{base}>\n{text}"


@dataclass(frozen=True)
class Operation:
    text: str
    dataset: QueryDataset | None  # for an update: its USING and USING NAMED graphs
    base: str


def read_operation(kind: str) -> Operation | None:
    """The request's ``kind`` ("query" or "update") operation; None when a GET carries none (the
    service description, the editor). Aborts with 400 or 415 and a clear message otherwise."""
    other = "update" if kind == "query" else "query"
    if request.method == "GET":
        if other in request.args:
            _wrong_kind(kind)
        texts = request.args.getlist(kind)
    else:
        texts = _posted(kind, other)
    if len(texts) > 1:
        abort(400, description=f"one {kind} at a time: the request has {len(texts)} '{kind}' parameters")
    if not texts:
        if request.method == "GET":
            return None
        abort(400, description=f"the request has no {kind}")
    return Operation(texts[0], _dataset(kind), endpoint_iri())


def endpoint_iri() -> str:
    """The endpoint's IRI, as the request names it (its Host header included): checked to be an
    IRI, since it is written into the operation's text."""
    try:
        return ox.NamedNode(request.base_url).value
    except ValueError:
        abort(400, description="the request's URL (its Host header) is not a valid IRI")


def _posted(kind: str, other: str) -> list[str]:
    media = (request.mimetype or "").lower()
    charset = (request.mimetype_params.get("charset") or "utf-8").lower()
    if media in (FORM, DIRECT[kind]) and charset not in ("utf-8", "utf8"):
        abort(415, description=f"the {kind} must be sent in UTF-8, not {charset}")
    if media == DIRECT[kind]:
        try:
            return [request.get_data().decode("utf-8")]
        except UnicodeDecodeError as exc:
            abort(400, description=f"the {kind} is not valid UTF-8 (byte {exc.start})")
    if media == FORM:
        if other in request.form:
            _wrong_kind(kind)
        return request.form.getlist(kind)
    if media == DIRECT[other]:
        _wrong_kind(kind)
    abort(415, description=f"send the {kind} as {DIRECT[kind]} or as the form field '{kind}' ({FORM})")


def _wrong_kind(kind: str) -> None:
    if kind == "query":
        abort(400, description="updates are not accepted at this endpoint (it is read-only); maintainers send "
                               "them to /update")
    abort(400, description="this endpoint takes updates; queries go to /sparql")


def _dataset(kind: str) -> QueryDataset | None:
    default_name, named_name = DATASET[kind]
    default = [*request.args.getlist(default_name), *request.form.getlist(default_name)]
    named = [*request.args.getlist(named_name), *request.form.getlist(named_name)]
    for iri in (*default, *named):
        try:
            ox.NamedNode(iri)
        except ValueError:
            abort(400, description=f"{iri!r} is not an IRI (a dataset parameter names a graph)")
    if not default and not named:
        return None
    return QueryDataset(tuple(dict.fromkeys(default)), tuple(dict.fromkeys(named)))
