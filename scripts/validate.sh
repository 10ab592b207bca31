#!/usr/bin/env bash
# Validate every environment file offline: scripts/validate.sh [dev staging production]
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
status=0
for env in "${@:-dev staging production}"; do
  for e in $env; do provisioner validate --env "$e" || status=1; done
done
exit $status
