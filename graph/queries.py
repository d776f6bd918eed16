"""Saved queries: ``queries/*.rq`` files with grlc-style decorators, typed parameters, safe binding.

A query's parameters are its variables named in grlc's convention (``?_name`` required,
``?__name`` optional, an optional type suffix: ``?_concept_iri``, ``?__limit_integer``), described
further by the ``params`` decorator (repeatable, allowed values, the class or scheme an IRI must
belong to, bounds). Values are validated, turned into RDF terms, serialised by rdflib, and bound
with a ``VALUES`` block — the author's own ``VALUES ?_x { }`` block if the query has one, else one
placed at the start of the WHERE group. User text is never pasted into the query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TypeVar

import yaml
from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from graph.config import QUERIES_DIR
from graph.messages import one_line
from graph.namespaces import PREFIXES, is_absolute_iri
from graph.results import QueryResult, SelectResult
from graph.sparql_text import (
    query_form,
    strip_comments,
    tokenize,
    values_blocks,
    values_markers,
    variables,
    where_group_start,
)
from graph.store import Store
from graph.until_written import UntilWritten
from graph.vocab import normalise_label

T = TypeVar("T")

PARAM_TYPES = {"iri", "string", "integer", "literal", "endpoint"}
_PARAM_VAR = re.compile(
    r"^(?P<opt>__?)(?P<name>[A-Za-z0-9]+)(?:_(?P<type>iri|string|integer|literal|number|en|endpoint))?$")


class QueryFileError(Exception):
    """A saved-query file is broken; the message names the file and the problem."""


class ParameterError(ValueError):
    """A parameter value was refused; the message names the parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"parameter {param!r}: {message}")
        self.param = param


@dataclass(frozen=True)
class Param:
    name: str
    variable: str
    type: str = "string"
    required: bool = True
    repeatable: bool = False
    min_count: int = 1
    max_count: int | None = None
    allowed: tuple[str, ...] = ()
    member_of_class: str | None = None
    member_of_scheme: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    default: tuple[str, ...] = ()
    description: str = ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "type": self.type, "required": self.required,
                                  "repeatable": self.repeatable, "description": self.description}
        if self.allowed:
            out["allowed"] = list(self.allowed)
        if self.member_of_class:
            out["class"] = self.member_of_class
        if self.member_of_scheme:
            out["scheme"] = self.member_of_scheme
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default:
            out["default"] = list(self.default) if self.repeatable else self.default[0]
        return out


@dataclass(frozen=True)
class SavedQuery:
    name: str
    path: Path
    text: str
    summary: str
    description: str
    tags: tuple[str, ...]
    form: str
    params: tuple[Param, ...] = field(default_factory=tuple)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "summary": self.summary, "description": self.description,
                "tags": list(self.tags), "form": self.form,
                "params": [p.as_dict() for p in self.params]}

    # -- binding -----------------------------------------------------------------------------
    def bind(self, store: Store, values: Mapping[str, Sequence[str]]) -> str:
        """The query text with every parameter bound, after validating every value."""
        unknown = sorted(set(values) - {p.name for p in self.params})
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise ParameterError(unknown[0], f"this query has no such parameter (its parameters: {known})")
        # bind right-to-left so that earlier offsets stay valid
        edits: list[tuple[int, int, str]] = []
        for param in self.params:
            raw = [v for v in values.get(param.name, ()) if v is not None]
            spans = self._sites[param.variable]
            if param.type == "endpoint":
                # SERVICE cannot take a VALUES-bound variable (and graph.guard refuses SERVICE ?var):
                # the endpoint, one of the operator's allow-list, is written in as an IRI
                iri = resolve_endpoint(store, param, raw)
                edits += [(start, end, f"<{iri}>") for start, end in spans]
                continue
            terms = resolve_values(store, param, raw)
            rows = " ".join(t.n3() for t in terms) if terms else "UNDEF"
            markers = self._markers[param.variable]
            if spans or markers:
                edits += [(start, end, f" {rows} ") for start, end in spans]
                edits += [(start, end, f"VALUES ?{param.variable} {{ {rows} }}") for start, end in markers]
            else:
                at = self._where_start
                edits.append((at, at, f"\n  VALUES ?{param.variable} {{ {rows} }}\n"))
        text = self.text
        for start, end, insert in sorted(edits, key=lambda e: e[0], reverse=True):
            text = text[:start] + insert + text[end:]
        return text

    @cached_property
    def _sites(self) -> dict[str, list[tuple[int, int]]]:
        """Where each parameter is bound, found once (lexing the text is the costly part of a call):
        an endpoint's variable occurrences, else the author's ``VALUES`` blocks (none: a block
        goes at the start of the WHERE group)."""
        sites = {}
        for param in self.params:
            if param.type == "endpoint":
                sites[param.variable] = [(t.start, t.end) for t in tokenize(self.text)
                                         if t.kind == "var" and t.text[1:] == param.variable]
            else:
                sites[param.variable] = values_blocks(self.text, param.variable)
        return sites

    @cached_property
    def _markers(self) -> dict[str, list[tuple[int, int]]]:
        """The author's ``# VALUES ?var`` comments: where each parameter's VALUES block goes."""
        return {param.variable: values_markers(self.text, param.variable) for param in self.params}

    @cached_property
    def _where_start(self) -> int:
        return where_group_start(self.text)

    def run(self, store: Store, values: Mapping[str, Sequence[str]] | None = None, *,
            max_rows: int | None = None) -> QueryResult:
        return store.query(self.bind(store, values or {}), max_rows=max_rows)


