#!/usr/bin/env bash
# Install the test dependencies into .venv and run the whole suite (lint, types, layering, tests).
set -euo pipefail
source "$(dirname "$0")/_venv.sh" dev
echo "== ruff"; ruff check provisioner steps tests scripts
echo "== mypy"; mypy provisioner steps
echo "== import layering"; lint-imports --no-cache
echo "== pytest"; python -m pytest -n 2 "$@"
