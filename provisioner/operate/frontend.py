"""Deploy the admin build (a folder with index.html) to the environment's Static Web App.

The deployment token comes from ARM (POST staticSites/{name}/listSecrets, `properties.apiKey`). On Azure the
upload is the SWA CLI's documented path for CI (learn.microsoft.com/azure/static-web-apps/static-web-apps-cli-deploy):
`swa deploy DIR --env production` with the token in SWA_CLI_DEPLOYMENT_TOKEN (never on the command line,
where `ps` would show it). For a local target the local cloud's stand-in content service takes the same
folder as a zip with the token (provisioner/localcloud/apphosts.py).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provisioner.azure import call
from provisioner.core.errors import ProvisionerError

LOCAL_UPLOAD_PATH = "/.localcloud/swa-upload"


class FrontendDeployFailed(ProvisionerError):
    """The build folder is not deployable, or the upload failed."""


def check_dist(dist: Path) -> list[Path]:
    """Every file to upload; refuses a folder that is missing, empty or has no index.html (before any request)."""
    if not dist.is_dir():
        raise FrontendDeployFailed(f"--dist {dist}: not a folder")
    if not (dist / "index.html").is_file():
        raise FrontendDeployFailed(f"--dist {dist}: no index.html at its top (is it the build output folder?)")
    return sorted(p for p in dist.rglob("*") if p.is_file())


def zip_dist(dist: Path, files: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(dist).as_posix())
    return buffer.getvalue()


def static_site(clients: Any, resource_group: str, name: str) -> tuple[str, str]:
    """(defaultHostname, deployment token) of the static site; the token is never printed."""
    site = call(clients.web.static_sites.get_static_site, resource_group, name)
    secrets = call(clients.web.static_sites.list_static_site_secrets, resource_group, name)
    token = (secrets.properties or {}).get("apiKey")
    if not token:
        raise FrontendDeployFailed(f"{name}: listSecrets returned no deployment token")
    return str(site.default_hostname), str(token)


def upload_local(local_url: str, host: str, token: str, archive: bytes) -> None:
    request = urllib.request.Request(local_url.rstrip("/") + LOCAL_UPLOAD_PATH, data=archive, method="POST",
                                     headers={"Host": host, "x-deployment-token": token,
                                              "Content-Type": "application/zip"})
    try:
        with urllib.request.urlopen(request, timeout=60):  # noqa: S310 - loopback local cloud
            return
    except urllib.error.HTTPError as exc:
        raise FrontendDeployFailed(f"upload to {host} refused: {exc.code} {exc.read()[:200].decode(errors='replace')}") from None


def upload_swa_cli(dist: Path, token: str, swa: str | None = None,
                   run: Callable[..., Any] = subprocess.run) -> None:
    exe = swa or os.environ.get("SWA_CLI") or shutil.which("swa")
    if not exe:
        raise FrontendDeployFailed("the Static Web Apps CLI (`swa`) is not installed: npm install -g "
                                   "@azure/static-web-apps-cli (or set SWA_CLI to its path)")
    env = {**os.environ, "SWA_CLI_DEPLOYMENT_TOKEN": token}
    code = run([exe, "deploy", str(dist), "--env", "production"], env=env, check=False).returncode
    if code != 0:
        raise FrontendDeployFailed(f"swa deploy exited {code}")


def deploy_frontend(clients: Any, resource_group: str, name: str, dist: Path,
                    say: Callable[[str], None]) -> str:
    files = check_dist(dist)
    host, token = static_site(clients, resource_group, name)
    say(f"deploying {len(files)} file(s) from {dist} to {name} ({host})")
    if clients.target.local:
        upload_local(clients.target.arm_endpoint, host, token, zip_dist(dist, files))
    else:
        upload_swa_cli(dist, token)
    return f"{name} serves {dist} at https://{host}/"
