#!/usr/bin/env bash
# scripts/deploy-backend.sh --env staging --image fundrbolt.azurecr.io/fundrbolt-api:1.4.2 [--local] [--yes] [--pre-swap CMD]  (any `provisioner deploy backend` option).
# --local targets the embedded local cloud (state under .provisioner/); without it, Azure itself.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
args=()
for a in "$@"; do
  if [ "$a" = "--local" ]; then args+=(--cloud local); else args+=("$a"); fi
done
exec provisioner deploy backend "${args[@]}"
