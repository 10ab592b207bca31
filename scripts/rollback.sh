#!/usr/bin/env bash
# scripts/rollback.sh --env production [--local] [--yes]  (any `provisioner rollback` option).
# --local targets the embedded local cloud (state under .provisioner/); without it, Azure itself.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
args=()
for a in "$@"; do
  if [ "$a" = "--local" ]; then args+=(--cloud local); else args+=("$a"); fi
done
exec provisioner rollback "${args[@]}"
