"""End-to-end helpers: run the real CLI in a subprocess and talk to the local cloud's REST API."""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e import forked
from tests.support import ENVS, ROOT, SUB


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> Run:
    """`python -m provisioner ...` as a user would run it (a new process, the real SDK over HTTP), forked from one
    that already imported the SDKs (tests/e2e/forked.py)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Whatever the machine running the tests has (a CI job's OIDC variables, an endpoint) is not the test's.
    for name in ("AZURE_SUBSCRIPTION_ID", "PROVISIONER_ARM_ENDPOINT", "ACTIONS_ID_TOKEN_REQUEST_URL",
                 "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        env.pop(name, None)
    proc = forked.run(list(args), env, cwd or ROOT, timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def rest(url: str, method: str, path: str, body: dict | None = None, caller: str = "alice@fundrbolt.app",
         api_version: str = "2024-11-01") -> tuple[int, Any]:
    """A raw ARM call, as a person in the portal would make it."""
    sep = "&" if "?" in path else "?"
    req = urllib.request.Request(f"{url}{path}{sep}api-version={api_version}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {caller}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def push_image(url: str, image: str) -> None:
    """What an application's pipeline does before a deploy: the image lands in the shared registry (ARM
    Registries_ImportImage; the local cloud's registry then holds REPO:TAG)."""
    registry = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-shared-rg/providers/" \
               "Microsoft.ContainerRegistry/registries/fundrbolt"
    status, _ = rest(url, "POST", f"{registry}/importImage", {
        "source": {"registryUri": "docker.io", "sourceImage": "library/nginx:latest"},
        "targetTags": [image.split("/", 1)[1]], "mode": "Force"}, api_version="2023-07-01")
    assert status == 202, status


def rg_path(env: str = "dev") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/fundrbolt-{env}-rg"


def writes(requests: list[dict]) -> list[dict]:
    """Writes to the environment: ARM and Key Vault requests. The run lock's lease calls on its own blob
    (kind "blob") are not writes to the environment; tests/e2e/test_run_lock.py counts those."""
    return [r for r in requests if r.get("write") and r.get("kind") != "blob"]


def lock_calls(requests: list[dict]) -> list[dict]:
    return [r for r in requests if r.get("kind") == "blob"]


__all__ = ["ENVS", "Run", "cli", "push_image", "rest", "rg_path", "writes"]
