"""The SDK calls a deploy or rollback makes on the API's site and its slot (slot=None is production)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.contract import DEPLOY_MARKER
from provisioner.core.errors import ProvisionerError
from provisioner.operate.deploy_record import Record
from provisioner.operate.health import Endpoint, Probe, Verdict, probe, wait_serving, watch


class DeployFailed(ProvisionerError):
    """A deploy or rollback check failed; the message names the check and what was done about it."""


def image_of(linux_fx_version: str | None) -> str:
    value = linux_fx_version or ""
    return value.split("|", 1)[1] if value.upper().startswith("DOCKER|") else value


@dataclass(frozen=True)
class BackendTarget:
    resource_group: str
    site: str
    slot: str | None  # None where the plan has no slots (dev on Basic B1)
    health_path: str


def backend_target(session: Any) -> BackendTarget:
    """The API's site, its slot (when the environment has one) and the health path, from the session's steps."""
    by_name = {s.name: s for s in session.steps}
    web = by_name["web_app"]
    slot = by_name.get("deployment_slot")
    return BackendTarget(web.resource_group, web.resource_name, slot.resource_name if slot else None,
                         web.config.health_check_path)


@dataclass(frozen=True)
class Gates:
    """How long and how often each check probes (docs/operations.md "Timing")."""

    timeout: float = 300.0  # before a swap: how long the new container may take to start and answer
    interval: float = 10.0
    watch: float = 60.0  # after a swap: how long production is watched
    watch_interval: float = 5.0
    failures: int = 2  # bad answers in a row after a swap that swap back
    probe_timeout: float = 5.0  # one probe's HTTP timeout
    check: Probe | None = None  # tests replace the HTTP probe

    @property
    def swap_back_within(self) -> float:
        """The longest a bad version stays in production before the swap back is requested."""
        return self.failures * self.probe_timeout + (self.failures - 1) * self.watch_interval

    @property
    def probe(self) -> Probe:
        return self.check or functools.partial(probe, timeout=self.probe_timeout)


class Backend:
    """Reads and writes one site and its slot; every write goes through provisioner.azure.call."""

    def __init__(self, clients: Any, target: BackendTarget, gates: Gates, say: Callable[[str], None]):
        self.clients = clients
        self.web = clients.web.web_apps
        self.t = target
        self.gates = gates
        self.say = say
        # Local targets: the site's host name does not resolve; the local cloud answers it on its own URL.
        self.local_url = clients.target.arm_endpoint if clients.target.local else None

    def where(self, slot: str | None) -> str:
        return f"slot '{slot}'" if slot else "production"

    def image(self, slot: str | None) -> str:
        rg, site = self.t.resource_group, self.t.site
        body = (raw(self.web.get_configuration_slot, rg, site, slot) if slot
                else raw(self.web.get_configuration, rg, site))
        if body is None:
            raise DeployFailed(f"{site}: {self.where(slot)} not found: provision the environment first")
        return image_of((body.get("properties") or {}).get("linuxFxVersion"))

    def _settings(self, slot: str | None) -> dict[str, Any]:
        rg, site = self.t.resource_group, self.t.site
        body = (raw(self.web.list_application_settings_slot, rg, site, slot) if slot
                else raw(self.web.list_application_settings, rg, site))
        return dict((body or {}).get("properties") or {})

    def marker(self, slot: str | None) -> str:
        return str(self._settings(slot).get(DEPLOY_MARKER) or "")

    def set_version(self, image: str, marker: str, slot: str | None) -> None:
        """The image first (PATCH config/web with it alone: nothing else the environment declares changes),
        then the marker app setting: a container that reports the new marker was started after the new image
        was set, so it runs it (docs/operations.md "The app's health contract")."""
        rg, site = self.t.resource_group, self.t.site
        body = {"properties": {"linuxFxVersion": f"DOCKER|{image}"}}
        if self.image(slot) == image:
            pass  # a configuration write restarts the app: none when nothing changes
        elif slot:
            call(self.web.update_configuration_slot, rg, site, slot, body)
        else:
            call(self.web.update_configuration, rg, site, body)
        settings = self._settings(slot)
        if settings.get(DEPLOY_MARKER) == marker:
            return
        # The app settings PUT replaces the set (azure-sdk-facts §1 App settings): send it whole. The values
        # (Key Vault references, the App Insights connection string) are never printed.
        settings[DEPLOY_MARKER] = marker
        if slot:
            call(self.web.update_application_settings_slot, rg, site, slot, {"properties": settings})
        else:
            call(self.web.update_application_settings, rg, site, {"properties": settings})

    def endpoint(self, slot: str | None) -> Endpoint:
        rg, site = self.t.resource_group, self.t.site
        body = raw(self.web.get_slot, rg, site, slot) if slot else raw(self.web.get, rg, site)
        host = ((body or {}).get("properties") or {}).get("defaultHostName")
        if not host:
            raise DeployFailed(f"{site}: {self.where(slot)} has no host name: provision the environment first")
        return Endpoint(str(host), self.t.health_path, self.local_url)

    def gate(self, slot: str | None, expected: str) -> tuple[Verdict, Endpoint]:
        """Before a swap: wait until `expected` answers 200 (the old container answers until then)."""
        endpoint = self.endpoint(slot)
        self.say(f"waiting for {endpoint.url} to answer 200 as {expected} (up to {self.gates.timeout:.0f}s)")
        g = self.gates
        return wait_serving(endpoint, expected, g.timeout, g.interval, g.probe), endpoint

    def watch(self, expected: str) -> tuple[Verdict, Endpoint]:
        """After a swap: production must keep answering 200 as `expected`; bad answers swap back at once."""
        endpoint = self.endpoint(None)
        g = self.gates
        self.say(f"watching {endpoint.url} for {g.watch:.0f}s (every {g.watch_interval:g}s; {g.failures} bad "
                 f"answers in a row swap back, within {g.swap_back_within:g}s)")
        return watch(endpoint, expected, g.watch, g.watch_interval, g.failures, g.probe), endpoint

    def swap(self) -> None:
        """POST .../slots/{slot}/slotsswap with targetSlot=production: an LRO, and not idempotent (a second
        swap swaps back), so it is never part of reconciliation (azure-sdk-facts §1 Slot swap). App Service
        warms the slot up on WEBSITE_SWAP_WARMUP_PING_PATH first and stops the swap on a bad answer."""
        assert self.t.slot is not None
        self.say(f"swapping slot '{self.t.slot}' into production")
        wait(call(self.web.begin_swap_slot, self.t.resource_group, self.t.site, self.t.slot,
                  {"targetSlot": "production", "preserveVnet": True}))

    def record(self) -> Record:
        body = raw(self.web.get, self.t.resource_group, self.t.site)
        return Record.from_tags((body or {}).get("tags"))

    def write_record(self, record: Record) -> None:
        """Merge the record's tags onto the site through the Tags API (a site PATCH ignores tags), and remove
        what it no longer has: nothing else on the site changes."""
        body = raw(self.web.get, self.t.resource_group, self.t.site) or {}
        site_id = str(body.get("id") or "")
        tags = self.clients.resource.tags
        wait(call(tags.begin_update_at_scope, site_id, {"operation": "Merge", "properties": {"tags": record.tags()}}))
        gone = {k: v for k, v in (body.get("tags") or {}).items() if k in record.cleared}
        if gone:
            wait(call(tags.begin_update_at_scope, site_id, {"operation": "Delete", "properties": {"tags": gone}}))
