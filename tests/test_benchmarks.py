"""The benchmark scripts run (quick mode, as CI runs them) and the generator is deterministic;
timings are reported in benchmarks/REPORT.md, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import timing
from graph.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_generator_is_deterministic_and_sized(tmp_path: Path) -> None:
    script = str(PROJECT_ROOT / "benchmarks" / "generate.py")
    for out in ("a", "b"):
        subprocess.run([sys.executable, script, "--sizes", "10k", "--out", str(tmp_path / out)],
                       check=True, capture_output=True, timeout=120)
    a, b = sorted((tmp_path / "a").glob("*.csv")), sorted((tmp_path / "b").glob("*.csv"))
    assert [p.name for p in a] == [p.name for p in b] and [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    rows = sum(len(p.read_text(encoding="utf-8").splitlines()) - 1 for p in a)
    assert 80 <= rows <= 110  # ~108 triples a row for 10,000 triples


def test_quick_benchmark_runs_and_reports(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "run.py"), "--quick",
                           "--output", str(report)], capture_output=True, text=True, timeout=600)
    # the service log's warnings (a query worker's last words) come before the traceback
    warnings = [line for line in done.stderr.splitlines()
                if any(word in line for word in ("WARNING", "ERROR", "last words", "worker"))]
    assert done.returncode == 0, done.stdout[-2000:] + "\n".join(warnings)[-4000:] + done.stderr[-2000:]
    result = json.loads(report.with_suffix(".json").read_text())
    entry = result["by_size"]["10k"]
    assert 9_000 <= entry["import"]["triples"] <= 11_000
    assert {"clusters-sharing", "cluster-profile", "option-counts", "challenge-cooccurrence"} <= set(entry["queries"])
    # at least --repeats (5) runs each; a fast query more, up to MAX_RUNS
    assert all(5 <= q["raw"]["runs"] <= timing.MAX_RUNS for q in entry["queries"].values())
    assert any(q["raw"]["runs"] > 5 for q in entry["queries"].values())  # 10k: some take a few ms
    assert entry["http"]["cold_start_s"] > 0 and entry["http"]["rss_mb"] > 0
    # the import's steps alone, on the same files: the same triples but the provenance (one
    # prov:wasGeneratedBy a response and a few a file), every step timed
    floor = entry["import_floor"]
    assert 0.95 * entry["import"]["triples"] <= floor["triples"] < entry["import"]["triples"]
    assert list(floor["steps"]) == ["mapping", "derived edges", "N-Triples", "SHACL core (shacl-rust)",
                                    "SHACL-SPARQL constraints", "bulk load", "one compaction"]
    assert all(s["wall_s"] > 0 and s["cpu_s"] >= 0 for s in floor["steps"].values())
    assert floor["best_s"] == floor["cpu_s"] / floor["cores"]
    text = report.read_text()
    assert "triples/s" in text and "| `clusters-sharing` |" in text
    assert "| SHACL core (shacl-rust) |" in text and "at best" in text


def test_a_comparison_near_its_line_is_timed_in_a_second_series() -> None:
    """Two sides whose medians come near a target's line (met or not) get a second alternated
    series, pooled with the first; far from it, one series."""
    import time

    def sleep(seconds: float):  # one side of a comparison: an action that takes ``seconds``
        return lambda: time.sleep(seconds)

    def timed(seconds: float):
        return lambda: (time.sleep(seconds), seconds)[1]

    ours, theirs = timing.interleaved(sleep(0.002), timed(0.002), 5, close=timing.near_engine_line)
    assert ours["series"] == theirs["series"] == 2 and ours["runs"] == theirs["runs"] >= 10
    ours, theirs = timing.interleaved(sleep(0.001), timed(0.004), 5, close=timing.near_engine_line)
    assert ours["series"] == 1  # clearly faster than the engine: one series
    assert timing.near_api_line(0.014, 0.010) and not timing.near_api_line(0.012, 0.010)  # the additive line
    assert timing.near_api_line(0.137, 0.100) and not timing.near_api_line(0.150, 0.100)  # the line: 1.3x
