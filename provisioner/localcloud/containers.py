"""The containers behind each site and slot: which one answers, restarts on a configuration change, swaps.

App Service passes a site's app settings to its container as `--env` flags when it starts it
(MicrosoftDocs/azure-docs articles/app-service/configure-common.md, "Configure app settings"), so a new image
or a changed app setting means a new container. Until that container has started, the one already running
keeps answering, with the image and settings it was started with (a maintainer's answer in
MicrosoftDocs/azure-docs#34840: "the existing containers will remain running" while the new image is pulled
and started; "If you change your Docker container, it may take a minute or so for it to take effect",
App Service's "Things You Should Know: Web Apps and Linux"). So the first 200 after an image change is
likely the old version: a deploy must check *which* version answers.

A swap (deploy-staging-slots.md, "Swap operation steps") restarts the source slot's instances with the
target's slot settings, waits for them, warms them up by requesting WEBSITE_SWAP_WARMUP_PING_PATH (default
`/`) on each, and stops when the answer is not in WEBSITE_SWAP_WARMUP_PING_STATUSES ("If the returned status
code isn't in the list, the warmup and swap operations are stopped. By default, all response codes are
valid."); then it switches routing, so each side is served by the other's warm instances.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

# The app's contract (docs/operations.md "The app's health contract"): its /health JSON echoes this app
# setting as "deploy_marker". The stand-in app below does what a conforming app does.
MARKER_SETTING = "DEPLOY_MARKER"
WARMUP_PATH = "WEBSITE_SWAP_WARMUP_PING_PATH"
WARMUP_STATUSES = "WEBSITE_SWAP_WARMUP_PING_STATUSES"


class _Resources(Protocol):
    def get(self, resource_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Container:
    image: str  # linuxFxVersion it was started with
    marker: str  # the DEPLOY_MARKER app setting it was started with ("" when unset)
    ready_at: float  # time.monotonic() from which it answers


class Containers:
    """Per site or slot id: the containers started for it, oldest first; the newest one that has started
    answers. A site never seen to change (a state loaded from a file) is served as its configuration says."""

    def __init__(self, engine: _Resources, start_seconds: float = 0.0):
        self.engine = engine
        self.start_seconds = start_seconds
        self._lock = threading.Lock()
        self._by_site: dict[str, list[Container]] = {}

    def configured(self, site_id: str) -> tuple[str, str]:
        """(image, marker) as the site's configuration says now."""
        config = (self.engine.get(f"{site_id}/config/web") or {}).get("properties") or {}
        settings = (self.engine.get(f"{site_id}/config/appsettings") or {}).get("properties") or {}
        return str(config.get("linuxFxVersion") or ""), str(settings.get(MARKER_SETTING) or "")

    def restarted(self, site_id: str, before: tuple[str, str] | None) -> None:
        """A new image or changed app settings on a site or slot: a new container starts from the current
        configuration; `before` (the configuration until now) keeps answering until it has started. None for
        a site just created: nothing answers until its first container has started."""
        image, marker = self.configured(site_id)
        now = time.monotonic()
        with self._lock:
            started = self._by_site.setdefault(site_id.lower(), [])
            if not started and before is not None:
                started.append(Container(before[0], before[1], float("-inf")))
            started.append(Container(image, marker, now + self.start_seconds))

    def serving(self, site_id: str) -> Container | None:
        """The container that answers now: the newest that has started (older ones are dropped), or None while
        a new site's first container starts."""
        now = time.monotonic()
        with self._lock:
            started = self._by_site.get(site_id.lower())
            if not started:
                image, marker = self.configured(site_id)
                return Container(image, marker, float("-inf"))
            ready = [i for i, c in enumerate(started) if c.ready_at <= now]
            if not ready:
                return None
            del started[:ready[-1]]
            return started[0]

    def newest(self, site_id: str) -> Container:
        """The container the site's configuration runs once started (what a swap waits for)."""
        with self._lock:
            started = self._by_site.get(site_id.lower())
            if started:
                return started[-1]
        image, marker = self.configured(site_id)
        return Container(image, marker, float("-inf"))

    def swapped(self, source_id: str, target_id: str) -> None:
        """Called before a swap exchanges the two configurations: each side is then served by the other's
        newest container, warm (the swap waited for the source's restart and warm-up)."""
        a, b = self.newest(source_id), self.newest(target_id)
        with self._lock:
            self._by_site[source_id.lower()] = [Container(b.image, b.marker, float("-inf"))]
            self._by_site[target_id.lower()] = [Container(a.image, a.marker, float("-inf"))]


def warmup_refusal(settings: dict[str, Any], status: int) -> str | None:
    """Why a swap stops at warm-up, or None: the source slot answered `status` on its warm-up path and
    WEBSITE_SWAP_WARMUP_PING_STATUSES (comma-separated codes; unset: every code is valid) does not list it."""
    listed = str(settings.get(WARMUP_STATUSES) or "").strip()
    if not listed:
        return None
    valid = {s.strip() for s in listed.split(",") if s.strip()}
    if str(status) in valid:
        return None
    path = str(settings.get(WARMUP_PATH) or "/")
    return (f"The swap was stopped: the warm-up request to '{path}' on the source slot returned HTTP {status}, "
            f"which is not in {WARMUP_STATUSES} ({listed}). The source slot was left as it was.")
