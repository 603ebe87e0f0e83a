#!/usr/bin/env bash
# Install everything the tests need and run the whole suite.
#   - Python packages: into ./.venv (uv when available, pip otherwise)
#   - Azurite (Azure Blob emulator): from npm into ./.tools/azurite
#   - moto's S3 server, gcp-storage-emulator and Azurite are started by the tests themselves
#     (tests/support/servers.py) on 127.0.0.1 ports they pick, and stopped at the end.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k values -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}

# nothing is installed outside the repository: uv, when it is not on PATH already, goes into
# .venv itself (pip then only serves to fetch it)
if [ ! -x .venv/bin/python ]; then
  if command -v uv >/dev/null 2>&1; then uv venv -q --python "$PY" .venv; else "$PY" -m venv .venv; fi
fi
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
elif .venv/bin/python -m uv --version >/dev/null 2>&1 || .venv/bin/python -m pip install -q uv >/dev/null 2>&1; then
  UV=(.venv/bin/python -m uv)
else
  UV=()
fi
if [ ${#UV[@]} -gt 0 ]; then
  "${UV[@]}" pip install -q --python .venv/bin/python -e ".[test,docs]"
else
  .venv/bin/python -m pip install -q -e ".[test,docs]"
fi

# Polyaxon 2.18 in its own virtualenv: the oracle of the differential tests
# (tests/k8s/test_parity_polyaxon.py); its dependencies must not meet ours
POLYAXON_VERSION=${POLYAXON_VERSION:-2.18.0}
if ! .bench/polyaxon-venv/bin/python -c "import polyaxon.pkg, sys; sys.exit(polyaxon.pkg.VERSION != '$POLYAXON_VERSION')" 2>/dev/null; then
  mkdir -p .bench
  if [ ${#UV[@]} -gt 0 ]; then
    "${UV[@]}" venv -q --python "$(.venv/bin/python -c 'import sys; print(sys.executable)')" .bench/polyaxon-venv
    "${UV[@]}" pip install -q --python .bench/polyaxon-venv/bin/python "polyaxon==$POLYAXON_VERSION"
  else
    .venv/bin/python -m venv .bench/polyaxon-venv
    .bench/polyaxon-venv/bin/python -m pip install -q "polyaxon==$POLYAXON_VERSION"
  fi
fi
export STORES_POLYAXON_PYTHON="$ROOT/.bench/polyaxon-venv/bin/python"

if [ ! -x .tools/azurite/node_modules/.bin/azurite-blob ]; then
  mkdir -p .tools/azurite
  npm install --silent --no-audit --no-fund --prefix .tools/azurite azurite >/dev/null
fi
export AZURITE_BLOB="$ROOT/.tools/azurite/node_modules/.bin/azurite-blob"
export PATH="$ROOT/.venv/bin:$PATH"

exec .venv/bin/python -m pytest "$@"
