#!/usr/bin/env bash
# Every benchmark next to its peer, in one run (see bench/run_all.py).
#   - installs the project with its test extras into ./.venv (as scripts/test.sh does), which
#     brings moto's S3 server, awscli and s3fs
#   - creates Polyaxon 2.18 in its own virtualenv, ./.bench/polyaxon-venv (git-ignored)
#   - installs this checkout as users do (not editable) into ./.bench/stores-venv: the timed
#     `stores` processes and the in-run lookup run from there
#   - compiles both environments' bytecode, as `pip install` does (uv and PYTHONDONTWRITEBYTECODE
#     leave none, and every cold start would then compile its imports from source)
#   - prints one table and writes bench-results.json; extra arguments go to run_all.py
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
POLYAXON_VERSION=${POLYAXON_VERSION:-2.18.0}

uv_cmd() {
  if "$PY" -m uv --version >/dev/null 2>&1; then "$PY" -m uv "$@"
  elif command -v uv >/dev/null 2>&1; then uv "$@"
  else "$PY" -m pip install -q uv >/dev/null && "$PY" -m uv "$@"; fi
}

if [ ! -x .venv/bin/python ]; then uv_cmd venv -q .venv; fi
uv_cmd pip install -q --python .venv/bin/python -e ".[test,bench]"

if ! .bench/polyaxon-venv/bin/python -c "import polyaxon.pkg, sys; sys.exit(polyaxon.pkg.VERSION != '$POLYAXON_VERSION')" 2>/dev/null; then
  mkdir -p .bench
  uv_cmd venv -q --python "$(.venv/bin/python -c 'import sys; print(sys.executable)')" .bench/polyaxon-venv
  uv_cmd pip install -q --python .bench/polyaxon-venv/bin/python "polyaxon==$POLYAXON_VERSION"
fi

# the toolkit as users install it (a wheel, not the editable install's import hook), rebuilt
# from this checkout every run: the CLI and in-run rows time it
if [ ! -x .bench/stores-venv/bin/python ]; then
  mkdir -p .bench
  uv_cmd venv -q --python "$(.venv/bin/python -c 'import sys; print(sys.executable)')" .bench/stores-venv
fi
uv_cmd pip install -q --python .bench/stores-venv/bin/python --reinstall-package plx-stores ".[all]"

for venv in .venv .bench/polyaxon-venv .bench/stores-venv; do
  "$venv/bin/python" -m compileall -q -j 0 "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
done
.venv/bin/python -m compileall -q -j 0 stores k8s >/dev/null

exec .venv/bin/python bench/run_all.py "$@"
