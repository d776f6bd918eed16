"""A SPARQL update evaluated as the new content of the graphs it changes, reading only those.

Each operation is reduced to the triples it deletes and inserts, graph by graph:

- ``INSERT DATA`` / ``DELETE DATA``: the data, as Oxigraph reads it (an empty in-memory store runs it
  as ``INSERT DATA``, so prefixes, ``BASE`` and blank nodes are read as the engine reads them);
- ``DELETE``/``INSERT`` ... ``WHERE`` and ``DELETE WHERE``: the ``WHERE`` runs as a ``SELECT`` on the
  source, on the dataset ``WITH``/``USING`` give it; its solutions fill the templates on an empty
  in-memory store (``INSERT { template } WHERE { VALUES ... }``). ``VALUES`` cannot carry a blank node,
  so a solution's blank nodes travel as IRIs of their own and come back as themselves;
- ``CLEAR``, ``DROP``, ``CREATE``, ``ADD``, ``COPY``, ``MOVE``: whole graphs.

A graph is read when an operation changes it (its content before), and kept with its changes: later
operations of the same request see them. A ``WHERE`` that runs after an earlier operation changed a
graph it may read runs on an in-memory store holding what it may read: the graphs its ``WITH``/``USING``
name, or, where it reads every graph, every graph (the one case that reads the whole source).

Policy is the caller's: ``check_target`` hears of each graph an operation writes before it is read
(a store whose default graph is the union of its graphs refuses the default graph there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote

import pyoxigraph as ox
from pyparsing import ParseBaseException
from rdflib.plugins.sparql.parser import parseUpdate

from graph.messages import one_line
from graph.sparql_text import Token, tokenize

GraphKey = str | None  # a named graph's IRI; None: the default graph
# the solutions of one WHERE, read whole before the templates are filled: a bound on what an
# update holds in memory, refused beyond with a message instead of a dead worker
MAX_SOLUTIONS = 200_000
Rows = tuple[list[str], list[tuple[str | None, ...]]]  # variables, and each solution's terms as SPARQL text


class UpdateFailed(Exception):
    """The update cannot run (its syntax, or an operation that fails, such as CLEAR of a missing graph)."""


class TooManySolutions(UpdateFailed):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the update's WHERE has more than {limit:,} solutions, more than an update here may "
                         "change at once; split it (by a FILTER or a VALUES on one variable)")


@dataclass(frozen=True)
class WhereDataset:
    """The dataset of a ``WHERE``: None where the source's own (its default graph, all its named graphs)."""

    default: tuple[str, ...] | None = None
    named: tuple[str, ...] | None = None


class Source(Protocol):
    """What an update reads."""

    union_default: bool  # the default graph is the union of the named graphs

    def select(self, sparql: str, dataset: WhereDataset, limit: int) -> Rows:
        """The solutions; at most ``limit`` of them (more: :class:`TooManySolutions`)."""
        ...

    def triples(self, graph: GraphKey) -> set[ox.Triple]: ...

    def graph_names(self) -> set[str]: ...


class MemorySource:
    """An in-memory Oxigraph store as a :class:`Source`."""

    def __init__(self, store: ox.Store, *, union_default: bool = False) -> None:
        self.store = store
        self.union_default = union_default

    def select(self, sparql: str, dataset: WhereDataset, limit: int) -> Rows:
        options: dict[str, object] = {}
        if dataset.default is not None:
            options["default_graph"] = [ox.NamedNode(g) for g in dataset.default] or [ox.NamedNode(_NOTHING)]
        elif self.union_default:
            options["use_default_graph_as_union"] = True
        if dataset.named is not None:
            options["named_graphs"] = [ox.NamedNode(g) for g in dataset.named]
        solutions = self.store.query(sparql, **options)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        rows = []
        for solution in solutions:
            if len(rows) == limit:
                raise TooManySolutions(limit)
            rows.append(tuple(None if solution[v] is None else str(solution[v]) for v in names))
        return names, rows

    def triples(self, graph: GraphKey) -> set[ox.Triple]:
        if graph is None and self.union_default:
            return {q.triple for q in self.store.quads_for_pattern(None, None, None, None)
                    if not isinstance(q.graph_name, ox.DefaultGraph)}
        name = ox.DefaultGraph() if graph is None else ox.NamedNode(graph)
        return {q.triple for q in self.store.quads_for_pattern(None, None, None, name)}

    def graph_names(self) -> set[str]:
        return {g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)}