# -- values ------------------------------------------------------------------------------------
def _expand_prefixed(value: str) -> str | None:
    prefix, sep, local = value.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return None


AMBIGUOUS = URIRef("urn:clusterkg:ambiguous")


INTERNAL_QUERIES = Path(__file__).parent / "sparql"


@cache
def internal_query(name: str) -> SavedQuery:
    return load_query(INTERNAL_QUERIES / f"{name}.rq")


def _members_query(param: Param) -> tuple[str, dict[str, list[str]], str]:
    if param.member_of_class or param.member_of_scheme == "*":
        cls = param.member_of_class or "http://www.w3.org/2004/02/skos/core#Concept"
        return "members-of-class", {"class": [cls]}, f"class:{cls}"
    return "members-of-scheme", {"scheme": [str(param.member_of_scheme)]}, f"scheme:{param.member_of_scheme}"


# a parameter's members (and the keys that name them), kept until the store's next write; the
# service's threads that miss together wait for one members query
_MEMBERS: UntilWritten[tuple[str, str], object] = UntilWritten((64,), lambda _: (1,), single_flight=True)


def _until_written(store: Store, kind: str, param: Param, compute: Callable[[], T]) -> T:
    def version() -> tuple[str, str] | None:
        identity, generation = store.identity(), store.generation()
        return (identity, generation) if identity and generation else None

    return _MEMBERS.get((kind, _members_query(param)[2]), compute, version)  # type: ignore[return-value]


def _member_rows(store: Store, param: Param) -> list[dict]:
    """The members of the param's class or scheme, with every name they go by.

    Resolving a parameter runs this on every call; on a store that can say when its content last
    changed (the embedded store's write generation) the answer is kept until the next write.
    """
    def compute() -> list[dict]:
        query, values, _ = _members_query(param)
        result = internal_query(query).run(store, values)
        assert isinstance(result, SelectResult)
        return result.rows

    return _until_written(store, "rows", param, compute)


def choices(store: Store, param: Param) -> list[tuple[str, str]]:
    """(IRI, label) of the values a class- or scheme-constrained IRI parameter accepts, by label."""
    if param.type == "endpoint":
        return [(e, e) for e in sorted(store.allowed_services)]
    if not (param.member_of_class or param.member_of_scheme):
        return [(a, a) for a in param.allowed]
    labels: dict[str, str] = {}
    for row in _member_rows(store, param):
        member = row["m"]
        if isinstance(member, URIRef):
            label = str(row.get("pref", "")) or str(member)
            if str(member) not in labels or len(label) < len(labels[str(member)]):
                labels[str(member)] = label
    return sorted(labels.items(), key=lambda item: (item[1].lower(), item[0]))


def _members(store: Store, param: Param) -> dict[str, URIRef]:
    """Keys by which a member of the param's class or scheme may be named -> its IRI.

    A key that names several members (a shared label, or the local name "other") maps to
    ``AMBIGUOUS`` so that the user is asked to be precise instead of getting a guess.
    """
    return _until_written(store, "keys", param, lambda: _member_keys(_member_rows(store, param)))


def _member_keys(rows: list[dict]) -> dict[str, URIRef]:
    exact: dict[str, URIRef] = {}
    loose: dict[str, set[URIRef]] = {}
    for row in rows:
        member = row["m"]
        if not isinstance(member, URIRef):
            continue
        exact[str(member)] = member
        segments = str(member).rstrip("/").replace("#", "/").split("/")
        names = {segments[-1], "/".join(segments[-2:])}  # "medicen", "green-challenges/other"
        if "key" in row:
            names.add(normalise_label(str(row["key"])))
        for name in names:
            loose.setdefault(name, set()).add(member)
    keys = {name: (next(iter(found)) if len(found) == 1 else AMBIGUOUS) for name, found in loose.items()}
    keys.update(exact)
    return keys


