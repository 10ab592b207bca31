"""A whole drill on the local cloud with real PostgreSQL, for docs/recovery.md's table:

    .venv/bin/python scripts/drill_local.py [--env staging] [--latency fast|realistic --time-scale 0.01] [-o markdown]

Provisions the environment (the CLI, embedded local cloud with real clusters), then runs `provisioner drill`'s code
against the same state as the drill identity: a principal holding Key Vault Secrets Officer on the vault (the local
cloud's data plane knows the built-in roles; ci/drill-identity.toml's narrower custom role is what Azure gets).
Prints the report; exit code as `provisioner drill`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SUB = "00000000-0000-0000-0000-000000000000"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"


def _jwt(oid: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'oid': oid, 'appid': 'fundrbolt-drill'})}.sig"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="staging")
    parser.add_argument("--latency", default="fast", choices=["fast", "realistic"])
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("-o", "--output", default="text", choices=["text", "json", "markdown"])
    args = parser.parse_args()
    os.environ["PROVISIONER_LOCALCLOUD_POSTGRES"] = "on"
    work = Path(tempfile.mkdtemp(prefix="drill-local-"))
    provision = subprocess.run([sys.executable, "-m", "provisioner", "provision", "--env", args.env, "--cloud", "local",
                                "--state-dir", str(work), "--yes"], cwd=ROOT, capture_output=True, text=True)
    if provision.returncode != 0:
        print(provision.stderr[-2000:], file=sys.stderr)
        return 1

    import steps
    from provisioner.azure import clients as clients_mod
    from provisioner.cli import drills
    from provisioner.cli.session import TargetSpec, load_session
    from provisioner.localcloud import LocalCloud

    oid = str(uuid.uuid4())
    # The drill runs as its own principal (a JWT naming it), not as the provisioner's static local identity.
    clients_mod.StaticTokenCredential.__init__.__defaults__ = (_jwt(oid),)
    session = load_session(args.env, steps.ALL_STEPS, ROOT / "envs")
    vault = next(s for s in session.steps if s.name == "key_vault")
    with LocalCloud(state_file=work / "localcloud-state.json", latency=args.latency, time_scale=args.time_scale,
                    postgres="on") as cloud:
        scope = f"/subscriptions/{SUB}/resourceGroups/{vault.resource_group}/providers/Microsoft.KeyVault/vaults/{vault.resource_name}"
        state = cloud.state()
        state[f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"] = {
            "type": "Microsoft.Authorization/roleAssignments", "properties": {
                "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_OFFICER}",
                "principalId": oid, "principalType": "ServicePrincipal", "scope": scope}}
        for rid, body in state.items():
            body.setdefault("id", rid)
            body.setdefault("name", rid.rsplit("/", 1)[1])
        cloud.set_state(state)
        dist = work / "dist"
        dist.mkdir()
        (dist / "index.html").write_text("<!doctype html><title>Fundrbolt admin</title>\n")
        spec = TargetSpec(arm_endpoint=cloud.url)
        text, code = drills.drill(session, spec, drills.DrillArgs("all", args.output, frontend_dist=dist),
                                  lambda prompt: True, yes=True)
        pg_root = cloud.pg.root
    import shutil

    shutil.rmtree(pg_root, ignore_errors=True)  # the clusters of this throw-away environment
    shutil.rmtree(work, ignore_errors=True)
    print(text, end="")
    return code


if __name__ == "__main__":
    sys.exit(main())