@dataclass(frozen=True)
class Evaluated:
    """What an update does: ``after``, the new content of each graph it changes (an empty set: the
    graph is emptied or dropped); ``before``, what each of them held."""

    after: dict[GraphKey, set[ox.Triple]]
    before: dict[GraphKey, set[ox.Triple]]


def evaluate(sparql: str, source: Source, *, base: str | None = None,
             check_target: Callable[[GraphKey], None] = lambda graph: None) -> Evaluated:
    """The update evaluated on ``source``, which it does not change."""
    operations = split_update(sparql)
    _check_syntax(sparql, base)
    run = _Run(source, base, check_target)
    for operation in operations:
        run.operation(operation)
    return run.changed()


def split_update(sparql: str) -> list[str]:
    """An update's operations (split at the ``;`` between them), each with the PREFIX and BASE
    declarations of the operations before it, which stay in force."""
    tokens = _significant(sparql)
    depth, start, parts = 0, 0, []
    for token in tokens:
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 0 and token.text == ";":
            parts.append(sparql[start:token.start])
            start = token.end
    parts.append(sparql[start:])
    operations, prologue = [], ""
    for part in parts:
        if _operation_start(_significant(part)) is not None:
            operations.append(prologue + part)
        prologue += _declarations(part)
    return operations


