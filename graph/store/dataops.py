"""SPARQL ``INSERT DATA`` / ``DELETE DATA`` operations for triples written as N-Triples rows."""

from __future__ import annotations

from collections.abc import Iterable

CHUNK = 200  # triples per operation: Virtuoso compiles each one to SQL and refuses one past 10,000 lines


def data_ops(keyword: str, graph: str, rows: Iterable[str]) -> list[str]:
    """``keyword`` ("INSERT DATA" or "DELETE DATA") operations on ``graph``, ``CHUNK`` rows each;
    a row is one triple's N-Triples text, with or without its final " ."."""
    lines = [row if row.endswith(".") else row + " ." for row in (r.strip() for r in rows) if row]
    return [f"{keyword} {{ GRAPH <{graph}> {{\n" + "\n".join(lines[i:i + CHUNK]) + "\n} }"
            for i in range(0, len(lines), CHUNK)]
