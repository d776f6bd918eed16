"""Write docs/queries.md: each saved query, its question, parameters and an example answer.

Run after changing a query: `.venv/bin/python scripts/query_docs.py` (uses a temporary store
loaded with the bundled data, so the examples are the D2.3 answers).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from graph.config import PROJECT_ROOT, Settings
from graph.importer import Importer
from graph.queries import load_queries
from graph.results import GraphResult, SelectResult
from graph.store.embedded import EmbeddedStore

OUT = PROJECT_ROOT / "docs" / "queries.md"
MAX_ROWS = 6


def _cell(value: object) -> str:
    text = " ".join(str(value).split()).replace("|", "\\|")
    text = text.replace("https://w3id.org/clusterkg/data/", "data:")
    text = text.replace("https://w3id.org/clusterkg/vocab/", "ckgv:")
    return text if len(text) <= 70 else text[:69] + "…"


def main() -> None:
    queries = load_queries()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store_path=Path(tmp) / "store")
        store = EmbeddedStore(settings.store_path)
        Importer(store, settings).init_bundled()
        lines = ["# Saved queries", "",
                 "Each saved query is a file of `queries/` with grlc-style `#+` decorators. Run one with",
                 "`clusterkg query NAME --param KEY=VALUE ...` or `GET /api/queries/NAME?KEY=VALUE`",
                 "(SPARQL 1.1 Query Results JSON; CSV with `Accept: text/csv`); `/api/openapi.json`",
                 "describes them all. IRI parameters also take a prefixed name (`theme:funding-finance`),",
                 "a local name (`medicen`, `supply-chain-transparency`, `green-challenges/other`) or a",
                 "label (`Medicen`, `Analysing supply chains for higher transparency`).",
                 "The examples below are the answers on the bundled D2.3 data, with the default parameters",
                 "(`data:` abbreviates `https://w3id.org/clusterkg/data/`, `ckgv:` the vocabularies).", "",
                 "The files run unchanged in [grlc](https://github.com/CLARIAH/grlc) (tested with grlc",
                 "1.3.11 serving `queries/` against `/sparql`): grlc writes a parameter's value into the",
                 "text, so a query marks where clusterkg puts its `VALUES` block with a `# VALUES ?_var`",
                 "comment and tests a parameter left out with `COALESCE(STR(?__var), \"\") = \"\"`. In",
                 "grlc a parameter takes one value (the first of a repeated one) and as it is: give IRIs",
                 "in full; clusterkg binds every value of a repeatable parameter and resolves names.", ""]
        lines += [f"- [`{q.name}`](#{q.name}): {q.summary}" for q in queries.values()]
        for q in queries.values():
            lines += ["", f"## {q.name}", "", f"**{q.summary}**", "", q.description, ""]
            lines.append(f"Tags: {', '.join(q.tags)}. Form: {q.form}. File: `queries/{q.name}.rq`.")
            lines.append("")
            if q.params:
                lines += ["| parameter | type | required | repeatable | default | description |",
                          "| --- | --- | --- | --- | --- | --- |"]
                for p in q.params:
                    kind = p.type + (f" (member of `{p.member_of_class or p.member_of_scheme}`)"
                                     if p.member_of_class or p.member_of_scheme else "")
                    lines.append(f"| `{p.name}` | {kind} | {'yes' if p.required else 'no'} | "
                                 f"{'yes' if p.repeatable else 'no'} | {', '.join(p.default) or '—'} | "
                                 f"{p.description} |")
            else:
                lines.append("No parameters.")
            args = " ".join(f"--param {p.name}={v}" for p in q.params for v in p.default)
            lines += ["", "```", f"clusterkg query {q.name} {args}".rstrip(), "```", ""]
            if any(p.type == "endpoint" for p in q.params):
                lines.append("A federated query: it needs another dataset's endpoint on the service's allow-list "
                             "(`CLUSTERKG_SERVICE_ALLOWLIST`); [docs/linking.md](linking.md) shows it run from start "
                             "to finish.")
                continue
            result = q.run(store, {})
            if isinstance(result, SelectResult):
                lines.append(f"Example answer ({len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
                             f"{', first ' + str(MAX_ROWS) if len(result.rows) > MAX_ROWS else ''}):")
                lines += ["", "| " + " | ".join(result.variables) + " |",
                          "| " + " | ".join("---" for _ in result.variables) + " |"]
                for row in result.rows[:MAX_ROWS]:
                    lines.append("| " + " | ".join(_cell(row.get(v, "")) for v in result.variables) + " |")
            elif isinstance(result, GraphResult):
                lines.append(f"Example answer: a graph of {len(result.graph)} triples (Turtle by default).")
        store.close()
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
