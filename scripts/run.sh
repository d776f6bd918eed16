#!/usr/bin/env bash
# Set up, load the bundled data into the embedded store (idempotent) and start the service.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/clusterkg init
exec .venv/bin/clusterkg serve "$@"
