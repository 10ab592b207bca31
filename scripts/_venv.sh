# Sourced by the scripts: creates .venv on first use and installs the project (and extras) into it, every
# dependency from the hash-locked requirements (requirements.lock, or requirements-<extras>.lock; scripts/lock.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PROVISIONER_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"
LOCK="$ROOT/requirements${EXTRAS:+-$EXTRAS}.lock"
stamp="$VENV/.installed${EXTRAS:+-$EXTRAS}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# Reinstall when pyproject.toml or the lock changed since the last install.
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$LOCK" -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$LOCK"
  "$VENV/bin/python" -m pip install --quiet --compile --no-deps --no-build-isolation -e "$ROOT"
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
