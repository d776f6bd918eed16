"""The load test script runs (a short version of it) with zero errors; its timings are reported,
never asserted (benchmarks/load-report.md holds the full run's figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graph.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_quick_load_run_has_no_errors(tmp_path: Path) -> None:
    out = tmp_path / "load.md"
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "load.py"), "--quick",
                           "--output", str(out)], capture_output=True, text=True, timeout=180)
    result = json.loads(out.with_suffix(".json").read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert result["errors"] == 0 and result["server_errors"] == 0, result["error_samples"]
    assert result["overall"]["requests"] > 50
    assert set(result["by_kind"]) == {"page", "saved query", "sparql"}
    assert "| all |" in out.read_text()


def test_with_a_runaway_a_second_light_requests_are_all_answered(tmp_path: Path) -> None:
    """Another client's runaways are stopped (503) or refused (429); no light request fails. (The
    throughput kept is measured by `load.py --fairness`, in docs/security.md.)"""
    out = tmp_path / "fair.md"
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "load.py"), "--quick",
                           "--runaway-per-s", "1", "--output", str(out)], capture_output=True, text=True, timeout=180)
    result = json.loads(out.with_suffix(".json").read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert result["errors"] == 0, result["error_samples"]
    assert set(result["runaway_statuses"]) <= {"429", "503"} and sum(result["runaway_statuses"].values()) >= 3
