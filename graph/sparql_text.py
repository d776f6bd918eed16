"""A small SPARQL lexer: just enough to find braces and keywords outside strings, IRIs and comments.

The saved-query binder uses it to place ``VALUES`` blocks; it never needs to understand more of
the grammar than that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# As the SPARQL 1.1 grammar (and Oxigraph) reads the text: a comment ends at a line feed or a
# carriage return; an IRI excludes only the characters up to U+0020 and <>"{}|^`\; whitespace is
# the four ASCII characters, nothing else (U+00A0 is not).
_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z0-9_\-.]*)?)
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<space>[\x20\t\r\n]+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(m.lastgroup or "other", m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def strip_comments(text: str) -> str:
    """The query without ``#`` comments (strings and IRIs containing ``#`` are kept)."""
    return "".join(t.text for t in tokenize(text) if t.kind != "comment")


def variables(text: str) -> set[str]:
    return {t.text[1:] for t in tokenize(text) if t.kind == "var"}


def query_form(text: str) -> str | None:
    """SELECT, CONSTRUCT, ASK or DESCRIBE, or None for something else (such as an update)."""
    for tok in tokenize(text):
        if tok.kind == "word" and tok.text.upper() in {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}:
            return tok.text.upper()
        if tok.kind == "word" and tok.text.upper() in {
            "INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}:
            return None
    return None


def where_group_start(text: str) -> int:
    """The offset just after the ``{`` that opens the query's outermost WHERE group."""
    tokens = [t for t in tokenize(text) if t.kind not in ("space", "comment")]
    depth = 0
    form: str | None = None
    for i, tok in enumerate(tokens):
        if tok.kind == "word" and depth == 0 and form is None and tok.text.upper() in {
                "SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}:
            form = tok.text.upper()
        elif tok.kind == "word" and depth == 0 and tok.text.upper() == "WHERE":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.kind == "open":
                return nxt.end
        elif tok.kind == "open":
            if depth == 0 and form in ("SELECT", "ASK", "DESCRIBE"):
                return tok.end  # WHERE is optional before the group
            depth += 1
        elif tok.kind == "close":
            depth -= 1
    raise ValueError("the query has no WHERE group")


_MARKER = re.compile(r"#\s*VALUES\s+\?(\S+)\s*$")


def values_markers(text: str, var: str) -> list[tuple[int, int]]:
    """Spans of the comments ``# VALUES ?var`` that mark where a ``VALUES ?var { ... }`` block goes
    (a comment, so that grlc, which substitutes a parameter's variable as text, leaves valid SPARQL)."""
    spans = []
    for token in tokenize(text):
        if token.kind == "comment":
            found = _MARKER.match(token.text)
            if found and found.group(1) == var:
                spans.append((token.start, token.end))
    return spans


def values_blocks(text: str, var: str) -> list[tuple[int, int]]:
    """Spans of the bodies of ``VALUES ?var { ... }`` blocks (between the braces)."""
    tokens = [t for t in tokenize(text) if t.kind not in ("space", "comment")]
    spans = []
    for i in range(len(tokens) - 2):
        a, b, c = tokens[i], tokens[i + 1], tokens[i + 2]
        if a.kind == "word" and a.text.upper() == "VALUES" and b.kind == "var" and b.text[1:] == var \
                and c.kind == "open":
            for d in tokens[i + 3:]:
                if d.kind == "close":
                    spans.append((c.end, d.start))
                    break
    return spans
