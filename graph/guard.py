"""The SERVICE allow-list: no query reaches out to an endpoint the operator has not allowed.

Neither pyoxigraph nor rdflib can be told not to follow ``SERVICE``, so every query is checked
before it runs, on every store: codepoint escapes (``\\u0053ERVICE``) are decoded first, the text is
lexed (strings, IRIs and comments cannot hide or fake the keyword), and each ``SERVICE`` must name
an allowed endpoint by a full IRI. A variable endpoint (``SERVICE ?x``) is refused. The allow-list
is empty unless ``CLUSTERKG_SERVICE_ALLOWLIST`` lists endpoints (comma-separated).
"""

from __future__ import annotations

import re

from graph.sparql_text import tokenize

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class ServiceRefused(ValueError):
    """A query names a SERVICE endpoint that is not allowed; the message says which."""


def decode_codepoint_escapes(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def check_services(sparql: str, allowed: frozenset[str] | set[str] = frozenset()) -> None:
    text = decode_codepoint_escapes(sparql)
    if "service" not in text.lower():  # the keyword is ASCII: absent from the text, absent from the query
        return
    tokens = [t for t in tokenize(text) if t.kind not in ("space", "comment")]
    for i, token in enumerate(tokens):
        if token.kind != "word" or token.text.upper() != "SERVICE":
            continue
        j = i + 1
        if j < len(tokens) and tokens[j].kind == "word" and tokens[j].text.upper() == "SILENT":
            j += 1
        target = tokens[j] if j < len(tokens) else None
        if target is None or target.kind == "var":
            raise ServiceRefused("SERVICE with a variable endpoint is not allowed; name an allowed endpoint")
        if target.kind != "iri":
            raise ServiceRefused("SERVICE must name its endpoint with a full IRI in <…>")
        iri = target.text[1:-1]
        if iri not in allowed:
            hint = f" (allowed: {', '.join(sorted(allowed))})" if allowed else " (none is allowed here)"
            raise ServiceRefused(f"SERVICE <{iri}> is not on this service's allow-list{hint}")