def resolve_endpoint(store: Store, param: Param, raw: Sequence[str]) -> str:
    """A federated query's endpoint: one of the service's SERVICE allow-list, or its only entry."""
    allowed = sorted(store.allowed_services)
    if not allowed:
        raise ParameterError(param.name, "no federated endpoint is configured on this service "
                                         "(the operator lists them in CLUSTERKG_SERVICE_ALLOWLIST)")
    if len(raw) > 1:
        raise ParameterError(param.name, f"takes one value, got {len(raw)}")
    if not raw:
        if len(allowed) == 1:
            return allowed[0]
        raise ParameterError(param.name, f"choose one of the configured endpoints: {', '.join(allowed)}")
    value = raw[0].strip()
    if value not in allowed:
        raise ParameterError(param.name, f"{value!r} is not one of the configured endpoints: {', '.join(allowed)}")
    return value


def resolve_values(store: Store, param: Param, raw: Sequence[str]) -> list[Node]:
    """Validated RDF terms for the raw values of one parameter (defaults applied)."""
    if not raw:
        raw = list(param.default)
    if not raw:
        if param.required:
            raise ParameterError(param.name, "a value is required")
        return []
    if not param.repeatable and len(raw) > 1:
        raise ParameterError(param.name, f"takes one value, got {len(raw)}")
    if len(raw) < param.min_count:
        raise ParameterError(param.name, f"needs at least {param.min_count} values")
    if param.max_count is not None and len(raw) > param.max_count:
        raise ParameterError(param.name, f"takes at most {param.max_count} values")
    constrained = param.type == "iri" and (param.member_of_class or param.member_of_scheme)
    members = _members(store, param) if constrained else None
    return [_one_value(param, value, members) for value in raw]


def _one_value(param: Param, value: str, members: dict[str, URIRef] | None) -> Node:
    if len(value) > 2000:
        raise ParameterError(param.name, "value longer than 2000 characters")
    if param.allowed and value not in param.allowed:
        raise ParameterError(param.name, f"{value!r} is not allowed; allowed: {', '.join(param.allowed)}")
    if param.type == "integer":
        if not re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
            raise ParameterError(param.name, f"{value!r} is not a whole number")
        number = int(value)
        if param.minimum is not None and number < param.minimum:
            raise ParameterError(param.name, f"{number} is below the minimum {param.minimum}")
        if param.maximum is not None and number > param.maximum:
            raise ParameterError(param.name, f"{number} is above the maximum {param.maximum}")
        return Literal(number, datatype=XSD.integer)
    if param.type in ("string", "literal"):
        if "\x00" in value:
            raise ParameterError(param.name, "contains a NUL character")
        return Literal(value)
    # IRIs
    candidate = value.strip()
    expanded = _expand_prefixed(candidate)
    if expanded is not None:
        candidate = expanded
    if members is not None:
        found = members.get(candidate) or members.get(normalise_label(candidate))
        if found == AMBIGUOUS:
            raise ParameterError(param.name, f"{value!r} names several resources; give its IRI or "
                                             "scheme/local name (e.g. green-challenges/other)")
        if found is None:
            where = param.member_of_class or param.member_of_scheme
            what = "a concept" if param.member_of_scheme == "*" else f"a member of <{where}>"
            raise ParameterError(param.name, f"{value!r} is not {what} (give its IRI, prefixed name, "
                                             "local name or label)")
        return found
    if not is_absolute_iri(candidate):
        raise ParameterError(param.name, f"{value!r} is not an absolute IRI")
    return URIRef(candidate)


# -- loading -------------------------------------------------------------------------------------
def _decorators(path: Path, text: str) -> dict:
    lines = [line[2:] for line in text.splitlines() if line.startswith("#+")]
    try:
        meta = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError as exc:
        message = one_line(exc, limit=10_000)
        raise QueryFileError(f"{path.name}: the #+ decorators are not valid YAML: {message}") from exc
    if not isinstance(meta, dict):
        raise QueryFileError(f"{path.name}: the #+ decorators must be a YAML mapping")
    return meta


