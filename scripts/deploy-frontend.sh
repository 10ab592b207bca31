#!/usr/bin/env bash
# scripts/deploy-frontend.sh --env staging --dist admin/dist [--local] [--yes]  (any `provisioner deploy frontend` option).
# --local targets the embedded local cloud (state under .provisioner/); without it, Azure itself.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
args=()
for a in "$@"; do
  if [ "$a" = "--local" ]; then args+=(--cloud local); else args+=("$a"); fi
done
exec provisioner deploy frontend "${args[@]}"
