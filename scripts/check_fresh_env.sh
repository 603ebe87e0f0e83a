#!/usr/bin/env bash
# A newcomer's first ten minutes, checked: in a temporary clone of this repository (its committed
# HEAD), with a fresh `python3 -m venv` activated, run the README's two commands as written
# (read from README.md, section "Two commands": its first two ```bash blocks), then check that
#   - both exit 0 (command 1 must also print a pod spec),
#   - the global Python's installed packages (`pip freeze --all`) did not change,
#   - the clone's `git status --porcelain` is empty (everything they write is ignored).
# Long (command 2 installs everything and runs the whole suite): not part of the test suite.
#   bash scripts/check_fresh_env.sh            # the commands' full output lands in $LOGS
#                                              # (default /tmp/fresh-env-logs); KEEP=1 keeps the clone
#   GLOBAL_PYTHON=/usr/bin/python3 bash scripts/check_fresh_env.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GLOBAL_PY=${GLOBAL_PYTHON:-python3}
# nothing of a virtualenv the caller may have activated: the global Python is the one on PATH
if [ -n "${VIRTUAL_ENV:-}" ]; then
  PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$VIRTUAL_ENV/bin" | paste -sd: -)
  unset VIRTUAL_ENV
fi
unset PYTHONPATH PYTHONHOME
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fresh-env.XXXXXX")
# world-traversable, as the folders above a clone usually are: a test drops to an unprivileged user
# (nobody) that must still import from the clone's .venv; mktemp makes the folder 0700
chmod 755 "$WORK"
LOGS=${LOGS:-${TMPDIR:-/tmp}/fresh-env-logs}
cleanup() {
  mkdir -p "$LOGS" && cp "$WORK"/command*.sh "$WORK"/out*.txt "$WORK"/freeze-*.txt "$LOGS"/ 2>/dev/null || true
  echo "full outputs of the commands: $LOGS"
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
START=$(date +%s)
say() { printf '[%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }

freeze() {
  if "$GLOBAL_PY" -m pip --version >/dev/null 2>&1; then
    "$GLOBAL_PY" -m pip freeze --all 2>/dev/null
  else
    "$GLOBAL_PY" -c 'import importlib.metadata as m; print("\n".join(sorted(f"{d.metadata[\"Name\"]}=={d.version}" for d in m.distributions())))'
  fi | LC_ALL=C sort
}

say "global Python: $(command -v "$GLOBAL_PY") ($("$GLOBAL_PY" --version 2>&1))"
freeze > "$WORK/freeze-before.txt"
say "global packages before: $(wc -l < "$WORK/freeze-before.txt")"

git clone -q "$ROOT" "$WORK/clone"
say "cloned $(git -C "$WORK/clone" rev-parse --short HEAD) into $WORK/clone"

# the README's two commands, as a reader copies them (a leading "$ " is dropped)
"$GLOBAL_PY" - "$WORK/clone/README.md" "$WORK" <<'PY'
import re, sys
from pathlib import Path
text = Path(sys.argv[1]).read_text(encoding="utf-8")
section = re.search(r"^## Two commands\n(.*?)(?=^## )", text, re.M | re.S)
if not section:
    sys.exit("README.md has no '## Two commands' section")
blocks = re.findall(r"^```bash\n(.*?)^```", section.group(1), re.M | re.S)
if len(blocks) < 2:
    sys.exit(f"README.md's 'Two commands' holds {len(blocks)} bash blocks, not 2")
for i, block in enumerate(blocks[:2], 1):
    lines = [l[2:] if l.startswith("$ ") else l for l in block.splitlines() if l.strip()]
    Path(sys.argv[2], f"command{i}.sh").write_text("\n".join(lines) + "\n")
PY

"$GLOBAL_PY" -m venv "$WORK/venv"
say "fresh venv: $WORK/venv"
status=0
cd "$WORK/clone"
for i in 1 2; do
  say "README command $i: $(cat "$WORK/command$i.sh")"
  t0=$(date +%s)
  set +e
  ( source "$WORK/venv/bin/activate" && bash -e "$WORK/command$i.sh" ) > "$WORK/out$i.txt" 2>&1
  rc=$?
  set -e
  say "README command $i: exit $rc in $(( $(date +%s) - t0 ))s; last lines:"
  tail -n 15 "$WORK/out$i.txt" | sed 's/^/    /'
  if [ "$rc" != 0 ]; then status=1; fi
  if [ "$i" = 1 ] && ! grep -q '^spec:' "$WORK/out1.txt"; then
    say "FAIL: README command 1 printed no pod spec"; status=1
  fi
done

freeze > "$WORK/freeze-after.txt"
if diff -u "$WORK/freeze-before.txt" "$WORK/freeze-after.txt"; then
  say "global Python packages: unchanged"
else
  say "FAIL: the global Python's packages changed (diff above)"; status=1
fi
dirty=$(git -C "$WORK/clone" status --porcelain)
if [ -z "$dirty" ]; then
  say "git status --porcelain: clean"
else
  say "FAIL: the clone is not clean after the README commands:"; printf '%s\n' "$dirty" | sed 's/^/    /'; status=1
fi
say "result: $([ $status = 0 ] && echo OK || echo FAILED)"
exit $status
