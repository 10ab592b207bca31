#!/usr/bin/env bash
# Provision an environment: scripts/provision.sh --env dev [--local] [any `provisioner provision` option].
# --local targets the embedded local cloud (state under .provisioner/); without it, Azure itself.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
args=()
for a in "$@"; do
  if [ "$a" = "--local" ]; then args+=(--cloud local); else args+=("$a"); fi
done
exec provisioner provision "${args[@]}"
