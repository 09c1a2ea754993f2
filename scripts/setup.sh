#!/usr/bin/env bash
# Set up everything redisops needs on a Debian/Ubuntu machine with Python 3.11+:
#   redis-server + redis-tools (apt-get when root, else prints the exact command), a venv in .venv,
#   and the project with its dev extras, pinned by requirements/constraints.txt.
# Idempotent and quiet when nothing changed. Sourced by scripts/rehearse and scripts/test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REDISOPS_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

say() { printf '\033[2m[setup] %s\033[0m\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit "${2:-12}"; }

quiet_pip() {  # quiet_pip LOG CMD... : run CMD (a pip install) with all its output in LOG; show it only on failure
  local log="$1" rc=0
  shift
  mkdir -p "$(dirname "$log")"
  "$@" >"$log" 2>&1 </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    printf 'setup: pip failed (exit %s); the end of its output (all of it is in %s):\n' "$rc" "$log" >&2
    tail -n 40 "$log" >&2
  fi
  return "$rc"
}

command -v "$PY" >/dev/null || die "python3 not found. Install Python 3.11+: sudo apt-get install -y python3 python3-venv"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11+ is required, found $("$PY" -V 2>&1). Install it (e.g. sudo apt-get install -y python3.11 python3.11-venv) and set PYTHON=python3.11"

apt_install() {  # apt_install PKG... : install with apt-get when root, else print the command and stop
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null \
      || die "apt-get install $* failed; run it by hand: apt-get update && apt-get install -y $*"
  else
    die "missing: $*. Run: sudo apt-get update && sudo apt-get install -y $*"
  fi
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-check-rdb >/dev/null; then
  apt_install redis-server redis-tools
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating venv $VENV"
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    apt_install python3-venv
    "$PY" -m venv "$VENV"
  fi
fi

stamp="$VENV/.redisops-installed"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements/constraints.txt" | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing redisops and its dependencies into $VENV (pinned by requirements/constraints.txt)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # pip and setuptools are chatty even with -q (the 11-line "editable installation" banner, warnings
  # about ignored markers): keep their output in a log and show it only when the install fails
  quiet_pip "$VENV/.redisops-pip.log" \
    "$VENV/bin/python" -m pip install -q -c "$ROOT/requirements/constraints.txt" -e "$ROOT[dev]" \
    || die "pip install failed (see above); the package registry must be reachable" 1
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
