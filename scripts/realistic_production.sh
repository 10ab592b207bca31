#!/usr/bin/env bash
# The issue-7 check: `provision --env production` on a fresh local cloud with realistic latency and a random
# tenant succeeds in one run, then `drift` exits 0. Prints the wall time of each. Usage: scripts/realistic_production.sh
set -euo pipefail
source "$(dirname "$0")/_venv.sh" dev
work="$(mktemp -d)"
tenant="$(python -c 'import uuid; print(uuid.uuid4())')"
python -m provisioner localcloud serve --state "$work/state.json" --latency realistic --time-scale 0.005 \
  --tenant-id "$tenant" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.log")"
echo "local cloud $url, tenant $tenant"
start=$(date +%s.%N)
python -m provisioner provision --env production --arm-endpoint "$url" --yes > "$work/provision.log" 2>&1 \
  || { tail -20 "$work/provision.log"; echo "provision FAILED"; exit 1; }
echo "provision: $(tail -1 "$work/provision.log") ($(python -c "print(round($(date +%s.%N)-$start,1))")s wall)"
python -m provisioner drift --env production --arm-endpoint "$url" > "$work/drift.log" 2>&1 \
  || { cat "$work/drift.log"; echo "drift exit $?"; exit 1; }
echo "drift: exit 0 ($(grep -c . "$work/drift.log") lines)"
