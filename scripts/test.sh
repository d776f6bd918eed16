#!/usr/bin/env bash
# Set up, lint and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