def _params(path: Path, body: str, meta: dict) -> tuple[Param, ...]:
    declared = meta.get("params") or {}
    if not isinstance(declared, dict):
        raise QueryFileError(f"{path.name}: 'params' must map parameter names to their description")
    defaults = {}
    for item in meta.get("defaults") or []:
        if isinstance(item, dict):
            defaults.update(item)
    found: dict[str, Param] = {}
    for var in sorted(variables(body)):
        m = _PARAM_VAR.match(var)
        if not m or not var.startswith("_"):
            continue
        name = m.group("name")
        spec = declared.get(name) or {}
        if not isinstance(spec, dict):
            raise QueryFileError(f"{path.name}: params.{name} must be a mapping")
        ptype = spec.get("type") or {"iri": "iri", "integer": "integer", "number": "integer"}.get(
            m.group("type") or "", "string")
        if ptype not in PARAM_TYPES:
            raise QueryFileError(f"{path.name}: params.{name}.type {ptype!r} is not one of {sorted(PARAM_TYPES)}")
        default = spec.get("default", defaults.get(name))
        default_t = tuple(str(d) for d in default) if isinstance(default, list) else (
            (str(default),) if default is not None else ())
        cls = spec.get("class")
        scheme = spec.get("scheme")
        found[name] = Param(
            name=name, variable=var, type=ptype, required=m.group("opt") == "_",
            repeatable=bool(spec.get("repeatable", False)),
            min_count=int(spec.get("min", 1 if m.group("opt") == "_" else 0)),
            max_count=spec.get("max"),
            allowed=tuple(str(a) for a in spec.get("allowed") or meta.get("enumerate", {}).get(name, []) or ()),
            member_of_class=(_expand_prefixed(cls) or cls) if cls else None,
            member_of_scheme=("*" if scheme == "*" else (_expand_prefixed(scheme) or scheme)) if scheme else None,
            minimum=spec.get("minimum"), maximum=spec.get("maximum"),
            default=default_t, description=str(spec.get("description", "")),
        )
    extra = sorted(set(declared) - set(found))
    if extra:
        raise QueryFileError(f"{path.name}: params.{extra[0]} is declared but the query has no "
                             f"variable ?_{extra[0]} (or ?__{extra[0]}, with an optional type suffix)")
    return tuple(found[n] for n in sorted(found, key=lambda n: list(declared).index(n) if n in declared else 99))


def load_query(path: Path) -> SavedQuery:
    text = path.read_text(encoding="utf-8")
    meta = _decorators(path, text)
    body = strip_comments(text)
    form = query_form(body)
    if form is None:
        raise QueryFileError(f"{path.name}: not a SPARQL query (SELECT, CONSTRUCT, ASK or DESCRIBE)")
    for key in ("summary",):
        if not meta.get(key):
            raise QueryFileError(f"{path.name}: the '#+ {key}:' decorator is missing")
    params = _params(path, body, meta)
    try:
        where_group_start(body)
    except ValueError as exc:
        raise QueryFileError(f"{path.name}: {exc}") from exc
    tags = meta.get("tags") or []
    return SavedQuery(name=path.stem, path=path, text=text, summary=str(meta["summary"]).strip(),
                      description=" ".join(str(meta.get("description", "")).split()),
                      tags=tuple(str(t) for t in tags), form=form, params=params)


def check_syntax(query: SavedQuery) -> None:
    """Parse the query (parameters bound to UNDEF) so that a syntax error shows at load time.

    By Oxigraph, the embedded engine, run on an empty in-memory store: parsing is what costs there
    (rdflib's pyparsing grammar is slow enough to weigh on ``serve``'s cold start:
    docs/performance.md, session 10). Oxigraph starts evaluating a query when it is handed one, so a
    query that calls a SERVICE would reach out even with no data; those are parsed by rdflib
    instead."""
    import pyoxigraph as ox

    text = query.text
    edits = []
    for param in query.params:
        spans = values_blocks(text, param.variable)
        if spans:
            edits += [(s, e, " UNDEF ") for s, e in spans]
    for start, end, insert in sorted(edits, reverse=True):
        text = text[:start] + insert + text[end:]
    if "SERVICE" in strip_comments(text).upper():
        _check_with_rdflib(query, text)
        return
    try:
        ox.Store().query(text)
    except SyntaxError as exc:
        raise QueryFileError(f"{query.path.name}: SPARQL syntax error: {one_line(exc)}") from exc
    except (OSError, ValueError, TypeError) as exc:  # evaluation errors: even with no data to read
        raise QueryFileError(f"{query.path.name}: the query fails even on an empty store: {one_line(exc)}") from exc


def _check_with_rdflib(query: SavedQuery, text: str) -> None:
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parseQuery(text)
    except Exception as exc:  # pyparsing raises its own exception types
        raise QueryFileError(f"{query.path.name}: SPARQL syntax error: {one_line(exc)}") from exc


def load_queries(directory: Path = QUERIES_DIR) -> dict[str, SavedQuery]:
    """Every saved query of the folder; a broken file stops the load with its name and problem."""
    queries = {}
    for path in sorted(directory.glob("*.rq")):
        query = load_query(path)
        check_syntax(query)
        queries[query.name] = query
    return queries
