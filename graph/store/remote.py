"""A store on an external SPARQL 1.1 engine (Oxigraph server, Virtuoso, Fuseki, GraphDB, ...).

Queries and updates go through SPARQLWrapper (SPARQL 1.1 Protocol); whole graphs are read and
staged through the Graph Store HTTP Protocol with plain HTTP, which SPARQLWrapper does not speak.
Writes are all-or-nothing: graphs are replaced by one SPARQL update (one transaction on the
engine); graphs too large for one update are first uploaded to staging graphs, then moved into
place by one update, and the staging graphs are dropped if anything fails.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node
from SPARQLWrapper import DIGEST, JSON, POST, POSTDIRECTLY, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from graph.config import Settings
from graph.guard import ServiceRefused, check_services
from graph.messages import one_line
from graph.namespaces import is_absolute_iri
from graph.rdftext import ntriples
from graph.results import AskResult, GraphResult, QueryResult, SelectResult
from graph.sparql_text import query_form, where_group_start
from graph.store import dialects, sizes
from graph.store.base import QueryAborted, QueryDataset, QueryTimeout, Store, StoreError, StoreUnavailable, Write
from graph.store.dataops import data_ops

DEFAULT_TIMEOUT_S = 60
STAGING = "urn:clusterkg:staging:"
log = logging.getLogger("clusterkg.store")
ENGINE_REFUSED = "the engine refused the request; the administrator can find its reasons in the service log"


def _term(binding: dict[str, str]) -> Node:
    kind = binding["type"]
    value = binding["value"]
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if "xml:lang" in binding:
        return Literal(value, lang=binding["xml:lang"])
    datatype = binding.get("datatype")
    if datatype and datatype != str(XSD.string):
        return Literal(value, datatype=URIRef(datatype))
    return Literal(value)


def bind_with_values(sparql: str, bindings: Mapping[str, Node]) -> str:
    """Pre-bind variables with a VALUES block at the start of the WHERE group (terms are
    serialised by rdflib, never pasted as text)."""
    if not bindings:
        return sparql
    names = list(bindings)
    row = " ".join(bindings[n].n3() for n in names)
    block = f"\n  VALUES ({' '.join('?' + n for n in names)}) {{ ({row}) }}\n"
    at = where_group_start(sparql)
    return sparql[:at] + block + sparql[at:]


class RemoteStore(Store):
    def __init__(self, settings: Settings, *, timeout_s: int = DEFAULT_TIMEOUT_S) -> None:
        if not settings.endpoint:
            raise StoreUnavailable("no SPARQL endpoint given (--endpoint or CLUSTERKG_ENDPOINT)")
        self.endpoint = settings.endpoint
        self.update_endpoint = settings.update_endpoint or settings.endpoint
        self.graph_store = settings.graph_store
        self.timeout_s = timeout_s
        self.query_timeout_s: float | None = None  # the service sets its query time limit here
        self.answer_bytes: int | None = None  # ... and its answers' budget (graph.results.term_bytes)
        self.user, self.password = None, None
        if settings.auth:
            self.user, _, self.password = settings.auth.partition(":")
        self.auth_type = settings.auth_type
        self.allowed_services = settings.service_allowlist
        self._location = {"endpoint": settings.endpoint, "update_endpoint": settings.update_endpoint,
                          "graph_store": settings.graph_store, "auth": settings.auth, "auth_type": settings.auth_type}
        self.dialect = self._detect()
        self._check_union_default_graph()

    # -- HTTP plumbing --------------------------------------------------------------------------------
    def location(self) -> dict[str, object]:
        return dict(self._location)

    def _wrapper(self, url: str) -> SPARQLWrapper:
        wrapper = SPARQLWrapper(url, agent="clusterkg")
        wrapper.setTimeout(self.timeout_s)
        wrapper.setMethod(POST)
        if self.user is not None:
            wrapper.setCredentials(self.user, self.password)
            if self.auth_type == "digest":
                wrapper.setHTTPAuth(DIGEST)
        return wrapper

    def _opener(self, url: str) -> urllib.request.OpenerDirector:
        handlers: list[urllib.request.BaseHandler] = []
        if self.user is not None:
            manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            manager.add_password(None, url, self.user, self.password or "")
            handlers.append(urllib.request.HTTPDigestAuthHandler(manager))
        return urllib.request.build_opener(*handlers)

    def _http(self, method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
              ok: tuple[int, ...] = (200, 201, 204)) -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if self.user is not None and self.auth_type == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with self._opener(url).open(request, timeout=self.timeout_s) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return exc.code, exc.read(), dict(exc.headers)
            body = exc.read().decode("utf-8", "replace")
            raise StoreError(f"the engine at {url} refused {method} ({exc.code}): {one_line(body)}") from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            raise StoreUnavailable(f"the SPARQL engine at {url} cannot be reached: {_reason(exc)}") from exc

    def _detect(self) -> dialects.Dialect:
        url = self.endpoint + ("&" if "?" in self.endpoint else "?") + urllib.parse.urlencode({"query": "ASK {}"})
        _status, body, headers = self._http("GET", url, headers={"Accept": "application/sparql-results+json"})
        server = next((v for k, v in headers.items() if k.lower() == "server"), "")
        return dialects.detect(server, body.decode("utf-8", "replace")[:200])

    def _check_union_default_graph(self) -> None:
        probe = self._select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1")
        if not probe.rows:
            return  # an empty engine: nothing to check yet
        graph = probe.rows[0]["g"]
        seen = self._select(f"SELECT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER (?g = {graph.n3()}) "
                            "FILTER EXISTS { ?s ?p ?o } } LIMIT 1")
        if not seen.rows:
            raise StoreUnavailable(
                f"the default graph of the engine at {self.endpoint} is not the union of its named graphs, "
                f"which clusterkg needs: {self.dialect.union_hint}")

    # -- reads ------------------------------------------------------------------------------------------
    def _select(self, sparql: str) -> SelectResult:
        result = self.query(sparql)
        assert isinstance(result, SelectResult)
        return result

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              max_rows: int | None = None, dataset: QueryDataset | None = None) -> QueryResult:
        sparql = bind_with_values(sparql, bindings or {})
        try:
            check_services(sparql, self.allowed_services, strict=True)
        except ServiceRefused as exc:
            raise StoreError(str(exc)) from exc
        form = query_form(sparql)
        if form is None:
            raise StoreError("SPARQL syntax error: only SELECT, ASK, CONSTRUCT and DESCRIBE queries are run here")
        if form in ("CONSTRUCT", "DESCRIBE"):
            graph = self._construct(sparql, form, Graph(), dataset)
            if max_rows is not None and len(graph) > max_rows:
                kept = Graph()
                for triple in list(graph)[:max_rows]:
                    kept.add(triple)
                return GraphResult(kept, truncated=True)
            return GraphResult(graph)
        wrapper = self._query_wrapper(sparql, form, dataset)
        wrapper.setReturnFormat(JSON)
        wrapper.addCustomHttpHeader("Accept", "application/sparql-results+json")
        raw = self._run(wrapper)
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            # Oxigraph's --timeout-s cuts the answer off mid-JSON with HTTP 200
            raise StoreError("the engine returned an incomplete or invalid answer (a timeout on the engine?)") from exc
        if "boolean" in body:
            value = body["boolean"]
            return AskResult(value in (True, 1, "true", "1"))
        variables = body["head"].get("vars", [])
        rows = [{k: _term(v) for k, v in b.items()} for b in body["results"]["bindings"]]
        if form == "ASK" and self.dialect.ask_variable and variables == [self.dialect.ask_variable]:
            return AskResult(bool(rows) and str(rows[0].get(self.dialect.ask_variable)) in ("1", "true"))
        if max_rows is not None and len(rows) > max_rows:
            return SelectResult(variables, rows[:max_rows], truncated=True)
        return SelectResult(variables, rows)

    def _query_wrapper(self, sparql: str, form: str, dataset: QueryDataset | None = None) -> SPARQLWrapper:
        wrapper = self._wrapper(self.endpoint)
        for graph in dataset.default if dataset else ():  # the protocol's dataset: the engine applies it
            wrapper.addDefaultGraph(graph)
        for graph in dataset.named if dataset else ():
            wrapper.addNamedGraph(graph)
        if self.query_timeout_s:
            wrapper.setTimeout(max(1, math.ceil(self.query_timeout_s)))  # SPARQLWrapper takes whole seconds
        wrapper.setQuery(sparql)
        # SPARQLWrapper guesses the form by searching the text for keywords, and takes "download"
        # in a comment or an IRI for LOAD: we know the form, so we say it.
        wrapper.queryType = form
        return wrapper

    def _construct(self, sparql: str, form: str, into: Graph, dataset: QueryDataset | None = None) -> Graph:
        """The triples of a CONSTRUCT or DESCRIBE, parsed straight into ``into`` (a graph of a
        dataset, say: each triple is added once, not copied from graph to graph)."""
        wrapper = self._query_wrapper(sparql, form, dataset)
        # SPARQLWrapper also sends format=... parameters, which Virtuoso obeys over Accept
        wrapper.setReturnFormat(TURTLE)
        wrapper.addCustomHttpHeader("Accept", self.dialect.graph_accept)
        text = self._run(wrapper).decode("utf-8")
        try:
            into.parse(data=text, format="turtle")  # N-Triples is Turtle too
        except Exception:
            try:
                into.parse(data=text, format="nt")
            except Exception as exc:
                raise StoreError(f"the engine returned a graph that cannot be parsed: {one_line(exc)}") \
                    from exc
        return into

    def _run(self, wrapper: SPARQLWrapper) -> bytes:
        try:
            response = wrapper.query().response
            if self.answer_bytes is None:
                return response.read()
            limit = 4 * self.answer_bytes + (1 << 20)  # the terms, written out as the engine writes them
            body = response.read(limit + 1)
            if len(body) > limit:
                raise QueryAborted(f"the engine's answer is larger than this service returns ({self.answer_bytes} "
                                   "bytes of terms, CLUSTERKG_MAX_ANSWER_MB); make the query more selective")
            return body
        except SPARQLWrapperException as exc:
            message = one_line(exc)
            if "syntax" in message.lower() or "parse" in message.lower() or "QueryBadFormed" in type(exc).__name__:
                raise StoreError(f"SPARQL syntax error: {message}") from exc
            log.warning("the engine refused a request: %s", message)
            raise StoreError(ENGINE_REFUSED) from exc
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            if exc.code == 400:
                raise StoreError(f"SPARQL syntax error: {one_line(body)}") from exc
            # the engine's own words may name addresses it tried (a SERVICE): for the log only
            log.warning("the engine refused a request (%s): %s", exc.code, one_line(body))
            raise StoreError(f"{ENGINE_REFUSED} (HTTP {exc.code})") from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
                raise QueryTimeout(f"the SPARQL engine did not answer within {wrapper.timeout} s, this service's "
                                   "time limit; make the query more selective or add a LIMIT") from exc
            raise StoreUnavailable(f"the SPARQL engine at {self.endpoint} cannot be reached: {_reason(exc)}") from exc

    def named_graphs(self) -> list[str]:
        # GROUP BY, not DISTINCT: the same answer, but Virtuoso's DISTINCT walks its own graphs too
        # and is far slower than its GROUP BY; Oxigraph is as fast either way
        rows = self._select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g").rows
        names = {str(r["g"]) for r in rows if isinstance(r.get("g"), URIRef)}
        hidden = (*self.dialect.system_graph_prefixes, STAGING, sizes.SIZES_GRAPH)
        return sorted(n for n in names if not n.startswith(hidden))

    def get_graph(self, name: str) -> Graph:
        return self._construct(_graph_query(name), "CONSTRUCT", Graph(identifier=URIRef(name)))

    def dataset(self) -> Dataset:
        ds = Dataset()
        for name in self.named_graphs():
            self._construct(_graph_query(name), "CONSTRUCT", ds.graph(URIRef(name)))
        return ds

    # -- writes -----------------------------------------------------------------------------------------
    def _update(self, sparql: str) -> None:
        wrapper = self._wrapper(self.update_endpoint)
        wrapper.setRequestMethod(POSTDIRECTLY)
        wrapper.setQuery(sparql)
        wrapper.queryType = "INSERT"  # an update, whatever keyword SPARQLWrapper finds first
        try:
            wrapper.query()
        except SPARQLWrapperException as exc:
            raise StoreError(f"write failed, nothing was written: {one_line(exc)}") from exc
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            raise StoreError(f"write failed ({exc.code}), nothing was written: {one_line(body)}") from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            raise StoreUnavailable(f"the SPARQL engine at {self.update_endpoint} cannot be reached: "
                                   f"{_reason(exc)}; nothing was written") from exc

    def _skolemised(self, graph: Graph) -> Graph:
        if not self.dialect.skolemise_blank_nodes:
            return graph
        return graph.skolemize(authority="urn:clusterkg:", basepath="/genid/")

    def _apply(self, write: Write) -> None:
        """(Store._apply) An engine has no lock a write could hold: the steps read it as it is,
        then every change goes in one update. The graphs' size records (graph.store.sizes) are
        deleted in the same update, as data read before it, and written again after it, counted by
        the engine."""
        write.run_steps(self)
        graphs = write.graphs
        for name in graphs:
            if not is_absolute_iri(name):
                raise StoreError(f"invalid graph name {name!r}, nothing was written")
        then = write.sparql_update()
        for graph, rows in write.rows().items():
            then = " ;\n".join(p for p in (then, *data_ops("INSERT DATA", graph, rows.splitlines())) if p)
        names = sizes.recorded_names(graphs, write.touched())
        if names:
            wanted = set(names)
            old = [(str(r["g"]), r["n"].n3()) for r in self._select(sizes.RECORDS_QUERY).rows  # type: ignore[union-attr]
                   if str(r["g"]) in wanted]
            then = " ;\n".join(p for p in (sizes.delete_data(old), then) if p)
        if graphs or then:
            self._replace(graphs, then)
        self._record_sizes(names)

    def _record_sizes(self, names: Sequence[str]) -> None:
        """Without a lock over the write and the count, a concurrent writer of the same graph can
        leave its record stale until the graph's next write or `clusterkg init`; a failure here
        only leaves the graphs unrecorded (the query counts them)."""
        if not names:
            return
        try:
            counts = {name: int(self._select(sizes.count_query(name)).rows[0]["n"]) for name in names}  # type: ignore[arg-type]
            self._update(" ;\n".join(p for p in (sizes.forget_update(names), sizes.insert_data(counts)) if p))
        except StoreError as exc:
            log.warning("the graphs were written but their sizes not recorded (%s); they are counted instead", exc)

    def _replace(self, graphs: Mapping[str, Graph | None], then: str) -> None:
        bodies = {name: ntriples(self._skolemised(g)) if g is not None and len(g) else None
                  for name, g in graphs.items()}
        small = sum(len(b or "") for b in bodies.values()) <= self.dialect.max_insert_bytes
        if small or not self.graph_store:
            parts = []
            for name, body in bodies.items():
                parts.append(f"DROP SILENT GRAPH <{name}>")
                if body:
                    parts.append(f"INSERT DATA {{ GRAPH <{name}> {{\n{body}\n}} }}")
            self._update(" ;\n".join([*parts, then] if then else parts))
            return
        self._replace_staged(bodies, then)

    def _replace_staged(self, bodies: Mapping[str, str | None], then: str = "") -> None:
        """Upload each graph to a staging graph (GSP), then move them all into place in one update."""
        staged: dict[str, str] = {}
        try:
            for name, body in bodies.items():
                if body:
                    stage = f"{STAGING}{uuid.uuid4()}"
                    staged[name] = stage
                    url = self._gsp_url(stage)
                    for chunk in _chunks(body, self.dialect.max_upload_bytes):
                        self._http("POST", url, data=chunk.encode("utf-8"),
                                   headers={"Content-Type": "application/n-triples"})
            parts = []
            for name in bodies:
                if name in staged:
                    parts.append(f"MOVE SILENT GRAPH <{staged[name]}> TO GRAPH <{name}>")
                else:
                    parts.append(f"DROP SILENT GRAPH <{name}>")
            self._update(" ;\n".join([*parts, then] if then else parts))
            staged = {}
        finally:
            for stage in staged.values():  # clean up after a failure
                try:
                    self._update(f"DROP SILENT GRAPH <{stage}>")
                except StoreError:
                    pass

    def _gsp_url(self, graph: str) -> str:
        assert self.graph_store
        sep = "&" if "?" in self.graph_store else "?"
        return f"{self.graph_store}{sep}{urllib.parse.urlencode({'graph': graph})}"

    def recover(self) -> list[str]:
        """Drop staging graphs left by an interrupted write (run by `clusterkg init` and `serve`)."""
        rows = self._select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER STRSTARTS(STR(?g), "
                            f"\"{STAGING}\") }} GROUP BY ?g").rows  # GROUP BY: see named_graphs
        names = [str(r["g"]) for r in rows]
        if names:
            self._update(" ;\n".join(f"DROP SILENT GRAPH <{n}>" for n in names))
        return names

    def close(self) -> None:
        pass


def _chunks(ntriples: str, size: int) -> list[str]:
    """N-Triples split at line ends into pieces of at most about ``size`` bytes."""
    if len(ntriples) <= size:
        return [ntriples]
    pieces, current, length = [], [], 0
    for line in ntriples.splitlines(keepends=True):
        if length + len(line) > size and current:
            pieces.append("".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line)
    if current:
        pieces.append("".join(current))
    return pieces


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return one_line(reason)


def _graph_query(name: str) -> str:
    return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {URIRef(name).n3()} {{ ?s ?p ?o }} }}"
