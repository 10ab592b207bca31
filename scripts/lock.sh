#!/usr/bin/env bash
# Regenerate the hash-locked requirements from pyproject.toml (run after changing its dependencies; a test fails
# until then): requirements.lock for the workflows, requirements-dev.lock for scripts/test.sh. Build tools
# (setuptools, wheel) are locked too, so installs can use --no-build-isolation with nothing unhashed.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/python" -m pip install --quiet "pip-tools==7.6.2"
common=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --all-build-deps)
"$tools/bin/pip-compile" "${common[@]}" -o requirements.lock pyproject.toml
"$tools/bin/pip-compile" "${common[@]}" --extra dev -o requirements-dev.lock pyproject.toml
echo "wrote requirements.lock and requirements-dev.lock"
