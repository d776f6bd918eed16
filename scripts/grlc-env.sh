#!/usr/bin/env bash
# grlc (https://github.com/CLARIAH/grlc) in an environment of its own, for the test that serves
# queries/ through it: grlc pins Flask and rdflib exactly, which clusterkg's own environment must
# stay free to move from. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
GRLC_VERSION=1.3.11
if [ ! -x .venv-grlc/bin/python ]; then
  "$PY" -m venv .venv-grlc
fi
if ! .venv-grlc/bin/python -c "import grlc, sys; sys.exit(0 if grlc.__version__ == '$GRLC_VERSION' else 1)" 2>/dev/null; then
  .venv-grlc/bin/python -m pip install --quiet --disable-pip-version-check "grlc==$GRLC_VERSION"
fi
