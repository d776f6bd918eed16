#!/usr/bin/env bash
# Set up, lint and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
bash scripts/grlc-env.sh
.venv/bin/ruff check .
# two workers, one test file each at a time (module fixtures stay together): the suite waits on
# engines and subprocesses much of the time, so this halves the wall time on two cores
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
