"""The embedded store: persistent, union default graph, atomic graph writes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from graph.results import AskResult, GraphResult, SelectResult
from graph.store import StoreError, StoreUnavailable
from graph.store.embedded import EmbeddedStore

G1 = "https://example.org/graph/1"
G2 = "https://example.org/graph/2"
S = URIRef("https://example.org/s")
P = URIRef("https://example.org/p")


def _graph(*values: str) -> Graph:
    g = Graph()
    for v in values:
        g.add((S, P, Literal(v)))
    return g


def test_data_survives_a_restart(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({G1: _graph("a", "b")})
    store.close()
    again = EmbeddedStore(tmp_path / "s")
    assert len(again.get_graph(G1)) == 2
    again.close()


def test_default_graph_is_the_union_and_graph_selects_one(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({G1: _graph("a"), G2: _graph("b")})
    everything = store.query("SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o")
    # the union holds the store's records of the graphs' sizes too (graph.store.sizes)
    assert isinstance(everything, SelectResult) and [str(r["o"]) for r in everything.rows] == ["1", "1", "a", "b"]
    one = store.query(f"SELECT ?o WHERE {{ GRAPH <{G2}> {{ ?s ?p ?o }} }}")
    assert [str(r["o"]) for r in one.rows] == ["b"]  # type: ignore[union-attr]
    assert isinstance(store.query("ASK { ?s ?p 'a' }"), AskResult)
    assert isinstance(store.query("CONSTRUCT WHERE { ?s ?p ?o }"), GraphResult)
    store.close()


def test_replace_is_atomic_across_graphs(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({G1: _graph("old1"), G2: _graph("old2")})
    with pytest.raises(StoreError, match="nothing was written"):
        store.replace_graphs({G1: _graph("new1"), "not an iri": _graph("new2")})
    assert {str(o) for o in store.get_graph(G1).objects()} == {"old1"}
    store.replace_graphs({G1: _graph("new1"), G2: None})
    assert {str(o) for o in store.get_graph(G1).objects()} == {"new1"}
    assert store.named_graphs() == [G1]
    store.close()


def test_literals_round_trip_exactly(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    hostile = ['<script>alert("x")</script>', "quote \" and ' and \\ and \n newline",
               "Kraków – 東京 – ΑΒΓ", "}} DROP ALL"]
    g = Graph()
    for i, text in enumerate(hostile):
        g.add((S, URIRef(f"https://example.org/p{i}"), Literal(text, lang="en" if i % 2 else None)))
    store.replace_graphs({G1: g})
    back = store.get_graph(G1)
    assert set(back) == set(g)
    store.close()


def test_updates_are_not_queries(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.replace_graphs({G1: _graph("a")})
    for update in ("DROP ALL", "CLEAR DEFAULT", "INSERT DATA { <a:b> <a:c> <a:d> }", "LOAD <http://127.0.0.1:9/>"):
        with pytest.raises(StoreError, match="SPARQL syntax error"):
            store.query(update)
    assert len(store.get_graph(G1)) == 1
    store.close()


def test_missing_and_foreign_held_stores_are_explained(tmp_path: Path) -> None:
    import pyoxigraph as ox

    with pytest.raises(StoreUnavailable, match="no store at"):
        EmbeddedStore(tmp_path / "missing", read_only=True)
    store = EmbeddedStore(tmp_path / "s")
    foreign = ox.Store(str(tmp_path / "s"))  # a process that ignores clusterkg's lock file
    with pytest.raises(StoreUnavailable, match="does not follow clusterkg's locking"):
        store.replace_graphs({G1: _graph("a")})
    del foreign
    store.replace_graphs({G1: _graph("a")})
    assert len(store.get_graph(G1)) == 1
    store.close()


def test_several_openings_of_one_store_share_it(tmp_path: Path) -> None:
    """Readers see each committed write at once; writes never wait for a reader that is idle;
    nobody holds the store open for writing between writes."""
    import pyoxigraph as ox

    a = EmbeddedStore(tmp_path / "s")
    b = EmbeddedStore(tmp_path / "s")
    reader = EmbeddedStore(tmp_path / "s", read_only=True)
    assert reader.named_graphs() == []
    a.replace_graphs({G1: _graph("a")})
    assert reader.named_graphs() == [G1] and b.named_graphs() == [G1]
    b.replace_graphs({G2: _graph("b"), G1: None})
    assert a.named_graphs() == [G2] and reader.named_graphs() == [G2]
    with pytest.raises(StoreError, match="read-only"):
        reader.replace_graphs({G1: _graph("x")})
    probe = ox.Store(str(tmp_path / "s"))  # would fail on RocksDB's lock if a writer kept it open
    del probe
    for s in (a, b, reader):
        s.close()


def test_a_failed_write_releases_the_store(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    with pytest.raises(StoreError, match="invalid graph name"):
        store.replace_graphs({"not an iri": _graph("a")})
    store.replace_graphs({G1: _graph("a")})
    assert store.named_graphs() == [G1]
    store.close()


def test_worker_encoded_answers_equal_the_in_process_ones(tmp_path: Path) -> None:
    """What the query workers send (graph.store.sandbox) is decoded to the same rows, and its JSON
    made without rdflib terms is the JSON of those rows, for every kind of term."""
    from rdflib import BNode
    from rdflib.namespace import XSD

    from graph.results import to_sparql_json
    from graph.store.handle_reads import decode_result

    store = EmbeddedStore(tmp_path / "s")
    g = Graph()
    objects = [URIRef("https://example.org/o"), BNode("b1"), Literal("plain"), Literal("Kraków", lang="pl"),
               Literal("x", lang="EN-gb"), Literal("007", datatype=XSD.integer), Literal("1.50", datatype=XSD.decimal),
               Literal("2024-02-29", datatype=XSD.date), Literal("1.5E0", datatype=XSD.double),
               Literal("true", datatype=XSD.boolean), Literal("odd", datatype=URIRef("https://example.org/dt"))]
    for i, o in enumerate(objects):
        g.add((S, URIRef(f"https://example.org/p{i:02d}"), o))
    store.replace_graphs({G1: g})
    text = f"SELECT ?p ?o ?missing WHERE {{ <{S}> ?p ?o OPTIONAL {{ ?o ?q ?missing }} }} ORDER BY ?p"
    direct = store.query(text)
    encoded = decode_result(store.query_encoded(text))
    assert isinstance(direct, SelectResult) and len(direct.rows) == len(objects)
    assert to_sparql_json(encoded) == to_sparql_json(direct)  # serialised before the rows are built
    assert encoded.row_count == len(objects)
    assert encoded == direct and encoded.rows == direct.rows
    assert to_sparql_json(encoded) == to_sparql_json(direct)  # and after
    # the JSON text written row by row is what json.dumps writes for the whole document
    assert to_sparql_json(decode_result(store.query_encoded(text))) == json.dumps(
        {"head": {"vars": direct.variables}, "results": {"bindings": direct.json_bindings()}}, ensure_ascii=False)
    truncated = decode_result(store.query_encoded(text, max_rows=3))
    assert to_sparql_json(truncated) == json.dumps(
        {"head": {"vars": direct.variables, "link": ["urn:clusterkg:truncated"]},
         "results": {"bindings": direct.json_bindings()[:3]}, "truncated": True}, ensure_ascii=False)
    assert json.loads(to_sparql_json(truncated))["truncated"] is True
    assert truncated.truncated and truncated.row_count == 3 and truncated.rows == direct.rows[:3]
    store.close()


def test_worker_encoded_graphs_serialise_to_the_same_triples(tmp_path: Path) -> None:
    """A CONSTRUCT answer a query worker sends: Turtle and N-Triples written from the encoded terms
    parse back to the graph the in-process query gives; JSON-LD goes through rdflib; truncation holds."""
    from rdflib import BNode
    from rdflib.compare import isomorphic
    from rdflib.namespace import XSD

    from graph.namespaces import PREFIXES
    from graph.store.handle_reads import decode_result

    store = EmbeddedStore(tmp_path / "s")
    g = Graph()
    objects = [URIRef("https://w3id.org/clusterkg/vocab/theme/funding"), BNode("x"), Literal("a \"q\" \\ \n"),
               Literal("Kraków", lang="pl"), Literal("7", datatype=XSD.integer)]
    for i, o in enumerate(objects):
        g.add((S, URIRef(f"https://w3id.org/clusterkg/ontology#p{i}"), o))
        g.add((URIRef(f"https://example.org/s{i}"), P, o))
    store.replace_graphs({G1: g})
    text = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    direct = store.query(text)
    assert isinstance(direct, GraphResult)
    for fmt in ("turtle", "nt", "json-ld", "xml"):
        encoded = decode_result(store.query_encoded(text))
        assert isinstance(encoded, GraphResult)
        body = encoded.serialize(fmt, PREFIXES)
        assert isomorphic(Graph().parse(data=body, format=fmt), direct.graph), fmt
    assert "ckg:p0" in decode_result(store.query_encoded(text)).serialize("turtle", PREFIXES)  # type: ignore[union-attr]
    assert isomorphic(decode_result(store.query_encoded(text)).graph, direct.graph)  # type: ignore[union-attr]
    truncated = decode_result(store.query_encoded(text, max_rows=4))
    assert isinstance(truncated, GraphResult) and truncated.truncated and len(truncated.graph) == 4
    store.close()


def test_ntriples_writes_what_rdflib_writes() -> None:
    """The store's N-Triples writer gives rdflib's text, row for row, for every kind of term."""
    from rdflib import BNode
    from rdflib.namespace import XSD

    from graph.mapping.d23 import D23Records, map_d23
    from graph.namespaces import DataIRIs
    from graph.rdftext import ntriples

    g = map_d23(D23Records.load(), DataIRIs("https://w3id.org/clusterkg/data/"))
    tricky = [Literal('say "hi"\\n'), Literal("two\nlines\r\n"), Literal("Kraków", lang="pl"),
              Literal("a", lang="EN"), Literal("a", lang="en"), Literal("007", datatype=XSD.integer),
              Literal("1.50", datatype=XSD.decimal), Literal("x", datatype=XSD.string), Literal("\u2028 \U0001F600"),
              Literal("odd", datatype=URIRef("https://example.org/dt")), BNode("b1"), URIRef("https://example.org/é")]
    for i, o in enumerate(tricky):
        g.add((S, URIRef(f"https://example.org/p{i:02d}"), o))
        g.add((URIRef(f"https://example.org/s{i:02d}"), URIRef("https://example.org/p"), o))
    assert ntriples(g) == g.serialize(format="nt")
    with pytest.raises(Exception, match="valid"):  # an IRI rdflib refuses to write, refused the same way
        ntriples(Graph().add((URIRef("https://example.org/a b"), URIRef("https://example.org/p"), Literal("x"))))


def test_an_import_graph_writes_the_same_rows_however_often_it_is_written() -> None:
    """An import graph keeps the N-Triples it has written (graph.mapping.memory): the text after more
    triples, or after some are removed, holds the same rows rdflib writes, each once."""
    from graph.mapping.memory import ImportGraph
    from graph.rdftext import ntriples

    g = ImportGraph()

    def rows() -> list[str]:
        text = ntriples(g)
        assert text.endswith("\n") or not text
        return sorted(text.splitlines())

    def rdflib_rows() -> list[str]:
        return sorted(line for line in g.serialize(format="nt").splitlines() if line)

    assert rows() == []
    for i in range(5):
        g.add((S, URIRef(f"https://example.org/p{i}"), Literal(f"value {i}", lang="en")))
    assert rows() == rdflib_rows() and len(rows()) == 5
    g.add((S, URIRef("https://example.org/p0"), Literal("value 0", lang="en")))  # already there
    g.add((URIRef("https://example.org/t"), URIRef("https://example.org/p0"), S))
    assert rows() == rows() == rdflib_rows() and len(rows()) == 6
    g.remove((S, URIRef("https://example.org/p3"), None))
    assert rows() == rdflib_rows() and len(rows()) == 5
    g.add((S, URIRef("https://example.org/p3"), Literal("again")))
    assert rows() == rdflib_rows() and len(rows()) == 6
