"""RDF uploads are parsed without fetching or opening anything, and hostile nesting is a clear
refusal, never a crash (graph.mapping.rdf_file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.mapping.rdf_file import MAX_JSON_NESTING, RDFFormatError, json_nesting, parse_rdf

from . import engines

BASE = "https://example.org/upload/"


@pytest.fixture(scope="module")
def trap() -> Iterator[engines.TrapServer]:
    with engines.TrapServer() as server:
        yield server


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local file a context might name; its words must never reach a parsed graph."""
    path = tmp_path_factory.mktemp("secret") / "context.jsonld"
    path.write_text(json.dumps({"@context": {"leaked": "https://example.org/leaked-secret#"}}), encoding="utf-8")
    return path


def places(trap_url: str, secret: Path) -> list[str]:
    return [trap_url, f"{trap_url}?ctx", secret.as_uri(), str(secret), "../" + secret.name, "context.jsonld",
            "//127.0.0.1:9/x", "http://[::1]:9/x"]


def context_shapes(where: str) -> list[object]:
    """A context to load, in each shape JSON-LD allows."""
    return [where, [where], [{"@vocab": "https://example.org/v#"}, where], {"@import": where},
            {"p": {"@id": "https://example.org/p", "@context": where}},
            {"T": {"@id": "https://example.org/T", "@context": {"@import": where}}},
            [None, {"@import": where, "q": "https://example.org/q"}]]


@st.composite
def hostile_documents(draw: st.DrawFn, trap_url: str, secret: Path) -> bytes:
    where = draw(st.sampled_from(places(trap_url, secret)))
    context = draw(st.sampled_from(context_shapes(where)))
    node: dict = {"@id": "https://example.org/x", "https://example.org/p": "v", "p": "w", "@type": "T"}
    placement = draw(st.integers(0, 3))
    if placement == 0:
        node["@context"] = context
    elif placement == 1:
        node = {"@context": {"@vocab": "https://example.org/"}, "@graph": [dict(node, **{"@context": context})]}
    elif placement == 2:
        node["https://example.org/child"] = {"@context": context, "@id": "https://example.org/y", "p": "z"}
    else:
        node = [node, {"@context": context, "@id": "https://example.org/z"}]
    return json.dumps(node).encode()


def test_no_json_ld_document_makes_the_parser_fetch_or_open_anything(trap, secret: Path) -> None:
    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(hostile_documents(trap.url, secret))
    def check(document: bytes) -> None:
        try:
            graph = parse_rdf(document, "json-ld", base=BASE)
        except RDFFormatError:
            return
        assert "leaked-secret" not in graph.serialize(format="nt")

    check()
    assert trap.connections == []


def test_inline_contexts_are_read() -> None:
    doc = {"@context": {"p": "https://example.org/p", "@vocab": "https://example.org/v#"},
           "@id": "https://example.org/x", "p": "x", "q": [1, {"@value": "y", "@language": "en"}],
           "@graph": [{"@id": "https://example.org/b", "p": "z"}]}
    graph = parse_rdf(json.dumps(doc).encode(), "json-ld", base=BASE)
    assert len(graph) == 4


@pytest.mark.parametrize("depth", [MAX_JSON_NESTING + 1, 5_000, 100_000])
def test_deep_json_is_refused_before_it_is_parsed(depth: int) -> None:
    doc = b'{"@id": "https://example.org/x", "https://example.org/p": ' + b'{"https://example.org/q": ' * depth \
        + b"1" + b"}" * depth + b"}"
    with pytest.raises(RDFFormatError, match="nests"):
        parse_rdf(doc, "json-ld", base=BASE)


def test_nesting_is_counted_outside_strings() -> None:
    assert json_nesting(b'{"a": "[[[{{{\\" [", "b": [[1]]}') == 3


@pytest.mark.parametrize("fmt,text", [
    ("turtle", "@prefix : <https://example.org/> . :a :p " + "[ :p " * 20_000 + "1" + " ]" * 20_000 + " ."),
    ("turtle", "@prefix : <https://example.org/> . :a :p " + "( " * 20_000 + "1" + " )" * 20_000 + " ."),
    ("trig", "@prefix : <https://example.org/> . :g { :a :p " + "[ :p " * 20_000 + "1" + " ]" * 20_000 + " . }"),
])
def test_deep_turtle_is_a_clear_refusal(fmt: str, text: str) -> None:
    with pytest.raises(RDFFormatError):
        parse_rdf(text.encode(), fmt, base=BASE)


@pytest.mark.parametrize("fmt,text", [
    ("turtle", '<rel> <https://example.org/p> <other#x> .'),
    ("nt", '<https://example.org/s> <https://example.org/p> "o" .'),
    ("json-ld", '{"@id": "rel", "https://example.org/p": {"@id": "other#x"}}'),
    ("xml", '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="https://example.org/">'
            '<rdf:Description rdf:about="rel"><e:p rdf:resource="other#x"/></rdf:Description></rdf:RDF>'),
    ("trig", '<g> { <rel> <https://example.org/p> <other#x> . }'),
])
def test_relative_iris_resolve_against_the_given_base_never_a_path(fmt: str, text: str) -> None:
    graph = parse_rdf(text.encode(), fmt, base=BASE)
    iris = {str(term) for triple in graph for term in triple}
    assert not any(iri.startswith("file:") for iri in iris), iris
    if "rel" in text:
        assert BASE + "rel" in iris and BASE + "other#x" in iris
