#!/usr/bin/env bash
# Debian packages the test suite drives for real: Chromium and its driver (end-to-end page tests),
# Virtuoso open source (the remote-engine contract tests; started by the tests, not systemd) and
# curl (the endpoint is tested with it, as outside clients use it).
# Installed only when missing; needs root (as on CI) or a user who can sudo.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v virtuoso-t >/dev/null 2>&1 || missing+=(virtuoso-opensource)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  SUDO="sudo"
fi
echo "installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
