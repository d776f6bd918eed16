"""The SERVICE allow-list as a check of the query text: a first, friendly refusal.

The allow-list is enforced where connections are made (graph.egress: the processes that run
other people's queries on the embedded store have no network but a relay to the allowed
endpoints). The text check comes first so that a refused SERVICE gets a clear message rather than
a failed connection, and it is all there is where clusterkg cannot confine the engine (a remote
engine; a kernel that refuses namespaces): there :func:`check_services` is given ``strict=True``.

- The friendly check lexes the query as SPARQL does (codepoint escapes such as ``\\u0053ERVICE``
  decoded first, then strings, IRIs and comments; graph.sparql_text) and requires each
  ``SERVICE`` to name an allowed endpoint by a full IRI; ``SERVICE ?x`` is refused.
- The strict check assumes no lexer: every place where the letters ``service`` could be read as
  the keyword, in the text as written and after every round of escape decoding, must be followed
  by whitespace, an optional ``SILENT`` and an allowed IRI written out in full. It refuses some
  harmless queries (the word in a string literal) so that no reading of the text can hide one.

The allow-list is empty unless ``CLUSTERKG_SERVICE_ALLOWLIST`` lists endpoints (comma-separated).
"""

from __future__ import annotations

import re

from graph.sparql_text import tokenize

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_KEYWORD = re.compile("service", re.IGNORECASE)  # Unicode case folding: matches more than ASCII, never fewer
# what precedes the letters when they are part of a longer name (a prefixed name, a variable, a
# language tag, a blank node label), never a keyword of their own
_ABSORBING = set(":?$-_/#@") | {"\u00b7"}
_TRUE_FALSE = re.compile(r"(?:true|false)$", re.IGNORECASE)  # keywords a PEG lexer may end just before
_AFTER = re.compile(r"[ \t\r\n]*(?:silent[ \t\r\n]*)?<([^>]*)>", re.IGNORECASE)
_NAME_RUN = re.compile(r"[A-Za-z0-9_\-\u00b7\u00c0-\U000effff]*")
# a line whose first character but blanks is "#" is a comment up to its end (or a carriage
# return) in every reading: inside a long string the word would be no keyword either
_COMMENT_LINE = re.compile(r"(?:^|\n)[ \t]*#[^\n\r]*$")


class ServiceRefused(ValueError):
    """A query names a SERVICE endpoint that is not allowed; the message says which."""


def decode_codepoint_escapes(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def check_services(sparql: str, allowed: frozenset[str] | set[str] = frozenset(), *, strict: bool = False) -> None:
    """Raise :class:`ServiceRefused` unless every SERVICE of ``sparql`` names an ``allowed`` endpoint."""
    if not any(_keyword_ends(text, _KEYWORD, glued=("silent",)) for text in _readings(sparql)):
        return  # no reading of the text holds the keyword anywhere: nothing to lex
    _check_lexed(decode_codepoint_escapes(sparql), allowed)
    if strict:
        _check_unlexed(sparql, allowed)


def _refusal(iri: str, allowed: frozenset[str] | set[str]) -> ServiceRefused:
    hint = f" (allowed: {', '.join(sorted(allowed))})" if allowed else " (none is allowed here)"
    return ServiceRefused(f"SERVICE <{iri}> is not on this service's allow-list{hint}")


def _check_lexed(text: str, allowed: frozenset[str] | set[str]) -> None:
    if not _KEYWORD.search(text):
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
            raise _refusal(iri, allowed)


def _readings(text: str) -> list[str]:
    """The text as written and after each round of escape decoding, until nothing changes."""
    readings = [text]
    while len(readings) < 8:
        decoded = decode_codepoint_escapes(readings[-1])
        if decoded == readings[-1]:
            break
        readings.append(decoded)
    return readings


def refuse_keyword(sparql: str, word: str, message: str) -> None:
    """Raise :class:`ServiceRefused` with ``message`` if ``word`` (a keyword such as LOAD) could be
    read as that keyword anywhere in ``sparql``, lexed or not (as the strict check reads it)."""
    pattern = re.compile(re.escape(word), re.IGNORECASE)
    for text in _readings(sparql):
        for _end in _keyword_ends(text, pattern, glued=("silent",)):
            raise ServiceRefused(message)


def _keyword_ends(text: str, pattern: re.Pattern[str], glued: tuple[str, ...]) -> list[int]:
    """Where the letters of ``pattern`` could be the keyword (the offsets just after them), in any
    reading of ``text``: not part of a longer name, not on a comment line. ``glued``: keywords that
    may follow this one with no space between (a PEG lexer reads "SERVICESILENT" as two)."""
    ends = []
    for match in pattern.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else " "
        if before in _ABSORBING or (before.isalpha() and not _TRUE_FALSE.search(text, 0, start)):
            continue  # part of a longer name
        if _COMMENT_LINE.search(text, max(0, text.rfind("\n", 0, start)), start):
            continue
        run = _NAME_RUN.match(text, end).group()
        if run and not run.lower().startswith(glued) and text[end + len(run): end + len(run) + 1] != ":":
            continue  # a longer word ("services"), not the keyword followed by a prefixed name
        ends.append(end)
    return ends


def _check_unlexed(sparql: str, allowed: frozenset[str] | set[str]) -> None:
    for text in _readings(sparql):
        for end in _keyword_ends(text, _KEYWORD, glued=("silent",)):
            after = _AFTER.match(text, end)
            if after is None:
                raise ServiceRefused(
                    "the word SERVICE appears where this service cannot tell that it is not a SERVICE clause "
                    "(for example in a string or after a comment); here SERVICE must be followed directly by "
                    "an allowed endpoint's full IRI in <…>")
            if after.group(1) not in allowed:
                raise _refusal(after.group(1), allowed)