# -- one request's evaluation ---------------------------------------------------------------------------
class _Run:
    def __init__(self, source: Source, base: str | None, check_target: Callable[[GraphKey], None]) -> None:
        self.source = source
        self.base = base
        self.check_target = check_target
        self.names = source.graph_names()  # the named graphs there are, as the operations leave them
        self.before: dict[GraphKey, set[ox.Triple]] = {}
        self.now: dict[GraphKey, set[ox.Triple]] = {}

    # content
    def content(self, graph: GraphKey) -> set[ox.Triple]:
        if graph not in self.now:
            self.before[graph] = self.source.triples(graph)
            self.now[graph] = set(self.before[graph])
        return self.now[graph]

    def set_content(self, graph: GraphKey, triples: set[ox.Triple]) -> None:
        self.check_target(graph)
        self.content(graph)
        self.now[graph] = triples
        if graph is not None:
            self.names.add(graph)

    def changed(self) -> Evaluated:
        after = {graph: triples for graph, triples in self.now.items() if triples != self.before[graph]}
        return Evaluated(after, {graph: self.before[graph] for graph in after})

    def apply(self, deleted: dict[GraphKey, set[ox.Triple]], inserted: dict[GraphKey, set[ox.Triple]]) -> None:
        targets = sorted({*deleted, *inserted}, key=lambda g: g or "")
        for graph in targets:  # every target allowed before any is read
            self.check_target(graph)
        for graph in targets:
            triples = (self.content(graph) - deleted.get(graph, set())) | inserted.get(graph, set())
            self.set_content(graph, triples)

    # operations
    def operation(self, text: str) -> None:
        tokens = _significant(text)
        at = _operation_start(tokens)
        assert at is not None
        op = _Operation(text, tokens, at, self.base)
        word = op.word(0)
        if word in ("CLEAR", "DROP"):
            self.clear(op, drop=word == "DROP")
        elif word == "CREATE":
            self.create(op)
        elif word in ("ADD", "COPY", "MOVE"):
            self.transfer(op, word)
        elif word in ("INSERT", "DELETE") and op.word(1) == "DATA":
            quads = _instantiate(op.prologue, "", op.group_text(2), None, self.base)
            self.apply(*((quads, {}) if word == "DELETE" else ({}, quads)))
        elif word == "DELETE" and op.word(1) == "WHERE":
            pattern = op.group_text(2)
            rows = self.select(op, "{" + pattern + "}", WhereDataset())
            self.apply(_instantiate(op.prologue, "", pattern, rows, self.base), {})
        else:
            self.modify(op)

    def clear(self, op: _Operation, *, drop: bool) -> None:
        silent, i = op.silent(1)
        target = op.word(i)
        if target == "DEFAULT":
            graphs: list[GraphKey] = [None]
        elif target in ("NAMED", "ALL"):
            graphs = sorted(self.names)
            # ALL: the default graph too, unless it is the union of the named graphs (cleared with them)
            graphs += [None] if target == "ALL" and not self.source.union_default else []
        else:
            name, _ = op.iri(i + 1 if target == "GRAPH" else i)
            if name not in self.names:
                if silent:
                    return
                raise UpdateFailed(f"the update failed: the graph <{name}> does not exist")
            graphs = [name]
        for graph in graphs:
            self.check_target(graph)
        for graph in graphs:
            self.set_content(graph, set())
            if drop and graph is not None:
                self.names.discard(graph)

    def create(self, op: _Operation) -> None:
        silent, i = op.silent(1)
        name, _ = op.iri(i + 1)
        if name in self.names and not silent:
            raise UpdateFailed(f"the update failed: the graph <{name}> exists already")
        # a store here holds no empty graph: a graph comes to be with its first triple

    def transfer(self, op: _Operation, word: str) -> None:
        silent, i = op.silent(1)
        source, i = op.graph_ref(i)
        if op.word(i) != "TO":
            raise UpdateFailed(f"the update failed: {word} needs TO")
        target, _ = op.graph_ref(i + 1)
        if source == target:
            return
        if source is not None and source not in self.names:
            if silent:
                return
            raise UpdateFailed(f"the update failed: there is no graph <{source}> to {word.lower()}")
        self.check_target(target)
        if word == "MOVE":
            self.check_target(source)
        triples = set(self.content(source))
        self.set_content(target, triples | self.content(target) if word == "ADD" else triples)
        if word == "MOVE":
            self.set_content(source, set())
            if source is not None:
                self.names.discard(source)

    def modify(self, op: _Operation) -> None:
        i, with_graph, with_text = 0, None, ""
        if op.word(0) == "WITH":
            with_text = op.term_text(1)
            with_graph, i = op.iri(1)
        deleted_text = inserted_text = None
        if op.word(i) == "DELETE":
            deleted_text, i = op.group_text(i + 1), op.after_group(i + 1)
        if op.word(i) == "INSERT":
            inserted_text, i = op.group_text(i + 1), op.after_group(i + 1)
        default: list[str] = []
        named: list[str] = []
        while op.word(i) == "USING":
            if op.word(i + 1) == "NAMED":
                name, i = op.iri(i + 2)
                named.append(name)
            else:
                name, i = op.iri(i + 1)
                default.append(name)
        if op.word(i) != "WHERE":
            raise UpdateFailed("the update failed: expected WHERE")
        if default or named:
            dataset = WhereDataset(tuple(default), tuple(named))
        elif with_graph is not None:
            dataset = WhereDataset((with_graph,), None)
        else:
            dataset = WhereDataset()
        rows = self.select(op, op.group_text(i + 1, braces=True), dataset)
        with_clause = f"WITH {with_text} " if with_text else ""
        deleted = _instantiate(op.prologue, with_clause, deleted_text, rows, self.base) if deleted_text else {}
        inserted = _instantiate(op.prologue, with_clause, inserted_text, rows, self.base) if inserted_text else {}
        self.apply(deleted, inserted)

    def select(self, op: _Operation, group: str, dataset: WhereDataset) -> Rows:
        query = op.prologue + "SELECT * WHERE " + group
        reads = self.reading(dataset)
        try:
            return reads.select(query, dataset, MAX_SOLUTIONS)
        except UpdateFailed:
            raise
        except (SyntaxError, OSError, RuntimeError, ValueError) as exc:
            raise UpdateFailed("the update failed: " + one_line(exc)) from exc

    def reading(self, dataset: WhereDataset) -> Source:
        """The source, or, where a graph the ``WHERE`` may read has changed, an in-memory store
        holding what it may read as it is now."""
        union = self.source.union_default
        wanted: set[GraphKey] = set(self.names) if dataset.named is None else set(dataset.named)
        if dataset.default is not None:
            wanted |= set(dataset.default)
        elif union:
            wanted |= self.names
        else:
            wanted.add(None)
        if not any(self.now[g] != self.before[g] for g in wanted & self.now.keys()):
            return self.source
        store = ox.Store()
        for graph in wanted:
            name = ox.DefaultGraph() if graph is None else ox.NamedNode(graph)
            triples = self.now[graph] if graph in self.now else self.source.triples(graph)
            store.extend(ox.Quad(t.subject, t.predicate, t.object, name) for t in triples)
        return MemorySource(store, union_default=union)


