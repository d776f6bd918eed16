"""The saved queries run unchanged in grlc (its own release, in its own environment: scripts/
grlc-env.sh), against `clusterkg serve`'s /sparql, and answer as clusterkg's API does for
single-valued parameters (grlc takes the first value of a repeated one, and a value as it is: an
IRI in full)."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from graph.config import PROJECT_ROOT, QUERIES_DIR
from graph.queries import load_queries

from . import engines
from .conftest import BASE

GRLC = PROJECT_ROOT / ".venv-grlc" / "bin" / "python"
PROBE = Path(__file__).with_name("grlc_probe.py")
# one value for each parameter: the first default, or a value of the bundled data
SAMPLES = {"question": "https://w3id.org/clusterkg/vocab/question/9",
           "theme": "https://w3id.org/clusterkg/vocab/theme/funding-finance",
           "cluster": f"{BASE}cluster/medicen",
           "category": "https://w3id.org/clusterkg/vocab/kpi-categories/engagement"}


@pytest.fixture(scope="module")
def federated_server(template_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """`clusterkg serve` whose allow-list holds its own /sparql: the federated query asks itself."""
    import shutil

    path = tmp_path_factory.mktemp("grlc") / "store"
    shutil.copytree(template_store, path)
    port = engines.free_port()
    own = f"http://127.0.0.1:{port}/sparql"
    with engines.ServeProcess(["--store", str(path)], path.parent / "serve.log",
                              {"CLUSTERKG_BASE_IRI": BASE, "CLUSTERKG_SERVICE_ALLOWLIST": own}, port=port) as serve:
        yield serve.url, own


def calls() -> list[tuple[str, dict[str, str]]]:
    out = []
    for query in load_queries().values():
        params = {}
        for p in query.params:
            if p.type == "endpoint":
                continue  # filled in with the server's own endpoint below
            value = p.default[0] if p.default else SAMPLES.get(p.name)
            if value is not None:
                params[p.name] = value
        out.append((query.name, params))
        optional = [p.name for p in query.params if not p.required]
        if optional:
            out.append((query.name, {k: v for k, v in params.items() if k not in optional}))  # left out
    return out


def rows(body: dict) -> list[tuple]:
    if "boolean" in body:
        return [("boolean", body["boolean"])]
    return sorted(tuple(sorted((k, v.get("type"), v["value"]) for k, v in b.items()))
                  for b in body["results"]["bindings"])


def test_every_saved_query_answers_the_same_in_grlc(federated_server, tmp_path: Path) -> None:
    if not GRLC.exists():
        pytest.fail("grlc's environment is missing: run scripts/grlc-env.sh (scripts/test.sh does)")
    base, own = federated_server
    todo = [(n, {**p, "source": own} if n == "federated-shared-themes" else p) for n, p in calls()]
    (tmp_path / "config.ini").write_text(f"[defaults]\nsparql_endpoint = {base}/sparql\n"
                                         f"[local]\nlocal_sparql_dir = {QUERIES_DIR}\n", encoding="utf-8")
    (tmp_path / "calls.json").write_text(json.dumps(todo), encoding="utf-8")
    done = subprocess.run([str(GRLC), str(PROBE), "calls.json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(answers) == len(todo)
    forms = {q.name: q.form for q in load_queries().values()}
    for (name, params), answer in zip(todo, answers, strict=True):
        assert answer["status"] == 200, (name, params, answer["body"][:500])
        if forms[name] in ("CONSTRUCT", "DESCRIBE"):
            continue  # graphs: compared below as triples
        ours = urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/queries/{name}?{urllib.parse.urlencode(params)}",
            headers={"Accept": "application/sparql-results+json"}), timeout=60)
        assert rows(json.loads(answer["body"])) == rows(json.load(ours)), (name, params)
    assert {name for name, _ in todo} == set(forms)
