# shellcheck shell=bash
# Shared setup for scripts/test and scripts/example (sourced, not executed).
#
# Provides:
#   ROOT                 repository root (the current directory after sourcing)
#   VENV, PY             the project's virtualenv and its python
#   COUCH_SERVER         scripts/couch-server/couch-server
#   step "text"          print a step header
#   bootstrap_python     create .venv if needed; pip install -e '.[dev]' when
#                        pyproject.toml changed since the last install
#   bootstrap_node       install the local test server's node modules
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
COUCH_SERVER="$ROOT/scripts/couch-server/couch-server"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\n==> FAILED: %s\n' "$*" >&2; exit 1; }

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10 python; do
        [[ -n "$candidate" ]] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

bootstrap_python() {
    if [[ ! -x "$PY" ]] || ! "$PY" -c 'import sys' >/dev/null 2>&1; then
        local base
        base="$(find_python)" || fail "python >= 3.10 not found (set PYTHON=/path/to/python3)"
        step "creating virtualenv .venv ($("$base" --version 2>&1))"
        rm -rf "$VENV"
        "$base" -m venv "$VENV" || fail "python -m venv (on Debian: apt-get install python3-venv)"
    fi
    local stamp="$VENV/.cloudant-odm-dev-install" want
    want="$( { cat "$ROOT/pyproject.toml"; "$PY" -VV; } | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    step "installing cloudant_odm with the dev extra (pip install -e '.[dev]')"
    "$PY" -m pip install --quiet -e ".[dev]" || fail "pip install -e '.[dev]'"
    printf '%s\n' "$want" >"$stamp"
}

bootstrap_node() {
    command -v node >/dev/null 2>&1 || fail "node is not installed (needed for the local test server)"
    command -v npm >/dev/null 2>&1 || fail "npm is not installed (needed for the local test server)"
    "$COUCH_SERVER" install || fail "couch-server install"
}