# -- one operation's text ---------------------------------------------------------------------------------
class _Operation:
    def __init__(self, text: str, tokens: list[Token], at: int, base: str | None) -> None:
        self.text = text
        self.tokens = tokens[at:]
        self.prologue = text[:tokens[at].start]
        self.base = base

    def word(self, i: int) -> str:
        if i >= len(self.tokens):
            return ""
        token = self.tokens[i]
        return token.text.upper() if token.kind == "word" else token.text

    def silent(self, i: int) -> tuple[bool, int]:
        return (True, i + 1) if self.word(i) == "SILENT" else (False, i)

    def _term_end(self, i: int) -> int:
        """The index after the term starting at ``i`` (adjacent tokens: ``:g`` is two)."""
        j = i + 1
        while j < len(self.tokens) and self.tokens[j].start == self.tokens[j - 1].end \
                and self.tokens[j].kind not in ("open", "close"):
            j += 1
        return j

    def term_text(self, i: int) -> str:
        if i >= len(self.tokens):
            raise UpdateFailed("the update failed: a graph IRI is missing")
        return self.text[self.tokens[i].start:self.tokens[self._term_end(i) - 1].end]

    def iri(self, i: int) -> tuple[str, int]:
        """The IRI the term at ``i`` stands for (a prefixed name or relative IRI resolved), and the
        index after the term."""
        return _resolve(self.prologue, self.term_text(i), self.base), self._term_end(i)

    def graph_ref(self, i: int) -> tuple[GraphKey, int]:
        """ADD/COPY/MOVE's ``DEFAULT`` or ``GRAPH? iri`` at ``i``, and the index after it."""
        if self.word(i) == "DEFAULT":
            return None, i + 1
        return self.iri(i + 1 if self.word(i) == "GRAPH" else i)

    def _close(self, i: int) -> int:
        if self.word(i) != "{":
            raise UpdateFailed("the update failed: expected {")
        depth = 0
        for j in range(i, len(self.tokens)):
            if self.tokens[j].kind == "open":
                depth += 1
            elif self.tokens[j].kind == "close":
                depth -= 1
                if depth == 0:
                    return j
        raise UpdateFailed("the update failed: a { is not closed")

    def group_text(self, i: int, *, braces: bool = False) -> str:
        close = self._close(i)
        if braces:
            return self.text[self.tokens[i].start:self.tokens[close].end]
        return self.text[self.tokens[i].end:self.tokens[close].start]

    def after_group(self, i: int) -> int:
        return self._close(i) + 1


def _significant(text: str) -> list[Token]:
    return [t for t in tokenize(text) if t.kind not in ("space", "comment")]


def _operation_start(tokens: list[Token]) -> int | None:
    """The index of the operation's first keyword, after its PREFIX and BASE declarations."""
    i = 0
    while i < len(tokens):
        word = tokens[i].text.upper() if tokens[i].kind == "word" else ""
        if word == "PREFIX":
            i += 1
            while i < len(tokens) and tokens[i].kind != "iri":
                i += 1
            i += 1
        elif word == "BASE":
            i += 2
        else:
            return i
    return None


def _declarations(text: str) -> str:
    tokens = _significant(text)
    out = []
    end = _operation_start(tokens)
    for i, token in enumerate(tokens[:end]):
        word = token.text.upper() if token.kind == "word" else ""
        if word == "PREFIX":
            iri = next((j for j in range(i + 1, len(tokens)) if tokens[j].kind == "iri"), None)
            if iri is not None:
                out.append(f"PREFIX {text[tokens[i + 1].start:tokens[iri - 1].end]} {tokens[iri].text}\n")
        elif word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            out.append(f"BASE {tokens[i + 1].text}\n")
    return "".join(out)


