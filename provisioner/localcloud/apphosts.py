"""The apps' own hosts: each site's and slot's `/health`, and the Static Web Apps' content and uploads.

`*.azurewebsites.net` and `*.azurestaticapps.net` do not resolve on a test machine, so the local cloud
answers them on its own port, routed by the Host header (the tool sends the site's defaultHostName as Host
for local targets only). A site answers its health path as a conforming app does (docs/operations.md, "The
app's health contract"): 200 with `{"status": "healthy", "deploy_marker": <its DEPLOY_MARKER app setting>}`,
or 503 when the image of the container answering contains one of the `--unhealthy-image` substrings. Which
container answers (the old one until a new one has started) is containers.Containers.
"""

from __future__ import annotations

import io
import threading
import zipfile
from dataclasses import dataclass
from typing import Any

from .containers import Containers
from .services import ArmEngine
from .types.web_static import static_token

APP_SUFFIX = ".azurewebsites.net"
STATIC_SUFFIX = ".azurestaticapps.net"
# Where the local stand-in for the Static Web Apps content service takes a zip (local targets only; on
# Azure the tool hands the deployment token to the SWA CLI, see provisioner/operate/frontend.py).
UPLOAD_PATH = "/.localcloud/swa-upload"
# A Linux container's start after an image change, in realistic latency (App Service pulls and starts the
# image before the site answers; ~30-90 s for a small image), scaled by --time-scale.
CONTAINER_START_SECONDS = 45.0


@dataclass
class HostReply:
    status: int
    body: bytes
    content_type: str = "application/json"


def is_app_host(host: str) -> bool:
    return host.endswith(APP_SUFFIX) or host.endswith(STATIC_SUFFIX)


class AppHosts:
    """Answers requests addressed to a site's, slot's or static site's default host name."""

    def __init__(self, engine: ArmEngine, unhealthy_images: list[str] | None = None, start_seconds: float = 0.0):
        self.engine = engine
        self.unhealthy = [s for s in (unhealthy_images or []) if s]
        self.containers = Containers(engine, start_seconds)
        self._lock = threading.Lock()
        self._content: dict[str, dict[str, bytes]] = {}  # static host -> path -> bytes

    def handle(self, method: str, host: str, path: str, body: bytes, headers: Any) -> HostReply:
        host = host.lower()
        if host.endswith(STATIC_SUFFIX):
            return self._static(method, host, path, body, headers)
        return self._site(method, host, path)

    # ------------------------------------------------------------------ sites and slots
    def _find_site(self, host: str) -> tuple[str, dict[str, Any]] | None:
        with self.engine.lock:
            for type_name in ("Microsoft.Web/sites", "Microsoft.Web/sites/slots"):
                for body in self.engine.find(type_name):
                    if str((body.get("properties") or {}).get("defaultHostName", "")).lower() == host:
                        return str(body["id"]), body
        return None

    @property
    def start_seconds(self) -> float:
        return self.containers.start_seconds

    @start_seconds.setter
    def start_seconds(self, value: float) -> None:
        self.containers.start_seconds = value

    def _site(self, method: str, host: str, path: str) -> HostReply:
        found = self._find_site(host)
        if found is None:
            # What App Service answers for a host it does not know.
            return _json(404, {"error": f"404 Web Site not found: {host}"})
        site_id, site = found
        props = site.get("properties") or {}
        if str(props.get("state", "Running")).lower() == "stopped":
            return _json(403, {"error": "Error 403 - This web app is stopped."})
        if method not in ("GET", "HEAD"):
            return _json(404, {"error": "Not Found"})
        container = self.containers.serving(site_id)
        if container is None:
            return _json(503, {"status": "starting"})
        return self.answer(site_id, container.image, container.marker, path)

    def answer(self, site_id: str, image: str, marker: str, path: str) -> HostReply:
        """What the stand-in app in a container started with `image` and `marker` answers on `path`."""
        config = (self.engine.get(f"{site_id}/config/web") or {}).get("properties") or {}
        health_path = str(config.get("healthCheckPath") or "/health")
        if path.split("?", 1)[0] not in (health_path, "/"):
            return _json(404, {"error": "Not Found"})
        if any(s in image for s in self.unhealthy):
            return _json(503, {"status": "unhealthy", "deploy_marker": marker})
        return _json(200, {"status": "healthy", "deploy_marker": marker})

    def warmup_status(self, site_id: str, path: str) -> int:
        """The status the slot's newest container answers on a swap's warm-up path (the swap waits for it)."""
        newest = self.containers.newest(site_id)
        return self.answer(site_id, newest.image, newest.marker, path).status

    # ------------------------------------------------------------------ static web apps
    def _find_static(self, host: str) -> dict[str, Any] | None:
        with self.engine.lock:
            for body in self.engine.find("Microsoft.Web/staticSites"):
                if str((body.get("properties") or {}).get("defaultHostname", "")).lower() == host:
                    return body
        return None

    def _static(self, method: str, host: str, path: str, body: bytes, headers: Any) -> HostReply:
        site = self._find_static(host)
        if site is None:
            return _json(404, {"error": f"404 Static Web App not found: {host}"})
        if path == UPLOAD_PATH:
            return self._upload(method, host, site, body, headers)
        files = self._content.get(host)
        if files is None:
            # A static site with nothing deployed shows Azure's placeholder page.
            return HostReply(200, b"<html><body>Your Azure Static Web App is live and waiting for your content."
                             b"</body></html>", "text/html")
        name = path.split("?", 1)[0].lstrip("/") or "index.html"
        data = files.get(name)
        if data is None:
            data = files["index.html"]  # navigation fallback to the SPA's entry point
        return HostReply(200, data, "text/html" if name.endswith(".html") or name not in files else
                         "application/octet-stream")

    def _upload(self, method: str, host: str, site: dict[str, Any], body: bytes, headers: Any) -> HostReply:
        if method != "POST":
            return _json(405, {"error": "Method Not Allowed"})
        token = str(headers.get("x-deployment-token") or "")
        if token != static_token(str(site["id"])):
            return _json(401, {"error": "The deployment token is not valid for this Static Web App."})
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                files = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
        except zipfile.BadZipFile:
            return _json(400, {"error": "The uploaded content is not a zip archive."})
        if "index.html" not in files:
            return _json(400, {"error": "The app artifact has no index.html."})
        with self._lock:
            self._content[host] = files
        return _json(200, {"status": "Succeeded", "files": len(files)})


def _json(status: int, body: dict[str, Any]) -> HostReply:
    import json

    return HostReply(status, json.dumps(body).encode())