def _check_syntax(sparql: str, base: str | None) -> None:
    """Oxigraph's own parser on the whole request, on an empty store (where it changes nothing); a
    request that would fetch from elsewhere (LOAD, SERVICE), which nothing here does, is read by
    rdflib's parser instead, then refused."""
    fetches = sorted({t.text.upper() for t in _significant(sparql)
                      if t.kind == "word" and t.text.upper() in ("LOAD", "SERVICE")})
    try:
        if fetches:
            parseUpdate(sparql)
        else:
            ox.Store().update(sparql, base_iri=base)
    except (SyntaxError, ParseBaseException) as exc:
        raise UpdateFailed("SPARQL update syntax error: " + one_line(exc)) from exc
    except (OSError, RuntimeError, ValueError):
        pass  # what an operation does on the real data is for the evaluation to say
    if fetches:
        raise UpdateFailed(f"{' and '.join(fetches)} is not allowed in updates here "
                           "(nothing is fetched from elsewhere)")


def _resolve(prologue: str, term: str, base: str | None) -> str:
    try:
        solutions = ox.Store().query(f"{prologue} SELECT ?g WHERE {{ BIND({term} AS ?g) }}", base_iri=base)
    except SyntaxError as exc:
        raise UpdateFailed(f"SPARQL update syntax error: {term} is not an IRI ({one_line(exc)})") from exc
    assert isinstance(solutions, ox.QuerySolutions)
    value = next(iter(solutions))["g"]
    if not isinstance(value, ox.NamedNode):
        raise UpdateFailed(f"SPARQL update syntax error: {term} is not an IRI")
    return value.value


# -- templates filled ------------------------------------------------------------------------------------
_SKOLEM = "urn:x-clusterkg-update:blank:"  # a solution's blank node, as VALUES can carry it
_NOTHING = "urn:x-clusterkg-update:no-graph"  # the empty default graph of USING NAMED alone


def _instantiate(prologue: str, with_clause: str, template: str, rows: Rows | None,
                 base: str | None) -> dict[GraphKey, set[ox.Triple]]:
    """The quads ``template`` gives for each solution of ``rows`` (None: a template without
    variables, ``INSERT DATA``'s), by graph."""
    if rows is None:
        update = f"{prologue} INSERT DATA {{ {template} }}"
    else:
        names, solutions = rows
        values = " ".join("(" + " ".join(_value(t) for t in row) + ")" for row in solutions)
        variables = " ".join("?" + name for name in names)
        update = f"{prologue} {with_clause}INSERT {{ {template} }} WHERE {{ VALUES ({variables}) {{ {values} }} }}"
    scratch = ox.Store()
    try:
        scratch.update(update, base_iri=base)
    except (SyntaxError, OSError, RuntimeError, ValueError) as exc:
        raise UpdateFailed("the update failed: " + one_line(exc)) from exc
    out: dict[GraphKey, set[ox.Triple]] = {}
    for quad in scratch.quads_for_pattern(None, None, None, None):
        triple = _unskolemised(quad)
        if triple is not None:
            graph = None if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
            out.setdefault(graph, set()).add(triple)
    return out


def _value(term: str | None) -> str:
    if term is None:
        return "UNDEF"
    if term.startswith("_:"):
        return f"<{_SKOLEM}{quote(term[2:], safe='')}>"
    return term


def _back(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, ox.NamedNode) and term.value.startswith(_SKOLEM):
        return ox.BlankNode(unquote(term.value[len(_SKOLEM):]))
    return term


def _unskolemised(quad: ox.Quad) -> ox.Triple | None:
    """The quad's triple with its blank nodes back; None where a blank node sits where none may
    (a predicate, a graph name): the template's triple is not formed, as SPARQL says."""
    predicate, graph = quad.predicate, quad.graph_name
    if predicate.value.startswith(_SKOLEM) or (isinstance(graph, ox.NamedNode) and graph.value.startswith(_SKOLEM)):
        return None
    return ox.Triple(_back(quad.subject), predicate, _back(quad.object))


